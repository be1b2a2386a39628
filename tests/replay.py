"""Fixtures built once per test process and written back as rows afterwards.

A fixture such as ``tree`` runs the real services (create_root, create_child, audit, …) to build its data, which
costs 50–120 ms, and about 1,500 tests ask for it. ``replayed`` builds it for real the first time in a process (per
kind of database), records the rows the build added or changed and the id sequences after it, and on every later
call writes the same rows and restores the sequences: the test then sees exactly the data (ids included) the build
would have given it, in a few milliseconds. The test gets its objects back loaded from its own session.

It writes back only onto the state it was recorded on: the row count and highest id of every table must be what
they were before the first build, and every row the build changed (say an org_stats row of a parent that got a new
child) must hold exactly what it held then; else the fixture is built for real again. A build that deleted rows is
never replayed. Timestamps are those of the first build (minutes old, never in the future).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlalchemy import inspect, select, text

from tuanjian.models import Base

_recorded: dict[tuple[str, str], Recording | None] = {}


@dataclass
class Recording:
    before: tuple                    # the state signature the build started from
    rows: list                       # (table, [row dicts]) the build added, in dependency order
    updates: list                    # (table, [(row before, row after)]) rows that were there and that it changed
    sequences: list                  # PostgreSQL: (sequence, last value or None when unused) after the build
    handle: object                   # the build's answer with every ORM object replaced by (class, primary key)


def replayed(name: str, session, build):
    """``build(session)`` (which commits), or the rows it added the first time, written back."""
    dialect = session.get_bind().dialect.name
    key = (name, dialect)
    before = _signature(session)
    if key in _recorded:
        recording = _recorded[key]
        if recording is not None and recording.before == before and _unchanged(session, recording):
            _write_back(session, recording)
            result = _load(session, recording.handle)
            session.commit()            # as the build ends: no transaction left open (SQLite: no lock held)
            return result
        session.commit()
        return build(session)                           # not replayable, or another starting state
    rows_before = _dump(session)
    result = build(session)
    session.commit()
    added, updates, deleted = _difference(rows_before, _dump(session))
    _recorded[key] = None if deleted else Recording(before=before, rows=added, updates=updates,
                                                    sequences=_sequences(session, dialect), handle=_ids(result))
    session.commit()
    return result


# ---------------------------------------------------------------- the state of the database

def _signature(session) -> tuple:
    """Each table's row count and highest first primary-key value, in one query."""
    global _signature_sql
    if _signature_sql is None:
        _signature_sql = " UNION ALL ".join(
            f"SELECT '{t.name}', COUNT(*), CAST(MAX(\"{list(t.primary_key.columns)[0].name}\") AS TEXT) "
            f'FROM "{t.name}"' for t in Base.metadata.sorted_tables)
    return tuple(sorted(tuple(r) for r in session.connection().exec_driver_sql(_signature_sql).all()))


_signature_sql: str | None = None


def _dump(session) -> dict:
    return {table.name: {tuple(r[c.name] for c in table.primary_key.columns): dict(r)
                         for r in session.execute(select(table)).mappings()}
            for table in Base.metadata.sorted_tables}


def _difference(before: dict, after: dict):
    added, updates, deleted = [], [], False
    for table in Base.metadata.sorted_tables:
        old, new = before[table.name], after[table.name]
        deleted = deleted or any(pk not in new for pk in old)
        changed = [(row, new[pk]) for pk, row in sorted(old.items(), key=lambda kv: kv[0])
                   if pk in new and new[pk] != row]
        if changed:
            updates.append((table, changed))
        rows = [row for pk, row in sorted(new.items(), key=lambda kv: kv[0]) if pk not in old]
        if rows:
            added.append((table, rows))
    return added, updates, deleted


def _where_pk(table, row):
    return [c == row[c.name] for c in table.primary_key.columns]


def _unchanged(session, recording: Recording) -> bool:
    """Every row the build changed holds what it held before the first build."""
    conn = session.connection()
    for table, pairs in recording.updates:
        for old, _new in pairs:
            now = conn.execute(select(table).where(*_where_pk(table, old))).mappings().first()
            if now is None or dict(now) != old:
                return False
    return True


def _sequences(session, dialect: str) -> list:
    if dialect != "postgresql":
        return []                      # SQLite: a new row's id follows the highest one present
    return [tuple(r) for r in session.execute(text(
        "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename), last_value FROM pg_sequences "
        "WHERE schemaname = current_schema() ORDER BY 1")).all()]


def _write_back(session, recording: Recording) -> None:
    conn = session.connection()
    for table, rows in recording.rows:
        conn.execute(table.insert(), rows)
    for table, pairs in recording.updates:
        for old, new in pairs:
            conn.execute(table.update().where(*_where_pk(table, old)).values(new))
    if recording.sequences:                           # every sequence as it was after the build, in one query
        conn.exec_driver_sql("SELECT " + ", ".join(
            f"setval('{name}', {last_value or 1}, {'true' if last_value is not None else 'false'})"
            for name, last_value in recording.sequences))


# ---------------------------------------------------------------- the build's answer, by ids

@dataclass(frozen=True)
class _Ref:
    cls: type
    pk: tuple


@dataclass(frozen=True)
class _Fields:                      # a dataclass answer (the Tree): its class and its fields, by ids
    cls: type
    fields: dict


def _ids(value):
    if isinstance(value, Base):
        return _Ref(type(value), inspect(value).identity)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _Fields(type(value), {f.name: _ids(getattr(value, f.name)) for f in dataclasses.fields(value)})
    if isinstance(value, dict):
        return {k: _ids(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_ids(v) for v in value)
    return value


def _load(session, value):
    refs: dict[type, list] = {}
    _collect(value, refs)
    held = []                       # the identity map holds objects weakly: keep them until they are handed out
    for cls, pks in refs.items():   # one query per class; session.get then finds them in memory
        pk = inspect(cls).primary_key[0]
        held += session.scalars(select(cls).where(pk.in_([p[0] for p in pks]))).all()
    return _rebuild(session, value)


def _collect(value, refs) -> None:
    if isinstance(value, _Ref):
        refs.setdefault(value.cls, []).append(value.pk)
    elif isinstance(value, _Fields):
        _collect(value.fields, refs)
    elif isinstance(value, dict):
        for v in value.values():
            _collect(v, refs)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _collect(v, refs)


def _rebuild(session, value):
    if isinstance(value, _Ref):
        obj = session.get(value.cls, value.pk)
        assert obj is not None, value
        return obj
    if isinstance(value, _Fields):
        return value.cls(**{k: _rebuild(session, v) for k, v in value.fields.items()})
    if isinstance(value, dict):
        return {k: _rebuild(session, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_rebuild(session, v) for v in value)
    return value
