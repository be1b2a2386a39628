"""Engine hygiene.

SQLite: WAL, foreign keys on, a busy timeout, and transactions that write start with BEGIN IMMEDIATE,
so two writers queue on the busy timeout instead of failing with "database is locked" when a read
snapshot goes stale. Page views (GET/HEAD) and work outside a request (CLI, tests) begin DEFERRED, so
reads never take the writer lock; ``immediate()`` opts a non-request block into IMMEDIATE.
"""
from __future__ import annotations

import contextlib
import contextvars
import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 15000
_installed = False
_forced: contextvars.ContextVar[str | None] = contextvars.ContextVar("sqlite_begin_mode", default=None)


@contextlib.contextmanager
def immediate():
    """Begin SQLite transactions in this block with BEGIN IMMEDIATE (for writers outside a request)."""
    token = _forced.set("IMMEDIATE")
    try:
        yield
    finally:
        _forced.reset(token)


def _begin_mode() -> str:
    forced = _forced.get()
    if forced:
        return forced
    from flask import has_request_context, request
    if has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS"):
        return "IMMEDIATE"
    return "DEFERRED"


def install_engine_hooks() -> None:
    global _installed
    if _installed:
        return
    _installed = True

    @event.listens_for(Engine, "connect")
    def _on_connect(dbapi_connection, connection_record):  # noqa: ARG001
        if not isinstance(dbapi_connection, sqlite3.Connection):
            return
        dbapi_connection.isolation_level = None   # we issue BEGIN ourselves (see _on_begin)
        cur = dbapi_connection.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        mode = cur.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "memory":
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(Engine, "begin")
    def _on_begin(conn):
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(f"BEGIN {_begin_mode()}")
