"""Retrieval quality of knowledge search on a real public document: hit@1 and hit@5, hybrid vs vector vs keyword.

Document: the README of tqdm 4.70.1, a real user manual (installation, usage, FAQ and known issues, every
parameter, integrations), as shipped offline in the installed package's metadata:
    .venv/lib/python3.11/site-packages/tqdm-<version>.dist-info/METADATA   (the long description after the headers)
tqdm is installed here as a dependency of `tokenizers` (via huggingface_hub). Licence: MPL-2.0 AND MIT (tqdm's
LICENCE file: "MPLv2.0, MIT Licences"; the README is part of the distribution). It is reStructuredText; this
bench turns headings, code blocks and links into Markdown (a few lines below), then adds it to a workspace
through the real ingestion path (backend.kb.documents.upload_document -> process_document: extraction,
chunking, embedding with the packaged MiniLM) and searches it with backend.kb.search.

Questions: 44 written by hand the way someone asks a help desk (most in their own words, some naming a
parameter, flag or class), each with the words of the passage that answers it. A question counts as a hit at k
when one of the top k passages contains that answer text (compared lowercased, punctuation ignored), so the
figures do not depend on where the chunker cuts.

Usage: python bench/kb_retrieval_quality.py [--databases sqlite postgresql] [--show-misses]
The last line printed is one JSON object: {"bench": "kb_retrieval_quality", ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from importlib import metadata
from pathlib import Path

import _env  # noqa: F401 - the environment make gives the app (bench/_env.py)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODES = ("hybrid", "vector", "keyword")

# (question, answer text found in the passage that answers it)
QUESTIONS: list[tuple[str, str]] = [
    ("How do I install it with conda?", "conda install -c conda-forge tqdm"),
    ("Can I get the newest development version straight from GitHub?", "Pull and install pre-release"),
    ("Which snap channel follows the master branch?", "snap install tqdm  --candidate  # master branch"),
    ("Is there an official Docker image I can pull?", "docker pull tqdm/tqdm"),
    ("Where can I read what changed between releases?", "The list of all changes is available"),
    ("Is there a shorter way to write tqdm(range(n))?", "is a special optimised instance of"),
    ("How do I advance the bar myself inside a with block?", "Manual control of"),
    ("If I create the bar without a with statement, what must I do when I'm finished?",
     "don't forget to ``del`` or ``close()`` at the end"),
    ("Can I see progress for data flowing through a shell pipe?", "will pass through all ``stdin`` to ``stdout``"),
    ("How do I show progress while archiving a big folder with tar?", "Backing up a large directory?"),
    ("My command line tool already prints how far along it is; can tqdm read those numbers?",
     "Pre-existing CLI programs already outputting basic progress information"),
    ("Why am I getting lots of lines printed instead of one tidy bar?",
     "The most common issues relate to excessive output on multiple lines"),
    ("Cloudwatch and Kubernetes logs show the bar badly, is there a setting for that?", "TQDM_POSITION=-1"),
    ("Nested bars jump between lines on Windows, what extra module do I need?",
     "may require the Python module ``colorama``"),
    ("Windows console shows broken characters in the bar", "often require explicit ascii=True"),
    ("Wrapping enumerate hides the total, how should I write it?", "Replace ``tqdm(enumerate(...))``"),
    ("Nothing is printed when I start my services with docker-compose", "use ``docker-compose run`` instead"),
    ("My CI logs get flooded with progress updates, how can I slow them down?", "export TQDM_MININTERVAL=5"),
    ("What is the desc argument for?", "Prefix for the progress bar."),
    ("What happens when I don't say how many items there are?", "len(iterable) is used if possible"),
    ("How do I keep the finished bar visible after the loop ends?", "keeps all traces of the progress bar"),
    ("Can the progress go to another output than stderr?", "Specifies where to output the progress messages"),
    ("How can the bar follow my terminal when I resize the window?", "allowing for window resizes"),
    ("How often is the display refreshed by default?",
     "Minimum progress display update interval [default: 0.1] seconds"),
    ("My loop mixes very fast and very slow steps and the display is erratic",
     "you should set miniters=1"),
    ("How do I turn the progress bar off completely?", "Whether to disable the entire progress bar wrapper"),
    ("Can it show kilo and mega instead of long numbers?", "International System of Units standard"),
    ("How do I change the text layout of the bar?", "Specify a custom bar string formatting"),
    ("I restart a job halfway; can the counter start from where it stopped?", "Useful when restarting a progress"),
    ("Can the bar be green?", "Bar colour (e.g. 'green', '#00ff00')"),
    ("Can the bar wait a few seconds before it appears?", "Don't display until [default: 0] seconds"),
    ("On the command line, how do I count bytes instead of lines?", "If true, will count bytes, ignore ``delim``"),
    ("How do I print a log line without messing up the bar?",
     "To write messages in the terminal without any collision"),
    ("Does it work with pandas apply?", "``DataFrame.progress_apply``"),
    ("Is there a callback for training models with Keras?", "A ``keras`` callback is also available"),
    ("How do I use it inside Jupyter notebooks?", "IPython/Jupyter is supported via the ``tqdm.notebook``"),
    ("How can I show the progress of a file download with urllib?", "Here's an example with ``urllib``"),
    ("How do I measure how fast a file object's read method goes?", "use ``CallbackIOWrapper``"),
    ("Breaking out of an async for loop leaves the bar open", "isn't currently caught by asynchronous iterators"),
    ("How do I send Python logging through tqdm.write?", "Helper methods are available in ``tqdm.contrib.logging``"),
    ("How do I switch off the monitoring thread for the whole application?",
     "The monitor thread may be disabled application-wide"),
    ("Who originally wrote tqdm?", "Noam Yorav-Raphael"),
    ("Where does the name come from?", "derives from the Arabic word"),
    ("How much slower does my loop get per iteration?", "about 60ns per iteration"),
    ("Can it post progress updates to Slack or Telegram?", "Posts to `Slack"),
    ("What is unit_divisor for?", "ignored unless ``unit_scale`` is True"),
    ("When is TqdmExperimentalWarning shown?", "this will issue a ``TqdmExperimentalWarning``"),
    ("What does the --update_to flag do?", "will treat input as total elapsed iterations"),
]


def log(msg: str) -> None:
    print(msg, flush=True)


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


# --- the document -------------------------------------------------------------------------------------------------


def readme_source() -> tuple[str, str, str]:
    """(RST text, path, version) of tqdm's README from its installed metadata."""
    try:
        dist = metadata.distribution("tqdm")
    except metadata.PackageNotFoundError:
        sys.exit("tqdm is not installed (it comes with tokenizers -> huggingface_hub); cannot build the question set")
    raw = dist.read_text("METADATA") or ""
    head, _, body = raw.partition("\n\n")  # headers end at the first blank line
    path = str(Path(dist.locate_file("")) / f"tqdm-{dist.version}.dist-info" / "METADATA")
    return body, path, dist.version


_UNDERLINE = re.compile(r"^([=\-~+^\"'`#*])\1{2,}\s*$")
_LINK = re.compile(r"`([^`<]+?)\s*<([^>]+)>`__?")
_SUBST = re.compile(r"\|[A-Za-z][\w .-]*\|")  # |Badge-Name| substitution references


def rst_to_markdown(rst: str) -> str:
    """Enough of reStructuredText -> Markdown for this README: headings, code blocks, links, no badges."""
    lines = rst.splitlines()
    out: list[str] = []
    levels: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.startswith(".. |") or line.startswith(".. image::") or line.startswith(".. contents::"):
            i += 1
            while i < len(lines) and lines[i].startswith("   "):  # the directive's options
                i += 1
            continue
        if line.strip() and _UNDERLINE.match(nxt) and len(nxt.strip()) >= len(line.strip()) - 1:
            char = nxt.strip()[0]
            if char not in levels:
                levels.append(char)
            out.append("#" * min(6, levels.index(char) + 1) + " " + _inline(line.strip()))
            i += 2
            continue
        if line.startswith(".. code::"):
            lang = line.split("::", 1)[1].strip()
            block: list[str] = []
            i += 1
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
                block.append(lines[i])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            while block and not block[0].strip():
                block.pop(0)
            indent = min((len(b) - len(b.lstrip()) for b in block if b.strip()), default=0)
            out.append(f"```{lang}")
            out.extend(b[indent:] for b in block)
            out.extend(["```", ""])
            continue
        stripped = _SUBST.sub("", line)
        if line.strip() and not stripped.strip():
            i += 1  # a line of badges only
            continue
        out.append(_inline(stripped.rstrip()))
        i += 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip() + "\n"


def _inline(text: str) -> str:
    text = _LINK.sub(lambda m: f"[{m.group(1).strip()}]({m.group(2)})", text)
    return text.replace("``", "`")


# --- ingestion and search -----------------------------------------------------------------------------------------


def _use_database(url: str | None) -> None:
    from backend.db import dispose_engines
    from backend.settings import reset_settings_cache

    if url:
        os.environ["ASSISTANT_DATABASE_URL"] = url
    else:
        os.environ.pop("ASSISTANT_DATABASE_URL", None)
    reset_settings_cache()
    dispose_engines()


def ingest(markdown: str) -> tuple[int, int, str, float]:
    """A workspace with the document, ready; returns (workspace id, chunk count, ingestion path, seconds)."""
    from backend.db import session_scope
    from backend.models import KnowledgeChunk, KnowledgeDocument, Workspace

    with session_scope() as s:
        ws = Workspace(name="tqdm help desk", slug=f"tqdm-{uuid.uuid4().hex[:6]}")
        s.add(ws)
        s.flush()
        ws_id = ws.id
    started = time.perf_counter()
    try:
        from backend.kb.documents import get_document, upload_document
        from backend.kb.processing import process_document
    except ImportError:
        get_document = None
    if get_document is not None:
        view = upload_document(ws_id, "tqdm-README.md", markdown.encode("utf-8"), tags=["manual"])
        from backend.providers.background import wait_until_idle

        wait_until_idle(120)
        doc = get_document(ws_id, view.id)
        if str(doc.status) != "ready":  # the in-process runner may not have picked it up: run it here
            process_document(view.id)
            doc = get_document(ws_id, view.id)
        if str(doc.status) != "ready":
            sys.exit(f"the document did not become ready: {doc.status} {getattr(doc, 'error', '')}")
        path = "backend.kb.documents.upload_document + backend.kb.processing.process_document"
    else:  # pragma: no cover - only before the ingestion modules exist
        from backend.providers.embeddings import get_embedder

        sections = re.split(r"\n(?=#{1,6} )", markdown)
        chunks = []
        for section in sections:
            heading = section.splitlines()[0].lstrip("# ").strip() if section.startswith("#") else ""
            for start in range(0, len(section), 850):
                chunks.append((heading, section[start:start + 1000]))
        vectors = get_embedder().embed([f"{h}\n{c}" for h, c in chunks])
        with session_scope() as s:
            doc = KnowledgeDocument(workspace_id=ws_id, title="tqdm-README", status="ready")
            s.add(doc)
            s.flush()
            for n, ((heading, content), vector) in enumerate(zip(chunks, vectors)):
                s.add(KnowledgeChunk(workspace_id=ws_id, document_id=doc.id, ordinal=n, content=content,
                                     heading=heading[:300], embedding=vector))
        path = "fallback: heading split + fixed windows, embedded directly"
    seconds = time.perf_counter() - started
    with session_scope() as s:
        from sqlmodel import func, select

        count = s.exec(select(func.count()).select_from(KnowledgeChunk)
                       .where(KnowledgeChunk.workspace_id == ws_id)).one()
    return ws_id, int(count), path, seconds


def evaluate(ws_id: int, show_misses: bool) -> dict:
    from sqlmodel import select

    from backend.db import session_scope
    from backend.kb.search import search
    from backend.models import KnowledgeChunk

    with session_scope() as s:
        passages = [normalise(c) for c in s.exec(select(KnowledgeChunk.content)
                                                 .where(KnowledgeChunk.workspace_id == ws_id)).all()]
    unanswerable = [q for q, answer in QUESTIONS if not any(normalise(answer) in p for p in passages)]
    if unanswerable:
        log(f"warning: {len(unanswerable)} answers are not inside any single chunk (cut by the chunker): "
            + "; ".join(unanswerable))
    results: dict = {}
    for mode in MODES:
        hit1 = hit5 = 0
        reciprocal = 0.0
        latencies = []
        misses = []
        for question, answer in QUESTIONS:
            t = time.perf_counter()
            hits = search(ws_id, question, mode=mode, top_k=5)
            latencies.append((time.perf_counter() - t) * 1000)
            target = normalise(answer)
            rank = next((n for n, h in enumerate(hits, 1) if target in normalise(h.passage)), None)
            hit1 += rank == 1
            hit5 += rank is not None
            reciprocal += 1.0 / rank if rank else 0.0
            if rank is None:
                misses.append(question)
        n = len(QUESTIONS)
        latencies.sort()
        results[mode] = {"hit_at_1": round(hit1 / n, 3), "hit_at_5": round(hit5 / n, 3),
                         "mrr_at_5": round(reciprocal / n, 3), "p50_ms": round(latencies[n // 2], 1),
                         "misses_at_5": len(misses)}
        log(f"  {mode:8s} hit@1 {hit1 / n:.3f}  hit@5 {hit5 / n:.3f}  MRR@5 {reciprocal / n:.3f}  "
            f"(p50 {latencies[n // 2]:.1f} ms)")
        if show_misses and misses:
            for q in misses:
                log(f"      miss: {q}")
    results["answers_split_by_chunker"] = len(unanswerable)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--postgres-admin-url", default=os.environ.get(
        "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="kb-quality-"))
    os.environ["ASSISTANT_DATA_DIR"] = str(folder)
    for var in ("ASSISTANT_DATABASE_URL", "ASSISTANT_CELERY_BROKER_URL", "ASSISTANT_REDIS_URL", "ASSISTANT_S3_BUCKET"):
        os.environ.pop(var, None)

    rst, path, version = readme_source()
    markdown = rst_to_markdown(rst)
    log(f"document: tqdm {version} README ({len(rst):,} chars RST -> {len(markdown):,} chars Markdown) from {path}")
    log(f"questions: {len(QUESTIONS)}")

    out: dict = {"bench": "kb_retrieval_quality", "document": f"tqdm {version} README (MPL-2.0 AND MIT)",
                 "source_path": path, "questions": len(QUESTIONS)}
    from sqlalchemy import create_engine, text

    from backend.migrations import upgrade_to_head

    for database in args.databases:
        admin = name = None
        if database == "sqlite":
            _use_database(f"sqlite:///{folder / 'quality.db'}")
        else:
            name = f"kb_quality_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.postgres_admin_url.replace("postgresql://", "postgresql+psycopg://", 1),
                                  isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            _use_database(args.postgres_admin_url.rsplit("/", 1)[0] + f"/{name}")
        try:
            upgrade_to_head()
            ws_id, chunks, ingestion, seconds = ingest(markdown)
            log(f"[{database}] ingested into {chunks} chunks in {seconds:.1f} s via {ingestion}")
            result = evaluate(ws_id, args.show_misses)
            result.update(chunks=chunks, ingestion=ingestion, ingest_s=round(seconds, 1))
            out[database] = result
        finally:
            _use_database(None)
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    from backend.startup import load_domains

    load_domains()  # background tasks and hooks, as the app wires them
    main()
