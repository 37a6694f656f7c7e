"""Knowledge gaps: the customer questions the assistant could not answer well, grouped, so the owner knows what
to add to the knowledge base.

A question counts as a gap when its run found no answer in the documents, was handed off for low confidence, or
its best passage scored under WEAK_RETRIEVAL. Small talk and requests for a person are not gaps. Questions are
grouped greedily by meaning (cosine of their embeddings ≥ GROUP_SIMILARITY, compared with each group's first
question), biggest group first. Each group is checked against the documents as they are now, so a gap the owner
has since filled shows as covered.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import timedelta

from sqlalchemy import or_

from backend.ai.replies.policy import HANDOFF
from backend.core.formatting import iso
from backend.db import session_scope, tenant_select
from backend.kb.search import search
from backend.models import AIRun
from backend.models.types import utcnow
from backend.providers.embeddings import embed_cached, get_embedder

WEAK_RETRIEVAL = 0.45
GROUP_SIMILARITY = 0.72
COVERED_SCORE = 0.6  # a passage this close to the question now means the documents answer it
NOT_GAPS = ("greeting", "thanks", "human", "complaint", "book", "reschedule", "cancel")
MAX_QUESTIONS = 500


@dataclass
class GapGroup:
    question: str  # the group's first question, as the customer wrote it
    count: int
    last_asked_at: str
    examples: list[str] = field(default_factory=list)
    conversation_ids: list[int] = field(default_factory=list)
    covered_now: bool = False
    best_passage: str = ""  # what the documents offer now, when covered

    def as_dict(self) -> dict:
        return asdict(self)


def list_gaps(workspace_id: int, *, days: int = 30, limit: int = 30, check_coverage: bool = True) -> list[GapGroup]:
    since = utcnow() - timedelta(days=max(1, days))
    with session_scope() as session:
        runs = session.exec(
            tenant_select(AIRun, workspace_id)
            .where(AIRun.status == "done", AIRun.created_at >= since, AIRun.question != "",
                   AIRun.intent.notin_(NOT_GAPS),
                   or_(AIRun.answered.is_(False), AIRun.action == HANDOFF, AIRun.retrieval_top_score.is_(None),
                       AIRun.retrieval_top_score < WEAK_RETRIEVAL))
            .order_by(AIRun.id.desc()).limit(MAX_QUESTIONS)
        ).all()
        rows = [(r.question.strip(), r.created_at, r.conversation_id) for r in runs if r.question.strip()]
    if not rows:
        return []
    # Through the shared vector cache: the coverage check below searches with the same questions.
    vectors = embed_cached(get_embedder(), [q for q, _, _ in rows])
    groups: list[tuple[int, list[int]]] = []  # (index of the first question, members)
    for i in range(len(rows)):
        for first, members in groups:
            if float(vectors[i] @ vectors[first]) >= GROUP_SIMILARITY:
                members.append(i)
                break
        else:
            groups.append((i, [i]))
    groups.sort(key=lambda g: (-len(g[1]), g[0]))
    out = []
    for first, members in groups[:limit]:
        examples: list[str] = []
        for i in members:
            if rows[i][0].lower() not in (e.lower() for e in examples):
                examples.append(rows[i][0])
        out.append(GapGroup(
            question=rows[first][0], count=len(members), last_asked_at=iso(max(rows[i][1] for i in members)),
            examples=examples[:5], conversation_ids=sorted({rows[i][2] for i in members})[:20],
        ))
    if check_coverage:
        _mark_covered(workspace_id, out)
    return out


def _mark_covered(workspace_id: int, groups: list[GapGroup]) -> None:

    for group in groups:
        hits = search(workspace_id, group.question, top_k=1, mode="vector")
        if hits and (hits[0].vector_score or 0.0) >= COVERED_SCORE:
            group.covered_now = True
            group.best_passage = hits[0].passage[:240]
