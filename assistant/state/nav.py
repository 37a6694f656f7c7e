"""What the dashboard's navigation shows on every page: unread conversations and the notification bell."""

from __future__ import annotations

import reflex as rx

from assistant.live import registry
from assistant.state.auth import OwnerState
from assistant.state.handlers import service_event
from backend.core.live_events import workspace_channel
from backend.messaging.drafts import pending_draft_count
from backend.messaging.inbox import mark_delivered_to_owner, unread_conversation_count
from backend.notifications import service as notifications


class NavState(OwnerState):
    unread_conversations: int = 0
    unread_notifications: int = 0
    pending_drafts: int = 0
    notifications: list[dict[str, str]] = []
    _arrived: list[int] = []
    _counts_dirty: bool = False

    def _refresh_counts(self) -> None:
        self.unread_conversations = unread_conversation_count(self._workspace_id)
        self.unread_notifications = notifications.unread_notification_count(self._workspace_id, self._user_id)
        self.pending_drafts = pending_draft_count(self._workspace_id)

    @service_event
    def load_nav(self):
        if not self.is_authenticated or not self._workspace_id:
            return
        self._refresh_counts()
        registry.watch(self.router.session.client_token, NavState, [workspace_channel(self._workspace_id)])

    @service_event
    def load_notifications(self):
        ctx = self._owner()
        self.notifications = [
            {"id": str(n.id), "title": n.title, "body": n.body, "link": n.link or "/dashboard/inbox",
             "at": n.created_at, "read": "1" if n.read else ""}
            for n in notifications.list_notifications(ctx.workspace_id, ctx.user_id, limit=20)
        ]

    @service_event
    def mark_all_read(self):
        ctx = self._owner()
        notifications.mark_notifications_read(ctx.workspace_id, ctx.user_id)
        self.notifications = [{**n, "read": "1"} for n in self.notifications]
        self._refresh_counts()

    @service_event
    def open_notification(self, notification_id: str, link: str):
        ctx = self._owner()
        notifications.mark_notifications_read(ctx.workspace_id, ctx.user_id, ids=[int(notification_id)])
        self._refresh_counts()
        return rx.redirect(link)

    def on_live_event(self, channel: str, event: dict) -> None:
        kind = event.get("type")
        if kind == "conversation.updated":
            if event.get("sender") == "customer" and event.get("message_id"):
                self._arrived.append(int(event["message_id"]))
            self._counts_dirty = True
        elif kind == "draft.updated":
            self._counts_dirty = True
        elif kind == "notification.created" and event.get("user_id") in (None, self._user_id):
            self._counts_dirty = True

    def on_resync(self) -> None:
        self._counts_dirty = True

    def after_live_events(self) -> None:
        if self._arrived:
            # An owner has the dashboard open: the customers' messages reached them.
            mark_delivered_to_owner(self._workspace_id, self._arrived)
            self._arrived = []
        if self._counts_dirty:
            self._counts_dirty = False
            self._refresh_counts()
