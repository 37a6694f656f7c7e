"""How fast are bookable slots computed? 90 days of a busy calendar: 1,000 existing bookings plus busy time from a
synced calendar, opening hours every day 07:00-22:00 with a lunch break, 30-minute service with a
10-minute buffer after, in Europe/Berlin (the window spans no
change by default; --start 2026-10-01 puts one in).

Measures `generate_slots` (the pure core over preloaded rows) and `available_slots` (loading the rows from the
database, then the core) on SQLite and, when reachable, PostgreSQL.

Usage: python bench/slots.py [--runs 30] [--bookings 1000] [--days 90] [--postgres URL] [--no-postgres]
The last line printed is a JSON object with the figures.
"""

from __future__ import annotations

import argparse
import bisect
import json
import random
import statistics
import time
from datetime import date, datetime, timedelta, timezone

import _env  # noqa: F401 - the environment make gives the app (bench/_env.py)
from _calendar_db import temporary_database

UTC = timezone.utc


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered), 2),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))], 2)}


def seed(start: date, days: int, bookings: int) -> tuple[int, int, datetime]:
    from sqlalchemy import insert

    from backend.calendar.availability import save_service, set_weekly_hours, update_booking_policy
    from backend.calendar.slots import available_slots
    from backend.db import session_scope
    from backend.models import Appointment, BusyPeriod, CalendarConnection, Workspace

    with session_scope() as s:
        ws = Workspace(name="Bench Salon", slug=f"bench-{random.randrange(10**9)}", timezone="Europe/Berlin")
        s.add(ws)
        s.flush()
        ws_id = ws.id
    update_booking_policy(ws_id, min_notice_minutes=60, max_advance_days=days + 5, max_bookings_per_day=None,
                          require_confirmation=False, reminder_lead_minutes=1440)
    set_weekly_hours(ws_id, {d: [("07:00", "12:30"), ("13:30", "22:00")] for d in range(7)})
    service = save_service(ws_id, name="Cut", duration_minutes=30, buffer_after_minutes=10).id
    now = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    # Bookings on free offered slots, spread over the whole range (as customers would make them).
    offered = available_slots(ws_id, service, start=start, end=start + timedelta(days=days - 1), now=now,
                              step_minutes=15)
    rng = random.Random(7)
    rng.shuffle(offered)
    chosen, taken = [], []
    for slot in offered:  # keep the ones that do not overlap (with the buffer) a booking already chosen
        block = (int(slot.starts_at.timestamp()), int(slot.ends_at.timestamp()) + 600)
        i = bisect.bisect_left(taken, block)
        if (i > 0 and taken[i - 1][1] > block[0]) or (i < len(taken) and taken[i][0] < block[1]):
            continue
        taken.insert(i, block)
        chosen.append(slot)
        if len(chosen) == bookings:
            break
    rows = [{"workspace_id": ws_id, "service_id": service, "starts_at": s.starts_at, "ends_at": s.ends_at,
             "block_starts_at": s.starts_at, "block_ends_at": s.ends_at + timedelta(minutes=10),
             "status": "confirmed", "source": "chat", "title": "Cut", "notes": "", "cancelled_by": "",
             "cancel_reason": "", "external_event_id": "", "created_at": now} for s in chosen]
    with session_scope() as s:
        s.execute(insert(Appointment), rows)
        conn = CalendarConnection(workspace_id=ws_id, kind="caldav", name="Owner")
        s.add(conn)
        s.flush()
        busy = [{"workspace_id": ws_id, "connection_id": conn.id,
                 "starts_at": now + timedelta(days=d, hours=rng.randrange(6, 18)),
                 "ends_at": now + timedelta(days=d, hours=rng.randrange(6, 18), minutes=90),
                 "synced_at": now} for d in range(days)]
        s.execute(insert(BusyPeriod), [b for b in busy if b["ends_at"] > b["starts_at"]])
    return ws_id, service, now, len(rows)


def bench_backend(kind: str, admin_url: str, args) -> dict:
    with temporary_database(kind, admin_url):
        from backend.calendar.slots import ServiceSpec, available_slots, generate_slots, load_calendar, load_workspace
        from backend.db import session_scope
        from backend.models import Service

        start = date.fromisoformat(args.start)
        end = start + timedelta(days=args.days - 1)
        ws_id, service_id, now, booked = seed(start, args.days, args.bookings)
        with session_scope() as s:
            cal = load_calendar(s, load_workspace(s, ws_id), start, end)
            spec = ServiceSpec.of(s.get(Service, service_id))
        core, full = [], []
        count = 0
        for _ in range(args.runs):
            t0 = time.perf_counter()
            count = len(generate_slots(cal, spec, start=start, end=end, now=now))
            core.append((time.perf_counter() - t0) * 1000)
        for _ in range(args.runs):
            t0 = time.perf_counter()
            available_slots(ws_id, service_id, start=start, end=end, now=now)
            full.append((time.perf_counter() - t0) * 1000)
        result = {"database": kind, "days": args.days, "bookings": booked, "busy_intervals": len(cal.busy),
                  "slots": count, "core": percentiles(core), "with_db": percentiles(full)}
        print(f"{kind:>10}: {booked} bookings, {count} free slots over {args.days} days; core p50 "
              f"{result['core']['p50_ms']} ms p95 {result['core']['p95_ms']} ms; with DB p50 "
              f"{result['with_db']['p50_ms']} ms p95 {result['with_db']['p95_ms']} ms", flush=True)
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--bookings", type=int, default=1000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--start", default="2027-01-04")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    results = [bench_backend("sqlite", "", args)]
    if not args.no_postgres:
        try:
            results.append(bench_backend("postgresql", args.postgres, args))
        except Exception as exc:  # no server: say so, keep the SQLite figures
            print(f"PostgreSQL skipped: {exc}", flush=True)
    worst = max(r["with_db"]["p95_ms"] for r in results)
    print(json.dumps({"bench": "slots", "results": results, "worst_with_db_p95_ms": worst,
                      "target_ms": 50, "within_target": worst < 50}))


if __name__ == "__main__":
    main()
