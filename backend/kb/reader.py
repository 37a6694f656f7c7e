"""The process that reads one uploaded document: `python -m backend.kb.reader`, started by backend.kb.worker.

It starts before there is a document to read (kept ready, so the parsers are imported by the time one comes),
says so, takes one job from its stdin, puts on the job's memory and processor-time limits and settings, runs it and
answers on its stdout, then exits: every document gets a fresh process. Answers are JSON lines of the
multiprocessing.connection framing, never pickle (see backend.kb.worker).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import resource
from multiprocessing.connection import Connection

log = logging.getLogger("backend.kb.reader")


def _run(jobs: Connection, answers: Connection) -> None:
    def answer(message: dict) -> None:
        answers.send_bytes(json.dumps(message, ensure_ascii=False).encode("utf-8"))

    answer({"ready": True})  # from here on, dying is the job's doing
    try:
        job = jobs.recv()
    except EOFError:
        return  # the app stopped before it needed this reader
    jobs.close()
    resource.setrlimit(resource.RLIMIT_AS, (job["memory_bytes"], job["memory_bytes"]))
    # The caller kills this process at its deadline; this limit is for when the caller died first.
    resource.setrlimit(resource.RLIMIT_CPU, (job["cpu_seconds"] + 5, job["cpu_seconds"] + 10))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core dump holding a customer's file

    from backend.errors import ServiceError
    from backend.settings import reset_settings_cache

    for key in [key for key in os.environ if key.startswith("ASSISTANT_")]:
        del os.environ[key]
    os.environ.update(job["env"])
    reset_settings_cache()
    module, _, name = job["target"].partition(":")
    target = getattr(importlib.import_module(module), name)
    try:
        result = target(lambda share: answer({"progress": float(share)}), *job["args"])
        answer({"done": result})
    except MemoryError:
        answer({"memory": True})  # the allocation that failed is gone by now: this small one fits
    except ServiceError as exc:
        answer({"refused": exc.message, "field": exc.field})
    except Exception as exc:
        log.exception("reading a document failed")
        answer({"error": type(exc).__name__})


def main() -> None:
    # The pipes to the caller move off fds 0 and 1: whatever a library prints must not mix with the answers.
    jobs = Connection(os.dup(0), writable=False)
    answers = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    # Imported now, while no document waits: that is what makes a ready reader quick.
    import bs4  # noqa: F401
    import docx  # noqa: F401
    import lxml.etree  # noqa: F401
    import lxml.html  # noqa: F401
    import pypdf  # noqa: F401
    import pypdf.filters  # noqa: F401

    import backend.kb.chunk  # noqa: F401
    import backend.kb.extract  # noqa: F401
    import backend.kb.worker  # noqa: F401

    try:
        _run(jobs, answers)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the caller gave up on this document (superseded, timed out) or went away


if __name__ == "__main__":
    main()
