"""Reading an uploaded document in a separate process with its own memory and time limits.

Parsing a file someone uploaded is the riskiest work the app does: a file that gets past the size caps of
backend.kb.extract, or trips a bug in a parser, can take all the memory there is or never finish. So extraction
and chunking run in a child process limited to `kb_worker_memory_mb` of address space and
`kb_worker_timeout_seconds` of wall-clock time, and only the chunks come back, over a pipe. When the child dies,
nothing else does: the caller gets WorkerCrashed, which processing counts against the document. Embedding stays
with the caller (the model is loaded there once).

Children come from multiprocessing's fork server: a process started once (about a second), with the parsers
already imported, that forks a child per document in milliseconds. Never a plain fork of the caller, which has
threads (the web server's, the task runner's) that a fork would copy in whatever state they were in.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import resource
import signal
import threading
import time
from typing import Any, Callable

from backend.errors import ServiceError
from backend.settings import get_settings, reset_settings_cache

log = logging.getLogger(__name__)

MB = 1024 * 1024
SILENCE_SECONDS = 10.0  # a child that reports nothing for this long still gets `progress` called (a heartbeat)
_PRELOAD = ["backend.kb.worker", "backend.kb.extract", "backend.kb.chunk", "pypdf", "docx", "bs4", "lxml.etree",
            "lxml.html", "filetype"]

ProgressCallback = Callable[[float], None]


class WorkerCrashed(Exception):
    """The process reading a document died: it ran out of memory, out of time, or was killed."""

    def __init__(self, detail: str, cause: str):
        super().__init__(detail)
        self.detail = detail  # "it needed more than 1024 MB of memory", for the owner
        self.cause = cause  # memory | timeout | died


class WorkerError(Exception):
    """The reading process raised something unexpected (a bug, not the file's fault alone); it logged the
    traceback itself. `kind` is the exception's type name."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


_context: multiprocessing.context.BaseContext | None = None
_context_lock = threading.Lock()


def _get_context() -> multiprocessing.context.BaseContext:
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(_PRELOAD)
            _context = context
        return _context


def run_isolated(target: Callable[..., Any], *args: Any, progress: ProgressCallback | None = None) -> Any:
    """`target(report, *args)` in a memory- and time-limited child process; its return value, or:

    - ServiceError with the child's message when it refused the input (an ExtractionError, say);
    - WorkerError when it raised anything else;
    - WorkerCrashed when it died (memory, time, a signal).

    `report(share)` in the child calls `progress(share)` here; `progress` is also called again after every
    SILENCE_SECONDS without news, so a caller that writes a heartbeat from it keeps writing one. An exception
    from `progress` stops the child and propagates. `target` must be importable by name (it is pickled).
    """
    settings = get_settings()
    memory_mb, timeout = settings.kb_worker_memory_mb, settings.kb_worker_timeout_seconds
    context = _get_context()
    receiver, sender = context.Pipe(duplex=False)
    # The fork server's environment is the one it started with; the child must see today's settings.
    env = {key: value for key, value in os.environ.items() if key.startswith("ASSISTANT_")}
    process = context.Process(target=_child, args=(sender, memory_mb * MB, timeout, env, target, args),
                              name="kb-reader", daemon=True)
    try:
        process.start()
    finally:
        sender.close()
    deadline = time.monotonic() + timeout
    share = 0.0
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerCrashed(f"it was still reading after {timeout} seconds", "timeout")
            if not receiver.poll(min(remaining, SILENCE_SECONDS)):
                if progress is not None:
                    progress(share)
                continue
            try:
                message = receiver.recv()
            except (EOFError, OSError):
                raise _death(process) from None
            kind = message[0]
            if kind == "progress":
                share = message[1]
                if progress is not None:
                    progress(share)
            elif kind == "done":
                return message[1]
            elif kind == "refused":
                raise ServiceError(message[1], field=message[2])
            elif kind == "memory":
                raise WorkerCrashed(f"it needed more than {memory_mb} MB of memory", "memory")
            else:
                raise WorkerError(message[1])
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join(5)
        try:
            process.close()
        except ValueError:  # still running after SIGKILL and 5 s: the fork server will reap it
            log.warning("document reader %s did not exit", process.pid)


def _death(process) -> WorkerCrashed:
    process.join(5)
    code = process.exitcode
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else f"signal {-code}"
        # SIGKILL from outside is usually the kernel's out-of-memory killer.
        if -code == signal.SIGKILL:
            return WorkerCrashed("it was killed (SIGKILL), most likely for using too much memory", "died")
        return WorkerCrashed(f"it stopped with {name}", "died")
    if code is None:
        return WorkerCrashed("it stopped answering", "died")
    return WorkerCrashed(f"it exited with code {code}", "died")


def _child(conn, memory_bytes: int, timeout: int, env: dict[str, str], target: Callable[..., Any],
           args: tuple) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    # The caller kills us at the deadline; this is for when the caller itself died first and nobody will.
    resource.setrlimit(resource.RLIMIT_CPU, (timeout + 5, timeout + 10))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash must not leave a customer's file in a core dump
    for key in [key for key in os.environ if key.startswith("ASSISTANT_")]:
        del os.environ[key]
    os.environ.update(env)
    reset_settings_cache()
    try:
        result = target(lambda share: conn.send(("progress", float(share))), *args)
        conn.send(("done", result))
    except MemoryError:
        conn.send(("memory",))  # the big allocation that failed is gone by now: this small one fits
    except ServiceError as exc:
        conn.send(("refused", exc.message, exc.field))
    except Exception as exc:
        log.exception("reading a document failed")
        conn.send(("error", type(exc).__name__))
    finally:
        conn.close()


def read_document(report: ProgressCallback, data: bytes, mime_type: str) -> tuple[list, int | None]:
    """The part of processing that parses the untrusted file: its chunks and page count. Runs in the child."""
    from backend.kb.chunk import chunk_blocks
    from backend.kb.extract import extract

    extracted = extract(data, mime_type, progress=report)
    return chunk_blocks(extracted.blocks), extracted.page_count
