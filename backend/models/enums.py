"""The closed vocabularies the product uses. Stored as plain strings; validated by the services."""

from __future__ import annotations

from enum import StrEnum


class AIRole(StrEnum):
    GENERAL = "general"
    BANKER = "banker"
    MEDICAL = "medical"
    LEGAL = "legal"
    REAL_ESTATE = "real_estate"
    RESTAURANT = "restaurant"
    SALON = "salon"
    FITNESS = "fitness"
    EDUCATION = "education"
    RETAIL = "retail"
    HOSPITALITY = "hospitality"
    TECH_SUPPORT = "tech_support"


AI_ROLE_LABELS: dict[str, str] = {
    AIRole.GENERAL: "General front desk",
    AIRole.BANKER: "Banker",
    AIRole.MEDICAL: "Medical practice",
    AIRole.LEGAL: "Legal office",
    AIRole.REAL_ESTATE: "Real estate agent",
    AIRole.RESTAURANT: "Restaurant host",
    AIRole.SALON: "Salon & spa",
    AIRole.FITNESS: "Fitness coach",
    AIRole.EDUCATION: "Tutor & school",
    AIRole.RETAIL: "Retail shop",
    AIRole.HOSPITALITY: "Hotel concierge",
    AIRole.TECH_SUPPORT: "Tech support",
}


class AIPersonality(StrEnum):
    PROFESSIONAL = "professional"
    FRIENDLY = "friendly"
    CASUAL = "casual"
    EMPATHETIC = "empathetic"
    CONCISE = "concise"
    ENTHUSIASTIC = "enthusiastic"


AI_PERSONALITY_LABELS: dict[str, str] = {
    AIPersonality.PROFESSIONAL: "Professional",
    AIPersonality.FRIENDLY: "Friendly",
    AIPersonality.CASUAL: "Casual",
    AIPersonality.EMPATHETIC: "Empathetic",
    AIPersonality.CONCISE: "Concise",
    AIPersonality.ENTHUSIASTIC: "Enthusiastic",
}


class ReplyPolicy(StrEnum):
    ALWAYS_DRAFT = "always_draft"
    AUTO_ABOVE_THRESHOLD = "auto_above_threshold"
    ALWAYS_SEND = "always_send"


class MemberRole(StrEnum):
    OWNER = "owner"
    AGENT = "agent"


class ConversationStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"


class Sender(StrEnum):
    CUSTOMER = "customer"
    ASSISTANT = "assistant"
    OWNER = "owner"
    SYSTEM = "system"


class MessageType(StrEnum):
    TEXT = "text"
    AUDIO = "audio"
    FILE = "file"


class MessageStatus(StrEnum):
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"


class DraftStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"  # approved as is, or edited then sent
    REJECTED = "rejected"
    SUPERSEDED = "superseded"  # someone answered the conversation another way before the draft was reviewed


class DocumentStatus(StrEnum):
    QUEUED = "queued"
    EXTRACTING = "extracting"
    EMBEDDING = "embedding"
    READY = "ready"
    FAILED = "failed"
    QUARANTINED = "quarantined"  # reading it crashed the worker too often: never processed again


class AppointmentStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class OutboxChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
