"""The Assistant page: try it ("what would it answer, and why"), its reply policy, its intents, and its
configuration as a file to export or import."""

from __future__ import annotations

import json

import reflex as rx

from assistant.components.chat import quick_replies
from assistant.components.forms import dialog_actions, form_alert
from assistant.components.layout import card_heading, dashboard_shell, edit_delete_buttons, page_header, tab_bar
from assistant.state.auth import OwnerState
from assistant.state.handlers import off_loop, read_upload, service_event
from backend.ai import custom_intents, playground, reply_settings, workspace_config
from backend.ai.understanding.intents import BUILTIN_INTENT_LABELS, BUILTIN_INTENTS
from backend.errors import AuthenticationError, ServiceError

UPLOAD_ID = "config-upload"
MAX_PLAYGROUND_TURNS = 12


def _pct(value: float) -> str:
    return f"{value:.0%}"


def _segments(text: str, entities: list[dict]) -> list[dict[str, str]]:
    """The message cut into plain and entity parts, so the page can highlight what was understood."""
    out, at = [], 0
    for e in sorted(entities, key=lambda e: e["start"]):
        if e["start"] < at:
            continue
        if e["start"] > at:
            out.append({"text": text[at:e["start"]], "field": ""})
        out.append({"text": text[e["start"]:e["end"]], "field": e["field"]})
        at = e["end"]
    if at < len(text):
        out.append({"text": text[at:], "field": ""})
    return out


class AssistantState(OwnerState):
    tab: str = "try"
    # playground
    turns: list[dict[str, str]] = []  # {"sender", "text"}
    thinking: bool = False
    try_error: str = ""
    last_intent: str = ""
    last_action: str = ""
    last_reason: str = ""
    last_confidence: str = ""
    last_provider: str = ""
    last_timing: str = ""
    last_segments: list[dict[str, str]] = []
    last_entities: list[dict[str, str]] = []
    last_passages: list[dict[str, str]] = []
    last_note: str = ""
    last_booking_preview: str = ""
    try_choices: list[str] = []  # the last reply's quick replies (free times, yes / no)
    # The booking dialog's memory between try-out turns, as a conversation keeps it; never sent to the browser.
    _try_state: dict = {}
    # reply policy
    ai_enabled: bool = True
    reply_policy: str = "auto_above_threshold"
    threshold: int = 75
    llm_label: str = ""
    speech_label: str = ""
    instructions_understood: str = ""
    policy_error: str = ""
    # intents
    intents: list[dict[str, str]] = []
    intent_dialog_open: bool = False
    editing_intent_id: int = 0
    intent_name: str = ""
    intent_description: str = ""
    intent_examples: str = ""
    intent_error: str = ""
    # import / export
    import_error: str = ""

    @service_event
    def load(self):
        tab = self.router.url.query_parameters.get("tab", "")
        if tab in ("try", "policy", "intents", "config"):
            self.tab = tab
        self._load_policy()
        self._load_intents()

    @rx.event
    def set_tab(self, tab: str):
        self.tab = tab

    # --- playground ---
    @rx.event
    def start_try(self, form_data: dict):
        text = str(form_data.get("message", "")).strip()
        self.try_error = ""
        if not text:
            self.try_error = "Type a message a customer might send."
            return
        self.turns = [*self.turns, {"sender": "customer", "text": text}][-MAX_PLAYGROUND_TURNS:]
        self.try_choices = []
        self.thinking = True
        return AssistantState.run_try

    @rx.event
    def pick_try_choice(self, choice: str):
        return AssistantState.start_try({"message": choice})

    @service_event
    def run_try(self):
        try:
            ctx = self._owner()
            history = self.turns[:-1]
            result = playground.try_message(ctx.workspace_id, self.turns[-1]["text"], history,
                                            assistant_state=self._try_state)
        except ServiceError as exc:
            self.thinking = False
            self.turns = self.turns[:-1]
            self.try_error = exc.message
            return
        self.thinking = False
        self._try_state = result["assistant_state"]
        self.try_choices = result["choices"]
        self.last_booking_preview = result["booking_preview"]
        reply = result["reply"]
        action = reply["action"]
        self.turns = [*self.turns, {"sender": "assistant", "text": reply["text"], "action": action}]
        self.last_intent = f"{result['intent']['name'].replace('_', ' ')} ({_pct(result['intent']['confidence'])})"
        self.last_action = action
        self.last_reason = reply["reason"]
        self.last_confidence = _pct(reply["confidence"])
        self.last_provider = reply.get("provider", "") + (" — LLM failed: " + result["llm_error"]
                                                           if result.get("llm_error") else "")
        timings = result.get("timings_ms", {})
        self.last_timing = " · ".join(f"{k} {v:.0f} ms" for k, v in timings.items())
        self.last_segments = _segments(result["text"], result["entities"])
        self.last_entities = [
            {"field": e["field"].replace("_", " "), "value": json.dumps(e["value"]) if not isinstance(e["value"], str)
             else e["value"], "text": e["text"], "confidence": _pct(e["confidence"])}
            for e in result["entities"]
        ]
        self.last_passages = [
            {"where": p["document_title"] + (f", page {p['page']}" if p.get("page") else
                                             (f", {p['heading']}" if p.get("heading") else "")),
             "score": _pct(p["score"]), "text": p["text"][:400]}
            for p in result["passages"]
        ]
        answer = result.get("answer")
        self.last_note = ("The customer gets a hand-off notice instead of this unsure answer: " + answer["text"]
                          if answer else "")

    @rx.event
    def reset_try(self):
        self.turns = []
        self._try_state = {}
        self.try_choices = []
        self.last_booking_preview = ""
        self.try_error = ""
        self.last_intent = ""
        self.last_segments, self.last_entities, self.last_passages = [], [], []

    # --- reply policy ---
    def _load_policy(self) -> None:
        s = reply_settings.get_reply_settings(self._workspace_id)
        self.reply_policy = s["reply_policy"]
        self.ai_enabled = s["ai_enabled"]
        self.threshold = int(round(s["auto_send_threshold"] * 100))
        self.llm_label = s["llm"]
        self.speech_label = s["speech"]
        self.instructions_understood = s["instructions_understood"]

    @rx.event
    def set_ai_enabled(self, value: bool):
        self.ai_enabled = value

    @rx.event
    def set_reply_policy(self, value: str):
        self.reply_policy = value

    @rx.event
    def set_threshold(self, value: list[int | float]):
        self.threshold = int(value[0]) if value else self.threshold

    @service_event
    def save_policy(self):
        self.policy_error = ""
        done = self._for_owner(lambda ctx: reply_settings.update_reply_settings(
            ctx.workspace_id, reply_policy=self.reply_policy, auto_send_threshold=self.threshold,
            ai_enabled=self.ai_enabled, user_id=ctx.user_id), error_to="policy_error")
        if not done.ok:
            return done.event
        self._load_policy()
        return rx.toast.success("Reply policy saved.")

    # --- intents ---
    def _load_intents(self) -> None:
        self.intents = [
            {"id": str(i["id"]), "name": i["name"], "label": i["name"].replace("_", " "),
             "description": i.get("description", ""), "count": str(len(i["examples"])),
             "examples": "\n".join(i["examples"]), "preview": " · ".join(i["examples"][:3])}
            for i in custom_intents.list_custom_intents(self._workspace_id)
        ]

    @rx.event
    def new_intent(self):
        self.editing_intent_id = 0
        self.intent_name = self.intent_description = self.intent_examples = self.intent_error = ""
        self.intent_dialog_open = True

    @rx.event
    def edit_intent(self, intent_id: str):
        row = next((i for i in self.intents if i["id"] == intent_id), None)
        if row is None:
            return
        self.editing_intent_id = int(intent_id)
        self.intent_name, self.intent_description = row["name"], row["description"]
        self.intent_examples, self.intent_error = row["examples"], ""
        self.intent_dialog_open = True

    @rx.event
    def set_intent_dialog_open(self, value: bool):
        self.intent_dialog_open = value

    @service_event
    def save_intent(self, form_data: dict):
        self.intent_error = ""
        examples = [line.strip() for line in str(form_data.get("examples", "")).splitlines() if line.strip()]
        try:
            ctx = self._owner()
            custom_intents.save_custom_intent(
                ctx.workspace_id, name=str(form_data.get("name", "")), examples=examples,
                description=str(form_data.get("description", "")), intent_id=self.editing_intent_id or None)
        except ServiceError as exc:
            self.intent_error = exc.message
            self.intent_name = str(form_data.get("name", ""))
            self.intent_description = str(form_data.get("description", ""))
            self.intent_examples = str(form_data.get("examples", ""))
            return
        self.intent_dialog_open = False
        self._load_intents()
        return rx.toast.success("Intent saved. The assistant uses it from the next message.")

    @service_event
    def delete_intent(self, intent_id: str):
        done = self._for_owner(lambda ctx: custom_intents.delete_custom_intent(ctx.workspace_id, int(intent_id)))
        if not done.ok:
            return done.event
        self._load_intents()

    # --- import / export ---
    @service_event
    def export_config(self):
        ctx = self._owner()
        data = workspace_config.export_config(ctx.workspace_id)
        return rx.download(data=json.dumps(data, indent=2, ensure_ascii=False), filename="assistant-config.json")

    @rx.event
    async def import_config(self, files: list[rx.UploadFile]):
        self.import_error = ""
        try:
            ctx = await off_loop(self._owner)
        except AuthenticationError as exc:
            yield self._to_login(exc)
            return
        if not files:
            return
        try:
            raw = await read_upload(files[0])
        except ServiceError as exc:
            self.import_error = exc.message
            return
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            self.import_error = f"This file is not a JSON configuration ({exc})."
            return
        try:
            cfg = workspace_config.parse_config(data)
            await off_loop(workspace_config.apply_config, ctx.workspace_id, cfg, user_id=ctx.user_id)
        except workspace_config.ConfigError as exc:
            self.import_error = "Nothing was changed. " + "; ".join(exc.problems)
            return
        except ServiceError as exc:
            self.import_error = exc.message
            return
        await off_loop(self._load_policy)
        await off_loop(self._load_intents)
        yield rx.toast.success("Configuration imported.")


# --- view ---------------------------------------------------------------------------------------------------------

TABS = [("try", "Try it", "message_circle_question"), ("policy", "Reply policy", "shield_check"),
        ("intents", "Intents", "tags"), ("config", "Import / export", "file_json")]
ACTION_COLORS = (("send", "green"), ("draft", "violet"), ("handoff", "amber"), "gray")


def _turn(t: rx.Var) -> rx.Component:
    mine = t["sender"] == "customer"
    return rx.box(
        rx.vstack(
            rx.text(t["text"], size="2", class_name="chat-text"),
            rx.cond(~mine, rx.badge(t["action"], color_scheme=rx.match(t["action"], *ACTION_COLORS),
                                    variant="soft", size="1")),
            spacing="1",
            align=rx.cond(mine, "end", "start"),
        ),
        class_name=rx.cond(mine, "chat-bubble chat-mine", "chat-bubble chat-theirs"),
        data_testid="try-turn",
    )


def _why_panel() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Why this answer", size="3", as_="h3"),
            rx.cond(
                AssistantState.last_intent == "",
                rx.text("Send a message to see what the assistant understands, which passages it uses and what it "
                        "would do.", size="2", color=rx.color("gray", 11)),
                rx.vstack(
                    rx.hstack(
                        rx.badge("Intent: " + AssistantState.last_intent, variant="soft", color_scheme="indigo"),
                        rx.badge(AssistantState.last_action, color_scheme=rx.match(AssistantState.last_action,
                                                                                   *ACTION_COLORS)),
                        rx.badge("Confidence " + AssistantState.last_confidence, variant="soft"),
                        wrap="wrap", spacing="2",
                    ),
                    rx.text(AssistantState.last_reason, size="2", data_testid="try-reason"),
                    rx.cond(AssistantState.last_note != "",
                            rx.callout(AssistantState.last_note, icon="info", size="1", color_scheme="amber")),
                    rx.cond(AssistantState.last_booking_preview != "",
                            rx.callout(AssistantState.last_booking_preview + " Nothing is booked in a try-out.",
                                       icon="calendar_check", size="1", color_scheme="green",
                                       data_testid="try-booking-preview")),
                    rx.text("Understood in the message", size="1", weight="bold", color=rx.color("gray", 11)),
                    rx.text(rx.foreach(AssistantState.last_segments, lambda s: rx.cond(
                        s["field"] != "",
                        rx.tooltip(rx.el.mark(s["text"], class_name="entity-mark"), content=s["field"]),
                        rx.el.span(s["text"]))), size="2"),
                    rx.cond(
                        AssistantState.last_entities.length() > 0,
                        rx.vstack(rx.foreach(AssistantState.last_entities, lambda e: rx.hstack(
                            rx.code(e["field"], size="1"), rx.text(e["value"], size="2", weight="medium"),
                            rx.text("“" + e["text"] + "” · " + e["confidence"], size="1", color=rx.color("gray", 10)),
                            spacing="2", align="center", wrap="wrap", data_testid="try-entity")),
                            spacing="1", width="100%"),
                        rx.text("No dates, names, counts or contact details found.", size="1",
                                color=rx.color("gray", 10)),
                    ),
                    rx.text("Passages from your documents", size="1", weight="bold", color=rx.color("gray", 11)),
                    rx.cond(
                        AssistantState.last_passages.length() > 0,
                        rx.vstack(rx.foreach(AssistantState.last_passages, lambda p: rx.box(
                            rx.hstack(rx.text(p["where"], size="1", weight="bold"), rx.spacer(),
                                      rx.badge(p["score"], variant="soft", size="1"), width="100%"),
                            rx.text(p["text"], size="1", color=rx.color("gray", 11)),
                            class_name="gap-card", width="100%")), spacing="2", width="100%"),
                        rx.text("None used.", size="1", color=rx.color("gray", 10)),
                    ),
                    rx.text(AssistantState.last_provider + " · " + AssistantState.last_timing, size="1",
                            color=rx.color("gray", 9)),
                    spacing="2",
                    width="100%",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _try_tab() -> rx.Component:
    return rx.grid(
        rx.card(
            rx.vstack(
                rx.hstack(rx.heading("Try your assistant", size="3", as_="h3"), rx.spacer(),
                          rx.button(rx.icon("rotate_ccw", size=14), "Start over", size="1", variant="ghost",
                                    on_click=AssistantState.reset_try), width="100%", align="center"),
                rx.text("Write as a customer would. Nothing is sent or stored.", size="1",
                        color=rx.color("gray", 10)),
                rx.box(
                    rx.cond(AssistantState.turns.length() == 0,
                            rx.text("Try “How much is a cleaning?” or “Can I come in the day after tomorrow at "
                                    "9:45?”", size="2", color=rx.color("gray", 10))),
                    rx.box(rx.foreach(AssistantState.turns, _turn),
                           rx.cond(AssistantState.thinking, rx.hstack(rx.spinner(size="1"),
                                                                      rx.text("Thinking…", size="1"))),
                           class_name="chat-column"),
                    quick_replies(AssistantState.try_choices, AssistantState.pick_try_choice),
                    min_height="240px", max_height="420px", overflow_y="auto", width="100%", padding="4px",
                ),
                form_alert(AssistantState.try_error),
                rx.form(
                    rx.hstack(rx.input(name="message", placeholder="A customer's message…", size="3", flex="1",
                                       min_width="0", auto_complete="off", aria_label="Customer message",
                                       max_length=2000),
                              rx.button(rx.icon("send", size=16), "Try", type="submit", size="3",
                                        loading=AssistantState.thinking),
                              width="100%", spacing="2"),
                    on_submit=AssistantState.start_try,
                    reset_on_submit=True,
                    width="100%",
                ),
                spacing="3",
                width="100%",
            ),
            width="100%",
        ),
        _why_panel(),
        columns=rx.breakpoints(initial="1", lg="2"),
        spacing="4",
        width="100%",
    )


def _policy_tab() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.switch(checked=AssistantState.ai_enabled, on_change=AssistantState.set_ai_enabled,
                          aria_label="Assistant answers customers"),
                rx.text("The assistant answers customers", size="2", weight="medium"),
                spacing="2", align="center",
            ),
            rx.cond(~AssistantState.ai_enabled,
                    rx.callout("Off: customer messages wait for you in the inbox; nothing is answered or drafted.",
                               icon="bot_off", color_scheme="amber", size="1")),
            rx.heading("When the assistant replies on its own", size="3", as_="h3"),
            rx.radio_group.root(
                rx.vstack(*[rx.text(rx.flex(rx.radio_group.item(value=value), label, gap="2"), as_="label",
                                    size="2")
                            for value, label in reply_settings.POLICY_LABELS.items()], spacing="2"),
                value=AssistantState.reply_policy,
                on_change=AssistantState.set_reply_policy,
                name="reply_policy",
            ),
            rx.cond(
                AssistantState.reply_policy == "auto_above_threshold",
                rx.vstack(
                    rx.text("Send when at least ", rx.text.strong(AssistantState.threshold.to_string() + " %"),
                            " confident", size="2"),
                    rx.slider(value=[AssistantState.threshold], min=30, max=100, step=5,
                              on_change=AssistantState.set_threshold, width="100%", max_width="420px",
                              aria_label="Confidence threshold"),
                    spacing="2",
                    width="100%",
                ),
            ),
            rx.callout("Whatever the policy, a request for a person, a complaint, or a question your documents "
                       "don't answer is handed to you: you are notified and the customer is told a person will "
                       "reply.", icon="info", size="1"),
            form_alert(AssistantState.policy_error),
            rx.button("Save reply policy", on_click=AssistantState.save_policy),
            rx.divider(),
            rx.heading("Engines", size="3", as_="h3"),
            rx.text("Replies: ", rx.cond(AssistantState.llm_label != "", "LLM " + AssistantState.llm_label,
                                         "built-in composer (answers from your documents, no LLM needed)"),
                    size="2"),
            rx.text("Voice messages: " + AssistantState.speech_label, size="2"),
            rx.cond(AssistantState.instructions_understood != "",
                    rx.text("From your custom instructions: " + AssistantState.instructions_understood, size="2",
                            color=rx.color("gray", 11))),
            spacing="3",
            width="100%",
            align="start",
        ),
        width="100%",
    )


def _intent_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(AssistantState.editing_intent_id > 0, "Edit intent", "New intent")),
            rx.dialog.description("Give a few example messages (one per line). The assistant recognises "
                                  "messages that mean the same.", size="2"),
            rx.form(
                rx.vstack(
                    rx.text("Name", size="2", weight="medium"),
                    rx.input(name="name", default_value=AssistantState.intent_name, key=AssistantState.intent_name,
                             placeholder="e.g. insurance_question", width="100%", aria_label="Intent name"),
                    rx.text("Description (optional)", size="2", weight="medium"),
                    rx.input(name="description", default_value=AssistantState.intent_description,
                             key=AssistantState.intent_description, width="100%", aria_label="Description"),
                    rx.text("Examples, one per line (at least 3)", size="2", weight="medium"),
                    rx.text_area(name="examples", default_value=AssistantState.intent_examples,
                                 key=AssistantState.intent_examples, rows="8", width="100%",
                                 aria_label="Examples"),
                    form_alert(AssistantState.intent_error),
                    dialog_actions("Save intent"),
                    spacing="2",
                    width="100%",
                ),
                on_submit=AssistantState.save_intent,
            ),
            max_width="520px",
        ),
        open=AssistantState.intent_dialog_open,
        on_open_change=AssistantState.set_intent_dialog_open,
    )


def _intents_tab() -> rx.Component:
    return rx.vstack(
        rx.card(
            rx.vstack(
                card_heading("Your intents", "h3", "New intent", AssistantState.new_intent),
                rx.cond(
                    AssistantState.intents.length() > 0,
                    rx.vstack(rx.foreach(AssistantState.intents, lambda i: rx.hstack(
                        rx.vstack(rx.hstack(rx.text(i["label"], size="2", weight="bold"),
                                            rx.badge(i["count"] + " examples", variant="soft", size="1"),
                                            spacing="2", align="center"),
                                  rx.text(i["preview"], size="1", color=rx.color("gray", 10), class_name="truncate"),
                                  spacing="1", min_width="0", flex="1"),
                        edit_delete_buttons(i["label"], AssistantState.edit_intent(i["id"]),
                                            AssistantState.delete_intent(i["id"])),
                        width="100%", align="center", class_name="gap-card", data_testid="custom-intent")),
                        spacing="2", width="100%"),
                    rx.text("No intents of your own yet. Add one for what your customers often ask about, such as "
                            "“insurance question” or “parking”.", size="2", color=rx.color("gray", 10)),
                ),
                spacing="3",
                width="100%",
            ),
            width="100%",
        ),
        rx.card(
            rx.vstack(
                rx.heading("Built in", size="3", as_="h3"),
                rx.text("Every assistant recognises these; yours are added to them.", size="1",
                        color=rx.color("gray", 10)),
                rx.flex(*[rx.badge(BUILTIN_INTENT_LABELS.get(name, name), variant="soft", color_scheme="gray")
                          for name in BUILTIN_INTENTS], wrap="wrap", gap="2"),
                spacing="2",
                width="100%",
            ),
            width="100%",
        ),
        _intent_dialog(),
        spacing="4",
        width="100%",
    )


def _config_tab() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Your assistant as a file", size="3", as_="h3"),
            rx.text("The role, personality, instructions, reply policy, intents and tracked fields in one JSON "
                    "file: keep a copy, move it to another workspace, or test it offline with "
                    "`python -m backend simulate`.", size="2", color=rx.color("gray", 11)),
            rx.hstack(
                rx.button(rx.icon("download", size=14), "Export", on_click=AssistantState.export_config),
                rx.upload.root(
                    rx.button(rx.icon("upload", size=14), "Import…", variant="soft", type="button"),
                    id=UPLOAD_ID,
                    accept={"application/json": [".json"]},
                    multiple=False,
                    no_drag=True,
                    on_drop=AssistantState.import_config(rx.upload_files(upload_id=UPLOAD_ID)),
                    border="none",
                    padding="0",
                ),
                spacing="2",
            ),
            form_alert(AssistantState.import_error),
            spacing="3",
            width="100%",
            align="start",
        ),
        width="100%",
    )


def assistant_page() -> rx.Component:
    return dashboard_shell(
        "assistant",
        page_header("Assistant", "See what your assistant would answer, decide when it replies on its own, and "
                                 "teach it what your customers ask."),
        tab_bar(AssistantState.tab, TABS, AssistantState.set_tab),
        rx.match(AssistantState.tab, ("policy", _policy_tab()), ("intents", _intents_tab()),
                 ("config", _config_tab()), _try_tab()),
    )
