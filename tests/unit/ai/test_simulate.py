"""`python -m backend simulate`: a workspace described as JSON, conversations in, decisions out, no server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _run(tmp_path: Path, workspace: dict, conversations: list, extra_env: dict | None = None):
    ws_path, in_path, out_path = tmp_path / "ws.json", tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ws_path.write_text(json.dumps(workspace))
    in_path.write_text("\n".join(c if isinstance(c, str) else json.dumps(c) for c in conversations) + "\n")
    env = dict(os.environ, ASSISTANT_DATA_DIR=str(tmp_path / "should-stay-empty"), **(extra_env or {}))
    env.pop("ASSISTANT_DATABASE_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "backend", "simulate", "--workspace", str(ws_path), "--in", str(in_path),
         "--out", str(out_path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    lines = [json.loads(line) for line in out_path.read_text().splitlines()] if out_path.exists() else None
    return proc, lines


@pytest.fixture
def workspace(tmp_path):
    kb = tmp_path / "docs"
    kb.mkdir()
    (kb / "prices.md").write_text("# Prices\n\nA haircut costs $35 and takes 30 minutes. Colour starts at $90.\n\n"
                                  "# Parking\n\nFree parking is behind the salon on Elm Street.\n")
    (kb / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    return {
        "name": "Shear Joy", "timezone": "Europe/Berlin", "ai_role": "salon", "ai_personality": "friendly",
        "assistant_name": "Mia", "custom_instructions": "Sign off with 'Shear Joy team'.",
        "intents": [{"name": "gift_card", "examples": ["Do you sell gift cards?", "Can I buy a voucher?",
                                                       "I want a gift certificate for my mum"]}],
        "context_fields": [{"key": "date", "type": "date"}, {"key": "time", "type": "time"},
                           {"key": "people", "type": "number", "description": "number of people"},
                           {"key": "first_name", "type": "first_name"}],
        "kb_dir": "docs",
    }


def test_simulate_writes_one_line_per_conversation(tmp_path, workspace):
    conversations = [
        {"id": "c1", "now": "2026-03-27T10:00:00+01:00", "turns": [
            {"text": "How much is a haircut?"},
            {"text": "Could I come the day after tomorrow at 9:45 with 2 friends?"},
        ]},
        {"id": "c2", "now": "2026-03-27T10:00:00+01:00", "turns": [
            {"text": "Anna", "requested": ["first_name"]},
            {"text": "Can I buy a gift voucher for my sister?"},
        ]},
    ]
    proc, lines = _run(tmp_path, workspace, conversations)
    assert proc.returncode == 0, proc.stderr
    assert "skipped broken.pdf" in proc.stderr or "broken.pdf — failed" in proc.stderr  # said, not fatal
    assert [line["id"] for line in lines] == ["c1", "c2"]

    price, booking = lines[0]["turns"]
    assert "$35" in price["reply"]["text"] and price["reply"]["citations"]
    assert price["reply"]["action"] in ("send", "draft")
    assert "Shear Joy team" in price["reply"]["text"]

    text = conversations[0]["turns"][1]["text"]
    by_field = {e["field"]: e for e in booking["entities"]}
    # "the day after tomorrow" from Friday 27 March 2026, in Berlin: Sunday 29 March, the day clocks change.
    assert by_field["date"]["value"] == "2026-03-29"
    assert by_field["time"]["value"] == "09:45"
    for e in booking["entities"]:
        assert text[e["start"]:e["end"]] == e["text"]
    assert booking["intent"]["name"] == "book"

    name_turn, gift = lines[1]["turns"]
    assert name_turn["entities"][0]["field"] == "first_name" and name_turn["entities"][0]["value"] == "Anna"
    assert gift["intent"]["name"] == "gift_card"
    # The simulation used a throwaway database, never the configured data folder.
    assert not (tmp_path / "should-stay-empty").exists()


def test_bad_input_is_reported_and_nothing_is_written(tmp_path, workspace):
    proc, lines = _run(tmp_path, workspace, [{"id": "ok", "turns": [{"text": "hi"}]}, "{not json"])
    assert proc.returncode == 2 and "in.jsonl:2" in proc.stderr and lines is None

    proc, lines = _run(tmp_path, workspace, [{"id": "x", "now": "yesterday", "turns": [{"text": "hi"}]}])
    assert proc.returncode == 2 and "ISO-8601" in proc.stderr and lines is None

    broken = dict(workspace, timezone="Mars/Olympus", ai_role="wizard")
    proc, lines = _run(tmp_path, broken, [{"id": "x", "turns": [{"text": "hi"}]}])
    assert proc.returncode == 2 and "timezone" in proc.stderr and "ai_role" in proc.stderr and lines is None
