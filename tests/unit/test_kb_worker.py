"""backend.kb.worker: work in a separate, memory- and time-limited process, and what the caller learns when
that process refuses, fails or dies."""

from __future__ import annotations

import os
import signal
import time

import pytest

from backend.errors import ServiceError
from backend.kb import worker
from backend.kb.worker import WorkerCrashed, WorkerError, run_isolated
from tests.unit import kb_worker_targets as targets
from tests.unit.messaging_helpers import settings_override


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:  # a zombie of the fork server's, not yet reaped, is gone too
            return stat.read().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True


def test_the_work_runs_in_another_process_with_the_limits_and_todays_settings():
    shares = []
    with settings_override(kb_worker_memory_mb=512, kb_chunk_chars=777):
        result = run_isolated(targets.describe, "hello", progress=shares.append)
    assert result["value"] == "hello" and result["pid"] != os.getpid()
    assert result["address_space"] == 512 * 1024 * 1024
    assert result["chunk_chars"] == 777  # the caller's settings, not the fork server's from when it started
    assert shares == [0.25, 0.5, 1.0]
    assert _gone(result["pid"])


def test_running_out_of_memory_is_a_crash_and_leaves_the_caller_alone():
    with settings_override(kb_worker_memory_mb=300):
        with pytest.raises(WorkerCrashed) as crash:
            run_isolated(targets.allocate, 1024)
        assert crash.value.cause == "memory" and "more than 300 MB" in crash.value.detail
        assert run_isolated(targets.allocate, 50) == 50 * 1024 * 1024  # under the limit, fine


@pytest.mark.parametrize("signal_number,fragment", [(signal.SIGKILL, "SIGKILL"), (signal.SIGSEGV, "SIGSEGV"),
                                                    (signal.SIGABRT, "SIGABRT")])
def test_a_child_killed_by_a_signal_is_a_crash(signal_number, fragment):
    with pytest.raises(WorkerCrashed) as crash:
        run_isolated(targets.kill_myself, signal_number)
    assert crash.value.cause == "died" and fragment in crash.value.detail


def test_a_child_that_runs_too_long_is_killed(monkeypatch):
    pids = []
    monkeypatch.setattr(worker.multiprocessing.process.BaseProcess, "start", _recording_start(pids))
    started = time.monotonic()
    with settings_override(kb_worker_timeout_seconds=1):
        with pytest.raises(WorkerCrashed) as crash:
            run_isolated(targets.sleep_then_return, 30)
    assert crash.value.cause == "timeout" and "after 1 seconds" in crash.value.detail
    assert time.monotonic() - started < 10
    deadline = time.monotonic() + 5
    while not _gone(pids[0]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(pids[0])


def _recording_start(pids):
    original = worker.multiprocessing.process.BaseProcess.start

    def start(self):
        original(self)
        pids.append(self.pid)

    return start


def test_a_refusal_comes_back_as_the_same_service_error_and_a_bug_as_a_worker_error():
    with pytest.raises(ServiceError, match="This file is not welcome.") as refused:
        run_isolated(targets.refuse, "This file is not welcome.")
    assert refused.value.field == "file" and not isinstance(refused.value, WorkerCrashed)
    with pytest.raises(WorkerError) as bug:
        run_isolated(targets.fail)
    assert bug.value.kind == "KeyError"


def test_a_silent_child_still_gives_the_caller_a_heartbeat(monkeypatch):
    monkeypatch.setattr(worker, "SILENCE_SECONDS", 0.2)
    beats = []
    assert run_isolated(targets.sleep_then_return, 1, progress=beats.append) > 0
    assert len(beats) >= 3 and set(beats) == {0.0}


def test_a_caller_that_gives_up_stops_the_child(monkeypatch):
    pids = []
    monkeypatch.setattr(worker.multiprocessing.process.BaseProcess, "start", _recording_start(pids))

    class Superseded(Exception):
        pass

    def progress(share):
        raise Superseded()

    with pytest.raises(Superseded):
        run_isolated(targets.report_forever, progress=progress)
    assert _gone(pids[0])
