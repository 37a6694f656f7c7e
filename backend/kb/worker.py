"""Reading an uploaded document in a separate process with its own memory and time limits.

Parsing a file someone uploaded is the riskiest work the app does: a file that gets past the size caps of
backend.kb.unpack, or trips a bug in a parser, can take all the memory there is or never finish. So extraction
and chunking run in a reader process (backend.kb.reader) limited to `kb_worker_memory_mb` of address space and
`kb_worker_timeout_seconds` of wall-clock time, and only the chunks come back. When the reader dies, nothing
else does: the caller gets WorkerCrashed, which processing counts against the document. Embedding stays with the
caller (the model is loaded there once).

Each document gets a fresh reader, started with subprocess (a fork-and-exec, safe from the threads of the web
server or the task runner) as `python -m backend.kb.reader`. Starting one costs about half a second of imports, so
one is always kept ready: the next document's reader starts while this one's works. Not multiprocessing: under
Celery's prefork pool it refuses to start children (its workers are daemonic) and cannot pickle billiard's
process state, and its fork server re-imports the program's main module (the whole Celery or Reflex command
line) in every child.

Answers come back as JSON, never pickle: a process that has just parsed someone's file is not trusted to run
code in this one.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any, Callable

from backend.errors import ServiceError
from backend.settings import PROJECT_ROOT, get_settings

log = logging.getLogger(__name__)

MB = 1024 * 1024
SILENCE_SECONDS = 10.0  # a reader that reports nothing for this long still gets `progress` called (a heartbeat)
START_SECONDS = 60.0  # for a reader to import its parsers and say it is ready
READER_COMMAND = (sys.executable, "-m", "backend.kb.reader")

ProgressCallback = Callable[[float], None]


class WorkerCrashed(Exception):
    """The process reading a document died: it ran out of memory, out of time, or was killed."""

    def __init__(self, detail: str, cause: str):
        super().__init__(detail)
        self.detail = detail  # "it needed more than 1024 MB of memory", for the owner
        self.cause = cause  # memory | timeout | died


class WorkerError(Exception):
    """The reader raised something unexpected (a bug, not the file's fault alone; it logged the traceback
    itself), did not start, or answered something it never would. `kind` says which, for the owner: the
    exception's type name, or a few words."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


class _Reader:
    """A started reader process and the two pipes to it: jobs in (pickle), answers out (JSON)."""

    def __init__(self) -> None:
        job_read, job_write = os.pipe()
        answer_read, answer_write = os.pipe()
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), path]))}
        try:
            self.process = subprocess.Popen(list(READER_COMMAND), stdin=job_read, stdout=answer_write, env=env,
                                            cwd=str(PROJECT_ROOT), close_fds=True)
        except BaseException:
            for fd in (job_write, answer_read):
                os.close(fd)
            raise
        finally:
            os.close(job_read)
            os.close(answer_write)
        self.jobs = Connection(job_write, readable=False)
        self.answers = Connection(answer_read, writable=False)

    def usable(self) -> bool:
        return self.process.poll() is None and not self.jobs.closed

    def close(self) -> None:
        for connection in (self.jobs, self.answers):
            if not connection.closed:
                connection.close()
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            log.warning("document reader %s did not exit after SIGKILL", self.process.pid)


_spare: _Reader | None = None
_spare_lock = threading.Lock()


def _take_reader() -> _Reader:
    """A reader for this document (the one kept ready, if it is still alive), and a new one kept ready."""
    global _spare
    with _spare_lock:
        reader, _spare = _spare, None
        if reader is not None and not reader.usable():
            reader.close()
            reader = None
        if reader is None:
            reader = _Reader()
        try:
            _spare = _Reader()
        except OSError:  # no spare this time (out of processes or descriptors); the next document starts one
            log.warning("could not start a spare document reader", exc_info=True)
        return reader


def _forget_spare_after_fork() -> None:
    # A forked process (a web or pool worker) must not share the parent's spare, nor keep its pipe open: the
    # spare exits when its job pipe closes.
    global _spare, _spare_lock
    if _spare is not None:
        for connection in (_spare.jobs, _spare.answers):
            if not connection.closed:
                connection.close()
    _spare = None
    _spare_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_spare_after_fork)


def run_isolated(target: Callable[..., Any], *args: Any, progress: ProgressCallback | None = None) -> Any:
    """`target(report, *args)` in a fresh reader process with the memory and time limits; its return value
    (which must be JSON: lists come back as lists, tuples as lists), or:

    - ServiceError with the reader's message when it refused the input (an ExtractionError, say);
    - WorkerError when it raised anything else;
    - WorkerCrashed when it died (memory, time, a signal).

    `report(share)` in the reader calls `progress(share)` here; `progress` is also called again after every
    SILENCE_SECONDS without news, so a caller that writes a heartbeat from it keeps writing one. An exception
    from `progress` stops the reader and propagates. `target` must be importable by name (a module-level
    function); its arguments are pickled.
    """
    settings = get_settings()
    memory_mb, timeout = settings.kb_worker_memory_mb, settings.kb_worker_timeout_seconds
    # Room for every chunk of the largest document allowed, in UTF-8; a reader claiming more is not believed.
    max_answer = 3 * settings.kb_max_expanded_mb * MB + MB
    reader = _take_reader()
    try:
        _await_ready(reader)
        deadline = time.monotonic() + timeout
        try:
            reader.jobs.send({
                "target": f"{target.__module__}:{target.__qualname__}", "args": args,
                "memory_bytes": memory_mb * MB, "cpu_seconds": timeout,
                # The reader started before this job; it must see the settings of now.
                "env": {key: value for key, value in os.environ.items() if key.startswith("ASSISTANT_")},
            })
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise _death(reader) from exc
        reader.jobs.close()
        share = 0.0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerCrashed(f"it was still reading after {timeout} seconds", "timeout")
            if not reader.answers.poll(min(remaining, SILENCE_SECONDS)):
                if progress is not None:
                    progress(share)
                continue
            try:
                answer = json.loads(reader.answers.recv_bytes(max_answer))
            except EOFError:
                raise _death(reader) from None
            except (OSError, ValueError):  # too long, or not JSON: not something our reader sends
                raise WorkerError("unreadable answer") from None
            if not isinstance(answer, dict):
                raise WorkerError("unreadable answer")
            if "progress" in answer:
                share = answer["progress"]
                if not isinstance(share, (int, float)) or not 0 <= share <= 1:
                    raise WorkerError("unreadable answer")
                if progress is not None:
                    progress(float(share))
            elif "done" in answer:
                return answer["done"]
            elif "refused" in answer:
                raise ServiceError(str(answer["refused"]), field=answer.get("field"))
            elif "memory" in answer:
                raise WorkerCrashed(f"it needed more than {memory_mb} MB of memory", "memory")
            else:
                raise WorkerError(str(answer.get("error", "unknown")))
    finally:
        reader.close()


def _await_ready(reader: _Reader) -> None:
    """Wait for the reader to say it started. One that dies before that failed to start (a broken install, no
    memory for a new process): not the document's doing, so not a crash counted against it."""
    try:
        ready = reader.answers.poll(START_SECONDS) and json.loads(reader.answers.recv_bytes(1024)) == {"ready": True}
    except (EOFError, OSError, ValueError):
        ready = False
    if not ready:
        log.error("the document reader %s did not start (exit code %s)", reader.process.pid, reader.process.poll())
        raise WorkerError("the document reader did not start")


def _death(reader: _Reader) -> WorkerCrashed:
    try:
        code = reader.process.wait(5)
    except subprocess.TimeoutExpired:
        return WorkerCrashed("it stopped answering", "died")
    if code < 0:
        if -code == signal.SIGKILL:  # from outside: usually the kernel's out-of-memory killer
            return WorkerCrashed("it was killed (SIGKILL), most likely for using too much memory", "died")
        if -code == signal.SIGXCPU:
            return WorkerCrashed("it used more processor time than allowed", "timeout")
        name = signal.Signals(-code).name if -code in signal.valid_signals() else f"signal {-code}"
        return WorkerCrashed(f"it stopped with {name}", "died")
    return WorkerCrashed(f"it exited with code {code}", "died")


def read_document(report: ProgressCallback, data: bytes, mime_type: str) -> dict:
    """The part of processing that parses the untrusted file: its chunks and page count. Runs in the reader."""
    from dataclasses import asdict

    from backend.kb.chunk import chunk_blocks
    from backend.kb.extract import extract

    extracted = extract(data, mime_type, progress=report)
    return {"chunks": [asdict(chunk) for chunk in chunk_blocks(extracted.blocks)], "pages": extracted.page_count}
