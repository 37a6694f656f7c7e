"""`python -m backend <command>`: operate the product from a terminal."""

from __future__ import annotations

import argparse
import sys


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend", description="Front Desk operations")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply pending database migrations").set_defaults(func=_migrate)
    seed = sub.add_parser("seed-demo", help="create the demo business and print its login")
    seed.add_argument("--if-empty", action="store_true", help="only when the database has no account yet")
    seed.set_defaults(func=_seed_demo)
    sub.add_parser("has-data", help="exit 0 if any account exists").set_defaults(func=_has_data)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
