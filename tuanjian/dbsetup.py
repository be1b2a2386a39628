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
from operator import itemgetter

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

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


def insert_many(session, table, rows: list[dict]) -> None:
    """Insert many rows in the session's transaction, for imports of tens of thousands of rows: COPY on
    PostgreSQL (several times faster than psycopg's row-by-row pipelined executemany); elsewhere one DBAPI
    executemany of the compiled statement, with each column's bind conversion done once per distinct value
    (SQLAlchemy's per-row parameter processing costs more than SQLite's insert itself). Python-side column
    defaults are applied here, as an ORM insert would. Every row must have the same keys."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    names = list(rows[0])
    defaults = []
    for column in table.columns:
        if column.name not in rows[0] and column.default is not None and not column.default.is_sequence:
            names.append(column.name)
            defaults.append(column.default.arg(None) if column.default.is_callable else column.default.arg)
    if dialect.name == "postgresql":
        quote = dialect.identifier_preparer.quote
        statement = (f"COPY {dialect.identifier_preparer.format_table(table)} "
                     f"({', '.join(quote(n) for n in names)}) FROM STDIN")
        try:
            with conn.connection.driver_connection.cursor() as cursor:
                with cursor.copy(statement) as copy:
                    for row in rows:
                        copy.write_row([*row.values(), *defaults])
        except dialect.loaded_dbapi.Error as exc:
            # the driver's own error, raised past SQLAlchemy: wrap it as SQLAlchemy would (a duplicate key becomes
            # sqlalchemy.exc.IntegrityError, a deadlock OperationalError), so callers and error handlers see it
            raise DBAPIError.instance(statement, None, exc, dialect.loaded_dbapi.Error, hide_parameters=True,
                                      dialect=dialect) from exc
        return
    compiled = table.insert().compile(dialect=dialect, column_keys=names)
    if not compiled.positional:
        conn.execute(table.insert(), [{**row, **dict(zip(names[len(row):], defaults, strict=True))} for row in rows])
        return
    position = {name: i for i, name in enumerate(names)}
    order = [position[key] for key in compiled.positiontup]
    pick = itemgetter(*order) if len(order) > 1 else (lambda values: (values[order[0]],))
    # the columns whose type converts the value (dates, times, booleans): converted once per distinct value
    converters = [(j, processor, {}) for j, key in enumerate(compiled.positiontup)
                  if (processor := table.c[key].type._cached_bind_processor(dialect)) is not None]

    params = []
    for row in rows:
        values = pick([*row.values(), *defaults])
        if converters:
            values = list(values)
            for j, processor, memo in converters:
                value = values[j]
                if value is not None:
                    try:
                        values[j] = memo[value]
                    except KeyError:
                        values[j] = memo[value] = processor(value)
                    except TypeError:           # an unhashable value: convert it every time
                        values[j] = processor(value)
            values = tuple(values)
        params.append(values)
    conn.exec_driver_sql(compiled.string, params)
