"""Knowledge gaps on the Knowledge page: what customers asked that the documents did not answer, grouped, each
with a one-step way to add the answer."""

from __future__ import annotations

import reflex as rx

from assistant.components.chat import local_time
from assistant.components.forms import dialog_actions, form_alert
from assistant.state.auth import OwnerState
from assistant.state.handlers import service_event
from backend.ai.gaps import list_gaps
from backend.kb import documents


class GapsState(OwnerState):
    gaps: list[dict[str, str]] = []
    examples: dict[str, list[str]] = {}
    loaded: bool = False
    answering: str = ""  # the question being answered in the dialog
    answer_error: str = ""

    def _load(self) -> None:
        groups = list_gaps(self._workspace_id)
        self.gaps = [{"key": str(i), "question": g.question, "count": str(g.count), "at": g.last_asked_at,
                      "covered": "1" if g.covered_now else "", "others": str(max(0, len(g.examples) - 1))}
                     for i, g in enumerate(groups)]
        self.examples = {str(i): g.examples for i, g in enumerate(groups)}
        self.loaded = True

    @service_event
    def load(self):
        self.loaded = False
        self._load()

    @rx.event
    def start_answer(self, question: str):
        self.answering, self.answer_error = question, ""

    @rx.event
    def set_dialog(self, open_: bool):
        if not open_:
            self.answering = ""

    @service_event
    def save_answer(self, form_data: dict):
        self.answer_error = ""
        done = self._for_owner(lambda ctx: documents.add_faq(
            ctx.workspace_id, form_data.get("question", ""), form_data.get("answer", ""), user_id=ctx.user_id),
            error_to="answer_error")
        if not done.ok:
            return done.event
        self.answering = ""
        return rx.toast.success("Answer added to your knowledge. The assistant uses it once it is indexed.")


def _gap(g: rx.Var) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.vstack(
                rx.text("“" + g["question"] + "”", size="2", weight="medium"),
                rx.hstack(
                    rx.badge("asked " + g["count"] + "×", variant="soft", color_scheme="amber"),
                    rx.cond(g["others"] != "0", rx.tooltip(
                        rx.text("+" + g["others"] + " similar", size="1", color=rx.color("gray", 10)),
                        content=GapsState.examples[g["key"]].join(" · "))),
                    rx.text("last ", local_time(g["at"]), size="1", color=rx.color("gray", 10)),
                    rx.cond(g["covered"] == "1", rx.badge(rx.icon("check", size=12), "answered by your documents now",
                                                          color_scheme="green", variant="soft")),
                    spacing="2", align="center", wrap="wrap",
                ),
                spacing="1", min_width="0", flex="1",
            ),
            rx.cond(g["covered"] != "1",
                    rx.button(rx.icon("plus", size=14), "Add answer", size="2", variant="soft",
                              on_click=GapsState.start_answer(g["question"]))),
            align="center", width="100%", spacing="3", wrap="wrap",
        ),
        class_name="gap-card", width="100%", data_testid="knowledge-gap",
    )


def _answer_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Answer this question"),
            rx.dialog.description("It is saved as a question and answer in your knowledge base.", size="2"),
            rx.form(
                rx.vstack(
                    rx.input(name="question", default_value=GapsState.answering, key=GapsState.answering,
                             width="100%", aria_label="Question"),
                    rx.text_area(name="answer", rows="4", width="100%", aria_label="Answer",
                                 placeholder="The answer your assistant should give"),
                    form_alert(GapsState.answer_error),
                    dialog_actions("Save answer"),
                    spacing="2", width="100%",
                ),
                on_submit=GapsState.save_answer,
            ),
            max_width="520px",
        ),
        open=GapsState.answering != "",
        on_open_change=GapsState.set_dialog,
    )


def gaps_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(rx.heading("Questions your assistant couldn't answer", size="3", as_="h2"), rx.spacer(),
                      rx.icon_button(rx.icon("refresh_cw", size=14), variant="ghost", on_click=GapsState.load,
                                     aria_label="Refresh knowledge gaps"),
                      width="100%", align="center"),
            rx.text("From the last 30 days, grouped by meaning, most asked first. Answer them here or upload a "
                    "document that covers them.", size="2", color=rx.color("gray", 11)),
            rx.cond(
                ~GapsState.loaded,
                rx.center(rx.spinner(), padding="1.5rem", width="100%"),
                rx.cond(
                    GapsState.gaps.length() > 0,
                    rx.vstack(rx.foreach(GapsState.gaps, _gap), spacing="2", width="100%"),
                    rx.text("No gaps: every question in the last 30 days found an answer in your documents.",
                            size="2", color=rx.color("gray", 10)),
                ),
            ),
            _answer_dialog(),
            spacing="3",
            width="100%",
        ),
        size="3",
        width="100%",
    )
