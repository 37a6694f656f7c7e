"""The customer's side: /portal/<slug>. Identify with a phone number, then chat by text, file or voice.

State: portal_state.py. The chat's composer is components/chat.py's, as in the inbox.
"""

from __future__ import annotations

import reflex as rx

from assistant.components.chat import (
    attach_button,
    chat_scroller,
    composer_form,
    quick_replies,
    streaming_bubble,
    typing_indicator,
)
from assistant.components.forms import field_error, form_alert
from assistant.components.layout import brand
from assistant.pages.portal_state import COMPOSER_ID, PortalState

__all__ = ["PortalState", "portal_page"]

UPLOAD_ID = "portal-upload"


def _notice_card(title: str, body: str) -> rx.Component:
    """A whole page that only says why there is no chat here."""
    return rx.center(
        rx.card(
            rx.vstack(
                rx.icon("store", size=36, color=rx.color("gray", 9)),
                rx.heading(title, size="5", as_="h1", text_align="center"),
                rx.text(body, size="2", color=rx.color("gray", 11), text_align="center"),
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


def _not_found() -> rx.Component:
    return _notice_card("We couldn't find this business", "The link may be mistyped, or the business may have "
                        "changed it. Ask them for their current link.")


def _closed() -> rx.Component:
    return _notice_card("This business is no longer taking messages", "Its chat is closed. To reach them, use "
                        "another way they gave you, such as their phone number or e-mail.")


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


def _form_card(*children: rx.Component, justify: str, before: rx.Component | None = None) -> rx.Component:
    """A step before the chat: one card (identify sits low, under the welcome message as in a chat; verify is
    centred)."""
    return rx.vstack(
        *([before] if before is not None else []),
        rx.card(rx.vstack(*children, spacing="3", width="100%"), width="100%"),
        spacing="4",
        padding="16px",
        width="100%",
        flex="1",
        justify=justify,
    )


def _intro(text: str | rx.Var) -> rx.Component:
    return rx.text(text, size="2", color=rx.color("gray", 11))


def _field(label: str, name: str, **input_props) -> rx.Component:
    return rx.fragment(
        rx.el.label(label, html_for=name, class_name="field-label"),
        rx.input(id=name, name=name, size="3", width="100%", **input_props),
    )


def _step_form(*fields: rx.Component, error: rx.Var, submit: str, on_submit, **form_props) -> rx.Component:
    """A step's form: its fields, what was wrong with them, one wide button."""
    return rx.form(
        rx.vstack(*fields, field_error(error), rx.button(submit, type="submit", size="3", width="100%"),
                  spacing="2", width="100%"),
        on_submit=on_submit,
        no_validate=True,
        width="100%",
        **form_props,
    )


def _identify() -> rx.Component:
    return _form_card(
        _step_form(
            _intro("Enter your phone number to start. We use it to keep your conversation and to reach you about "
                   "appointments."),
            _field("Phone number", "phone", type="tel", placeholder="+1 212 555 0147", auto_complete="tel"),
            _field("First name (optional)", "first_name", placeholder="Jordan", auto_complete="given-name"),
            error=PortalState.phone_error, submit="Start chatting", on_submit=PortalState.identify,
        ),
        before=rx.box(rx.text(PortalState.welcome_message, size="3"), class_name="chat-bubble chat-theirs"),
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
        _step_form(
            _field("Verification code", "code", placeholder="123456", input_mode="numeric",
                   auto_complete="one-time-code", max_length=6),
            error=PortalState.verify_error, submit="Verify", on_submit=PortalState.verify, reset_on_submit=True,
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
    return _form_card(
        rx.heading(rx.cond(PortalState.has_history, "Welcome back", "Confirm your number"), size="4", as_="h2"),
        _intro(rx.cond(PortalState.has_history,
                       "This number has talked with us before. To keep those messages private, we check that the "
                       "phone is yours with a code we text to it.",
                       "To keep your appointments private, we check that the phone is yours with a code we text "
                       "to it.")),
        rx.cond(PortalState.code_sent, _code_form(), _ask_for_code()),
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
