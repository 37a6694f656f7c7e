"""Every table of the product, importable from one place (alembic and `reflex db` read this)."""

from backend.models.accounts import (
    ApiToken,
    AuditEvent,
    LoginAttempt,
    Membership,
    OwnerSession,
    PasswordResetRequest,
    PasswordResetToken,
    User,
    WorkspaceTombstone,
)
from backend.models.calendar import (
    Appointment,
    AvailabilitySlot,
    BusyPeriod,
    CalendarConnection,
    CalendarEventLink,
    DateOverride,
    Service,
)
from backend.models.context import (
    BusinessRule,
    ContextField,
    ContextHistory,
    ContextSchema,
    ConversationContext,
    RuleExecution,
)
from backend.models.knowledge import KnowledgeChunk, KnowledgeDocument
from backend.models.messaging import (
    AIRun,
    Contact,
    Conversation,
    CustomIntent,
    Draft,
    Message,
    PortalSession,
    StoredFile,
    VerificationCode,
)
from backend.models.notifications import Notification, NotificationPreference, OutboxMessage
from backend.models.workspace import Webhook, WebhookDelivery, Workspace

__all__ = [
    "AIRun", "ApiToken", "Appointment", "AuditEvent", "AvailabilitySlot", "BusinessRule", "BusyPeriod",
    "CalendarConnection", "CalendarEventLink", "Contact", "ContextField", "ContextHistory", "ContextSchema",
    "Conversation",
    "ConversationContext", "CustomIntent", "DateOverride", "Draft", "KnowledgeChunk", "KnowledgeDocument",
    "LoginAttempt", "Membership", "Message", "Notification", "NotificationPreference", "OutboxMessage",
    "OwnerSession", "PasswordResetRequest", "PasswordResetToken", "PortalSession", "RuleExecution", "Service",
    "StoredFile", "User",
    "VerificationCode", "Webhook", "WebhookDelivery", "Workspace", "WorkspaceTombstone",
]
