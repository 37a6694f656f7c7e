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
from tests.unit.messaging_helpers import make_workspace, settle
from tests.unit.messaging_helpers import settle_background  # noqa: F401 - autouse fixture

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
