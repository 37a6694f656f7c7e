"""Notifications: the outbox every e-mail passes through (stored first, delivered in the background)."""

from backend.notifications.outbox import (
    deliver_outbox_message,
    list_outbox,
    queue_email,
    requeue_stale_outbox,
)

__all__ = ["deliver_outbox_message", "list_outbox", "queue_email", "requeue_stale_outbox"]
