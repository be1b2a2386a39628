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
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import date, datetime
from itertools import repeat
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


def insert_many(session, table, rows: list[dict] | dict[str, list], constants: dict | None = None) -> None:
    """Insert many rows in the session's transaction, for imports of tens of thousands of rows: COPY on
    PostgreSQL (several times faster than psycopg's row-by-row pipelined executemany); elsewhere one DBAPI
    executemany of the compiled statement, with each column's bind conversion done once per distinct value
    (SQLAlchemy's per-row parameter processing costs more than SQLite's insert itself). The rows are taken apart
    column by column (a 50,000-row insert then spends its time in the database, not in Python loops).
    ``constants``: columns with one value for every row (a timestamp), given once. Python-side column defaults
    are applied here, as an ORM insert would. Every row must have the same keys. ``rows`` may also be given
    column by column: {column name: its values, row by row} (a caller holding its values that way builds no row
    dicts)."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    constants = dict(constants or {})
    if isinstance(rows, dict):
        by_name = rows
        names = list(rows)
        n = len(rows[names[0]])
        if any(len(values) != n for values in rows.values()):
            raise ValueError("insert_many: columns of different lengths")
        if not n:
            return
    else:
        names = list(rows[0])
        n = len(rows)
        getter = itemgetter(*names)
        by_name = dict(zip(names, zip(*map(getter, rows)) if len(names) > 1 else [tuple(map(getter, rows))],
                           strict=True))
    for column in table.columns:
        if (column.name not in by_name and column.name not in constants and column.default is not None
                and not column.default.is_sequence):
            constants[column.name] = column.default.arg(None) if column.default.is_callable else column.default.arg
    all_names = names + list(constants)

    def column_values(name):
        return by_name[name] if name in by_name else repeat(constants[name], n)

    if dialect.name == "postgresql":
        quote = dialect.identifier_preparer.quote
        statement = (f"COPY {dialect.identifier_preparer.format_table(table)} "
                     f"({', '.join(quote(c) for c in all_names)}) FROM STDIN")
        try:
            with conn.connection.driver_connection.cursor() as cursor:
                oids = _binary_oids(cursor, dialect.identifier_preparer.format_table(table), all_names,
                                    column_values)
                with cursor.copy(statement + (" (FORMAT BINARY)" if oids else "")) as copy:
                    if oids:
                        copy.set_types(oids)
                    for row in zip(*map(column_values, all_names)):
                        copy.write_row(row)
        except dialect.loaded_dbapi.Error as exc:
            # the driver's own error, raised past SQLAlchemy: wrap it as SQLAlchemy would (a duplicate key becomes
            # sqlalchemy.exc.IntegrityError, a deadlock OperationalError), so callers and error handlers see it
            raise DBAPIError.instance(statement, None, exc, dialect.loaded_dbapi.Error, hide_parameters=True,
                                      dialect=dialect) from exc
        return
    compiled = table.insert().compile(dialect=dialect, column_keys=all_names)
    if not compiled.positional:
        conn.execute(table.insert(), [{**dict(zip(names, values)), **constants}
                                      for values in zip(*map(by_name.__getitem__, names))])
        return
    converted = []
    for key in compiled.positiontup:
        values = column_values(key)
        processor = table.c[key].type._cached_bind_processor(dialect)
        if processor is not None:
            # the columns whose type converts the value (dates, times, booleans): converted once per distinct value
            if key not in by_name:
                value = constants[key]
                values = repeat(None if value is None else processor(value), n)
            else:
                values = _converted(values, processor)
        converted.append(values)
    conn.exec_driver_sql(compiled.string, list(zip(*converted)))


@contextlib.contextmanager
def meanwhile(session, work: Callable[[], object]) -> Iterator[None]:
    """Run ``work`` (writes on ``session``'s connection that keep the server busy, such as the foreign-key checks of
    a 50,000-row COPY) while the with-block runs Python work that does not touch the session. On PostgreSQL
    ``work`` runs in a worker thread (psycopg waits for the server with the GIL released, so this process computes
    meanwhile); on SQLite, whose work is done in this process, it runs first, in this thread (its error is raised
    before the block). On PostgreSQL the block ends only after ``work`` has: its error is raised then (an error of
    the block itself wins), so the caller's transaction never sees the connection in use."""
    if session.get_bind().dialect.name != "postgresql":
        work()
        yield
        return
    ctx = contextvars.copy_context()              # the owner marks, the request's begin mode: as in this thread
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="meanwhile") as pool:
        pending = pool.submit(ctx.run, work)
        try:
            yield
        finally:
            wait([pending])
        pending.result()


# PostgreSQL column types whose binary COPY format psycopg writes from exactly these Python types (None aside)
_BINARY_COPY = {16: bool, 20: int, 21: int, 23: int, 25: str, 1043: str, 1082: date, 1114: datetime}


def _binary_oids(cursor, table_sql: str, names: list[str], column_values) -> list[int] | None:
    """The columns' type OIDs when every column is of a type in _BINARY_COPY and holds only that Python type (or
    None; datetimes without a time zone, as every timestamp here is): COPY then goes in binary format, several
    times cheaper for psycopg to write than text. Otherwise None (text format, the server parsing each value)."""
    cursor.execute("SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                   "AND NOT attisdropped", (table_sql,))
    oid_of = dict(cursor.fetchall())
    oids = []
    for name in names:
        oid = oid_of.get(name)
        wanted = _BINARY_COPY.get(oid)
        if wanted is None or not set(map(type, column_values(name))) <= {wanted, type(None)}:
            return None
        if wanted is datetime and any(v.tzinfo is not None for v in set(column_values(name)) if v is not None):
            return None
        oids.append(oid)
    return oids


def _converted(values, processor) -> list:
    try:
        memo = {v: None if v is None else processor(v) for v in set(values)}
    except TypeError:                                  # an unhashable value: convert every one
        return [None if v is None else processor(v) for v in values]
    return list(map(memo.__getitem__, values))
