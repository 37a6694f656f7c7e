"""The live events of messaging, named in one place.

Services collect events while they write and publish them only after their transaction committed: a page that
reloads on an event must find what the event announces. Events are hints to refresh; the database stays the
truth.

Conversation channel (`conversation:<id>`; the portal and an open inbox thread listen):
    {"type": "message.created", "conversation_id", "message_id", "sender"}
    {"type": "message.status", "conversation_id", "message_ids": [...], "status"}
    {"type": "typing", "conversation_id", "who": "customer" | "owner"}
    {"type": "conversation.updated", "conversation_id"}
    {"type": "message.updated", "conversation_id", "message_id"}      (a transcript arrived)
    {"type": "assistant.typing", "conversation_id"}                   (the AI is writing; not stored)
    {"type": "assistant.stream", "conversation_id", "text"}           (the AI's reply so far, streamed; not stored)
Workspace channel (`workspace:<id>`; the owner's dashboard listens):
    {"type": "conversation.updated", "conversation_id"[, "message_id", "sender" when a message caused it]}
    {"type": "notification.created", "user_id"}
    {"type": "contact.updated", "contact_id"}
    {"type": "draft.updated", "conversation_id", "draft_id"}          (created, sent, rejected or superseded)
    {"type": "appointment.updated", "appointment_id"}                 (booked, moved, cancelled, status changed)
"""

from __future__ import annotations

import logging
from typing import Any, Iterable

from backend.providers.events import RESYNC, Subscription, conversation_channel, get_event_bus, workspace_channel

log = logging.getLogger(__name__)

MESSAGE_CREATED = "message.created"
MESSAGE_STATUS = "message.status"
TYPING = "typing"
CONVERSATION_UPDATED = "conversation.updated"
NOTIFICATION_CREATED = "notification.created"
CONTACT_UPDATED = "contact.updated"
MESSAGE_UPDATED = "message.updated"
DRAFT_UPDATED = "draft.updated"
ASSISTANT_TYPING = "assistant.typing"
ASSISTANT_STREAM = "assistant.stream"
APPOINTMENT_UPDATED = "appointment.updated"


class PendingEvents:
    """Events gathered inside a transaction; `publish()` sends them, to be called once it committed."""

    def __init__(self) -> None:
        self._items: list[tuple[str, dict[str, Any]]] = []

    def __len__(self) -> int:
        return len(self._items)

    def _add(self, channel: str, event: dict[str, Any]) -> None:
        if (channel, event) not in self._items:  # one hint per change is enough
            self._items.append((channel, event))

    def message_created(self, workspace_id: int, conversation_id: int, message_id: int, sender: str) -> None:
        self._add(conversation_channel(conversation_id), {
            "type": MESSAGE_CREATED, "conversation_id": conversation_id, "message_id": message_id,
            "sender": str(sender),
        })
        # The dashboard learns which message arrived, so an open dashboard can mark it delivered.
        self._add(workspace_channel(workspace_id), {
            "type": CONVERSATION_UPDATED, "conversation_id": conversation_id, "message_id": message_id,
            "sender": str(sender),
        })

    def message_status(self, workspace_id: int, conversation_id: int, message_ids: Iterable[int], status: str,
                       ) -> None:
        ids = sorted(message_ids)
        if not ids:
            return
        self._add(conversation_channel(conversation_id), {
            "type": MESSAGE_STATUS, "conversation_id": conversation_id, "message_ids": ids, "status": str(status),
        })
        self.conversation_updated(workspace_id, conversation_id, thread=False)

    def conversation_updated(self, workspace_id: int, conversation_id: int, thread: bool = True) -> None:
        """The inbox row changed; with `thread`, pages showing the conversation itself are told too."""
        event = {"type": CONVERSATION_UPDATED, "conversation_id": conversation_id}
        self._add(workspace_channel(workspace_id), event)
        if thread:
            self._add(conversation_channel(conversation_id), dict(event))

    def notification_created(self, workspace_id: int, user_id: int) -> None:
        self._add(workspace_channel(workspace_id), {"type": NOTIFICATION_CREATED, "user_id": user_id})

    def contact_updated(self, workspace_id: int, contact_id: int) -> None:
        self._add(workspace_channel(workspace_id), {"type": CONTACT_UPDATED, "contact_id": contact_id})

    def message_updated(self, workspace_id: int, conversation_id: int, message_id: int) -> None:
        self._add(conversation_channel(conversation_id), {
            "type": MESSAGE_UPDATED, "conversation_id": conversation_id, "message_id": message_id,
        })
        self.conversation_updated(workspace_id, conversation_id, thread=False)

    def draft_updated(self, workspace_id: int, conversation_id: int, draft_id: int) -> None:
        self._add(workspace_channel(workspace_id), {
            "type": DRAFT_UPDATED, "conversation_id": conversation_id, "draft_id": draft_id,
        })

    def appointment_updated(self, workspace_id: int, appointment_id: int) -> None:
        self._add(workspace_channel(workspace_id), {"type": APPOINTMENT_UPDATED, "appointment_id": appointment_id})

    def publish(self) -> None:
        bus = get_event_bus()
        items, self._items = self._items, []
        for channel, event in items:
            try:
                bus.publish(channel, event)
            except Exception:  # the write is done; a lost hint only means a page refreshes later
                log.warning("could not publish %s on %s", event.get("type"), channel, exc_info=True)


def publish_typing(conversation_id: int, who: str) -> None:
    """Typing is never stored: it is only worth anything to whoever is looking right now."""
    get_event_bus().publish(
        conversation_channel(conversation_id), {"type": TYPING, "conversation_id": conversation_id, "who": who}
    )


def publish_assistant_typing(conversation_id: int) -> None:
    _publish_quietly(conversation_id, {"type": ASSISTANT_TYPING, "conversation_id": conversation_id})


def publish_assistant_stream(conversation_id: int, text: str) -> None:
    _publish_quietly(conversation_id, {"type": ASSISTANT_STREAM, "conversation_id": conversation_id, "text": text})


def _publish_quietly(conversation_id: int, event: dict[str, Any]) -> None:
    try:
        get_event_bus().publish(conversation_channel(conversation_id), event)
    except Exception:  # a hint about work in progress; the stored reply follows anyway
        log.debug("could not publish %s", event.get("type"), exc_info=True)


def subscribe(pattern: str) -> Subscription:
    """Live events on channels matching a glob ("*" for all): what the web app's live listener reads. After the bus
    was away, the subscription yields one RESYNC event (channel "*"): pages reload what they show."""
    return get_event_bus().subscribe(pattern)


__all__ = [
    "APPOINTMENT_UPDATED", "ASSISTANT_STREAM", "ASSISTANT_TYPING", "CONTACT_UPDATED", "CONVERSATION_UPDATED",
    "DRAFT_UPDATED", "MESSAGE_CREATED", "MESSAGE_STATUS", "MESSAGE_UPDATED", "NOTIFICATION_CREATED", "RESYNC",
    "TYPING", "PendingEvents", "conversation_channel", "publish_assistant_stream", "publish_assistant_typing",
    "publish_typing", "subscribe", "workspace_channel",
]
