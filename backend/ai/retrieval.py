"""The knowledge passages a reply may use, from the workspace's documents (backend.kb.search)."""

from __future__ import annotations

from backend.ai.types import Passage
from backend.kb.search import SearchHit, search

TOP_K = 4
# A passage found only by keywords has no similarity to report; this is what an exact-word match is worth next
# to cosine similarities (which run ~0.3 unrelated … ~0.8 same question) when a composer weighs passages.
KEYWORD_ONLY_SCORE = 0.45
# Intents whose replies never draw on the documents: no search, no latency.
NO_RETRIEVAL_INTENTS = frozenset({"greeting", "thanks", "human"})
# A few words that steer a terse question to the right passages ("hours?" → the opening hours section).
QUERY_HINTS = {"opening_hours": "opening hours", "pricing": "price cost"}


def passage_from_hit(hit: SearchHit) -> Passage:
    score = hit.vector_score if hit.vector_score is not None else KEYWORD_ONLY_SCORE
    return Passage(chunk_id=hit.chunk_id, document_id=hit.document_id, document_title=hit.document_title,
                   text=hit.passage, score=max(0.0, min(1.0, float(score))), page=hit.page, heading=hit.heading)


def query_for(text: str, intent: str) -> str:
    hint = QUERY_HINTS.get(intent)
    if hint and len(text.split()) <= 4:
        return f"{text} {hint}"
    return text


def retrieve(workspace_id: int, text: str, intent: str = "question", top_k: int = TOP_K) -> list[Passage]:
    if intent in NO_RETRIEVAL_INTENTS or not text.strip():
        return []
    return [passage_from_hit(hit) for hit in search(workspace_id, query_for(text, intent), top_k=top_k)]
