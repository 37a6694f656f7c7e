"""A conversation's context across turns: later statements replace earlier ones only when they correct them, are
confirmed, or are at least as firm; the status moves on once every required field is known."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from backend.ai.understanding.context_extraction import ContextField, ExtractedValue
from backend.ai.understanding.context_extraction.track import ContextSchemaSpec, ContextTracker, merge, status_for

NOW = datetime(2026, 5, 4, 15, 0, tzinfo=ZoneInfo("Australia/Sydney"))
GYM = ContextSchemaSpec(
    key="new_member", name="New member",
    fields=(ContextField("goal", "Goal", "choice", "What the member trains for",
                         ("Lose weight", "Build muscle", "Run a marathon")),
            ContextField("sessions", "Sessions per week", "number", "Number of sessions per week", required=True),
            ContextField("start", "Start date", "date", "First day at the gym", required=True),
            ContextField("injuries", "Injuries", "long_text", "Injuries the trainer should know of")),
    statuses=("enquiry", "trial_booked", "member", "lost"),
    transitions={"enquiry": ("trial_booked", "lost"), "trial_booked": ("member", "lost")},
)


def value(key, v, conf, evidence="x", corrects=False):
    return ExtractedValue(key, v, conf, evidence, 0, len(evidence), corrects)


def test_a_weaker_guess_does_not_replace_a_firm_statement_but_a_correction_does():
    ctx = merge({}, [value("sessions", 3, 0.9, "3 sessions")])
    assert merge(ctx, [value("sessions", 4, 0.55, "4")])["sessions"]["value"] == 3
    assert merge(ctx, [value("sessions", 4, 0.8, "4 sessions")])["sessions"]["value"] == 4  # as firm: later wins
    corrected = merge(ctx, [value("sessions", 2, 0.4, "2", corrects=True)])
    assert corrected["sessions"] == {"value": 2, "confidence": 0.4, "evidence": "2"}
    assert ctx["sessions"]["value"] == 3  # merge returns a new context


def test_status_moves_on_once_every_required_field_is_known():
    assert status_for(GYM, {"sessions": {"value": 3}}, "") == "enquiry"
    assert status_for(GYM, {"sessions": {"value": 3}, "start": {"value": "2026-05-11"}}, "enquiry") == "trial_booked"
    # a later status is left alone
    assert status_for(GYM, {"sessions": {"value": 3}, "start": {"value": "2026-05-11"}}, "member") == "member"
    named = ContextSchemaSpec(key="k", fields=GYM.fields, statuses=GYM.statuses, complete_status="member")
    assert status_for(named, {"sessions": {"value": 3}, "start": {"value": "2026-05-11"}}, "") == "member"
    assert status_for(ContextSchemaSpec(key="none", fields=GYM.fields), {}, "") == ""


def test_the_tracker_builds_the_context_turn_by_turn():
    tracker = ContextTracker(GYM, timezone="Australia/Sydney", embed=None, use_default_embed=False)
    tracker.customer("Hi, I want to build muscle before summer", now=NOW)
    assert tracker.snapshot() == {"context": {"goal": {"value": "Build muscle", "confidence": 0.9,
                                                       "evidence": "build muscle"}}, "status": "enquiry"}
    tracker.assistant("Great! How many sessions a week can you do?")
    tracker.customer("three", now=NOW)
    tracker.assistant("When would you like to start?")
    tracker.customer("next Monday", now=NOW)
    snap = tracker.snapshot()
    assert snap["context"]["sessions"]["value"] == 3 and snap["context"]["sessions"]["evidence"] == "three"
    assert snap["context"]["start"]["value"] == "2026-05-11"
    assert snap["status"] == "trial_booked"
    tracker.customer("Actually, make it 4 sessions", now=NOW)
    assert tracker.context["sessions"]["value"] == 4 and tracker.last[0].corrects
    assert len(tracker.extract_ms) == 4
