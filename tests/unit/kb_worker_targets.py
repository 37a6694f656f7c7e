"""Functions for backend.kb.worker.run_isolated to run in its reader process in the tests (they must be
importable by name there)."""

from __future__ import annotations

import os
import resource
import time

from backend.errors import ServiceError
from backend.settings import get_settings


def describe(report, value):
    for share in (0.25, 0.5, 1.0):
        report(share)
    return {"value": value, "pid": os.getpid(), "address_space": resource.getrlimit(resource.RLIMIT_AS)[0],
            "chunk_chars": get_settings().kb_chunk_chars}


def allocate(report, megabytes):
    hog = bytearray(megabytes * 1024 * 1024)
    return len(hog)


def kill_myself(report, signal_number):
    report(0.1)
    os.kill(os.getpid(), signal_number)
    time.sleep(5)


def sleep_then_return(report, seconds):
    time.sleep(seconds)
    return os.getpid()


def refuse(report, message):
    raise ServiceError(message, field="file")


def fail(report):
    raise KeyError("a bug")


def report_forever(report):
    while True:
        report(0.5)
        time.sleep(0.01)
