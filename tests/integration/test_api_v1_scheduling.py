"""REST API v1 for booking and drafts, through HTTP on the real app object: free times, booking (a taken time
refused), moving, cancelling, status; reviewing the assistant's drafts; one workspace's token never reaching
another's appointments or drafts."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from backend.accounts.api_tokens import create_api_token
from backend.api.app import create_api
from backend.calendar.availability import save_service, set_weekly_hours, update_booking_policy
from backend.db import session_scope
from backend.messaging import portal
from backend.models import Workspace
from backend.models.types import utcnow
from tests.unit.messaging_helpers import (
    make_workspace,
    settle,
    settle_background,  # noqa: F401 - autouse fixture
)

TZ = "America/New_York"


def _clinic(slug: str, policy: str = "always_send"):
    biz = make_workspace(slug, slug.title(), ai=True)
    with session_scope() as s:
        ws = s.get(Workspace, biz.id)
        ws.timezone, ws.reply_policy = TZ, policy
    set_weekly_hours(biz.id, {d: [("08:00", "20:00")] for d in range(7)})
    update_booking_policy(biz.id, min_notice_minutes=0, max_advance_days=30, max_bookings_per_day=None,
                          require_confirmation=False, reminder_lead_minutes=0)
    service = save_service(biz.id, name="Check-up", duration_minutes=30)
    _, secret = create_api_token(biz.id, f"{slug} website")
    return biz, service, {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def client(db) -> TestClient:
    return TestClient(create_api())


def test_free_times_booking_moving_and_cancelling(client):
    biz, service, headers = _clinic("oak-dental")
    _, other_service, other_headers = _clinic("elm-clinic")
    assert [s["name"] for s in client.get("/api/v1/services", headers=headers).json()["data"]] == ["Check-up"]

    tomorrow = (utcnow().astimezone(ZoneInfo(TZ)) + timedelta(days=1)).date()
    free = client.get("/api/v1/availability", headers=headers,
                      params={"service_id": service.id, "start": tomorrow.isoformat(), "end": tomorrow.isoformat()})
    assert free.status_code == 200 and len(free.json()["data"]) == 24  # 08:00–20:00 every 30 minutes
    first, second = free.json()["data"][:2]

    made = client.post("/api/v1/appointments", headers=headers,
                       json={"service_id": service.id, "starts_at": first["starts_at"], "notes": "from the website"})
    assert made.status_code == 201, made.text
    appointment = made.json()
    assert appointment["source"] == "api" and appointment["status"] == "confirmed"
    again = client.post("/api/v1/appointments", headers=headers,
                        json={"service_id": service.id, "starts_at": first["starts_at"]})
    assert again.status_code == 400 and again.json()["field"] == "starts_at"
    assert client.post("/api/v1/appointments", headers=headers,
                       json={"service_id": service.id, "starts_at": first["starts_at"], "colour": "red"}
                       ).status_code == 422  # a misspelt field is not silently ignored

    moved = client.post(f"/api/v1/appointments/{appointment['id']}/reschedule", headers=headers,
                        json={"starts_at": second["starts_at"]})
    assert moved.status_code == 200
    assert datetime.fromisoformat(moved.json()["starts_at"].replace("Z", "+00:00")) == \
        datetime.fromisoformat(second["starts_at"])
    listed = client.get("/api/v1/appointments", headers=headers,
                        params={"start": tomorrow.isoformat(), "end": tomorrow.isoformat()}).json()["data"]
    assert [a["id"] for a in listed] == [appointment["id"]]

    # Another workspace's token sees none of it and can touch none of it.
    assert client.get(f"/api/v1/appointments/{appointment['id']}", headers=other_headers).status_code == 404
    assert client.post(f"/api/v1/appointments/{appointment['id']}/cancel", headers=other_headers,
                       json={}).status_code == 404
    assert client.post("/api/v1/appointments", headers=other_headers,
                       json={"service_id": service.id, "starts_at": second["starts_at"]}).status_code == 404
    assert client.get("/api/v1/appointments", headers=other_headers,
                      params={"start": tomorrow.isoformat(), "end": tomorrow.isoformat()}).json()["data"] == []

    assert client.patch(f"/api/v1/appointments/{appointment['id']}", headers=headers,
                        json={"status": "completed"}).status_code == 400  # not started yet
    cancelled = client.post(f"/api/v1/appointments/{appointment['id']}/cancel", headers=headers,
                            json={"reason": "customer called"})
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["cancel_reason"] == "customer called"
    assert client.get("/api/v1/services").status_code == 401


def test_drafts_are_reviewed_through_the_api(client):
    biz, _, headers = _clinic("oak-dental", policy="always_draft")
    _, _, other_headers = _clinic("elm-clinic")
    token = portal.identify_customer(biz.slug, "+12025550150").session_token
    portal.send_customer_message(token, "Hello there!")
    settle()

    pending = client.get("/api/v1/drafts", headers=headers).json()["data"]
    assert len(pending) == 1 and pending[0]["customer_message"] == "Hello there!"
    draft_id = pending[0]["id"]
    assert client.get("/api/v1/drafts", headers=other_headers).json()["data"] == []
    assert client.post(f"/api/v1/drafts/{draft_id}/approve", headers=other_headers, json={}).status_code == 404

    sent = client.post(f"/api/v1/drafts/{draft_id}/approve", headers=headers, json={"text": "Hi! How can we help?"})
    assert sent.status_code == 200 and sent.json()["status"] == "sent" and sent.json()["edit_ratio"] > 0
    assert portal.list_portal_messages(token)[-1].content == "Hi! How can we help?"
    twice = client.post(f"/api/v1/drafts/{draft_id}/approve", headers=headers, json={})
    assert twice.status_code == 400
    assert client.get("/api/v1/drafts", headers=headers, params={"status": "sent"}).json()["data"][0]["id"] == draft_id


# --- issue 15, finding 11: the edges of the calendar are answered, never a server error ---------------------------


def test_the_first_and_last_days_of_the_calendar_are_answered_not_a_server_error(client):
    biz, service, headers = _clinic("oak-dental")
    tomorrow = (utcnow().astimezone(ZoneInfo(TZ)) + timedelta(days=1)).replace(hour=10, minute=0, second=0,
                                                                                microsecond=0)
    booked = client.post("/api/v1/appointments", headers=headers,
                         json={"service_id": service.id, "starts_at": tomorrow.isoformat()}).json()
    for start, end in [("0001-01-01", "0001-01-01"), ("0001-01-01", "0001-01-02"), ("9999-12-30", "9999-12-31")]:
        free = client.get("/api/v1/availability", headers=headers,
                          params={"service_id": service.id, "start": start, "end": end})
        assert (free.status_code, free.json()) == (200, {"data": []}), (start, end, free.text)
    for start, end in [("0001-01-01", "0001-01-02"), ("9999-12-30", "9999-12-31")]:
        listed = client.get("/api/v1/appointments", headers=headers, params={"start": start, "end": end})
        assert (listed.status_code, listed.json()) == (200, {"data": []}), (start, end, listed.text)
    everything = client.get("/api/v1/appointments", headers=headers, params={"start": "0001-01-01",
                                                                              "end": "9999-12-31"})
    assert [a["id"] for a in everything.json()["data"]] == [booked["id"]]

    for starts_at in ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59Z",
                      "9999-12-31T23:59:59.999999-23:59", "0001-01-01T00:00:00-23:59"]:
        made = client.post("/api/v1/appointments", headers=headers,
                           json={"service_id": service.id, "starts_at": starts_at})
        assert made.status_code == 400 and made.json()["field"] == "starts_at", (starts_at, made.text)
        moved = client.post(f"/api/v1/appointments/{booked['id']}/reschedule", headers=headers,
                            json={"starts_at": starts_at})
        assert moved.status_code == 400 and moved.json()["field"] == "starts_at", (starts_at, moved.text)
    assert client.get(f"/api/v1/appointments/{booked['id']}", headers=headers).json()["starts_at"] == \
        booked["starts_at"]


def test_numbers_json_cannot_hold_in_an_integer_and_bytes_that_are_not_utf8_are_refused_as_malformed(client):
    _, service, headers = _clinic("oak-dental")
    for raw in ['{"service_id": 1e400, "starts_at": "2030-01-01T10:00:00Z"}',
                '{"service_id": -1e400, "starts_at": "2030-01-01T10:00:00Z"}',
                '{"service_id": 1, "starts_at": "2030-01-01T10:00:00Z", "contact_id": 1e400}',
                '{"service_id": %s, "starts_at": "2030-01-01T10:00:00Z"}' % ("9" * 5000)]:
        response = client.post("/api/v1/appointments", content=raw,
                               headers={**headers, "Content-Type": "application/json"})
        assert response.status_code == 422, (raw[:60], response.status_code, response.text)
        assert response.json()["detail"][0]["loc"][0] == "body"
    not_utf8 = client.post("/api/v1/appointments", content=b'{"notes": "\xab"}',
                           headers={**headers, "Content-Type": "application/json"})
    assert not_utf8.status_code == 422 and not_utf8.json()["detail"][0]["type"] == "json_invalid"
    assert client.get("/api/v1/appointments", headers=headers,
                      params={"start": "2030-01-01", "end": "2030-01-02", "status": "lost"}).status_code == 422
