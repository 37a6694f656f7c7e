"""The customer portal's state (/portal/<slug>): who this browser is to the business (identify with a phone
number, verify it with a texted code), and the chat (text, files, voice, live updates). The page is portal.py.

The browser keeps one opaque session token per business (local storage); the server keeps only its hash.
"""

from __future__ import annotations

import json
import logging
import time

import reflex as rx

from assistant.components.chat import clear_composer, flatten_message
from assistant.live import registry
from assistant.state.client import client_address
from assistant.state.handlers import off_loop, read_upload, service_event
from backend.ai.dialogs.booking import SEND_CODE
from backend.core.live_events import conversation_channel
from backend.errors import AuthenticationError, NotFound, PortalClosed, ServiceError
from backend.messaging import portal
from backend.workspaces.service import get_public_workspace

log = logging.getLogger(__name__)

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


_ASK_TIMEZONE = rx.call_script("Intl.DateTimeFormat().resolvedOptions().timeZone",
                               callback=PortalState.report_timezone)
