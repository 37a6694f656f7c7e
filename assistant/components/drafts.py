"""An AI-drafted reply the owner reviews: edit in place, send, or reject. Shared by the inbox and the drafts queue."""

from __future__ import annotations

import reflex as rx

ACTION_LABELS = {"send": "sent", "draft": "drafted", "handoff": "handed off"}


def flatten_draft(d) -> dict[str, str]:
    """A DraftView as flat strings for the page."""
    return {
        "id": str(d.id),
        "conversation_id": str(d.conversation_id),
        "contact_name": d.contact_name,
        "content": d.content,
        "confidence": f"{d.confidence:.0%}",
        "reason": d.reason,
        "intent": d.intent.replace("_", " "),
        "customer_message": d.customer_message,
        "sources": " · ".join(_source_label(c) for c in d.citations if _source_label(c)),
        "at": d.created_at,
    }


def _source_label(c: dict) -> str:
    title = str(c.get("document_title") or "")
    where = f"page {c['page']}" if c.get("page") else str(c.get("heading") or "")
    return ", ".join(p for p in (title, where) if p)


def run_note(run: dict) -> str:
    """One line on what the assistant made of a customer message, for the owner."""
    if run["status"] in ("queued", "running"):
        return "The assistant is reading this…"
    if run["status"] == "failed":
        return f"The assistant could not answer: {run['error'] or 'unknown error'}"
    if not run["action"]:
        return run["reason"] or ""
    intent = (run["intent"] or "other").replace("_", " ")
    note = f"{intent} ({run['intent_confidence']:.0%}) → {ACTION_LABELS.get(run['action'], run['action'])}"
    if run["reason"]:
        note += f": {run['reason']}"
    if run["error"]:
        note += f" · {run['error']}"
    return note


def draft_card(d: rx.Var, on_send, on_reject, *, show_customer: bool = False, extra: rx.Component | None = None
               ) -> rx.Component:
    """`on_send` receives the form (fields `draft_id` and `text`); `on_reject` is called with the draft id."""
    return rx.box(
        rx.form(
            rx.vstack(
                rx.hstack(
                    rx.icon("sparkles", size=16, color=rx.color("violet", 10)),
                    rx.text("Suggested reply", size="2", weight="bold"),
                    rx.badge(d["confidence"] + " confident", color_scheme="violet", variant="soft"),
                    rx.badge(d["intent"], color_scheme="gray", variant="soft"),
                    rx.spacer(),
                    extra if extra is not None else rx.fragment(),
                    align="center",
                    spacing="2",
                    width="100%",
                    wrap="wrap",
                ),
                rx.cond(d["reason"] != "", rx.text("Why a draft: " + d["reason"], size="1",
                                                   color=rx.color("gray", 11))),
                rx.cond(show_customer & (d["customer_message"] != ""),
                        rx.blockquote(d["customer_message"], size="2", width="100%")),
                rx.el.input(type="hidden", name="draft_id", value=d["id"]),
                rx.text_area(name="text", default_value=d["content"], key=d["id"], rows="4", width="100%",
                             aria_label="Draft reply", max_length=4000),
                rx.cond(d["sources"] != "",
                        rx.hstack(rx.icon("book_open", size=12), rx.text("Sources: " + d["sources"], size="1"),
                                  spacing="1", align="center", color=rx.color("gray", 11))),
                rx.hstack(
                    rx.button(rx.icon("x", size=14), "Reject", type="button", variant="soft", color_scheme="gray",
                              on_click=on_reject(d["id"])),
                    rx.button(rx.icon("send", size=14), "Send", type="submit", color_scheme="violet"),
                    spacing="2",
                    justify="end",
                    width="100%",
                ),
                spacing="2",
                width="100%",
            ),
            on_submit=on_send,
            width="100%",
        ),
        class_name="draft-card",
        data_testid="draft",
        width="100%",
    )
