"""Race safety under load: N threads, each with its own session, book overlapping times of one workspace at
once (a 30-minute service with a 10-minute buffer; starts every 5 minutes over a few hours, so most attempts
collide). Reports bookings/s (attempts per second, and successes), how many conflicts were refused, any other
error, and verifies with a query that no two live appointments overlap (the answer must be 0).

PostgreSQL by default (the exclusion constraint does the work); --sqlite runs the same on SQLite (BEGIN IMMEDIATE).

Usage: python bench/booking_concurrency.py [--threads 16] [--attempts 400] [--postgres URL] [--sqlite]
The last line printed is a JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from datetime import datetime, timedelta, timezone

import _env  # noqa: F401 - the environment make gives the app (bench/_env.py)
from _calendar_db import temporary_database

UTC = timezone.utc

OVERLAP_SQL = """
SELECT count(*) FROM appointments a JOIN appointments b
  ON a.workspace_id = b.workspace_id AND a.id < b.id
 AND a.block_starts_at < b.block_ends_at AND b.block_starts_at < a.block_ends_at
WHERE a.status IN ('pending', 'confirmed') AND b.status IN ('pending', 'confirmed')
"""


def run(kind: str, admin_url: str, threads: int, attempts: int) -> dict:
    with temporary_database(kind, admin_url):
        from sqlalchemy import text

        from backend.calendar.availability import save_service, set_weekly_hours, update_booking_policy
        from backend.calendar.booking import book_appointment
        from backend.db import get_engine, session_scope
        from backend.errors import ServiceError
        from backend.models import Workspace

        with session_scope() as s:
            ws = Workspace(name="Bench", slug="bench", timezone="UTC")
            s.add(ws)
            s.flush()
            ws_id = ws.id
        update_booking_policy(ws_id, min_notice_minutes=0, max_advance_days=30, max_bookings_per_day=None,
                              require_confirmation=False, reminder_lead_minutes=0)
        set_weekly_hours(ws_id, {d: [("08:00", "20:00")] for d in range(7)})
        service = save_service(ws_id, name="Cut", duration_minutes=30, buffer_after_minutes=10).id
        now = datetime(2030, 1, 1, tzinfo=UTC)
        day = datetime(2030, 1, 2, 8, 0, tzinfo=UTC)
        starts = [day + timedelta(days=d, minutes=5 * k) for d in range(5) for k in range(12 * 12 - 6)]  # 5 days
        rng = random.Random(3)
        plan = [rng.choice(starts) for _ in range(attempts)]
        counts = {"booked": 0, "refused_taken": 0, "refused_unavailable": 0, "errors": 0}
        lock = threading.Lock()
        barrier = threading.Barrier(threads)

        def worker(index: int) -> None:
            barrier.wait()
            for i in range(index, attempts, threads):
                try:
                    book_appointment(ws_id, service_id=service, starts_at=plan[i], now=now)
                    key = "booked"
                except ServiceError as exc:
                    key = "refused_taken" if "just taken" in exc.message else "refused_unavailable"
                except Exception:
                    key = "errors"
                with lock:
                    counts[key] += 1

        pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
        t0 = time.perf_counter()
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        elapsed = time.perf_counter() - t0
        with get_engine().connect() as conn:
            overlaps = conn.execute(text(OVERLAP_SQL)).scalar()
            live = conn.execute(text("SELECT count(*) FROM appointments WHERE status IN ('pending','confirmed')")
                                ).scalar()
        from backend.providers.background import wait_until_idle

        wait_until_idle(30)
        result = {"database": kind, "threads": threads, "attempts": attempts, **counts, "rows": live,
                  "double_bookings": overlaps, "seconds": round(elapsed, 3),
                  "attempts_per_s": round(attempts / elapsed,
                                          1), "bookings_per_s": round(counts["booked"] / elapsed, 1)}
        print(f"{kind}: {threads} threads, {attempts} attempts in {elapsed:.2f} s ({result['attempts_per_s']}/s): "
              f"{counts['booked']} booked, {counts['refused_taken']} refused by the database, "
              f"{counts['refused_unavailable']} refused by the check, {counts['errors']} errors; "
              f"overlapping pairs: {overlaps}", flush=True)
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--attempts", type=int, default=400)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--sqlite", action="store_true", help="also run on SQLite")
    args = parser.parse_args()
    results = [run("postgresql", args.postgres, args.threads, args.attempts)]
    if args.sqlite:
        results.append(run("sqlite", "", args.threads, args.attempts))
    ok = all(r["double_bookings"] == 0 and r["errors"] == 0 and r["booked"] == r["rows"] for r in results)
    print(json.dumps({"bench": "booking_concurrency", "results": results, "zero_double_bookings": ok}))


if __name__ == "__main__":
    from backend.startup import load_domains

    load_domains()  # background tasks and hooks, as the app wires them
    main()
