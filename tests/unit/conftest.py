"""Fixtures several domain test modules use (the `db` fixture and the harness are in tests/conftest.py)."""

from tests.unit.kb_helpers import broken_install  # noqa: F401 - a fixture, offered to every module here
