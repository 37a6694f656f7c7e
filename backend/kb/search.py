"""Search a workspace's knowledge base: vector similarity, keywords, or both fused.

(One file on purpose: one algorithm whose PostgreSQL and SQLite halves must stay the same search; they read
side by side here with the candidate types and the fusion they feed.)

    hits = search(workspace_id, "how much is a kids haircut?", top_k=5)
    hits[0].passage, hits[0].document_title, hits[0].page, hits[0].score

Every search is scoped to one workspace and sees only chunks of documents whose status is "ready".

Vector part (meaning, paraphrases): the query is embedded with the configured embedder and compared by cosine
similarity. PostgreSQL orders by `embedding <=> :q` through the HNSW index (`hnsw.ef_search` and pgvector 0.8's
iterative scan set per transaction, so filtered searches still fill their candidates); SQLite keeps each
workspace's vectors as one numpy matrix in process memory, reloaded when the per-workspace version counter that
the database triggers bump (migration 0003) moves.

Keyword part (exact words, phrases, prices, product codes): the query is cut into terms (a "quoted phrase" stays
one term; English stop words are dropped) and every term is sent quoted, OR-ed together, so no customer text can
break the query syntax. SQLite: FTS5 `MATCH` ranked by `bm25` (heading weighted 2x). PostgreSQL:
`websearch_to_tsquery` over the generated `search_tsv` column (GIN), ranked BM25-like: the sum over the terms of
idf(term) × ts_rank_cd(chunk, term); in a big workspace only the rarest terms are searched (see
KEYWORD_ROW_BUDGET). "SKU-4471", "SKU 4471" and "4471" find the same chunk; "$35" finds "35" (the currency sign
is not indexed); "creme brulee" finds "crème brûlée" on both databases.

Scores (`SearchHit.score`, what `min_score` compares), 0..1:
- hybrid: reciprocal rank fusion, sum of 1/(60 + rank) over the two candidate lists (top 50 of each), divided by
  its maximum 2/61. So 1.0 = first in both lists; a chunk found by one retriever only scores at most 0.5.
- keyword: the same fusion over the keyword list alone: 1.0 for the first hit, 61/(60 + rank) below.
- vector: the cosine similarity to the query (negative clipped to 0), comparable from one query to the next.
`vector_score` is always the cosine similarity; `keyword_score` is the database's own relevance (PostgreSQL: the
idf-weighted ts_rank_cd sum, SQLite: -bm25): higher is better, but the two databases' values are not comparable.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Sequence

import numpy as np
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection
from sqlmodel import Session

from backend.db import session_scope, tenant_select
from backend.errors import ServiceError
from backend.models.knowledge import KnowledgeChunk, KnowledgeDocument
from backend.settings import get_settings

log = logging.getLogger(__name__)

MODES = ("hybrid", "vector", "keyword")
RRF_K = 60
CANDIDATES = 50  # per retriever, before fusion
MAX_TOP_K = 100
HNSW_EF_SEARCH = 80
MAX_QUERY_CHARS = 2000
MAX_TERMS = 32
READY = "ready"
REPROCESSING = frozenset({"queued", "extracting", "embedding"})

# PostgreSQL's English stop words (snowball), so both databases drop the same words from keyword queries.
STOP_WORDS = frozenset("""
i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers herself
it its itself they them their theirs themselves what which who whom this that these those am is are was were be
been being have has had having do does did doing a an the and but if or because as until while of at by for with
about against between into through during before after above below to from up down in out on off over under
again further then once here there when where why how all any both each few more most other some such no nor not
only own same so than too very s t can will just don should now
""".split())

_WORD = re.compile(r"\w+(?:[.'’]\w+)*")
_PHRASE = re.compile(r'"([^"]*)"')


@dataclass(frozen=True)
class SearchHit:
    chunk_id: int
    document_id: int
    document_title: str
    page: int | None
    heading: str
    passage: str
    score: float
    vector_rank: int | None = None
    keyword_rank: int | None = None
    vector_score: float | None = None
    keyword_score: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- public API --------------------------------------------------------------------------------------------------


def search(
    workspace_id: int,
    query: str,
    *,
    top_k: int = 5,
    min_score: float = 0.0,
    document_ids: Iterable[int] | None = None,
    tags: Iterable[str] | None = None,
    mode: str = "hybrid",
) -> list[SearchHit]:
    """The `top_k` best passages of one workspace's ready documents for `query`, best first.

    `document_ids` keeps only those documents; `tags` keeps documents carrying at least one of the tags (case
    does not matter). Any text is accepted as `query`: an empty one gives no hits, never an error.
    """
    if mode not in MODES:
        raise ServiceError(f"unknown search mode {mode!r}: use one of {', '.join(MODES)}", field="mode")
    top_k = _check_top_k(top_k)
    try:
        min_score = float(min_score)
    except (TypeError, ValueError):
        raise ServiceError("min_score must be a number between 0 and 1", field="min_score") from None
    query = ("" if query is None else str(query)).replace("\x00", " ").strip()[:MAX_QUERY_CHARS]
    if not query:
        return []
    terms = _terms(query) if mode in ("hybrid", "keyword") else []

    vector: np.ndarray | None = None
    if mode in ("hybrid", "vector"):
        vector = _embed_query(query, required=(mode == "vector"))

    n_candidates = max(CANDIDATES, top_k)
    with session_scope() as session:
        docs = _allowed_documents(session, workspace_id, document_ids, tags)
        if not docs.allowed:
            return []
        vector_hits = _vector_candidates(session, workspace_id, vector, docs, n_candidates) if vector is not None \
            else []
        keyword_hits = _keyword_candidates(session, workspace_id, terms, docs, n_candidates) if terms else []
        ranked = _fuse(mode, vector_hits, keyword_hits)
        ranked = [r for r in ranked if r.score >= min_score][:top_k]
        return _hits(session, workspace_id, ranked, docs)


def search_by_vector(
    workspace_id: int,
    vector: Sequence[float],
    top_k: int = 5,
    *,
    document_ids: Iterable[int] | None = None,
    tags: Iterable[str] | None = None,
    exact: bool = False,
    ef_search: int | None = None,
) -> list[SearchHit]:
    """Nearest chunks to an already computed embedding (scored by cosine similarity), best first.

    `exact=True` makes PostgreSQL scan every vector instead of walking the HNSW index (the reference for recall
    measurements); SQLite is always exact. `ef_search` overrides the HNSW candidate list size.
    """
    top_k = _check_top_k(top_k)
    q = _as_unit_vector(vector)
    dim = get_settings().embedding_dim
    if q.shape[0] != dim:
        raise ServiceError(f"the query vector has {q.shape[0]} dimensions; the knowledge base stores {dim}")
    with session_scope() as session:
        docs = _allowed_documents(session, workspace_id, document_ids, tags)
        if not docs.allowed:
            return []
        candidates = _vector_candidates(session, workspace_id, q, docs, top_k, exact=exact, ef_search=ef_search)
        return _hits(session, workspace_id, _fuse("vector", candidates, [])[:top_k], docs)


def keyword_terms(query: str) -> list[str]:
    """The terms a keyword search looks for: "quoted phrases" whole, other words one by one, stop words out.

    Each term is plain words separated by spaces (no quotes, no operators), safe to quote for either database.
    """
    return [t.text for t in _terms(query)]


@dataclass(frozen=True)
class _Term:
    text: str
    quoted: bool  # the customer put it in quotes: always searched, never dropped as too common


def _terms(query: str) -> list[_Term]:
    terms: list[_Term] = []
    seen: set[str] = set()

    def add(words: list[str], quoted: bool) -> None:
        term = " ".join(words)
        key = term.lower()
        if words and key not in seen and len(terms) < MAX_TERMS:
            seen.add(key)
            terms.append(_Term(term, quoted))

    for phrase in _PHRASE.findall(query):
        words = _words(phrase)
        if len(words) == 1 and words[0].lower() in STOP_WORDS:
            continue
        add(words, quoted=len(words) > 0)
    for word in _words(_PHRASE.sub(" ", query)):
        if word.lower() not in STOP_WORDS:
            add([word], quoted=False)
    return terms


def forget_workspace(workspace_id: int) -> None:
    """Drop what this process keeps of one workspace's knowledge base (its vectors): the workspace was purged."""
    with _cache_lock:
        for key in [k for k in _matrix_cache if k[1] == int(workspace_id)]:
            del _matrix_cache[key]
    for key in [k for k in _workspace_rows if k[1] == int(workspace_id)]:
        _workspace_rows.pop(key, None)


def clear_caches() -> None:
    """Forget the in-process caches: SQLite matrices, PostgreSQL word statistics and workspace sizes (tests)."""
    with _cache_lock:
        _matrix_cache.clear()
    _lexeme_stats.clear()
    _workspace_rows.clear()


# --- internals: documents and candidates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    chunk_id: int
    document_id: int
    raw: float  # cosine similarity (vector) or the database's keyword rank (higher is better)


@dataclass(frozen=True)
class _Ranked:
    chunk_id: int
    document_id: int
    score: float
    vector_rank: int | None
    keyword_rank: int | None
    vector_score: float | None
    keyword_score: float | None


@dataclass(frozen=True)
class _Documents:
    titles: dict[int, str]  # every allowed document's title
    allowed: frozenset[int]
    restricted: bool  # False when every document of the workspace is allowed (no id filter needed in SQL)


def _check_top_k(top_k: int) -> int:
    try:
        top_k = int(top_k)
    except (TypeError, ValueError):
        raise ServiceError("top_k must be a whole number", field="top_k") from None
    if not 1 <= top_k <= MAX_TOP_K:
        raise ServiceError(f"top_k must be between 1 and {MAX_TOP_K}", field="top_k")
    return top_k


def _words(text_: str) -> list[str]:
    # A hyphen is a word break for both indexes (and the migration reads "SKU-4471" as "SKU 4471").
    return _WORD.findall(text_.replace("-", " "))


def _as_unit_vector(vector: Sequence[float]) -> np.ndarray:
    q = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(q))
    if not np.isfinite(norm) or norm == 0.0:
        raise ServiceError("the query vector is zero or not a number")
    return q / norm


def _embed_query(query: str, *, required: bool) -> np.ndarray | None:
    from backend.providers.embeddings import EmbeddingError, embed_cached, get_embedder

    try:
        return _as_unit_vector(embed_cached(get_embedder(), [query])[0])
    except EmbeddingError as exc:
        if required:
            raise ServiceError(f"the knowledge base cannot be searched by meaning right now: {exc}") from exc
        log.warning("query embedding failed, searching by keywords only: %s", exc)
        return None


def _allowed_documents(session: Session, workspace_id: int, document_ids, tags) -> _Documents:
    rows = session.connection().execute(
        tenant_select(KnowledgeDocument, workspace_id).with_only_columns(
            KnowledgeDocument.id, KnowledgeDocument.title, KnowledgeDocument.status, KnowledgeDocument.tags,
            KnowledgeDocument.chunk_count,
        )
    ).all()
    if isinstance(document_ids, int):
        document_ids = [document_ids]
    if isinstance(tags, str):
        tags = [tags]
    try:
        wanted_ids = None if document_ids is None else {int(i) for i in document_ids}
    except (TypeError, ValueError):
        raise ServiceError("document_ids must be document numbers", field="document_ids") from None
    wanted_tags = None if tags is None else {str(t).strip().lower() for t in tags if str(t).strip()}
    titles: dict[int, str] = {}
    for doc_id, title, status, doc_tags, chunk_count in rows:
        # A document being processed again (re-index, retry of a changed file) keeps its previous chunks until
        # the new ones replace them in one transaction: it stays searchable meanwhile.
        if status != READY and not (status in REPROCESSING and (chunk_count or 0) > 0):
            continue
        if wanted_ids is not None and doc_id not in wanted_ids:
            continue
        if wanted_tags is not None:
            have = {str(t).strip().lower() for t in (doc_tags or [])}
            if not have & wanted_tags:
                continue
        titles[doc_id] = title
    return _Documents(titles=titles, allowed=frozenset(titles), restricted=len(titles) < len(rows))


def _vector_candidates(session: Session, workspace_id: int, q: np.ndarray, docs: _Documents, limit: int, *,
                       exact: bool = False, ef_search: int | None = None) -> list[_Candidate]:
    if session.get_bind().dialect.name == "postgresql":
        return _pg_vector(session, workspace_id, q, docs, limit, exact=exact, ef_search=ef_search)
    return _sqlite_vector(session, workspace_id, q, docs, limit)


def _keyword_candidates(session: Session, workspace_id: int, terms: list[_Term], docs: _Documents,
                        limit: int) -> list[_Candidate]:
    if session.get_bind().dialect.name == "postgresql":
        return _pg_keyword(session, workspace_id, terms, docs, limit)
    return _sqlite_keyword(session, workspace_id, terms, docs, limit)


# --- PostgreSQL ---------------------------------------------------------------------------------------------------


def pg_vector_sql(restricted: bool):
    """The vector candidate query; ordered by the `<=>` operator alone so the HNSW index serves it."""
    doc_filter = "AND document_id = ANY(:docs) " if restricted else ""
    return text(
        "SELECT id, document_id, embedding <=> CAST(:q AS vector) AS distance FROM knowledge_chunks "
        f"WHERE workspace_id = :ws AND embedding IS NOT NULL {doc_filter}"
        "ORDER BY embedding <=> CAST(:q AS vector) LIMIT :n"
    )


def pg_vector_params(workspace_id: int, q: Sequence[float], docs: Iterable[int] | None, limit: int) -> dict:
    params: dict[str, Any] = {"q": _vector_literal(q), "ws": workspace_id, "n": limit}
    if docs is not None:
        params["docs"] = sorted(docs)
    return params


def _vector_literal(q: Sequence[float]) -> str:
    return "[" + ",".join(f"{float(x):.7g}" for x in q) + "]"


def _pg_vector(session: Session, workspace_id: int, q: np.ndarray, docs: _Documents, limit: int, *,
               exact: bool, ef_search: int | None) -> list[_Candidate]:
    if exact:
        session.connection().execute(text("SET LOCAL enable_indexscan = off"))
        session.connection().execute(text("SET LOCAL enable_bitmapscan = off"))
    else:
        # Transaction-local (SET LOCAL) in one round trip. pgvector >= 0.8's iterative scan: when filters drop
        # index candidates, keep walking the graph instead of returning fewer rows.
        session.connection().execute(
            text("SELECT set_config('hnsw.ef_search', :ef, true), "
                 "set_config('hnsw.iterative_scan', 'relaxed_order', true)"),
            {"ef": str(max(int(ef_search or HNSW_EF_SEARCH), limit))},
        )
    rows = session.connection().execute(
        pg_vector_sql(docs.restricted),
        pg_vector_params(workspace_id, q, docs.allowed if docs.restricted else None, limit),
    ).all()
    # relaxed_order may return neighbours slightly out of order: sort by the distances themselves.
    out = [_Candidate(int(r[0]), int(r[1]), 1.0 - float(r[2])) for r in rows]
    out.sort(key=lambda c: (-c.raw, c.chunk_id))
    return out


# Keyword search on PostgreSQL ranks every matching row with ts_rank_cd (≈5 µs a row), and ts_rank_cd has no notion
# of how common a word is. So in a big workspace a question full of common words ("what does the default object
# return") would rank tens of thousands of rows, slowly, by words that say little. Instead, the terms are taken
# rarest first (frequencies from the planner's own statistics of search_tsv) while the rows they are expected to
# match stay within KEYWORD_ROW_BUDGET; quoted phrases are always kept. As a backstop, at most KEYWORD_SCAN_CAP
# matching rows are ranked. In a small workspace every term is kept.
KEYWORD_ROW_BUDGET = 1000
KEYWORD_SCAN_CAP = 2000
_STATS_SECONDS = 300.0
_COUNT_SECONDS = 60.0


@dataclass(frozen=True)
class _LexemeStats:
    expires: float
    freqs: dict[str, float]
    floor: float  # frequency assumed for a lexeme outside the most-common list


_lexeme_stats: dict[str, _LexemeStats] = {}
_workspace_rows: dict[tuple[str, int], tuple[float, int]] = {}


def _pg_lexeme_stats(conn: Connection) -> _LexemeStats:
    key = str(conn.engine.url)
    now = time.monotonic()
    cached = _lexeme_stats.get(key)
    if cached is not None and cached.expires > now:
        return cached
    row = conn.execute(text(
        "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats "
        "WHERE schemaname = current_schema() AND tablename = 'knowledge_chunks' AND attname = 'search_tsv'"
    )).first()
    freqs: dict[str, float] = {}
    floor = 0.0
    if row is not None and row[0]:
        values = list(row[1] or [])[:len(row[0])]  # the last 3 entries are min, max and null frequency
        freqs = {lexeme: float(f) for lexeme, f in zip(row[0], values)}
        floor = min(freqs.values(), default=0.0)
    stats = _LexemeStats(expires=now + _STATS_SECONDS, freqs=freqs, floor=floor)
    _lexeme_stats[key] = stats
    return stats


def _pg_workspace_rows(conn: Connection, workspace_id: int) -> int:
    key = (str(conn.engine.url), int(workspace_id))
    now = time.monotonic()
    cached = _workspace_rows.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    count = int(conn.execute(text("SELECT count(*) FROM knowledge_chunks WHERE workspace_id = :ws"),
                             {"ws": workspace_id}).scalar() or 0)
    _workspace_rows[key] = (now + _COUNT_SECONDS, count)
    return count


def _pg_select_terms(conn: Connection, workspace_id: int, terms: list[_Term], rows: int) -> list[str]:
    if rows <= KEYWORD_ROW_BUDGET:
        return [t.text for t in terms]
    stats = _pg_lexeme_stats(conn)
    lexemes = conn.execute(
        text("SELECT u.ord, tsvector_to_array(to_tsvector('kb_english', u.t)) "
             "FROM unnest(CAST(:terms AS text[])) WITH ORDINALITY AS u(t, ord)"),
        {"terms": [t.text for t in terms]},
    ).all()
    estimated: list[tuple[float, int]] = []
    for ordinal, lexes in lexemes:
        if lexes:  # a term of stop words only has none and matches nothing
            # A phrase needs all its words: it is at most as common as its rarest one.
            estimated.append((min(stats.freqs.get(lex, stats.floor) for lex in lexes), int(ordinal) - 1))
    estimated.sort()
    chosen, expected_rows = [], 0.0
    for freq, index in estimated:
        term = terms[index]
        if term.quoted or not chosen or expected_rows + freq * rows <= KEYWORD_ROW_BUDGET:
            chosen.append(index)
            expected_rows += freq * rows
    return [terms[i].text for i in sorted(chosen)]


def _pg_keyword(session: Session, workspace_id: int, terms: list[_Term], docs: _Documents,
                limit: int) -> list[_Candidate]:
    """BM25-like ranking in one statement: Σ over the terms of idf(term) × ts_rank_cd(chunk, term, 32).

    ts_rank_cd alone scores "bar" (in every chunk) like "green" (in one), so a question's common words would
    outrank its telling one. Each term's rank (frequency, heading weight, saturated to 0..1 by flag 32) is
    therefore weighted by its inverse document frequency in the workspace, counted over the matching rows.
    """
    conn = session.connection()
    total = _pg_workspace_rows(conn, workspace_id)
    selected = _pg_select_terms(conn, workspace_id, terms, total)
    if not selected:
        return []
    # Every term quoted for websearch_to_tsquery, which never raises on any input; quoting keeps a customer's
    # "-", "or" and parentheses from acting as operators.
    params: dict[str, Any] = {f"t{i}": '"' + t.replace('"', " ") + '"' for i, t in enumerate(selected)}
    params.update(ws=workspace_id, n=limit, cap=KEYWORD_SCAN_CAP, total=max(total, 1))
    doc_filter = "AND c.document_id = ANY(:docs) " if docs.restricted else ""
    if docs.restricted:
        params["docs"] = sorted(docs.allowed)
    idx = range(len(selected))
    queries = ", ".join(f"websearch_to_tsquery('kb_english', :t{i}) AS q{i}" for i in idx)
    any_term = " || ".join(f"q.q{i}" for i in idx)
    ranks = ", ".join(
        f"CASE WHEN m.search_tsv @@ q.q{i} THEN ts_rank_cd(m.search_tsv, q.q{i}, 32) END AS r{i}" for i in idx)
    # idf = ln(1 + (N - df + 0.5) / (df + 0.5)), BM25's, once per term in float8 (numeric ln per row is slow).
    weights = ", ".join(
        f"ln(1.0::float8 + (greatest(:total, count(r{i})) - count(r{i}) + 0.5::float8) / (count(r{i}) + 0.5::float8))"
        f" AS w{i}" for i in idx)
    score = " + ".join(f"coalesce(s.r{i}, 0) * df.w{i}" for i in idx)
    rows = conn.execute(
        text(
            f"WITH q AS MATERIALIZED (SELECT {queries}), "
            "m AS MATERIALIZED (SELECT c.id, c.document_id, c.search_tsv FROM knowledge_chunks c, q "
            f"WHERE c.workspace_id = :ws AND c.search_tsv @@ ({any_term}) {doc_filter}LIMIT :cap), "
            f"s AS MATERIALIZED (SELECT m.id, m.document_id, {ranks} FROM m, q), "
            f"df AS (SELECT {weights} FROM s) "
            f"SELECT s.id, s.document_id, {score} AS score FROM s, df ORDER BY score DESC, s.id LIMIT :n"
        ),
        params,
    ).all()
    return [_Candidate(int(r[0]), int(r[1]), float(r[2])) for r in rows]


# --- SQLite -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Matrix:
    version: int
    chunk_ids: np.ndarray  # int64 [n]
    document_ids: np.ndarray  # int64 [n]
    vectors: np.ndarray  # float32 [n, dim], rows L2-normalised


_MAX_CACHED_WORKSPACES = 64
_matrix_cache: "OrderedDict[tuple[str, int], _Matrix]" = OrderedDict()
_cache_lock = threading.Lock()


def _sqlite_version(conn: Connection, workspace_id: int) -> int:
    version = conn.execute(
        text("SELECT version FROM knowledge_search_versions WHERE workspace_id = :ws"), {"ws": workspace_id}
    ).scalar()
    return int(version or 0)


def _sqlite_matrix(session: Session, workspace_id: int) -> _Matrix:
    conn = session.connection()
    key = (str(conn.engine.url), int(workspace_id))
    # Read the version before the rows: a change committed in between only causes one extra reload later.
    version = _sqlite_version(conn, workspace_id)
    with _cache_lock:
        cached = _matrix_cache.get(key)
        if cached is not None and cached.version == version:
            _matrix_cache.move_to_end(key)
            return cached
    rows = conn.execute(
        text("SELECT id, document_id, embedding FROM knowledge_chunks "
             "WHERE workspace_id = :ws AND embedding IS NOT NULL ORDER BY id"),
        {"ws": workspace_id},
    ).all()
    if rows:
        # Vectors of one size only (a half-finished re-index after an embedder change could mix sizes).
        sizes = Counter(len(r[2]) for r in rows)
        size = sizes.most_common(1)[0][0]
        rows = [r for r in rows if len(r[2]) == size and size]
    if rows:
        vectors = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), -1).copy()
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors /= np.where(norms > 0, norms, 1.0)
    else:
        vectors = np.zeros((0, 0), dtype=np.float32)
    matrix = _Matrix(
        version=version,
        chunk_ids=np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)),
        document_ids=np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows)),
        vectors=vectors,
    )
    with _cache_lock:
        _matrix_cache[key] = matrix
        _matrix_cache.move_to_end(key)
        while len(_matrix_cache) > _MAX_CACHED_WORKSPACES:
            _matrix_cache.popitem(last=False)
    return matrix


def _sqlite_vector(session: Session, workspace_id: int, q: np.ndarray, docs: _Documents,
                   limit: int) -> list[_Candidate]:
    matrix = _sqlite_matrix(session, workspace_id)
    if not len(matrix.chunk_ids) or matrix.vectors.shape[1] != q.shape[0]:
        if len(matrix.chunk_ids):
            log.warning("workspace %s stores %d-d vectors but the query is %d-d; re-index its documents",
                        workspace_id, matrix.vectors.shape[1], q.shape[0])
        return []
    # einsum runs on this thread: a multi-threaded BLAS call right after the embedder's own threads ran was
    # measured several times slower on a busy 2-core machine, and a matrix-vector product gains little from threads.
    sims = np.einsum("ij,j->i", matrix.vectors, q.astype(np.float32, copy=False))
    if docs.restricted:
        allowed = np.isin(matrix.document_ids, np.fromiter(docs.allowed, dtype=np.int64))
        sims = np.where(allowed, sims, -np.inf)
        available = int(allowed.sum())
    else:
        available = len(sims)
    n = min(limit, available)
    if n <= 0:
        return []
    top = np.argpartition(-sims, n - 1)[:n] if n < len(sims) else np.arange(len(sims))
    top = top[np.lexsort((matrix.chunk_ids[top], -sims[top]))]
    return [_Candidate(int(matrix.chunk_ids[i]), int(matrix.document_ids[i]), float(sims[i])) for i in top
            if np.isfinite(sims[i])]


def fts5_match(terms: list[str]) -> str:
    """An FTS5 MATCH expression: every term a quoted string (quotes doubled), OR-ed. Never a syntax error."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


def _sqlite_keyword(session: Session, workspace_id: int, terms: list[_Term], docs: _Documents,
                    limit: int) -> list[_Candidate]:
    doc_filter = "AND c.document_id IN :docs " if docs.restricted else ""
    statement = text(
        "SELECT c.id, c.document_id, bm25(knowledge_chunks_fts, 1.0, 2.0) AS rank "
        "FROM knowledge_chunks_fts JOIN knowledge_chunks c ON c.id = knowledge_chunks_fts.rowid "
        f"WHERE knowledge_chunks_fts MATCH :match AND c.workspace_id = :ws {doc_filter}"
        "ORDER BY rank, c.id LIMIT :n"
    )
    params: dict[str, Any] = {"match": fts5_match([t.text for t in terms]), "ws": workspace_id, "n": limit}
    if docs.restricted:
        statement = statement.bindparams(bindparam("docs", expanding=True))
        params["docs"] = sorted(docs.allowed)
    rows = session.connection().execute(statement, params).all()
    return [_Candidate(int(r[0]), int(r[1]), -float(r[2])) for r in rows]


# --- fusion and results ---------------------------------------------------------------------------------------------


def _fuse(mode: str, vector_hits: list[_Candidate], keyword_hits: list[_Candidate]) -> list[_Ranked]:
    entries: dict[int, dict[str, Any]] = {}
    for rank, c in enumerate(vector_hits, 1):
        entries.setdefault(c.chunk_id, {"doc": c.document_id})
        entries[c.chunk_id].update(vector_rank=rank, vector_score=c.raw)
    for rank, c in enumerate(keyword_hits, 1):
        entries.setdefault(c.chunk_id, {"doc": c.document_id})
        entries[c.chunk_id].update(keyword_rank=rank, keyword_score=c.raw)

    lists = 2 if mode == "hybrid" else 1
    best = lists / (RRF_K + 1)
    ranked = []
    for chunk_id, e in entries.items():
        v_rank, k_rank = e.get("vector_rank"), e.get("keyword_rank")
        if mode == "vector":
            score = max(0.0, min(1.0, e["vector_score"]))
        else:
            rrf = (1.0 / (RRF_K + v_rank) if v_rank else 0.0) + (1.0 / (RRF_K + k_rank) if k_rank else 0.0)
            score = min(1.0, rrf / best)
        ranked.append(_Ranked(chunk_id, e["doc"], round(score, 6), v_rank, k_rank, e.get("vector_score"),
                              e.get("keyword_score")))
    inf = float("inf")
    ranked.sort(key=lambda r: (-r.score, r.vector_rank or inf, r.keyword_rank or inf, r.chunk_id))
    return ranked


def _hits(session: Session, workspace_id: int, ranked: list[_Ranked], docs: _Documents) -> list[SearchHit]:
    if not ranked:
        return []
    rows = session.connection().execute(
        tenant_select(KnowledgeChunk, workspace_id)
        .with_only_columns(KnowledgeChunk.id, KnowledgeChunk.content, KnowledgeChunk.heading, KnowledgeChunk.page)
        .where(KnowledgeChunk.id.in_([r.chunk_id for r in ranked]))
    ).all()
    by_id = {row[0]: row for row in rows}
    hits = []
    for r in ranked:
        row = by_id.get(r.chunk_id)
        if row is None:  # deleted between the candidate query and now
            continue
        hits.append(SearchHit(
            chunk_id=r.chunk_id,
            document_id=r.document_id,
            document_title=docs.titles.get(r.document_id, ""),
            page=row[3],
            heading=row[2] or "",
            passage=row[1],
            score=r.score,
            vector_rank=r.vector_rank,
            keyword_rank=r.keyword_rank,
            vector_score=None if r.vector_score is None else round(r.vector_score, 6),
            keyword_score=None if r.keyword_score is None else round(r.keyword_score, 6),
        ))
    return hits
