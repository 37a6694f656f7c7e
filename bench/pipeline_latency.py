"""Latency of the AI pipeline per text message with the embedded defaults (no LLM, packaged MiniLM, SQLite).

Two figures:
- engine: intent → entities → retrieval → composer → policy, called directly (what a reply costs to compute);
- end to end: a customer message stored through the portal service until the assistant's reply is stored by the
  background work (in-process runner), read from the run's timestamps.
Transcription is excluded (see bench/transcription.py for its real-time factor). The messages repeat, so each is
dropped from the embedder's vector cache before it is timed: a new customer message is never in it.

    .venv/bin/python bench/pipeline_latency.py [--messages 200] [--database-url postgresql://...]

The last line is a JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import _env  # noqa: F401 - the environment make gives the app (bench/_env.py)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MESSAGES = [
    "Hi there!", "How much is a check-up and cleaning?", "What are your opening hours on Saturday?",
    "Do you take Delta Dental?", "Where can I park?", "Can I book a cleaning next Tuesday at 10am?",
    "I need to cancel my appointment tomorrow", "Can I move my visit to Friday afternoon?",
    "How much is teeth whitening?", "Do you see children?", "Thanks so much!",
    "I'd like to talk to a real person", "This is the third time my bill is wrong, I'm really upset",
    "Is there a fee if I cancel late?", "Do you do implants?", "my name is Jordan Reyes, 212-555-0147",
    "Can my family of 4 come the day after tomorrow at 9:45?", "are you open on sundays",
    "What's the price for a child's check-up?", "Do you accept Aetna PPO insurance?",
]
FAQ = [
    ("What are your opening hours?",
     "We are open Monday to Friday 9am to 12pm and 1pm to 6pm, and Saturday 9am to 1pm. Closed on Sundays."),
    ("Which insurance do you accept?", "We are in network with Delta Dental PPO, Cigna and Aetna."),
    ("How much is a check-up and cleaning?", "A check-up with cleaning costs $120 and takes about 45 minutes."),
    ("How much is teeth whitening?", "In-office teeth whitening is $350 for one session of about an hour."),
    ("Where can I park?", "Free parking is behind the building; the entrance is on Maple Street."),
    ("What is your cancellation policy?", "Cancel at least 24 hours ahead. Late cancellations cost $40."),
    ("Do you see children?", "Yes, from age 3. A child's check-up costs $80."),
]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return 0.0
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return round(values[lo] + (values[hi] - values[lo]) * (k - lo), 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200, help="engine calls to time")
    parser.add_argument("--end-to-end", type=int, default=40, help="portal messages to time end to end")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: a temporary SQLite file)")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench-pipeline-")
    os.environ.update(ASSISTANT_DATA_DIR=tmp, ASSISTANT_DATABASE_URL=args.database_url,
                      ASSISTANT_CELERY_BROKER_URL="", ASSISTANT_REDIS_URL="", ASSISTANT_LLM_BASE_URL="")

    from sqlmodel import select

    from backend.ai.classifiers import classifier_for_workspace
    from backend.ai.custom_intents import save_custom_intent
    from backend.ai.engine import respond
    from backend.ai.pipeline import engine_config
    from backend.ai.retrieval import retrieve
    from backend.db import session_scope
    from backend.kb.documents import add_faq
    from backend.messaging import portal
    from backend.migrations import upgrade_to_head
    from backend.models import AIRun, Workspace
    from backend.models.types import utcnow
    from backend.providers.background import wait_until_idle

    upgrade_to_head()
    with session_scope() as s:
        ws = Workspace(name="Bench Dental", slug=f"bench-{os.getpid()}", timezone="America/New_York",
                       reply_policy="auto_above_threshold", ai_role="medical", ai_personality="friendly")
        s.add(ws)
        s.flush()
        workspace_id = ws.id
    for q, a in FAQ:
        add_faq(workspace_id, q, a)
    save_custom_intent(workspace_id, name="insurance_question", examples=[
        "Do you take my insurance?", "Is Delta Dental accepted?", "Are you in network with Cigna?"])
    wait_until_idle(300)

    with session_scope() as s:
        config = engine_config(s.get(Workspace, workspace_id))
    classifier = classifier_for_workspace(workspace_id)

    from backend.providers import embeddings

    def forget(text: str) -> None:
        # Every customer message is new: only the documents' passages may come from the vector cache.
        with embeddings._vectors_lock:
            for key in [k for k in embeddings._vectors if k[2].startswith(text)]:
                embeddings._vectors.pop(key)

    def once(text: str):
        forget(text)
        return respond(config, text, now=utcnow(), classify=classifier.classify,
                       retrieve=lambda q, intent: retrieve(workspace_id, q, intent))

    for text in MESSAGES:  # warm: models loaded, caches filled
        once(text)
    totals, steps = [], {}
    for i in range(args.messages):
        start = time.perf_counter()
        result = once(MESSAGES[i % len(MESSAGES)])
        totals.append((time.perf_counter() - start) * 1000)
        for name, ms in result.timings_ms.items():
            steps.setdefault(name, []).append(ms)
    print(f"engine, {args.messages} messages: p50 {pct(totals, .5)} ms, p95 {pct(totals, .95)} ms")
    for name, values in steps.items():
        print(f"  {name:<10} mean {statistics.fmean(values):6.2f} ms   p95 {pct(values, .95):6.2f} ms")

    e2e = []
    for i in range(args.end_to_end):
        token = portal.identify_customer(f"bench-{os.getpid()}", f"+1202555{1000 + i:04d}").session_token
        forget(MESSAGES[i % len(MESSAGES)])
        view = portal.send_customer_message(token, MESSAGES[i % len(MESSAGES)])
        wait_until_idle(60)
        with session_scope() as s:
            run = s.exec(select(AIRun).where(AIRun.message_id == view.id)).one()
            e2e.append((run.finished_at - run.created_at).total_seconds() * 1000)
    print(f"end to end (stored message → stored reply), {args.end_to_end} messages: p50 {pct(e2e, .5)} ms, "
          f"p95 {pct(e2e, .95)} ms")
    db = "postgresql" if args.database_url else "sqlite"
    print(json.dumps({"bench": "pipeline_latency", "database": db, "messages": args.messages,
                      "engine_p50_ms": pct(totals, .5), "engine_p95_ms": pct(totals, .95),
                      "end_to_end_p50_ms": pct(e2e, .5), "end_to_end_p95_ms": pct(e2e, .95),
                      "steps_p95_ms": {k: pct(v, .95) for k, v in steps.items()}}))
    return 0


if __name__ == "__main__":
    from backend.startup import load_domains

    load_domains()  # background tasks and hooks, as the app wires them
    raise SystemExit(main())
