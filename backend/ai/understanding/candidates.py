"""A span the extraction rules found, before it is resolved against the other spans and mapped to fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Candidate:
    kind: str  # date | time | count | number | email | phone | money | first_name | last_name | person_name | text
    start: int
    end: int
    value: Any
    confidence: float
    priority: float = 0.5  # how specific the rule is: decides between overlapping candidates of different kinds
    alternatives: tuple[Any, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def length(self) -> int:
        return self.end - self.start

    def overlaps(self, other: "Candidate") -> bool:
        return self.start < other.end and other.start < self.end
