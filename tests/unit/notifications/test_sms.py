"""Text messages: stored in the outbox first, delivered by the configured provider. Twilio is exercised against
a real local HTTP server that answers the way Twilio's REST API does."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from sqlmodel import select

from backend.db import session_scope
from backend.models import OutboxMessage
from backend.notifications.outbox import requeue_stale_outbox
from backend.notifications.sms import deliver_outbox_sms, queue_sms
from backend.providers.background import registered_tasks, run_inline
from backend.providers.sms import OutboxSms, SmsError, TwilioSms, get_sms_provider
from tests.unit.messaging_helpers import (
    make_workspace,
    settings_override,
    settle,
    settle_background,  # noqa: F401 - autouse fixture
)

SID = "AC" + "0" * 32
TOKEN = "twilio-auth-token"
REFUSED_NUMBER = "+15005550001"  # the stand-in answers like Twilio does for an invalid destination


class _TwilioStandIn(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 - the http.server API
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        self.received.append({"path": self.path, "auth": self.headers.get("Authorization", ""), "form": form})
        expected_auth = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        if self.headers.get("Authorization") != expected_auth:
            self._reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
        elif form.get("To") == REFUSED_NUMBER:
            self._reply(400, {
                "code": 21211,
                "message": f"The 'To' number {REFUSED_NUMBER} is not a valid phone number.",
                "more_info": "https://www.twilio.com/docs/errors/21211",
                "status": 400,
            })
        else:
            self._reply(201, {"sid": "SM" + "1" * 32, "status": "queued", "to": form.get("To"),
                              "from": form.get("From"), "body": form.get("Body"), "account_sid": SID})

    def _reply(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def twilio():
    _TwilioStandIn.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TwilioStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield base_url, _TwilioStandIn.received
    finally:
        server.shutdown()
        server.server_close()


def _row(outbox_id: int) -> OutboxMessage:
    with session_scope() as s:
        return s.get(OutboxMessage, outbox_id)


def test_twilio_sends_a_form_post_with_basic_auth(twilio):
    base_url, received = twilio
    provider = TwilioSms(SID, TOKEN, "+15017122661", base_url=base_url)
    assert provider.validate_config() == []
    provider.send("+12125550147", "123456 is your code")
    [request] = received
    assert request["path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request["form"] == {"To": "+12125550147", "From": "+15017122661", "Body": "123456 is your code"}
    assert request["auth"] == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()

    TwilioSms(SID, TOKEN, "MG" + "2" * 32, base_url=base_url).send("+12125550147", "via a messaging service")
    assert received[-1]["form"]["MessagingServiceSid"] == "MG" + "2" * 32 and "From" not in received[-1]["form"]


def test_twilio_errors_carry_twilios_message(twilio):
    base_url, _ = twilio
    with pytest.raises(SmsError, match=r"HTTP 400, error 21211\): The 'To' number .* is not a valid phone number"):
        TwilioSms(SID, TOKEN, "+15017122661", base_url=base_url).send(REFUSED_NUMBER, "hello")
    with pytest.raises(SmsError, match="HTTP 401"):
        TwilioSms(SID, "wrong-token", "+15017122661", base_url=base_url).send("+12125550147", "hello")
    with pytest.raises(SmsError, match="could not be reached"):
        TwilioSms(SID, TOKEN, "+15017122661", base_url="http://127.0.0.1:9").send("+12125550147", "hello")


def test_provider_configuration_is_checked():
    assert len(TwilioSms("", "", "", base_url="ftp://x").validate_config()) == 4
    assert "start with 'AC'" in TwilioSms("XX1", TOKEN, "+15017122661").validate_config()[0]
    with pytest.raises(SmsError, match="not configured"):
        TwilioSms("", TOKEN, "+15017122661").send("+12125550147", "hi")
    with pytest.raises(SmsError, match="international format"):
        OutboxSms().send("2125550147", "hi")
    with settings_override(sms_provider=""):
        assert get_sms_provider().name == "outbox"
    with settings_override(sms_provider="carrier-pigeon"):
        provider = get_sms_provider()
        assert "unknown SMS provider" in provider.validate_config()[0]
        with pytest.raises(SmsError):
            provider.send("+12125550147", "hi")


def test_without_a_provider_the_outbox_row_is_the_delivery(db):
    biz = make_workspace()
    outbox_id = queue_sms("+12125550147", "Your appointment is tomorrow at 9.", workspace_id=biz.id)
    settle()
    row = _row(outbox_id)
    assert (row.channel, row.status, row.provider, row.attempts, row.subject) == (
        "sms", "sent", "outbox", 1, "Text message")
    assert "deliver_outbox_sms" in registered_tasks()


def test_queue_sms_refuses_bad_input_and_stores_nothing(db):
    for to, body in [("2125550147", "hi"), ("", "hi"), ("+12125550147", "  "), ("+12125550147", "x" * 1601)]:
        with pytest.raises(ValueError):
            queue_sms(to, body)
    with session_scope() as s:
        assert s.exec(select(OutboxMessage)).all() == []


def test_twilio_delivery_through_the_outbox_records_failures_and_is_idempotent(db, twilio):
    base_url, received = twilio
    twilio_settings = dict(sms_provider="twilio", twilio_account_sid=SID, twilio_auth_token=TOKEN,
                           twilio_from_number="+15017122661", twilio_base_url=base_url)
    with settings_override(**twilio_settings):
        good = queue_sms("+12125550147", "Your code is 123456", subject="Verification code")
        settle()
        row = _row(good)
        assert (row.status, row.provider, row.attempts, row.error) == ("sent", "twilio", 1, "")
        assert received[0]["form"]["Body"] == "Your code is 123456"
        assert run_inline("deliver_outbox_sms", outbox_id=good) == "sent"
        assert len(received) == 1  # a sent text is never sent again

    with settings_override(**twilio_settings):
        with session_scope() as s:
            row = OutboxMessage(channel="sms", to_address=REFUSED_NUMBER, body="hello", status="queued")
            s.add(row)
            s.flush()
            bad = row.id
        with pytest.raises(SmsError):
            deliver_outbox_sms(bad)
        row = _row(bad)
        assert (row.status, row.attempts) == ("failed", 1) and "21211" in row.error


def test_the_stale_outbox_sweep_sends_texts_to_the_text_task(db):
    with session_scope() as s:
        row = OutboxMessage(channel="sms", to_address="+12125550147", body="queued while the broker was down",
                            status="queued")
        s.add(row)
        s.flush()
        outbox_id = row.id
    assert requeue_stale_outbox(older_than_seconds=0) == 1
    settle()
    assert (_row(outbox_id).status, _row(outbox_id).provider) == ("sent", "outbox")
