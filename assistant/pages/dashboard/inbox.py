"""The live inbox: conversations on the left, the selected one on the right (one at a time on phones)."""

from __future__ import annotations

import reflex as rx

from assistant.components.chat import (
    attach_button,
    chat_scroller,
    clear_composer,
    composer_form,
    flatten_message,
    local_time,
    typing_indicator,
)
from assistant.components.drafts import draft_card, flatten_draft, run_note
from assistant.components.forms import form_alert
from assistant.components.layout import dashboard_shell, empty_state
from assistant.live import registry
from assistant.state.auth import OwnerState
from assistant.state.handlers import off_loop, read_upload, service_event
from backend.ai.pipeline import list_runs
from backend.calendar.booking import upcoming_for_contact
from backend.core.live_events import conversation_channel, workspace_channel
from backend.errors import AuthenticationError, NotFound, ServiceError
from backend.messaging import drafts as drafts_service
from backend.messaging import inbox

UPLOAD_ID = "inbox-upload"
COMPOSER_ID = "inbox-reply"
STATUS_FILTERS = [("all", "All"), ("open", "Open"), ("pending", "Pending"), ("resolved", "Resolved")]


def _summary(c) -> dict[str, str]:
    return {
        "id": str(c.id),
        "contact_id": str(c.contact_id),
        "name": c.contact_name,
        "phone": c.contact_phone,
        "status": c.status,
        "title": c.title,
        "preview": c.last_message_preview,
        "at": c.last_message_at or c.created_at,
        "unread": str(c.unread) if c.unread else "",
        "ai_paused": "1" if c.ai_paused else "",
        "unverified": "1" if c.opened_unverified else "",
    }


class InboxState(OwnerState):
    status_filter: str = "all"
    search: str = ""
    conversations: list[dict[str, str]] = []
    list_loaded: bool = False
    selected_id: int = 0
    selected: dict[str, str] = {}
    messages: list[dict[str, str]] = []
    reply_error: str = ""
    typing_seq: int = 0
    assistant_typing_seq: int = 0
    drafts: list[dict[str, str]] = []
    bookings: list[dict[str, str]] = []  # the contact's upcoming appointments, beside the conversation
    _list_dirty: bool = False
    _drafts_dirty: bool = False
    _thread_dirty: bool = False

    def _ctx(self):
        return self._owner()

    def _load_list(self) -> None:
        status = None if self.status_filter == "all" else self.status_filter
        rows = inbox.list_conversations(self._workspace_id, status=status, search=self.search.strip())
        self.conversations = [_summary(c) for c in rows]
        self.list_loaded = True

    def _watch(self) -> None:
        channels = [workspace_channel(self._workspace_id)]
        if self.selected_id:
            channels.append(conversation_channel(self.selected_id))
        registry.watch(self.router.session.client_token, InboxState, channels)

    def _load_selected(self) -> None:
        if not self.selected_id:
            self.selected, self.messages = {}, []
            return
        try:
            summary = inbox.get_conversation(self._workspace_id, self.selected_id)
        except NotFound:
            self.selected_id = 0
            self.selected, self.messages = {}, []
            return
        self.selected = _summary(summary)
        notes = {r["message_id"]: run_note(r) for r in list_runs(self._workspace_id, self.selected_id)}
        self.messages = [
            {**flat, "ai_note": notes.get(int(flat["id"]), "")} if flat["sender"] == "customer" else flat
            for flat in (flatten_message(m) for m in inbox.list_messages(self._workspace_id, self.selected_id))
        ]
        self._load_drafts()
        self.bookings = [
            {"id": str(a.id), "label": a.label, "service": a.service_name or a.title, "status": a.status}
            for a in upcoming_for_contact(self._workspace_id, summary.contact_id)[:3]
        ]
        if summary.unread:
            inbox.mark_conversation_read(self._workspace_id, self.selected_id, self._user_id)
            self.selected["unread"] = ""

    def _load_drafts(self) -> None:
        self.drafts = [flatten_draft(d) for d in
                       drafts_service.list_drafts(self._workspace_id, conversation_id=self.selected_id)]

    @service_event
    def approve_draft(self, form_data: dict):
        try:
            ctx = self._ctx()
            drafts_service.approve_draft(ctx.workspace_id, int(form_data.get("draft_id", 0)), ctx.user_id,
                                         edited_text=form_data.get("text"))
        except ServiceError as exc:
            self._load_drafts()
            return rx.toast.error(exc.message)
        self._load_selected()
        return rx.toast.success("Reply sent.")

    @service_event
    def reject_draft(self, draft_id: str):
        done = self._for_owner(lambda ctx: drafts_service.reject_draft(ctx.workspace_id, int(draft_id), ctx.user_id))
        if not done.ok:
            return done.event
        self._load_drafts()

    @service_event
    def set_ai_paused(self, paused: bool):
        done = self._for_owner(
            lambda ctx: inbox.set_ai_paused(ctx.workspace_id, self.selected_id, paused, user_id=ctx.user_id))
        if not done.ok:
            return done.event
        self._load_selected()

    @service_event
    def load(self):
        self.reply_error = ""
        self.typing_seq = 0
        self.assistant_typing_seq = 0
        requested = self.router.url.query_parameters.get("c", "")
        self.selected_id = int(requested) if requested.isdigit() else 0
        self._load_selected()
        self._load_list()
        self._watch()

    @service_event
    def set_filter(self, value: str):
        self.status_filter = value if value in dict(STATUS_FILTERS) else "all"
        self._load_list()

    @service_event
    def set_search(self, value: str):
        self.search = value[:100]
        self._load_list()

    @service_event
    def open_conversation(self, conversation_id: str):
        self.selected_id = int(conversation_id)
        self.reply_error = ""
        self.typing_seq = 0
        self.assistant_typing_seq = 0
        self._load_selected()
        self._load_list()
        self._watch()

    @service_event
    def close_conversation(self):
        self.selected_id = 0
        self.selected, self.messages = {}, []
        self._watch()

    @service_event
    def send_reply(self, form_data: dict):
        self.reply_error = ""
        done = self._for_owner(lambda ctx: inbox.send_owner_reply(
            ctx.workspace_id, self.selected_id, ctx.user_id, form_data.get("text", "")), error_to="reply_error")
        if not done.ok:
            return done.event  # the reply stays in the box
        self._load_selected()
        return clear_composer(COMPOSER_ID)

    @rx.event
    async def upload(self, files: list[rx.UploadFile]):
        self.reply_error = ""
        try:
            ctx = await off_loop(self._ctx)
        except AuthenticationError as exc:
            yield self._to_login(exc)
            return
        for upload in files:
            try:
                data = await read_upload(upload)
                await off_loop(inbox.send_owner_file, ctx.workspace_id, self.selected_id, ctx.user_id,
                               upload.name or "file", data)
            except ServiceError as exc:
                self.reply_error = exc.message
                return
        await off_loop(self._load_selected)

    @service_event
    def typing(self):
        if self.selected_id:
            inbox.owner_typing(self._workspace_id, self.selected_id, self._user_id)

    @service_event
    def set_status(self, status: str):
        done = self._for_owner(
            lambda ctx: inbox.set_conversation_status(ctx.workspace_id, self.selected_id, status, user_id=ctx.user_id))
        if not done.ok:
            return done.event
        self._load_selected()
        self._load_list()

    @service_event
    def save_title(self, title: str):
        if title == self.selected.get("title", ""):
            return
        done = self._for_owner(
            lambda ctx: inbox.set_conversation_title(ctx.workspace_id, self.selected_id, title, user_id=ctx.user_id))
        if not done.ok:
            return done.event
        self._load_selected()
        self._load_list()
        return rx.toast.success("Title saved.")

    def on_live_event(self, channel: str, event: dict) -> None:
        kind = event.get("type")
        convo = event.get("conversation_id")
        if channel.startswith("workspace:"):
            if kind == "conversation.updated":
                self._list_dirty = True
            elif kind == "draft.updated" and convo == self.selected_id:
                self._drafts_dirty = True
            elif kind == "appointment.updated" and self.selected_id:
                self._thread_dirty = True
            return
        if convo != self.selected_id:
            return
        if kind == "typing" and event.get("who") == "customer":
            self.typing_seq += 1
        elif kind == "assistant.typing":
            self.assistant_typing_seq += 1
        elif kind == "message.updated":
            self._thread_dirty = True
        elif kind == "message.created":
            self.typing_seq = 0
            if event.get("sender") == "assistant":
                self.assistant_typing_seq = 0
            # The sender's own tab already loaded its message when it sent it.
            if not any(m["id"] == str(event.get("message_id")) for m in self.messages):
                self._thread_dirty = True
        elif kind == "message.status":
            ids = {str(i) for i in event.get("message_ids", [])}
            status = event.get("status", "")
            self.messages = [{**m, "status": status} if m["id"] in ids else m for m in self.messages]
        elif kind == "conversation.updated":
            self._thread_dirty = True

    def on_resync(self) -> None:
        self._list_dirty = True
        self._thread_dirty = bool(self.selected_id)

    def after_live_events(self) -> None:
        if self._thread_dirty:
            self._thread_dirty = False
            self._drafts_dirty = False
            self._load_selected()
        if self._drafts_dirty:
            self._drafts_dirty = False
            self._load_drafts()
        if self._list_dirty:
            self._list_dirty = False
            self._load_list()


def _status_badge(status: rx.Var) -> rx.Component:
    return rx.badge(status, color_scheme=rx.match(status, ("open", "green"), ("pending", "amber"), "gray"),
                    variant="soft")


def _unverified_badge(flag: rx.Var) -> rx.Component:
    return rx.cond(
        flag == "1",
        rx.tooltip(
            rx.badge(rx.icon("shield_alert", size=12), "Unverified number", color_scheme="orange", variant="soft",
                     white_space="nowrap"),
            content="Started in a browser that did not confirm this phone number with the code we texted it: the "
                    "person writing may not be the customer on file. The assistant does not show or change their "
                    "other appointments here.",
        ),
    )


def _conversation_item(c: rx.Var) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.avatar(fallback=c["name"].to(str)[0], size="3", radius="full", color_scheme="indigo"),
            rx.vstack(
                rx.hstack(
                    rx.text(c["name"], size="2", weight="bold", class_name="truncate"),
                    rx.spacer(),
                    rx.text(local_time(c["at"]), size="1", color=rx.color("gray", 9), white_space="nowrap"),
                    width="100%",
                    align="center",
                ),
                rx.hstack(
                    rx.text(c["preview"], size="1", color=rx.color("gray", 11), class_name="truncate"),
                    rx.spacer(),
                    _unverified_badge(c["unverified"]),
                    rx.cond(c["unread"] != "", rx.badge(c["unread"], color_scheme="indigo", variant="solid",
                                                         radius="full")),
                    width="100%",
                    align="center",
                ),
                spacing="1",
                min_width="0",
                flex="1",
            ),
            spacing="3",
            align="center",
            width="100%",
        ),
        on_click=InboxState.open_conversation(c["id"]),
        class_name=rx.cond(InboxState.selected_id.to_string() == c["id"], "inbox-item inbox-item-active",
                           "inbox-item"),
        data_testid="conversation",
        role="button",
        aria_label="Conversation with " + c["name"],
    )


def _list_panel() -> rx.Component:
    return rx.vstack(
        rx.input(placeholder="Search conversations…", value=InboxState.search, size="2", width="100%",
                 on_change=InboxState.set_search.debounce(300), aria_label="Search conversations"),
        rx.hstack(
            *[rx.button(label, size="1", radius="full",
                        variant=rx.cond(InboxState.status_filter == value, "solid", "soft"),
                        color_scheme=rx.cond(InboxState.status_filter == value, "indigo", "gray"),
                        on_click=InboxState.set_filter(value))
              for value, label in STATUS_FILTERS],
            spacing="1",
            wrap="wrap",
            role="group",
            aria_label="Filter by status",
        ),
        rx.cond(
            InboxState.conversations.length() > 0,
            rx.vstack(rx.foreach(InboxState.conversations, _conversation_item), spacing="1", width="100%"),
            rx.cond(
                InboxState.list_loaded,
                rx.text(rx.cond(InboxState.search != "", "No conversation matches your search.",
                                "No conversations here yet. Share your portal link to get the first one."),
                        size="2", color=rx.color("gray", 10), padding="1rem", text_align="center"),
                rx.center(rx.spinner(), padding="2rem", width="100%"),
            ),
        ),
        class_name="inbox-list",
        spacing="3",
        width="100%",
    )


def _assistant_toggle() -> rx.Component:
    return rx.cond(
        InboxState.selected["ai_paused"] == "1",
        rx.tooltip(
            rx.button(rx.icon("bot_off", size=14), "Assistant paused", variant="soft", color_scheme="amber",
                      size="2", on_click=InboxState.set_ai_paused(False), aria_label="Resume the assistant"),
            content="A person is handling this conversation: the assistant only drafts. Click to let it reply.",
        ),
        rx.tooltip(
            rx.button(rx.icon("bot", size=14), "Assistant on", variant="soft", color_scheme="violet", size="2",
                      on_click=InboxState.set_ai_paused(True), aria_label="Pause the assistant"),
            content="The assistant answers by your reply policy. Click to take over: it will only draft.",
        ),
    )


def _conversation_panel() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.icon_button(rx.icon("arrow_left", size=18), variant="ghost", on_click=InboxState.close_conversation,
                           aria_label="Back to conversations", display=["inline-flex", "inline-flex", "none"]),
            rx.vstack(
                rx.hstack(rx.heading(InboxState.selected["name"], size="4", as_="h2"),
                          _status_badge(InboxState.selected["status"]),
                          _unverified_badge(InboxState.selected["unverified"]), align="center", spacing="2",
                          wrap="wrap"),
                rx.link(InboxState.selected["phone"], href="/dashboard/contacts/" + InboxState.selected["contact_id"],
                        size="1", color_scheme="gray"),
                spacing="0",
                min_width="0",
            ),
            rx.spacer(),
            _assistant_toggle(),
            rx.cond(
                InboxState.selected["status"] == "resolved",
                rx.button(rx.icon("rotate_ccw", size=14), "Reopen", variant="soft", size="2",
                          on_click=InboxState.set_status("open")),
                rx.hstack(
                    rx.cond(InboxState.selected["status"] != "pending",
                            rx.button("Mark pending", variant="soft", color_scheme="amber", size="2",
                                      on_click=InboxState.set_status("pending"))),
                    rx.button(rx.icon("check", size=14), "Resolve", variant="soft", color_scheme="green", size="2",
                              on_click=InboxState.set_status("resolved")),
                    spacing="2",
                ),
            ),
            width="100%",
            align="center",
            class_name="conversation-header",
            wrap="wrap",
        ),
        rx.box(
            rx.input(default_value=InboxState.selected["title"], key=InboxState.selected["id"],
                     placeholder="Add a title…", variant="soft", size="1", on_blur=InboxState.save_title,
                     aria_label="Conversation title", width="100%"),
            padding="0 16px",
            width="100%",
        ),
        rx.cond(
            InboxState.bookings.length() > 0,
            rx.hstack(
                rx.icon("calendar_days", size=14, color=rx.color("indigo", 10)),
                rx.foreach(InboxState.bookings, lambda b: rx.link(
                    rx.badge(b["service"] + " · " + b["label"],
                             color_scheme=rx.cond(b["status"] == "pending", "amber", "indigo"), variant="soft"),
                    href="/dashboard/calendar?appointment=" + b["id"], underline="none")),
                spacing="2", wrap="wrap", align="center", padding="6px 16px 0", width="100%",
                data_testid="contact-bookings",
            ),
        ),
        chat_scroller(InboxState.messages, "owner",
                      rx.text("No messages yet.", size="2", color=rx.color("gray", 10), padding="1rem"),
                      typing_indicator(InboxState.typing_seq, "Customer"),
                      typing_indicator(InboxState.assistant_typing_seq, "The assistant")),
        rx.vstack(
            rx.foreach(InboxState.drafts, lambda d: draft_card(d, InboxState.approve_draft,
                                                              InboxState.reject_draft)),
            form_alert(InboxState.reply_error),
            composer_form(
                input_id=COMPOSER_ID, label="Reply", placeholder="Write a reply…", on_submit=InboxState.send_reply,
                on_typing=InboxState.typing,
                attach=attach_button(UPLOAD_ID, InboxState.upload(rx.upload_files(upload_id=UPLOAD_ID))),
                actions=[rx.button(rx.icon("send", size=16), "Send", type="submit", size="3")],
            ),
            class_name="composer",
            spacing="2",
            width="100%",
        ),
        spacing="0",
        class_name="inbox-conversation",
        width="100%",
    )


def inbox_page() -> rx.Component:
    return dashboard_shell(
        "inbox",
        rx.heading("Inbox", size="7", as_="h1", display=["none", "none", "block"]),
        rx.grid(
            rx.box(_list_panel(), class_name=rx.cond(InboxState.selected_id > 0, "mobile-hidden", "")),
            rx.box(
                rx.cond(
                    InboxState.selected_id > 0,
                    _conversation_panel(),
                    empty_state("messages_square", "Pick a conversation",
                                "Select a conversation on the left to read it and reply. New ones appear live."),
                ),
                class_name=rx.cond(InboxState.selected_id > 0, "", "mobile-hidden"),
                min_width="0",
            ),
            columns=rx.breakpoints(initial="1", md="320px 1fr"),
            spacing="4",
            width="100%",
        ),
    )
