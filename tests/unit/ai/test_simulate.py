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


REMOVALS = {
    "key": "move", "name": "House move", "description": "Customers moving home",
    "fields": [
        {"key": "move_date", "label": "Move date", "type": "date", "description": "Day of the move",
         "options": [], "required": True, "ai_extract": True},
        {"key": "rooms", "label": "Rooms", "type": "number", "description": "Number of rooms to pack",
         "required": True},
        {"key": "size", "label": "Van", "type": "choice", "description": "Size of van",
         "options": ["Small van", "Large van", "Lorry"]},
        {"key": "piano", "label": "Piano", "type": "boolean", "description": "Whether a piano has to be moved"},
        {"key": "quote", "label": "Quote", "type": "money", "description": "Price quoted", "ai_extract": False},
    ],
    "statuses": ["enquiry", {"key": "quoted"}, "booked"],
    "transitions": {"enquiry": ["quoted"], "quoted": ["booked"]},
}
OFFICE = {"key": "office", "name": "Office move", "is_default": True,
          "fields": [{"key": "desks", "type": "number", "description": "Number of desks"}]}


def test_context_schemas_track_each_turn_and_assistant_turns_are_not_answered(tmp_path, workspace):
    ws = dict(workspace, context_schemas=[REMOVALS, OFFICE])
    conversations = [
        {"id": "home", "schema": "move", "now": "2026-03-27T10:00:00+01:00", "turns": [
            {"text": "Hi, we're moving a 3 room flat, and we have a piano"},
            {"role": "assistant", "text": "Thanks! When is the move?"},
            {"text": "Next Friday please"},
            {"role": "assistant", "text": "Shall I put you down for a large van?"},
            {"text": "Yes"},
            {"text": "Sorry, actually it's 4 rooms"},
        ]},
        {"id": "desks", "now": "2026-03-27T10:00:00+01:00", "turns": [{"text": "We have 12 desks to move"}]},
    ]
    proc, lines = _run(tmp_path, ws, conversations)
    assert proc.returncode == 0, proc.stderr
    home, desks = lines
    roles = [t["role"] for t in home["turns"]]
    assert roles == ["customer", "assistant", "customer", "assistant", "customer", "customer"]
    assistant = home["turns"][1]
    assert "reply" not in assistant and assistant["text"] == "Thanks! When is the move?"
    first = home["turns"][0]
    assert first["context"] == {
        "rooms": {"value": 3, "confidence": first["context"]["rooms"]["confidence"], "evidence": "3 room"},
        "piano": {"value": True, "confidence": first["context"]["piano"]["confidence"], "evidence": "piano"}}
    assert first["status"] == "enquiry" and first["reply"]["text"]
    assert assistant["context"] == first["context"]  # an assistant turn changes nothing by itself
    # "Next Friday" from Friday 27 March 2026 in Berlin; both required fields known: the status moves on
    assert home["turns"][2]["context"]["move_date"]["value"] == "2026-04-03"
    assert home["turns"][2]["status"] == "quoted"
    confirmed = home["turns"][4]["context"]["size"]
    assert confirmed["value"] == "Large van" and confirmed["evidence"] == "Yes"
    last = home["turns"][5]["context"]
    assert last["rooms"]["value"] == 4 and last["rooms"]["evidence"] == "4 rooms"
    assert "quote" not in last  # owner-only
    customer_said = [t["text"] for t in conversations[0]["turns"] if "role" not in t]
    for turn in home["turns"]:
        for item in turn["context"].values():
            assert any(item["evidence"] in said for said in customer_said)
    # no schema named: the workspace's default one; no workflow, no status
    assert desks["turns"][0]["context"]["desks"]["value"] == 12 and "status" not in desks["turns"][0]


def test_context_only_and_the_older_context_fields(tmp_path, workspace):
    del workspace["kb_dir"]
    conversations = [{"id": "c", "now": "2026-03-27T10:00:00+01:00",
                      "turns": [{"role": "assistant", "text": "How many people?"}, {"text": "4 of us, on Sunday"}]}]
    ws_path, in_path, out_path = tmp_path / "ws.json", tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ws_path.write_text(json.dumps(workspace))
    in_path.write_text(json.dumps(conversations[0]) + "\n")
    proc = subprocess.run([sys.executable, "-m", "backend", "simulate", "--workspace", str(ws_path), "--in",
                           str(in_path), "--out", str(out_path), "--context-only"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, ASSISTANT_DATA_DIR=str(tmp_path / "data")))
    assert proc.returncode == 0, proc.stderr
    (line,) = [json.loads(x) for x in out_path.read_text().splitlines()]
    customer = line["turns"][1]
    assert set(customer) == {"role", "context"}  # no reply composed, no workflow in the older format
    assert customer["context"]["people"]["value"] == 4 and customer["context"]["date"]["value"] == "2026-03-29"


@pytest.mark.parametrize("change, where", [
    ({"context_schemas": [dict(REMOVALS, fields=[{"key": "rooms", "type": "colour"}])]},
     "context_schemas[0].fields[0].type"),
    ({"context_schemas": [dict(REMOVALS, fields=[{"key": "size", "type": "choice"}])]},
     "context_schemas[0].fields[0].options"),
    ({"context_schemas": [dict(REMOVALS, transitions={"enquiry": ["archived"]})]},
     "context_schemas[0].transitions.enquiry"),
])
def test_a_bad_schema_names_the_field_and_writes_nothing(tmp_path, workspace, change, where):
    proc, lines = _run(tmp_path, dict(workspace, **change), [{"id": "x", "turns": [{"text": "hi"}]}])
    assert proc.returncode == 2 and where in proc.stderr and "ws.json" in proc.stderr and lines is None


def test_a_bad_conversation_names_the_line_and_writes_nothing(tmp_path, workspace):
    ws = dict(workspace, context_schemas=[REMOVALS])
    proc, lines = _run(tmp_path, ws, [{"id": "a", "turns": [{"text": "hi"}]},
                                      {"id": "b", "schema": "boat", "turns": [{"text": "hi"}]}])
    assert proc.returncode == 2 and "in.jsonl:2" in proc.stderr and "'boat'" in proc.stderr and lines is None
    proc, lines = _run(tmp_path, ws, [{"id": "a", "turns": [{"text": "hi", "role": "owner"}]}])
    assert proc.returncode == 2 and "in.jsonl:1" in proc.stderr and "turns[0].role" in proc.stderr
