"""Notifications: in-app notices for the team, and the outbox every e-mail and text passes through
(stored first, delivered in the background)."""

from backend.notifications.outbox import (
    deliver_outbox_message,
    list_outbox,
    queue_email,
    requeue_stale_outbox,
)
from backend.notifications.sms import deliver_outbox_sms, queue_sms

__all__ = [
    "deliver_outbox_message", "deliver_outbox_sms", "list_outbox", "queue_email", "queue_sms", "requeue_stale_outbox",
]
