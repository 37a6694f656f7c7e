"""Chat pieces shared by the customer portal and the owner's inbox: bubbles, attachments, ticks, typing."""

from __future__ import annotations

import reflex as rx

from backend.settings import get_settings


def _size_label(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} B"


def local_time(iso: rx.Var) -> rx.Component:
    """Formatted in the viewer's browser, so each person sees their own time zone."""
    return rx.moment(iso, format="MMM D, HH:mm")


def flatten_message(view) -> dict[str, str]:
    """A MessageView as flat strings, so the page never dereferences a missing attachment."""
    file = view.file or {}
    return {
        "id": str(view.id),
        "conversation_id": str(view.conversation_id),
        "sender": view.sender,
        "sender_label": view.sender_label,
        "type": view.type,
        # A file message's text is its name, already shown on the attachment.
        "content": "" if file and view.content == file.get("name") else (view.content or ""),
        "status": view.status,
        "at": view.created_at,
        "ai": "1" if view.ai_generated else "",
        "file_kind": file.get("kind", "") if file else "",
        "file_name": file.get("name", "") if file else "",
        "file_url": file.get("url", "") if file else "",
        "file_size": _size_label(int(file.get("size_bytes", 0))) if file else "",
        "transcript": view.transcript or "",
        "sources": " · ".join(c["label"] for c in (view.citations or [])),
        "confidence": f"{view.confidence:.0%}" if view.confidence is not None else "",
        "ai_note": "",  # the inbox fills in what the assistant understood of a customer message
        "choices": " · ".join(view.choices or []),
    }


def _attachment(msg: rx.Var) -> rx.Component:
    return rx.match(
        msg["file_kind"],
        ("image", rx.link(rx.image(src=msg["file_url"], alt=msg["file_name"], class_name="chat-image"),
                          href=msg["file_url"], is_external=True)),
        ("audio", rx.vstack(
            rx.el.audio(src=msg["file_url"], controls=True, preload="metadata", class_name="chat-audio",
                        aria_label="Voice message"),
            rx.cond(msg["transcript"] != "", rx.text(msg["transcript"], size="1", class_name="chat-transcript")),
            spacing="1",
        )),
        ("file", rx.link(
            rx.hstack(rx.icon("file_text", size=18), rx.vstack(rx.text(msg["file_name"], size="2", weight="medium"),
                                                                rx.text(msg["file_size"], size="1"), spacing="0"),
                      align="center", spacing="2"),
            href=msg["file_url"], is_external=True, class_name="chat-file", underline="none",
        )),
        rx.fragment(),
    )


def _ticks(msg: rx.Var) -> rx.Component:
    return rx.match(
        msg["status"],
        ("read", rx.icon("check_check", size=14, class_name="tick-read", aria_label="Read")),
        ("delivered", rx.icon("check_check", size=14, aria_label="Delivered")),
        rx.icon("check", size=14, aria_label="Sent"),
    )


def message_bubble(msg: rx.Var, mine_sender: str) -> rx.Component:
    """`mine_sender` is the sender shown on the right: "customer" in the portal, "owner" in the inbox."""
    mine = msg["sender"] == mine_sender
    if mine_sender == "owner":
        # In the inbox everything the business sent (owner or assistant) sits on the right.
        mine = (msg["sender"] == "owner") | (msg["sender"] == "assistant")
    return rx.box(
        rx.vstack(
            rx.cond(~mine | (mine_sender == "owner"), rx.text(msg["sender_label"], size="1", class_name="chat-sender")),
            rx.cond(msg["content"] != "", rx.text(msg["content"], size="2", class_name="chat-text")),
            _attachment(msg),
            rx.cond(msg["sources"] != "",
                    rx.hstack(rx.icon("book_open", size=12), rx.text("Sources: " + msg["sources"], size="1"),
                              spacing="1", align="center", class_name="chat-sources")),
            rx.cond(msg["ai_note"] != "",
                    rx.hstack(rx.icon("sparkles", size=12), rx.text(msg["ai_note"], size="1"),
                              spacing="1", align="center", class_name="chat-ai-note", data_testid="ai-note")),
            rx.hstack(
                rx.text(local_time(msg["at"]), size="1"),
                rx.cond(mine, _ticks(msg)),
                spacing="1",
                align="center",
                class_name="chat-meta",
            ),
            spacing="1",
            align=rx.cond(mine, "end", "start"),
        ),
        class_name=rx.cond(mine, "chat-bubble chat-mine", "chat-bubble chat-theirs"),
        data_testid="message",
        data_sender=msg["sender"],
    )


def typing_indicator(seq: rx.Var, who: rx.Var | str) -> rx.Component:
    """Remounts (key) on every typing event; its CSS animation hides it a few seconds later."""
    return rx.cond(
        seq > 0,
        rx.box(
            rx.hstack(rx.box(class_name="dot"), rx.box(class_name="dot"), rx.box(class_name="dot"),
                      rx.text(who, " is typing…", size="1"), spacing="1", align="center"),
            key=seq,
            class_name="typing-indicator",
            role="status",
        ),
    )


def quick_replies(choices: rx.Var, on_pick) -> rx.Component:
    """The assistant's offered answers (free times, yes / no) as buttons; a click hands that text to `on_pick`."""
    return rx.cond(
        choices.length() > 0,
        rx.flex(
            rx.foreach(choices, lambda c: rx.button(c, size="2", variant="soft", radius="full",
                                                    on_click=on_pick(c), data_testid="quick-reply")),
            wrap="wrap", gap="2", padding="4px 12px 8px", role="group", aria_label="Suggested answers",
        ),
    )


def streaming_bubble(text: rx.Var, label: rx.Var | str) -> rx.Component:
    """The assistant's reply while it is being written (streamed from an LLM); replaced by the stored message."""
    return rx.cond(
        text != "",
        rx.box(
            rx.vstack(rx.text(label, size="1", class_name="chat-sender"),
                      rx.text(text, size="2", class_name="chat-text"), spacing="1", align="start"),
            class_name="chat-bubble chat-theirs chat-streaming",
            data_testid="streaming-reply",
        ),
    )


def chat_scroller(messages: rx.Var, mine_sender: str, empty: rx.Component, *extra: rx.Component) -> rx.Component:
    """Newest at the bottom; column-reverse keeps the view pinned to the latest message without scripts."""
    return rx.box(
        rx.box(
            rx.foreach(messages, lambda m: message_bubble(m, mine_sender)),
            *extra,
            class_name="chat-column",
        ),
        rx.cond(messages.length() == 0, empty),
        class_name="chat-scroller",
        id="chat-scroller",
    )


def attach_button(upload_id: str, on_drop) -> rx.Component:
    """A paperclip that opens the file picker; the file goes to `on_drop` as soon as it is chosen."""
    return rx.upload.root(
        rx.icon_button(rx.icon("paperclip", size=18), variant="soft", color_scheme="gray", type="button",
                       aria_label="Attach a file", size="3"),
        id=upload_id,
        multiple=False,
        max_size=get_settings().max_upload_mb * 1024 * 1024,  # refused in the browser, with a toast
        no_drag=True,
        on_drop=on_drop,
        border="none",
        padding="0",
    )


def composer_form(*, input_id: str, label: str, placeholder: str, on_submit, on_typing, attach: rx.Component,
                  actions: list[rx.Component]) -> rx.Component:
    """The message box of a chat (the portal's and the inbox's). What was typed stays in the box until the
    server has stored it: the handler clears it with `clear_composer`, so a send that fails never loses the text."""
    return rx.form(
        rx.hstack(
            attach,
            rx.input(id=input_id, name="text", placeholder=placeholder, size="3", flex="1", min_width="0",
                     auto_complete="off", aria_label=label, max_length=4000, on_change=on_typing.throttle(2000)),
            *actions,
            spacing="2",
            width="100%",
            align="center",
        ),
        on_submit=on_submit,
        width="100%",
    )


def clear_composer(input_id: str):
    """The event a send handler returns once the message is stored."""
    return rx.set_value(input_id, "")
