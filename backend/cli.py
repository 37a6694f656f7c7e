"""`python -m backend <command>`: operate the product from a terminal."""

from __future__ import annotations

import argparse
import sys

from backend.startup import load_domains


def _migrate(_args) -> int:
    from backend.migrations import current_revision, upgrade_to_head

    upgrade_to_head()
    print(f"database at revision {current_revision()}")
    return 0


def _seed_demo(args) -> int:
    from backend.demo import demo_login, seed_demo
    from backend.migrations import upgrade_to_head

    upgrade_to_head()
    if args.if_empty and _has_data(args) == 0:
        login = demo_login()
        if login is None:
            print("The database already holds accounts; no demo business was added.")
            return 0
    else:
        login = seed_demo()
    if login.created:
        from backend.providers.background import wait_until_idle

        print("Indexing the demo knowledge base…")
        wait_until_idle(300)
    print("Demo business " + ("created." if login.created else "already present."))
    print(f"  owner login : {login.email}")
    print(f"  password    : {login.password}")
    print(f"  portal link : {login.portal_url}")
    return 0


def _has_data(_args) -> int:
    """Exit 0 when the database already holds an account (used by `make run` to seed only once)."""
    from sqlalchemy import inspect
    from sqlmodel import select

    from backend.db import get_engine, session_scope
    from backend.models import User

    if "users" not in inspect(get_engine()).get_table_names():
        return 1
    with session_scope() as session:
        return 0 if session.exec(select(User.id)).first() is not None else 1


def _outbox(args) -> int:
    """Mail the system sent; with no SMTP configured this is where password-reset links are read."""
    from backend.notifications.outbox import list_outbox

    rows = [r for r in list_outbox(limit=args.limit) if not args.to or r.to_address.lower() == args.to.lower()]
    if not rows:
        print("The outbox is empty.")
    for row in rows:
        print(f"#{row.id}  {row.created_at:%Y-%m-%d %H:%M} UTC  [{row.status}]  to {row.to_address}")
        print(f"    {row.subject}")
        if args.body:
            print("    " + row.body.replace("\n", "\n    "))
    return 0


def _security_audit(_args) -> int:
    """Check this deployment's configuration; exit 1 when anything fails."""
    import json

    from backend.demo import demo_login
    from backend.security_audit import FAIL, WARN, run_audit
    from backend.settings import get_settings

    findings = run_audit(get_settings(), demo_exists=lambda: demo_login() is not None)
    for finding in findings:
        print(finding.line())
    failed = [f.check for f in findings if f.level == FAIL]
    print(json.dumps({"audit": "security", "fail": len(failed), "warn": sum(f.level == WARN for f in findings),
                      "checks": len(findings), "failed": failed}))
    return 1 if failed else 0


def _simulate(args) -> int:
    from backend.ai.simulate import main as simulate_main

    return simulate_main(args)


def main(argv: list[str] | None = None) -> int:
    load_domains()
    parser = argparse.ArgumentParser(prog="python -m backend", description="Front Desk operations")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply pending database migrations").set_defaults(func=_migrate)
    seed = sub.add_parser("seed-demo", help="create the demo business and print its login")
    seed.add_argument("--if-empty", action="store_true", help="only when the database has no account yet")
    seed.set_defaults(func=_seed_demo)
    outbox = sub.add_parser("outbox", help="list mail the system sent (the outbox)")
    outbox.add_argument("--to", default="", help="only mail to this address")
    outbox.add_argument("--limit", type=int, default=20)
    outbox.add_argument("--body", action="store_true", help="print each message's body too")
    outbox.set_defaults(func=_outbox)
    sub.add_parser("has-data", help="exit 0 if any account exists").set_defaults(func=_has_data)
    sub.add_parser("security-audit", help="check this deployment's security settings (exit 1 on a failure)"
                   ).set_defaults(func=_security_audit)
    simulate = sub.add_parser(
        "simulate", help="run conversations through the assistant of a workspace described as JSON (no server)")
    simulate.add_argument("--workspace", required=True, help="WS.json: the workspace's assistant configuration")
    simulate.add_argument("--in", dest="input", required=True, help="IN.jsonl: one conversation per line")
    simulate.add_argument("--out", dest="output", required=True, help="OUT.jsonl: one result line per input line")
    simulate.add_argument("--embedded", action="store_true",
                          help="use the embedded composer even when an LLM is configured")
    simulate.add_argument("--context-only", action="store_true",
                          help="track the context schema only: no reply, no workspace built")
    simulate.set_defaults(func=_simulate)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
