"""A login burst degrades gracefully (issue 29): password hashing is the costliest step of any request (scrypt,
about 0.1 s of a core), so at most ``LOGIN_SLOTS`` requests of one machine hash at once (default: its cores). A
request that finds no free slot within ``LOGIN_WAIT`` seconds gets a light Chinese “系统繁忙，请稍候再试” page with
503 and Retry-After instead of queueing without bound behind the others; nothing was checked or counted for it.

The slots are lock files in the instance folder (``busy/``), taken with ``flock``, so the limit holds across the
gunicorn workers of one machine (each machine has its own instance folder and its own cores); where ``fcntl`` does
not exist (Windows, the development server) a semaphore of the process is used.
"""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager

from flask import current_app, make_response, render_template

BUSY = "系统繁忙，请稍候再试"
RETRY_AFTER = 5                       # seconds
_POLL = 0.02
_local: dict[int, threading.BoundedSemaphore] = {}
_local_lock = threading.Lock()

try:
    import fcntl
except ImportError:                   # Windows
    fcntl = None


def _slots() -> int:
    return max(1, int(current_app.config.get("LOGIN_SLOTS") or os.cpu_count() or 1))


def _wait() -> float:
    return float(current_app.config.get("LOGIN_WAIT", 2.0))


@contextmanager
def login_slot():
    """Yield True while holding a hashing slot, or False when none freed up within the wait."""
    slots, deadline = _slots(), time.monotonic() + _wait()
    if fcntl is None:
        with _local_lock:
            sem = _local.setdefault(slots, threading.BoundedSemaphore(slots))
        got = sem.acquire(timeout=_wait())
        try:
            yield got
        finally:
            if got:
                sem.release()
        return
    folder = os.path.join(current_app.instance_path, "busy")
    os.makedirs(folder, exist_ok=True)
    held = None
    while held is None:
        for i in range(slots):
            fd = os.open(os.path.join(folder, f"login-{i}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            held = fd
            break
        if held is None:
            if time.monotonic() >= deadline:
                break
            time.sleep(_POLL)
    try:
        yield held is not None
    finally:
        if held is not None:
            fcntl.flock(held, fcntl.LOCK_UN)
            os.close(held)


def busy_response():
    """The designed answer to a burst: 503 with Retry-After, a light Chinese page (no layout, no script)."""
    resp = make_response(render_template("errors/busy.html", message=BUSY, retry=RETRY_AFTER), 503)
    resp.headers["Retry-After"] = str(RETRY_AFTER)
    return resp
