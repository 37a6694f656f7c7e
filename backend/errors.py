"""Errors services raise for the person in front of the screen: each carries a message fit to show."""

from __future__ import annotations


class ServiceError(Exception):
    """Bad input or a refused action. `field` names the form field to show it beside, if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    pass


class PermissionDenied(ServiceError):
    pass


class RateLimited(ServiceError):
    pass


class AuthenticationError(ServiceError):
    pass


class SessionExpired(AuthenticationError):
    pass


class PortalClosed(NotFound):
    """The business exists but takes no messages (its workspace is being deleted)."""
