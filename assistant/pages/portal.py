"""The customer's side: /portal/<slug>. Identify with a phone number, then chat by text, file or voice.

The browser keeps one opaque session token per business (local storage); the server keeps only its hash.
"""

from __future__ import annotations

import json
import logging
import time

import reflex as rx

from assistant.components.chat import (
    attach_button, chat_scroller, clear_composer, composer_form, flatten_message, quick_replies, streaming_bubble,
    typing_indicator,
)
from assistant.components.forms import field_error, form_alert
from assistant.components.layout import brand
from assistant.live import registry
from assistant.state.client import client_address
from assistant.state.handlers import off_loop, read_upload, service_event
from backend.ai.booking_dialog import SEND_CODE
from backend.errors import AuthenticationError, NotFound, PortalClosed, ServiceError
from backend.messaging import portal
from backend.providers.events import conversation_channel
from backend.workspaces.service import get_public_workspace

log = logging.getLogger(__name__)

UPLOAD_ID = "portal-upload"
COMPOSER_ID = "portal-message"
NOT_SENT = "Your message was not sent. Check your connection and try again."
# An empty box sent this soon after a message was stored is the same Enter pressed twice (the first one's
# clearing arrived in between), not a mistake to point out.
DOUBLE_ENTER_SECONDS = 2.0


class PortalState(rx.State):
    # One token per business this browser talks to: {slug: token}.
    portal_tokens: str = rx.LocalStorage("{}", name="frontdesk_portal_sessions")

    loaded: bool = False
    found: bool = False
    closed: bool = False  # the business exists but takes no messages (its workspace is being deleted)
    slug: str = ""
    business_name: str = ""
    assistant_name: str = ""
    welcome_message: str = ""

    stage: str = "identify"  # identify | verify | chat
    phone_error: str = ""
    verify_error: str = ""
    verify_notice: str = ""
    masked_phone: str = ""
    first_name: str = ""
    verified: bool = True
    phone_confirmed: bool = False  # entered the texted code (`verified` is also true when nothing is hidden)
    code_sent: bool = False  # a code was texted for this session and can still be entered
    has_history: bool = False

    messages: list[dict[str, str]] = []
    composer_error: str = ""
    sending: bool = False
    recording: bool = False
    typing_seq: int = 0
    assistant_typing_seq: int = 0
    streaming_text: str = ""  # the assistant's reply while an LLM writes it
    choices: list[str] = []  # quick replies offered by the assistant's latest message
    _visible: list[int] = []
    _last_sent_at: float = 0.0
    _reload: bool = False

    # --- session token helpers (backend only) ---
    def _tokens(self) -> dict:
        try:
            value = json.loads(self.portal_tokens or "{}")
            return value if isinstance(value, dict) else {}
        except ValueError:
            return {}

    def _token(self) -> str:
        return str(self._tokens().get(self.slug, ""))

    def _set_token(self, token: str) -> None:
        tokens = self._tokens()
        if token:
            tokens[self.slug] = token
        else:
            tokens.pop(self.slug, None)
        self.portal_tokens = json.dumps(tokens)

    def _apply_identity(self, identity) -> None:
        self._visible = list(identity.visible_conversation_ids)
        self.masked_phone = identity.masked_phone
        self.first_name = identity.first_name
        self.verified = identity.verified
        self.phone_confirmed = identity.phone_confirmed
        self.code_sent = identity.code_sent
        self.has_history = identity.needs_verification or self.has_history
        self.stage = "verify" if identity.needs_verification and not identity.verified else "chat"

    def _reload_messages(self) -> None:
        token = self._token()
        views = portal.list_portal_messages(token)
        self.messages = [self._for_customer(flatten_message(v)) for v in views]
        # Buttons only under the business's latest message: older offers may no longer hold.
        last = views[-1] if views else None
        self.choices = list(last.choices) if last is not None and last.sender == "assistant" else []
        if self.phone_confirmed:  # an offer of the code made before it was entered
            self.choices = [c for c in self.choices if c != SEND_CODE]
        self._watch()
        self._acknowledge()

    def _for_customer(self, message: dict[str, str]) -> dict[str, str]:
        # Replies sent by an integration speak for the business, not for the tool that sent them.
        if message["sender"] == "owner" and message["sender_label"].endswith("(API)"):
            return {**message, "sender_label": self.business_name}
        return message

    def _watch(self) -> None:
        ids = {m["conversation_id"] for m in self.messages} | {str(i) for i in self._visible}
        current = portal.portal_conversation_id(self._token())
        if current:
            ids.add(str(current))
        registry.watch(self.router.session.client_token, PortalState, [conversation_channel(int(i)) for i in ids])

    def _acknowledge(self) -> None:
        """The customer has the chat open: what the business sent is now read."""
        theirs = [int(m["id"]) for m in self.messages if m["sender"] != "customer" and m["status"] != "read"]
        if theirs:
            portal.mark_read_by_customer(self._token(), max(theirs))
            for m in self.messages:
                if m["sender"] != "customer":
                    m["status"] = "read"

    def _live_allowed(self) -> bool:
        """Live updates stop (and the chat closes) once the session ended: signed out elsewhere, erased."""
        try:
            portal.check_portal_session(self._token())
        except AuthenticationError as exc:
            self._session_lost(exc)
            return False
        return True

    def _session_lost(self, exc: AuthenticationError) -> None:
        self._set_token("")
        self.stage = "identify"
        self.messages = []
        self.phone_error = "Your session has ended. Enter your phone number to continue." if str(exc) else ""

    @service_event
    def load(self):
        self.slug = self.router.url.path.rstrip("/").rsplit("/", 1)[-1].lower()
        self.phone_error = self.verify_error = self.verify_notice = self.composer_error = ""
        self.typing_seq = 0
        self.closed = False
        try:
            ws = get_public_workspace(self.slug)
        except PortalClosed:
            self.found, self.closed, self.loaded = False, True, True
            return
        except NotFound:
            self.found = False
            self.loaded = True
            return
        self.found = True
        self.business_name, self.assistant_name = ws.name, ws.assistant_name
        self.welcome_message = ws.welcome_message
        self.stage = "identify"
        token = self._token()
        if token:
            try:
                self._apply_identity(portal.resume_portal_session(self.slug, token))
                self._reload_messages()
            except AuthenticationError as exc:
                self._session_lost(exc)
        self.loaded = True
        if self._token():
            return _ASK_TIMEZONE

    @service_event
    def identify(self, form_data: dict):
        self.phone_error = ""
        try:
            identity = portal.identify_customer(self.slug, form_data.get("phone", ""),
                                                first_name=form_data.get("first_name", ""))
        except NotFound as exc:
            self.found = False
            self.closed = isinstance(exc, PortalClosed)
            self.phone_error = exc.message
            return
        except ServiceError as exc:
            self.phone_error = exc.message
            return
        self._set_token(identity.session_token)
        self.has_history = identity.needs_verification
        self.verify_notice = self.verify_error = ""
        self._apply_identity(identity)
        self._reload_messages()
        return _ASK_TIMEZONE

    @service_event
    def report_timezone(self, timezone: str):
        """The browser's own zone, so the times the assistant offers also show the customer's clock."""
        try:
            portal.set_customer_timezone(self._token(), str(timezone or ""))
        except AuthenticationError:
            pass  # the session ended meanwhile: nothing to remember it for

    @service_event
    def verify(self, form_data: dict):
        self.verify_error = ""
        try:
            identity = portal.verify_code(self._token(), form_data.get("code", ""))
        except AuthenticationError as exc:
            self._session_lost(exc)
            return
        except ServiceError as exc:
            self.verify_error = exc.message
            return
        self._apply_identity(identity)
        self.stage = "chat"
        self._reload_messages()

    def _text_code(self) -> bool:
        """Ask the backend to text this session a code; says what happened in the verify card."""
        self.verify_error = ""
        try:
            portal.send_verification_code(self._token(), client_address=client_address(self))
        except AuthenticationError as exc:
            self._session_lost(exc)
            return False
        except ServiceError as exc:
            self.verify_error = exc.message
            return False
        self.verify_notice = (f"We sent a new code to {self.masked_phone}." if self.code_sent
                              else f"We texted a 6-digit code to {self.masked_phone}.")
        self.code_sent = True
        return True

    @service_event
    def resend_code(self):
        self._text_code()

    @rx.event
    def skip_verification(self):
        self.stage = "chat"

    @service_event
    def ask_verification(self):
        self.verify_notice = ""
        self._text_code()
        if self._token():
            self.stage = "verify"

    @service_event
    def sign_out(self):
        portal.end_portal_session(self._token())
        registry.unwatch(self.router.session.client_token, PortalState)
        self._set_token("")
        self.messages = []
        self.stage = "identify"

    @rx.event
    def pick(self, choice: str):
        self.choices = []
        # The assistant offers the code when asked about appointments this browser may not see yet: the button
        # starts the check itself, it is not a message for the business.
        if choice == SEND_CODE:
            return None if self.phone_confirmed else PortalState.ask_verification
        return PortalState.send({"text": choice})

    @service_event
    def send(self, form_data: dict):
        self.composer_error = ""
        text = str(form_data.get("text", ""))
        if not text.strip() and time.monotonic() - self._last_sent_at < DOUBLE_ENTER_SECONDS:
            return
        try:
            portal.send_customer_message(self._token(), text)
        except AuthenticationError as exc:
            self._session_lost(exc)
            return
        except PortalClosed:
            self.found, self.closed = False, True
            return
        except ServiceError as exc:
            self.composer_error = exc.message
            return
        except Exception:  # the text stays in the box: the customer is told and can press Enter again
            log.exception("a portal message could not be stored")
            self.composer_error = NOT_SENT
            return
        self._last_sent_at = time.monotonic()
        self._reload_messages()
        return clear_composer(COMPOSER_ID)

    @rx.event
    async def upload(self, files: list[rx.UploadFile]):
        self.composer_error = ""
        token = self._token()
        try:
            await off_loop(portal.check_portal_session, token)  # before a byte of a stranger's upload is read
            for upload in files:
                data = await read_upload(upload)
                await off_loop(portal.send_customer_file, token, upload.name or "file", data)
        except AuthenticationError as exc:
            self._session_lost(exc)
            return
        except ServiceError as exc:
            self.composer_error = exc.message
            return
        await off_loop(self._reload_messages)

    @service_event
    def typing(self):
        token = self._token()
        if token:
            portal.customer_typing(token)

    @rx.event
    def start_recording(self):
        self.composer_error = ""
        return rx.call_script("window.fdStartRecording()", callback=PortalState.recording_started)

    @rx.event
    def recording_started(self, result: str):
        if result == "recording":
            self.recording = True
        else:
            self.composer_error = result

    @rx.event
    def cancel_recording(self):
        self.recording = False
        return rx.call_script("window.fdCancelRecording()")

    @rx.event
    def stop_recording(self):
        self.recording = False
        token = json.dumps(self._token())
        return rx.call_script(f"window.fdStopAndUpload('/api/portal/v1/files', {token})",
                              callback=PortalState.voice_uploaded)

    @service_event
    def voice_uploaded(self, result: str):
        if result != "ok":
            self.composer_error = result
            return
        self._reload_messages()

    def on_live_event(self, channel: str, event: dict) -> None:
        """Called by the live listener while this tab shows the chat."""
        kind = event.get("type")
        if not self._token() or self.stage == "identify":
            return
        if kind == "typing" and event.get("who") == "owner":
            self.typing_seq += 1
        elif kind == "assistant.typing":
            self.assistant_typing_seq += 1
        elif kind == "assistant.stream":
            self.streaming_text = str(event.get("text", ""))[:4000]
        elif kind == "message.updated":
            self._reload = True
        elif kind == "message.created":
            self.typing_seq = 0
            if event.get("sender") == "assistant":
                self.assistant_typing_seq = 0
                self.streaming_text = ""
            # The sender's own tab already loaded its message when it sent it.
            if not any(m["id"] == str(event.get("message_id")) for m in self.messages):
                self._reload = True
        elif kind == "message.status":
            ids = {str(i) for i in event.get("message_ids", [])}
            status = event.get("status", "")
            self.messages = [{**m, "status": status} if m["id"] in ids else m for m in self.messages]

    def on_resync(self) -> None:
        self._reload = True

    def after_live_events(self) -> None:
        if self._reload:
            self._reload = False
            self._reload_messages()


def _not_found() -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(
                rx.icon("store", size=36, color=rx.color("gray", 9)),
                rx.heading("We couldn't find this business", size="5", as_="h1"),
                rx.text("The link may be mistyped, or the business may have changed it. Ask them for their current "
                        "link.", size="2", color=rx.color("gray", 11), text_align="center"),
                align="center",
                spacing="3",
                padding="1.5rem",
            ),
            max_width="440px",
        ),
        min_height="100dvh",
        padding="1rem",
        class_name="auth-bg",
    )


def _closed() -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(
                rx.icon("store", size=36, color=rx.color("gray", 9)),
                rx.heading("This business is no longer taking messages", size="5", as_="h1", text_align="center"),
                rx.text("Its chat is closed. To reach them, use another way they gave you, such as their phone "
                        "number or e-mail.", size="2", color=rx.color("gray", 11), text_align="center"),
                align="center",
                spacing="3",
                padding="1.5rem",
            ),
            max_width="440px",
        ),
        min_height="100dvh",
        padding="1rem",
        class_name="auth-bg",
    )


def _header() -> rx.Component:
    return rx.hstack(
        rx.avatar(fallback=PortalState.assistant_name.to(str)[0], size="3", radius="full", color_scheme="indigo"),
        rx.vstack(
            rx.heading(PortalState.business_name, size="4", as_="h1"),
            rx.text(PortalState.assistant_name + " · AI assistant", size="1", color=rx.color("gray", 10)),
            spacing="0",
            min_width="0",
        ),
        rx.spacer(),
        rx.cond(
            PortalState.stage == "chat",
            rx.menu.root(
                rx.menu.trigger(rx.icon_button(rx.icon("ellipsis_vertical", size=18), variant="ghost",
                                               aria_label="More")),
                rx.menu.content(
                    rx.cond(~PortalState.verified & PortalState.has_history,
                            rx.menu.item("Show my earlier conversations", on_click=PortalState.ask_verification)),
                    rx.menu.item("Not you? Sign out", on_click=PortalState.sign_out, color="red"),
                ),
            ),
        ),
        class_name="portal-header",
        align="center",
        spacing="3",
        width="100%",
    )


def _identify() -> rx.Component:
    return rx.vstack(
        rx.box(rx.text(PortalState.welcome_message, size="3"), class_name="chat-bubble chat-theirs"),
        rx.card(
            rx.form(
                rx.vstack(
                    rx.text("Enter your phone number to start. We use it to keep your conversation and to reach "
                            "you about appointments.", size="2", color=rx.color("gray", 11)),
                    rx.el.label("Phone number", html_for="phone", class_name="field-label"),
                    rx.input(id="phone", name="phone", type="tel", placeholder="+1 212 555 0147", size="3",
                             auto_complete="tel", width="100%"),
                    rx.el.label("First name (optional)", html_for="first_name", class_name="field-label"),
                    rx.input(id="first_name", name="first_name", placeholder="Jordan", size="3",
                             auto_complete="given-name", width="100%"),
                    field_error(PortalState.phone_error),
                    rx.button("Start chatting", type="submit", size="3", width="100%"),
                    spacing="2",
                    width="100%",
                ),
                on_submit=PortalState.identify,
                no_validate=True,
                width="100%",
            ),
            width="100%",
        ),
        spacing="4",
        padding="16px",
        width="100%",
        flex="1",
        justify="end",
    )


def _skip_button() -> rx.Component:
    return rx.button(rx.cond(PortalState.messages.length() > 0, "Not now: back to the chat",
                             "Skip: start a new conversation"),
                     variant="ghost", color_scheme="gray", on_click=PortalState.skip_verification)


def _code_form() -> rx.Component:
    return rx.fragment(
        rx.cond(PortalState.verify_notice != "",
                rx.callout(PortalState.verify_notice, icon="message_square_text", color_scheme="blue",
                           width="100%", role="status")),
        rx.form(
            rx.vstack(
                rx.el.label("Verification code", html_for="code", class_name="field-label"),
                rx.input(id="code", name="code", placeholder="123456", size="3", input_mode="numeric",
                         auto_complete="one-time-code", max_length=6, width="100%"),
                field_error(PortalState.verify_error),
                rx.button("Verify", type="submit", size="3", width="100%"),
                spacing="2",
                width="100%",
            ),
            on_submit=PortalState.verify,
            reset_on_submit=True,
            no_validate=True,
            width="100%",
        ),
        rx.hstack(
            rx.button("Send a new code", variant="ghost", on_click=PortalState.resend_code),
            rx.spacer(),
            _skip_button(),
            width="100%",
            wrap="wrap",
        ),
    )


def _ask_for_code() -> rx.Component:
    # Typing a number texts nothing (backend.messaging.portal): the person holding the phone asks for the code.
    return rx.fragment(
        rx.text("We'll text a 6-digit code to ", rx.text.strong(PortalState.masked_phone), ".", size="2"),
        form_alert(PortalState.verify_error),
        rx.button("Text me a code", size="3", width="100%", on_click=PortalState.resend_code),
        rx.hstack(rx.spacer(), _skip_button(), width="100%"),
    )


def _verify() -> rx.Component:
    return rx.vstack(
        rx.card(
            rx.vstack(
                rx.cond(
                    PortalState.has_history,
                    rx.fragment(
                        rx.heading("Welcome back", size="4", as_="h2"),
                        rx.text("This number has talked with us before. To keep those messages private, we check "
                                "that the phone is yours with a code we text to it.", size="2",
                                color=rx.color("gray", 11)),
                    ),
                    rx.fragment(
                        rx.heading("Confirm your number", size="4", as_="h2"),
                        rx.text("To keep your appointments private, we check that the phone is yours with a code "
                                "we text to it.", size="2", color=rx.color("gray", 11)),
                    ),
                ),
                rx.cond(PortalState.code_sent, _code_form(), _ask_for_code()),
                spacing="3",
                width="100%",
            ),
            width="100%",
        ),
        padding="16px",
        width="100%",
        flex="1",
        justify="center",
    )


def _composer() -> rx.Component:
    return rx.vstack(
        form_alert(PortalState.composer_error),
        rx.cond(
            PortalState.recording,
            rx.hstack(
                rx.box(class_name="recording-dot"),
                rx.text("Recording… speak now", size="2"),
                rx.spacer(),
                rx.button("Cancel", variant="soft", color_scheme="gray", on_click=PortalState.cancel_recording),
                rx.button(rx.icon("send", size=16), "Send voice message", on_click=PortalState.stop_recording),
                align="center",
                width="100%",
            ),
            composer_form(
                input_id=COMPOSER_ID, label="Message", placeholder="Type a message…", on_submit=PortalState.send,
                on_typing=PortalState.typing,
                attach=attach_button(UPLOAD_ID, PortalState.upload(rx.upload_files(upload_id=UPLOAD_ID))),
                actions=[
                    rx.icon_button(rx.icon("mic", size=18), variant="soft", type="button", size="3",
                                   aria_label="Record a voice message", on_click=PortalState.start_recording),
                    rx.icon_button(rx.icon("send", size=18), type="submit", size="3", aria_label="Send"),
                ],
            ),
        ),
        class_name="composer",
        spacing="2",
        width="100%",
    )


def _chat() -> rx.Component:
    return rx.fragment(
        rx.cond(
            ~PortalState.verified & PortalState.has_history,
            rx.callout(
                rx.hstack(rx.text("Earlier conversations are hidden until you verify your number."),
                          rx.link("Verify", on_click=PortalState.ask_verification, href="#"), spacing="2",
                          wrap="wrap"),
                icon="lock", color_scheme="gray", size="1", margin="8px 12px 0",
            ),
        ),
        chat_scroller(
            PortalState.messages,
            "customer",
            rx.box(rx.text(PortalState.welcome_message, size="2"), class_name="chat-bubble chat-theirs",
                   margin="16px"),
            streaming_bubble(PortalState.streaming_text, PortalState.assistant_name),
            typing_indicator(PortalState.typing_seq, "The team"),
            rx.cond(PortalState.streaming_text == "",
                    typing_indicator(PortalState.assistant_typing_seq, PortalState.assistant_name)),
        ),
        quick_replies(PortalState.choices, PortalState.pick),
        _composer(),
    )


def portal_page() -> rx.Component:
    return rx.cond(
        ~PortalState.loaded,
        rx.center(rx.spinner(size="3"), height="100dvh"),
        rx.cond(
            PortalState.found,
            rx.box(
                rx.box(
                    _header(),
                    rx.match(
                        PortalState.stage,
                        ("verify", _verify()),
                        ("chat", _chat()),
                        _identify(),
                    ),
                    rx.hstack(rx.text("Powered by", size="1", color=rx.color("gray", 9)), brand("1"), spacing="1",
                              align="center", justify="center", padding="6px", width="100%"),
                    class_name="portal-shell",
                ),
                class_name="auth-bg",
            ),
            rx.cond(PortalState.closed, _closed(), _not_found()),
        ),
    )


_ASK_TIMEZONE = rx.call_script("Intl.DateTimeFormat().resolvedOptions().timeZone",
                               callback=PortalState.report_timezone)
