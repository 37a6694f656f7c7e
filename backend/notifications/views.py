"""What the notification services hand to pages: frozen dataclasses of JSON-friendly values."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class NotificationView:
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: str
    read: bool
    conversation_id: int | None

    def as_dict(self) -> dict:
        return asdict(self)
