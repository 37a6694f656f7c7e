"""backend.kb.worker: work in a separate, memory- and time-limited reader process, and what the caller learns
when that process refuses, fails or dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

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
def test_a_reader_killed_by_a_signal_is_a_crash(signal_number, fragment):
    with pytest.raises(WorkerCrashed) as crash:
        run_isolated(targets.kill_myself, signal_number)
    assert crash.value.cause == "died" and fragment in crash.value.detail


def _recording_readers(monkeypatch) -> list[int]:
    pids: list[int] = []
    take = worker._take_reader

    def recording():
        reader = take()
        pids.append(reader.process.pid)
        return reader

    monkeypatch.setattr(worker, "_take_reader", recording)
    return pids


def test_a_reader_that_runs_too_long_is_killed(monkeypatch):
    pids = _recording_readers(monkeypatch)
    started = time.monotonic()
    with settings_override(kb_worker_timeout_seconds=1):
        with pytest.raises(WorkerCrashed) as crash:
            run_isolated(targets.sleep_then_return, 30)
    assert crash.value.cause == "timeout" and "after 1 seconds" in crash.value.detail
    assert time.monotonic() - started < 10
    assert _gone(pids[0])


def test_a_refusal_comes_back_as_the_same_service_error_and_a_bug_as_a_worker_error():
    with pytest.raises(ServiceError, match="This file is not welcome.") as refused:
        run_isolated(targets.refuse, "This file is not welcome.")
    assert refused.value.field == "file" and not isinstance(refused.value, WorkerCrashed)
    with pytest.raises(WorkerError) as bug:
        run_isolated(targets.fail)
    assert bug.value.kind == "KeyError"


def test_a_silent_reader_still_gives_the_caller_a_heartbeat(monkeypatch):
    monkeypatch.setattr(worker, "SILENCE_SECONDS", 0.2)
    beats = []
    assert run_isolated(targets.sleep_then_return, 1, progress=beats.append) > 0
    assert len(beats) >= 3 and set(beats) == {0.0}


def test_a_caller_that_gives_up_stops_the_reader(monkeypatch):
    pids = _recording_readers(monkeypatch)

    class Superseded(Exception):
        pass

    def progress(share):
        raise Superseded()

    with pytest.raises(Superseded):
        run_isolated(targets.report_forever, progress=progress)
    assert _gone(pids[0])


def test_each_document_gets_a_fresh_reader_started_ahead_of_time(monkeypatch):
    pids = _recording_readers(monkeypatch)
    first = run_isolated(targets.sleep_then_return, 0)
    ready = worker._spare.process.pid
    second = run_isolated(targets.sleep_then_return, 0)
    assert pids == [first, second] and second == ready and first != second
    assert worker._spare is not None and worker._spare.usable() and worker._spare.process.pid != second


def test_only_json_comes_back_from_a_reader():
    # A reader has just parsed someone's file; what it answers is parsed as data, never unpickled.
    with pytest.raises(WorkerError) as not_json:
        run_isolated(targets.describe, b"bytes are not JSON")
    assert not_json.value.kind == "TypeError"
    assert run_isolated(targets.describe, ("a", "tuple"))["value"] == ["a", "tuple"]


def test_the_readers_do_not_run_the_main_script_again(tmp_path):
    # Under `celery worker` or `reflex run` the main module is a whole command line; multiprocessing's fork
    # server would import it again in every child.
    log = tmp_path / "imports.log"
    script = tmp_path / "main_script.py"
    script.write_text(textwrap.dedent(f"""
        import os
        with open({str(log)!r}, "a") as log:
            log.write(f"{{os.getpid()}}\\n")

        if __name__ == "__main__":
            from backend.kb.worker import run_isolated
            from tests.unit.kb_worker_targets import sleep_then_return
            readers = {{run_isolated(sleep_then_return, 0) for _ in range(3)}}
            print(len(readers), os.getpid())
    """))
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr
    count, pid = done.stdout.split()
    assert count == "3"  # three readers ran
    assert log.read_text().split() == [str(pid)]  # only the script's own process ran it


def test_a_reader_that_cannot_start_is_not_a_crash(broken_install):
    with pytest.raises(WorkerError) as error:
        run_isolated(targets.sleep_then_return, 0)
    assert error.value.kind == "the document reader did not start" and not isinstance(error.value, WorkerCrashed)


_IMPOSTOR = """
import json, os, pickle, sys
from multiprocessing.connection import Connection
jobs, answers = Connection(0, writable=False), Connection(1, readable=False)
answers.send_bytes(json.dumps({"ready": True}).encode())
jobs.recv()
class Payload:
    def __reduce__(self):
        return (os.mkdir, (sys.argv[1],))
answers.send_bytes(pickle.dumps(Payload()))
"""


def test_an_answer_that_is_not_json_is_refused_never_unpickled(monkeypatch, tmp_path):
    # A reader taken over by a malicious file could answer anything; a pickle would run code here.
    planted = tmp_path / "planted"
    monkeypatch.setattr(worker, "READER_COMMAND", (sys.executable, "-c", _IMPOSTOR, str(planted)))
    monkeypatch.setattr(worker, "_spare", None)
    with pytest.raises(WorkerError) as error:
        run_isolated(targets.sleep_then_return, 0)
    assert error.value.kind == "unreadable answer" and not planted.exists()
