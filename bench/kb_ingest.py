"""Knowledge-base ingestion: how long a 100-page PDF takes to become searchable, and the memory it needs.

Runs the embedded defaults end to end (a fresh SQLite database in a temporary folder, local file storage, the
in-process background runner, the packaged MiniLM on the CPU): `upload_document` of a generated PDF with a real
text layer (a heading and ~300 words of prose per page), then waiting until its status is `ready`. The first
run includes loading the model (cold); later runs reuse it (warm).

Usage: python bench/kb_ingest.py [--pages 100] [--words 300] [--runs 2]
The last line printed is a JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import _env  # noqa: F401 - the environment make gives the app (bench/_env.py)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_DATA = Path(tempfile.mkdtemp(prefix="kb-ingest-bench-"))
os.environ["ASSISTANT_DATA_DIR"] = str(_DATA)
for _var in ("ASSISTANT_DATABASE_URL", "ASSISTANT_REDIS_URL", "ASSISTANT_CELERY_BROKER_URL", "ASSISTANT_S3_BUCKET",
             "ASSISTANT_EMBEDDINGS_PROVIDER"):
    os.environ.pop(_var, None)


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--words", type=int, default=300, help="words of body text per page")
    parser.add_argument("--runs", type=int, default=2, help="the first is cold (model load), the rest warm")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()

    from backend.db import session_scope
    from backend.kb.documents import delete_document, get_document, list_chunks, upload_document
    from backend.migrations import upgrade_to_head
    from backend.models import Workspace
    from backend.providers.background import wait_until_idle
    from tests.unit.kb_helpers import long_pdf

    upgrade_to_head()
    with session_scope() as session:
        workspace = Workspace(name="Bench Dental", slug="bench-dental")
        session.add(workspace)
        session.flush()
        workspace_id = workspace.id

    built = time.perf_counter()
    pdf = long_pdf(pages=args.pages, words_per_page=args.words)
    build_seconds = time.perf_counter() - built
    rss_before = _rss_mb()
    print(f"PDF: {args.pages} pages, {len(pdf) / 1024:.0f} KB, built in {build_seconds:.2f}s; "
          f"RSS before ingesting {rss_before:.0f} MB", flush=True)

    runs = []
    for run in range(args.runs):
        started = time.perf_counter()
        view = upload_document(workspace_id, f"manual-{args.pages}p.pdf", pdf)
        while True:
            doc = get_document(workspace_id, view.id)
            if doc.status in ("ready", "failed"):
                break
            if time.perf_counter() - started > args.timeout:
                raise SystemExit(f"not ready after {args.timeout}s (status {doc.status})")
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        if doc.status != "ready":
            raise SystemExit(f"ingestion failed: {doc.error}")
        chunks = list_chunks(workspace_id, view.id, limit=1000)
        pages_cited = len({c.page for c in chunks})
        label = "cold" if run == 0 else "warm"
        print(f"run {run + 1} ({label}): ready in {seconds:.2f}s; {doc.chunk_count} chunks over {pages_cited} pages, "
              f"{doc.chunk_count / seconds:.0f} chunks/s, {args.pages / seconds:.1f} pages/s; "
              f"peak RSS so far {_peak_rss_mb():.0f} MB", flush=True)
        runs.append({"seconds": round(seconds, 2), "chunks": doc.chunk_count})
        wait_until_idle(30)
        delete_document(workspace_id, view.id)  # so the same file may be uploaded again

    result = {
        "bench": "kb_ingest",
        "pages": args.pages,
        "words_per_page": args.words,
        "pdf_kb": round(len(pdf) / 1024),
        "chunks": runs[0]["chunks"],
        "seconds": runs[0]["seconds"],
        "seconds_warm": min(r["seconds"] for r in runs[1:]) if len(runs) > 1 else None,
        "peak_rss_mb": round(_peak_rss_mb()),
        "rss_before_mb": round(rss_before),
        "database": "sqlite",
        "embedder": "minilm-int8-onnx",
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    from backend.startup import load_domains

    load_domains()  # background tasks and hooks, as the app wires them
    main()
