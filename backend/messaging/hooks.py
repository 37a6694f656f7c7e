"""What messaging announces to the domains built on it, inside the transaction that stores a message.

A hook holds receivers connected at start-up (backend/startup.py); messaging calls them without knowing who they
are, so it never imports a higher domain. A receiver gets the session and the stored message and may return an
action to run once the transaction committed (handing the AI's run to background work, for instance).
"""

from __future__ import annotations

from typing import Callable, Optional

from sqlmodel import Session

from backend.models import Message

AfterCommit = Callable[[], None]
Receiver = Callable[[Session, Message], Optional[AfterCommit]]


class Hook:
    def __init__(self, name: str):
        self.name = name
        self._receivers: list[Receiver] = []

    def connect(self, receiver: Receiver) -> None:
        if receiver not in self._receivers:
            self._receivers.append(receiver)

    def disconnect(self, receiver: Receiver) -> None:
        if receiver in self._receivers:
            self._receivers.remove(receiver)

    def send(self, session: Session, message: Message) -> list[AfterCommit]:
        """Call every receiver inside the caller's transaction; returns what to run after the commit."""
        after: list[AfterCommit] = []
        for receiver in list(self._receivers):
            action = receiver(session, message)
            if action is not None:
                after.append(action)
        return after


# A customer's message (text, file or voice) was stored: the AI queues its run here.
customer_message_stored = Hook("customer_message_stored")
