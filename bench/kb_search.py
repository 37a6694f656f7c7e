"""Knowledge search speed and HNSW recall, on PostgreSQL (pgvector) and on the embedded SQLite default.

Corpus: REAL English text, the docstrings of Python's standard library and of a few well-documented packages
installed in the venv (SQLAlchemy, NumPy, pydantic, Celery, kombu, redis-py, Alembic), read with `ast` (nothing
is imported), cut into paragraphs of 80-900 characters, deduplicated. Licences: PSF (CPython), MIT/BSD (the
packages); used here only as benchmark text, nothing is redistributed.

- `--real` paragraphs are embedded for real with the packaged MiniLM (the slow part: ~8 ms per paragraph).
- Up to `--chunks` rows, the rest are recombinations of real text: the first half of one real paragraph's
  sentences followed by the second half of another's. Their vector is NOT re-embedded: it is the length-weighted
  mean of the two source paragraphs' real vectors, re-normalised (close to what MiniLM's mean pooling gives, and
  it keeps the clustered shape of real embeddings; uniformly random vectors would make HNSW recall meaningless).
  The output says how many rows are real. `--real` equal to `--chunks` embeds everything (≈15 min per 100k).
- Queries: `--queries` held-out real paragraphs (never inserted), cut to their first sentence, at most 14 words.

PostgreSQL: a scratch database is created, migrated with `alembic upgrade head` and dropped at the end. Rows go
in with binary COPY with the search indexes dropped, then the migration's HNSW and GIN indexes are rebuilt
(timed). Latency is measured through the service (`backend.kb.search.search` / `search_by_vector`), so it
includes the document lookup and the result fetch; "vector"/"hybrid" include embedding the query. Recall@10 is
HNSW (ef_search 80) against exact search (index scans disabled) for the same query vectors.
SQLite: `--sqlite-chunks` real rows in a temporary file, the same queries.

Usage: python bench/kb_search.py [--chunks 100000] [--real 12000] [--queries 200] [--sqlite-chunks 10000]
       [--skip-postgres] [--skip-sqlite] [--postgres-admin-url postgresql://postgres@127.0.0.1/postgres]
The last line printed is one JSON object: {"bench": "kb_search", ...}.
"""

from __future__ import annotations

import argparse
import ast
import atexit
import json
import os
import random
import re
import shutil
import statistics
import sys
import sysconfig
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import _env  # noqa: F401 - the environment make gives the app (bench/_env.py)
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PACKAGES = ("sqlalchemy", "numpy", "pydantic", "celery", "kombu", "redis", "alembic")
SKIP_DIRS = {"test", "tests", "idlelib", "site-packages", "__pycache__", "lib2to3", "ensurepip"}
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def log(msg: str) -> None:
    print(msg, flush=True)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return round(ordered[index], 2)


def _stats(values_ms: list[float]) -> dict:
    return {"p50_ms": _percentile(values_ms, 0.50), "p95_ms": _percentile(values_ms, 0.95),
            "mean_ms": round(statistics.fmean(values_ms), 2) if values_ms else None, "n": len(values_ms)}


# --- real text ---------------------------------------------------------------------------------------------------


def collect_paragraphs() -> list[tuple[str, str]]:
    """(source module, paragraph) pairs from docstrings, in a stable order."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    purelib = Path(sysconfig.get_paths()["purelib"])
    roots = [(stdlib, "")] + [(purelib / name, name) for name in PACKAGES if (purelib / name).is_dir()]
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for root, prefix in roots:
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(root)
            if SKIP_DIRS & set(rel.parts[:-1]):
                continue
            try:
                tree = ast.parse(path.read_text(encoding="utf-8"))
            except (SyntaxError, UnicodeDecodeError, ValueError):
                continue
            module = ".".join(([prefix] if prefix else []) + list(rel.with_suffix("").parts))
            for node in ast.walk(tree):
                if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                doc = ast.get_docstring(node)
                if not doc:
                    continue
                for para in re.split(r"\n\s*\n", doc):
                    para = " ".join(para.split())
                    if not 80 <= len(para) <= 900 or para in seen:
                        continue
                    if sum(c.isalpha() or c == " " for c in para) / len(para) < 0.85:
                        continue  # code samples, tables, doctest output
                    seen.add(para)
                    out.append((module, para))
    return out


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text) if s]


def query_from(paragraph: str) -> str:
    first = _sentences(paragraph)[0]
    return " ".join(first.split()[:14]).rstrip(".,;:")


# --- PostgreSQL ---------------------------------------------------------------------------------------------------


def _use_database(url: str | None) -> None:
    from backend.db import dispose_engines
    from backend.settings import reset_settings_cache

    if url:
        os.environ["ASSISTANT_DATABASE_URL"] = url
    else:
        os.environ.pop("ASSISTANT_DATABASE_URL", None)
    reset_settings_cache()
    dispose_engines()


def _make_workspace(n_docs: int, title_of) -> tuple[int, list[int]]:
    from backend.db import session_scope
    from backend.models import KnowledgeDocument, Workspace

    with session_scope() as s:
        ws = Workspace(name="Bench", slug=f"bench-{uuid.uuid4().hex[:6]}")
        s.add(ws)
        s.flush()
        docs = [KnowledgeDocument(workspace_id=ws.id, title=title_of(i), status="ready") for i in range(n_docs)]
        s.add_all(docs)
        s.flush()
        return ws.id, [d.id for d in docs]


def measure(fn, items) -> tuple[list[float], list]:
    times, results = [], []
    for item in items:
        t = time.perf_counter()
        results.append(fn(item))
        times.append((time.perf_counter() - t) * 1000)
    return times, results


def run_postgres(args, texts: list[str], vectors: np.ndarray, real_count: int, queries: list[str],
                 query_vectors: np.ndarray) -> dict:
    import psycopg
    from pgvector.psycopg import register_vector
    from sqlalchemy import create_engine, text

    from backend.kb.search import search, search_by_vector
    from backend.migrations import upgrade_to_head

    name = f"kb_bench_{uuid.uuid4().hex[:8]}"
    admin_url = args.postgres_admin_url
    admin = create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://", 1),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    result: dict = {"database": "postgresql", "chunks": len(texts), "real_embedded_chunks": real_count}
    try:
        _use_database(url)
        upgrade_to_head()
        per_doc = args.chunks_per_doc
        n_docs = (len(texts) + per_doc - 1) // per_doc
        ws_id, doc_ids = _make_workspace(n_docs, lambda i: f"Docstrings part {i + 1}")
        log(f"[pg] scratch database {name}: {len(texts):,} chunks in {n_docs} documents")

        with psycopg.connect(url, autocommit=True) as conn:
            register_vector(conn)
            conn.execute("DROP INDEX ix_knowledge_chunks_embedding_hnsw")
            conn.execute("DROP INDEX ix_knowledge_chunks_search_tsv_gin")
            now = datetime.now(timezone.utc)
            t0 = time.perf_counter()
            with conn.cursor() as cur:
                with cur.copy("COPY knowledge_chunks (workspace_id, document_id, ordinal, content, heading, page, "
                              "token_count, embedding, created_at) FROM STDIN WITH (FORMAT BINARY)") as copy:
                    copy.set_types(["int4", "int4", "int4", "text", "varchar", "int4", "int4", "vector",
                                    "timestamptz"])
                    for i, (content, vector) in enumerate(zip(texts, vectors)):
                        copy.write_row([ws_id, doc_ids[i // per_doc], i % per_doc, content,
                                        f"Section {i % per_doc // 10 + 1}", None, len(content) // 4, vector, now])
            copy_s = time.perf_counter() - t0
            log(f"[pg] COPY {len(texts):,} rows (tsvector generated on the way): {copy_s:.1f} s")
            conn.execute("SET maintenance_work_mem = '1GB'")
            t0 = time.perf_counter()
            conn.execute("CREATE INDEX ix_knowledge_chunks_embedding_hnsw ON knowledge_chunks "
                          "USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)")
            hnsw_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            conn.execute("CREATE INDEX ix_knowledge_chunks_search_tsv_gin ON knowledge_chunks USING gin (search_tsv)")
            gin_s = time.perf_counter() - t0
            conn.execute("VACUUM ANALYZE knowledge_chunks")
            log(f"[pg] HNSW index build {hnsw_s:.1f} s, GIN index build {gin_s:.1f} s")
            plan = "\n".join(r[0] for r in conn.execute(
                "EXPLAIN SELECT id FROM knowledge_chunks WHERE workspace_id = %s AND embedding IS NOT NULL "
                "ORDER BY embedding <=> %s LIMIT 50", (ws_id, query_vectors[0])).fetchall())
        hnsw_used = "ix_knowledge_chunks_embedding_hnsw" in plan
        log(f"[pg] planner picks the HNSW index for the vector query, unforced: {hnsw_used}")
        result.update(copy_s=round(copy_s, 1), hnsw_build_s=round(hnsw_s, 1), gin_build_s=round(gin_s, 1),
                      hnsw_index_used=hnsw_used)

        # Warm up (caches, the embedder, the connection pool).
        for q, v in zip(queries[:20], query_vectors[:20]):
            search_by_vector(ws_id, v, 10)
            search(ws_id, q, mode="hybrid", top_k=10)

        vec_ms, hnsw_hits = measure(lambda v: search_by_vector(ws_id, v, 10), query_vectors)
        exact_ms, exact_hits = measure(lambda v: search_by_vector(ws_id, v, 10, exact=True), query_vectors)
        recall = statistics.fmean(
            len({h.chunk_id for h in a} & {h.chunk_id for h in b}) / max(1, len(b))
            for a, b in zip(hnsw_hits, exact_hits)
        )
        vector_ms, _ = measure(lambda q: search(ws_id, q, mode="vector", top_k=10), queries)
        keyword_ms, keyword_hits = measure(lambda q: search(ws_id, q, mode="keyword", top_k=10), queries)
        hybrid_ms, _ = measure(lambda q: search(ws_id, q, mode="hybrid", top_k=10), queries)
        result.update(
            vector_db_only=_stats(vec_ms), vector=_stats(vector_ms), keyword=_stats(keyword_ms),
            hybrid=_stats(hybrid_ms), exact_vector=_stats(exact_ms), recall_at_10=round(recall, 4),
            keyword_queries_with_hits=sum(1 for h in keyword_hits if h),
        )
        for label, key in (("vector, query vector given (HNSW)", "vector_db_only"), ("vector (embeds the query)",
                           "vector"), ("keyword", "keyword"), ("hybrid (embeds the query)", "hybrid"),
                           ("exact vector scan (reference)", "exact_vector")):
            st = result[key]
            log(f"[pg] {label:36s} p50 {st['p50_ms']:7.2f} ms  p95 {st['p95_ms']:7.2f} ms")
        log(f"[pg] recall@10 HNSW vs exact: {recall:.4f} over {len(query_vectors)} queries")
    finally:
        _use_database(None)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return result


# --- SQLite -------------------------------------------------------------------------------------------------------


def run_sqlite(args, texts: list[str], vectors: np.ndarray, queries: list[str], query_vectors: np.ndarray) -> dict:
    from sqlalchemy import insert

    from backend.db import get_engine
    from backend.kb import search as search_module
    from backend.kb.search import search, search_by_vector
    from backend.migrations import upgrade_to_head
    from backend.models import KnowledgeChunk

    n = min(args.sqlite_chunks, len(texts))
    folder = Path(tempfile.mkdtemp(prefix="kb-bench-"))
    _use_database(f"sqlite:///{folder / 'bench.db'}")
    try:
        upgrade_to_head()
        per_doc = args.chunks_per_doc
        ws_id, doc_ids = _make_workspace((n + per_doc - 1) // per_doc, lambda i: f"Docstrings part {i + 1}")
        now = datetime.now(timezone.utc)
        rows = [dict(workspace_id=ws_id, document_id=doc_ids[i // per_doc], ordinal=i % per_doc, content=texts[i],
                     heading=f"Section {i % per_doc // 10 + 1}", page=None, token_count=len(texts[i]) // 4,
                     embedding=vectors[i].tolist(), created_at=now) for i in range(n)]
        t0 = time.perf_counter()
        with get_engine().begin() as conn:
            conn.execute(insert(KnowledgeChunk.__table__), rows)
        insert_s = time.perf_counter() - t0
        log(f"[sqlite] {n:,} real chunks inserted (FTS5 kept by triggers) in {insert_s:.1f} s")
        search_module.clear_caches()
        t0 = time.perf_counter()
        search_by_vector(ws_id, query_vectors[0], 10)
        cold_ms = (time.perf_counter() - t0) * 1000
        for q in queries[:20]:
            search(ws_id, q, mode="hybrid", top_k=10)
        vec_ms, _ = measure(lambda v: search_by_vector(ws_id, v, 10), query_vectors)
        vector_ms, _ = measure(lambda q: search(ws_id, q, mode="vector", top_k=10), queries)
        keyword_ms, _ = measure(lambda q: search(ws_id, q, mode="keyword", top_k=10), queries)
        hybrid_ms, _ = measure(lambda q: search(ws_id, q, mode="hybrid", top_k=10), queries)
        result = {"database": "sqlite", "chunks": n, "real_embedded_chunks": n, "insert_s": round(insert_s, 1),
                  "cold_matrix_load_ms": round(cold_ms, 1), "vector_db_only": _stats(vec_ms),
                  "vector": _stats(vector_ms), "keyword": _stats(keyword_ms), "hybrid": _stats(hybrid_ms)}
        log(f"[sqlite] first search loads the workspace matrix: {cold_ms:.0f} ms")
        for label, key in (("vector, query vector given (numpy)", "vector_db_only"),
                           ("vector (embeds the query)", "vector"), ("keyword", "keyword"),
                           ("hybrid (embeds the query)", "hybrid")):
            st = result[key]
            log(f"[sqlite] {label:36s} p50 {st['p50_ms']:7.2f} ms  p95 {st['p95_ms']:7.2f} ms")
        return result
    finally:
        _use_database(None)
        shutil.rmtree(folder, ignore_errors=True)


# --- main ---------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000, help="rows in the PostgreSQL workspace")
    parser.add_argument("--real", type=int, default=12_000, help="paragraphs embedded for real")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--sqlite-chunks", type=int, default=10_000)
    parser.add_argument("--chunks-per-doc", type=int, default=200)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres-admin-url", default=os.environ.get(
        "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    started = time.perf_counter()
    if "ASSISTANT_DATA_DIR" not in os.environ:
        data_dir = tempfile.mkdtemp(prefix="kb-bench-data-")
        os.environ["ASSISTANT_DATA_DIR"] = data_dir
        atexit.register(shutil.rmtree, data_dir, True)

    from backend.providers.embeddings import get_embedder

    t0 = time.perf_counter()
    pool = collect_paragraphs()
    log(f"real text: {len(pool):,} docstring paragraphs in {time.perf_counter() - t0:.1f} s")
    rng = random.Random(args.seed)
    rng.shuffle(pool)
    held_out, corpus_pool = pool[:args.queries], pool[args.queries:]
    real_count = min(args.real, len(corpus_pool), max(args.chunks, args.sqlite_chunks))
    if real_count < min(args.real, max(args.chunks, args.sqlite_chunks)):
        log(f"only {len(corpus_pool):,} paragraphs available: {real_count:,} real ones")
    real_texts = [p for _, p in corpus_pool[:real_count]]
    queries = [query_from(p) for _, p in held_out]

    embedder = get_embedder()
    embedder.embed(["warm up"])
    t0 = time.perf_counter()
    real_vectors = np.asarray(embedder.embed(real_texts), dtype=np.float32)
    embed_s = time.perf_counter() - t0
    log(f"embedded {real_count:,} real paragraphs in {embed_s:.0f} s ({embed_s / real_count * 1000:.1f} ms each)")
    t0 = time.perf_counter()
    query_vectors = np.asarray(embedder.embed(queries), dtype=np.float32)
    log(f"embedded {len(queries)} queries ({(time.perf_counter() - t0) / len(queries) * 1000:.1f} ms each)")

    # Recombinations of real text up to --chunks.
    texts, vectors = list(real_texts), [real_vectors]
    extra = max(0, args.chunks - real_count)
    if extra:
        sentences = [_sentences(t) for t in real_texts]
        a = np.asarray([rng.randrange(real_count) for _ in range(extra)])
        b = np.asarray([rng.randrange(real_count) for _ in range(extra)])
        weights = np.zeros((extra, 2), dtype=np.float32)
        for k in range(extra):
            sa, sb = sentences[a[k]], sentences[b[k]]
            head = " ".join(sa[:max(1, (len(sa) + 1) // 2)])
            tail = " ".join(sb[len(sb) // 2:]) if len(sb) > 1 else sb[0]
            texts.append(f"{head} {tail}")
            weights[k] = (len(head), len(tail))
        mixed = weights[:, :1] * real_vectors[a] + weights[:, 1:] * real_vectors[b]
        mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
        vectors.append(mixed.astype(np.float32))
        log(f"recombined {extra:,} more passages from real sentences (vectors: weighted means of real ones)")
    all_vectors = np.concatenate(vectors)

    out: dict = {"bench": "kb_search", "corpus": "docstrings of CPython stdlib + " + ", ".join(PACKAGES),
                 "embedder": embedder.name, "embed_ms_per_paragraph": round(embed_s / real_count * 1000, 2),
                 "queries": len(queries)}
    if not args.skip_postgres:
        out["postgresql"] = run_postgres(args, texts[:args.chunks], all_vectors[:args.chunks],
                                         min(real_count, args.chunks), queries, query_vectors)
    if not args.skip_sqlite:
        out["sqlite"] = run_sqlite(args, real_texts, real_vectors, queries, query_vectors)
    out["runtime_s"] = round(time.perf_counter() - started, 1)
    pg = out.get("postgresql")
    if pg:
        worst = max(pg[k]["p95_ms"] for k in ("vector", "keyword", "hybrid"))
        out["goals"] = {"p95_under_30ms": worst < 30, "recall_at_least_0.95": pg["recall_at_10"] >= 0.95}
        log(f"goals: slowest p95 {worst:.1f} ms (< 30: {worst < 30}); recall@10 {pg['recall_at_10']:.3f} "
            f"(>= 0.95: {pg['recall_at_10'] >= 0.95}); real embedded rows {pg['real_embedded_chunks']:,} "
            f"of {pg['chunks']:,}")
    log(f"total {out['runtime_s']:.0f} s")
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
