"""Value types passed between the steps of the AI pipeline. Plain frozen dataclasses, JSON-ready via as_dict()."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class IntentResult:
    name: str  # a built-in intent name, a custom intent name, or "other"
    confidence: float  # 0..1
    alternatives: tuple[tuple[str, float], ...] = ()  # the next best (name, confidence), best first
    builtin: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "confidence": round(self.confidence, 4)}


@dataclass(frozen=True)
class FieldSpec:
    """Something to extract from a message: a context field, or one of the default booking entities."""

    key: str
    type: str = "text"  # text | number | date | time | datetime | email | phone | money | first_name | last_name |
    #                     person_name | count ...
    description: str = ""


@dataclass(frozen=True)
class Entity:
    field: str  # the FieldSpec key it fills
    value: Any  # normalised: "2026-11-27" for a date, "09:45" for a time, an int for a count, a str otherwise
    text: str  # the exact substring of the message
    start: int  # message[start:end] == text
    end: int
    confidence: float
    type: str = "text"
    # Other readings when the phrase is ambiguous ("next Thursday" said on a Wednesday): normalised values the
    # assistant should offer back instead of guessing. Empty when the reading is clear.
    alternatives: tuple[Any, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out = {"field": self.field, "value": self.value, "text": self.text, "start": self.start, "end": self.end,
               "confidence": round(self.confidence, 4)}
        if self.alternatives:
            out["alternatives"] = list(self.alternatives)
        return out


@dataclass(frozen=True)
class Passage:
    """A knowledge-base passage offered to a composer."""

    chunk_id: int
    document_id: int
    document_title: str
    text: str
    score: float  # similarity to the question, 0..1 (cosine for the vector path)
    page: int | None = None
    heading: str = ""


@dataclass(frozen=True)
class Citation:
    document_id: int
    document_title: str
    chunk_id: int
    page: int | None = None
    heading: str = ""
    quote: str = ""  # the sentences the reply used

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def label(self) -> str:
        """"Price list, page 3" — how a citation reads to a person."""
        parts = [self.document_title]
        if self.page:
            parts.append(f"page {self.page}")
        elif self.heading:
            parts.append(self.heading)
        return ", ".join(p for p in parts if p)


@dataclass(frozen=True)
class Persona:
    """Who is answering: the workspace's profile and AI settings."""

    business_name: str
    assistant_name: str = "Ava"
    role: str = "general"  # backend.models.enums.AIRole
    personality: str = "professional"  # backend.models.enums.AIPersonality
    custom_instructions: str = ""
    timezone: str = "UTC"


@dataclass(frozen=True)
class Turn:
    sender: str  # customer | assistant | owner | system
    text: str


@dataclass(frozen=True)
class ComposedReply:
    text: str
    confidence: float  # 0..1: how sure the composer is that `text` answers the message
    citations: tuple[Citation, ...] = ()
    answered: bool = True  # False when the passages did not contain an answer (a knowledge gap)
    kind: str = "answer"  # answer | greeting | thanks | handoff | fallback | clarify | booking
    provider: str = "embedded"
    choices: tuple[str, ...] = ()  # quick replies offered with the text (booking: free times as buttons)

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "confidence": round(self.confidence, 4),
                "citations": [c.as_dict() for c in self.citations], "answered": self.answered, "kind": self.kind,
                "provider": self.provider, "choices": list(self.choices)}


@dataclass(frozen=True)
class ComposeRequest:
    """Everything a composer (embedded or LLM) gets to write one reply."""

    message: str
    persona: Persona
    intent: IntentResult
    entities: tuple[Entity, ...] = ()
    passages: tuple[Passage, ...] = ()
    history: tuple[Turn, ...] = ()  # earlier turns, oldest first, not including `message`
    first_reply: bool = False  # the assistant has not spoken in this conversation yet
