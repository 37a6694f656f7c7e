"""The drafts queue: every reply the assistant wrote but did not send, oldest first, to send, edit or reject."""

from __future__ import annotations

import reflex as rx

from assistant.components.chat import local_time
from assistant.components.drafts import draft_card, flatten_draft
from assistant.components.layout import dashboard_shell, empty_state, page_header
from assistant.live import registry
from assistant.state.auth import OwnerState
from assistant.state.handlers import service_event
from backend.core.live_events import workspace_channel
from backend.errors import ServiceError
from backend.messaging import drafts as drafts_service

VIEWS = [("pending", "To review"), ("sent", "Sent"), ("rejected", "Rejected"), ("superseded", "Answered otherwise")]


class DraftsState(OwnerState):
    view: str = "pending"
    drafts: list[dict[str, str]] = []
    loaded: bool = False
    _dirty: bool = False

    def _load(self) -> None:
        rows = drafts_service.list_drafts(self._workspace_id, status=self.view)
        self.drafts = [{**flatten_draft(d), "sent_content": d.sent_content,
                        "edited": f"edited {d.edit_ratio:.0%}" if d.edit_ratio else ""} for d in rows]
        self.loaded = True

    @service_event
    def load(self):
        self._load()
        registry.watch(self.router.session.client_token, DraftsState, [workspace_channel(self._workspace_id)])

    @service_event
    def set_view(self, view: str):
        self.view = view if view in dict(VIEWS) else "pending"
        self._load()

    @service_event
    def approve(self, form_data: dict):
        try:
            ctx = self._owner()
            drafts_service.approve_draft(ctx.workspace_id, int(form_data.get("draft_id", 0)), ctx.user_id,
                                         edited_text=form_data.get("text"))
        except ServiceError as exc:
            self._load()
            return rx.toast.error(exc.message)
        self._load()
        return rx.toast.success("Reply sent.")

    @service_event
    def reject(self, draft_id: str):
        done = self._for_owner(lambda ctx: drafts_service.reject_draft(ctx.workspace_id, int(draft_id), ctx.user_id))
        if not done.ok:
            return done.event
        self._load()

    def on_live_event(self, channel: str, event: dict) -> None:
        if event.get("type") == "draft.updated":
            self._dirty = True

    def on_resync(self) -> None:
        self._dirty = True

    def after_live_events(self) -> None:
        if self._dirty:
            self._dirty = False
            self._load()


def _open_link(d: rx.Var) -> rx.Component:
    return rx.link(rx.hstack(rx.icon("messages_square", size=14), rx.text(d["contact_name"], size="2"),
                             spacing="1", align="center"),
                   href="/dashboard/inbox?c=" + d["conversation_id"], size="2")


def _reviewed_card(d: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(_open_link(d), rx.badge(d["confidence"] + " confident", color_scheme="gray", variant="soft"),
                      rx.cond(d["edited"] != "", rx.badge(d["edited"], color_scheme="amber", variant="soft")),
                      rx.spacer(), rx.text(local_time(d["at"]), size="1", color=rx.color("gray", 10)),
                      width="100%", align="center", wrap="wrap"),
            rx.cond(d["customer_message"] != "", rx.blockquote(d["customer_message"], size="2")),
            rx.text(rx.cond(d["sent_content"] != "", d["sent_content"], d["content"]), size="2",
                    white_space="pre-wrap"),
            rx.cond(d["reason"] != "", rx.text(d["reason"], size="1", color=rx.color("gray", 10))),
            spacing="2",
            width="100%",
        ),
        width="100%",
        data_testid="reviewed-draft",
    )


def drafts_page() -> rx.Component:
    return dashboard_shell(
        "drafts",
        page_header("Drafts", "Replies your assistant wrote for you to check before they reach the customer."),
        rx.hstack(
            *[rx.button(label, size="1", radius="full",
                        variant=rx.cond(DraftsState.view == value, "solid", "soft"),
                        color_scheme=rx.cond(DraftsState.view == value, "violet", "gray"),
                        on_click=DraftsState.set_view(value)) for value, label in VIEWS],
            spacing="1", wrap="wrap", role="group", aria_label="Which drafts",
        ),
        rx.cond(
            ~DraftsState.loaded,
            rx.center(rx.spinner(), padding="3rem", width="100%"),
            rx.cond(
                DraftsState.drafts.length() > 0,
                rx.vstack(
                    rx.foreach(DraftsState.drafts, lambda d: rx.cond(
                        DraftsState.view == "pending",
                        draft_card(d, DraftsState.approve, DraftsState.reject, show_customer=True,
                                   extra=_open_link(d)),
                        _reviewed_card(d),
                    )),
                    spacing="3",
                    width="100%",
                ),
                empty_state("file_pen_line",
                            rx.cond(DraftsState.view == "pending", "Nothing to review", "Nothing here yet"),
                            "When your assistant is not sure enough to answer on its own, its suggested reply "
                            "waits here. Change how sure it must be under Assistant → Reply policy.",
                            rx.link(rx.button("Reply policy", variant="soft"), href="/dashboard/assistant")),
            ),
        ),
    )
