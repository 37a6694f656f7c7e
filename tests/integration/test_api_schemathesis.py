"""The REST API against its own OpenAPI document, with schemathesis (issue 15, finding 11).

The app object production serves (`create_api()` behind the body-size limit) runs under uvicorn on a free port,
over a workspace with something behind every id: a conversation with a message and a file, a contact, a service
with opening hours, an appointment, a draft. schemathesis reads /api/v1/openapi.json and calls every operation with
a real API token, with examples, boundary values, random and invalid data, and chains of calls (create, then read,
change and delete what was created), and checks each answer: never a server error, only documented status codes,
bodies and headers as documented, invalid data refused and valid data accepted (tests/integration/schemathesis.toml
says which refusals of valid data are by design).

Run alone: `python -m pytest tests/integration/test_api_schemathesis.py -s` prints schemathesis's report.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import uvicorn

from backend.accounts.api_tokens import create_api_token
from backend.api.app import create_api, limit_bodies
from backend.calendar.availability import save_service, set_weekly_hours, update_booking_policy
from backend.calendar.booking import book_appointment
from backend.db import session_scope
from backend.messaging import portal
from backend.messaging.drafts import list_drafts
from backend.models import Workspace
from backend.models.types import utcnow
from tests.integration.helpers import free_ports, wait_until
from tests.unit.messaging_helpers import SAMPLES, make_workspace, settle

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
MAX_EXAMPLES = 50  # per operation and phase: under a minute for the whole document on two cores


def _workspace_with_something_behind_every_id() -> tuple[str, dict[str, int]]:
    """Returns an API token of the workspace, and the id of each kind of object in it."""
    biz = make_workspace("oak-dental", "Oak Dental", ai=True)
    with session_scope() as s:
        ws = s.get(Workspace, biz.id)
        ws.timezone, ws.reply_policy = "America/New_York", "always_draft"
    set_weekly_hours(biz.id, {day: [("08:00", "20:00")] for day in range(7)})
    update_booking_policy(biz.id, min_notice_minutes=0, max_advance_days=30, max_bookings_per_day=None,
                          require_confirmation=False, reminder_lead_minutes=0)
    service = save_service(biz.id, name="Check-up", duration_minutes=30)
    customer = portal.identify_customer(biz.slug, "+12125550101", "Alice")
    message = portal.send_customer_message(customer.session_token, "Do you take Delta Dental?")
    photo = portal.send_customer_file(customer.session_token, "photo.png", SAMPLES["png"][1])
    tomorrow = (utcnow().astimezone(ZoneInfo("America/New_York")) + timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0)
    appointment = book_appointment(biz.id, service_id=service.id, starts_at=tomorrow,
                                   contact_id=customer.contact_id, source="api")
    settle()  # the assistant drafts its reply in the background
    [draft] = list_drafts(biz.id)
    # Erasing a contact erases their conversations and files: DELETE gets a contact of its own.
    doomed = portal.identify_customer(biz.slug, "+12125550102", "Bob")
    portal.send_customer_message(doomed.session_token, "Please forget me")
    settle()
    ids = {"conversation_id": message.conversation_id, "contact_id": customer.contact_id,
           "file_id": photo.file["id"], "appointment_id": appointment.id, "draft_id": draft.id,
           "service_id": service.id, "doomed_contact_id": doomed.contact_id}
    return create_api_token(biz.id, "schemathesis")[1], ids


def _config(ids: dict[str, int], path: Path) -> Path:
    """The checked-in configuration, plus the ids above: most generated requests name an object that exists, so
    they reach the services' own rules instead of stopping at 404."""
    lines = [CONFIG.read_text(), ""]
    for name, value in ids.items():
        lines += [f"[dictionaries.{name}]", f"values = [{value}]", ""]
    lines.append("[parameters]")
    for name in ids.keys() - {"doomed_contact_id"}:
        for location in ("path", "query", "body"):
            lines.append(f'"{location}.{name}" = {{ dictionary = "{name}", probability = 0.8 }}')
    lines += ["", "[[operations]]", 'include-path = "/api/v1/contacts/{contact_id}"', 'include-method = "DELETE"',
              'parameters = { "path.contact_id" = { dictionary = "doomed_contact_id", probability = 0.8 } }']
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def running_api(pg_db):
    """The API served over HTTP on a free port, as production serves it; yields its base URL, a token and ids."""
    token, ids = _workspace_with_something_behind_every_id()
    port = free_ports(1)[0]
    server = uvicorn.Server(uvicorn.Config(limit_bodies(create_api()), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="api-under-test", daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=20, what="the API to start")
    try:
        yield f"http://127.0.0.1:{port}", token, ids
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        settle()


def test_the_running_api_keeps_to_its_openapi_document(running_api, tmp_path):
    base, token, ids = running_api
    result = subprocess.run(
        [str(SCHEMATHESIS), "--config-file", str(_config(ids, tmp_path / "schemathesis.toml")), "--no-color",
         "run", f"{base}/api/v1/openapi.json", "--header", f"Authorization: Bearer {token}", "--checks", "all",
         "--max-examples", str(MAX_EXAMPLES), "--workers", "1", "--request-timeout", "20",
         "--generation-database", "none"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "SCHEMATHESIS_HOOKS": "tests.integration.schemathesis_hooks"},
    )
    report = result.stdout + result.stderr
    print(report)
    summary = report[report.find("SUMMARY"):] if "SUMMARY" in report else report[-3000:]
    assert result.returncode == 0, summary
    tested = re.search(r"Tested: (\d+)", report)
    assert tested and int(tested.group(1)) >= 24, summary  # every operation of the document was reached
