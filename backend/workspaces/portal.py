"""Whether a business's portal takes messages: asked when a customer opens the link and on every message."""

from __future__ import annotations

from backend.errors import NotFound, PortalClosed
from backend.models import Workspace

UNKNOWN_BUSINESS = "We couldn't find this business. Check the link you were given."
PORTAL_CLOSED = "This business is no longer taking messages."


def check_portal_open(workspace: Workspace | None) -> Workspace:
    """The workspace if its portal takes messages; NotFound, or PortalClosed while it is being deleted."""
    if workspace is None or not workspace.portal_enabled:
        raise NotFound(UNKNOWN_BUSINESS)
    if workspace.deletion_due_at is not None:
        raise PortalClosed(PORTAL_CLOSED)
    return workspace
