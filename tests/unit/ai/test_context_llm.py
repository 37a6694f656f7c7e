"""The LLM path of context extraction, without a model: the tool offered for a schema, and the checks a tool
call's arguments pass (the same as the rules' values), each dropped value with its reason. The client code
against a real OpenAI-compatible server is in tests/integration/test_context_llm.py."""

from __future__ import annotations

from backend.ai.understanding.context_extraction import ContextField
from backend.ai.understanding.context_extraction.llm import TOOL_NAME, extraction_tool, read_tool_arguments

CLINIC = [
    ContextField("visit", "Visit", "choice", "Kind of appointment", ("Check-up", "Cleaning", "Emergency")),
    ContextField("day", "Day", "date", "Day of the appointment"),
    ContextField("fee", "Fee", "money", "What the patient expects to pay"),
    ContextField("insured", "Insured", "boolean", "Whether the patient has dental insurance"),
    ContextField("internal", "Internal", "text", "Owner's notes", ai_extract=False),
]
MESSAGE = "I'd like a cleaning on the 14th, I have insurance and can pay up to 80 dollars"


def test_the_tool_types_each_field_and_leaves_owner_only_fields_out():
    tool = extraction_tool(CLINIC)
    assert tool["function"]["name"] == TOOL_NAME
    props = tool["function"]["parameters"]["properties"]
    assert set(props) == {"visit", "day", "fee", "insured"}
    assert props["visit"]["properties"]["value"] == {"type": "string", "enum": ["Check-up", "Cleaning", "Emergency"]}
    assert props["fee"]["properties"]["value"]["type"] == "object"
    assert "YYYY-MM-DD" in props["day"]["properties"]["value"]["description"]
    assert props["insured"]["properties"]["value"] == {"type": "boolean"}


def test_valid_values_are_kept_with_their_evidence_and_invalid_ones_dropped_with_the_reason():
    out = read_tool_arguments({
        "visit": {"value": "cleaning", "evidence": "a cleaning", "confidence": 0.9},
        "day": {"value": "14th of March", "evidence": "the 14th"},
        "fee": {"value": {"amount": 80, "currency": "USD"}, "evidence": "80 dollars", "confidence": 7},
        "insured": {"value": True, "evidence": "I HAVE INSURANCE"},
        "internal": {"value": "VIP", "evidence": "I"},
        "colour": {"value": "blue", "evidence": "blue"},
    }, MESSAGE, CLINIC)
    got = {v.key: v for v in out.values}
    assert got["visit"].value == "Cleaning" and got["visit"].evidence == "a cleaning"
    assert got["fee"].value == {"amount": 80, "currency": "USD"} and got["fee"].confidence == 1.0
    assert got["insured"].value is True and got["insured"].evidence == "I have insurance"
    for v in out.values:
        assert MESSAGE[v.start:v.end] == v.evidence and v.source == "llm"
    reasons = dict(out.dropped)
    assert set(reasons) == {"day", "internal", "colour"}
    assert "not a valid date" in reasons["day"]
    assert "not an AI-extractable field" in reasons["internal"]


def test_evidence_that_is_not_in_the_message_drops_the_value():
    out = read_tool_arguments({"visit": {"value": "Emergency", "evidence": "my tooth is broken"}}, MESSAGE, CLINIC)
    assert out.values == [] and "is not in the message" in out.dropped[0][1]


def test_a_correction_is_flagged_only_against_a_different_known_value():
    args = {"visit": {"value": "Cleaning", "evidence": "a cleaning", "corrects": True}}
    assert read_tool_arguments(args, MESSAGE, CLINIC, known={"visit": "Check-up"}).values[0].corrects
    assert not read_tool_arguments(args, MESSAGE, CLINIC, known={"visit": "Cleaning"}).values[0].corrects


def test_when_the_llm_fails_the_rules_read_the_message():
    from datetime import datetime, timezone

    from backend.ai.understanding.context_extraction.llm import llm_extractor

    class Down:
        def complete(self, *_a, **_kw):
            raise ConnectionError("the LLM server is away")

    values = llm_extractor(Down())("A cleaning please", CLINIC, now=datetime(2026, 1, 5, tzinfo=timezone.utc),
                                   embed=None)
    assert [(v.key, v.value, v.source) for v in values] == [("visit", "Cleaning", "rules")]
