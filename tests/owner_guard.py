"""The runtime half of tests/test_owners.py: while the test suite runs, a write of a row of an owned table (an object
constructed or one of its columns assigned, a Core insert/update/delete through the session, a session.delete) made
by code under ``tuanjian/`` while that table's owner is not the one writing (services/owners/_mark.py) is recorded
as a violation, and the test that caused it fails (``check_no_violations`` runs after every test). Test code itself
(factories, fixtures) may write anything."""
from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from tuanjian.models import Base
from tuanjian.services.owners._mark import writing_now

PACKAGE = Path(__file__).resolve().parents[1] / "tuanjian"
OWNERS_DIR = str(PACKAGE / "services" / "owners") + "/"
PACKAGE_DIR = str(PACKAGE) + "/"
TESTS_DIR = str(Path(__file__).resolve().parent) + "/"

violations: list[str] = []
_installed: set[str] = set()


def _writer() -> str | None:
    """The nearest frame outside SQLAlchemy and this file: ``path:line`` when it lies in tuanjian/ (owners and
    models excepted), None when it is test code or an owner."""
    frame = sys._getframe(2)
    while frame is not None:
        fn = frame.f_code.co_filename
        if fn == __file__:
            frame = frame.f_back
            continue
        if fn.startswith(TESTS_DIR):
            return None
        if fn.startswith(PACKAGE_DIR):
            if fn.startswith(OWNERS_DIR) or fn.startswith(PACKAGE_DIR + "models/"):
                return None
            return f"{fn[len(PACKAGE_DIR):]}:{frame.f_lineno}"
        frame = frame.f_back
    return None


def _note(table: str, what: str) -> None:
    if table in writing_now():
        return
    where = _writer()
    if where is not None:
        violations.append(f"{where}: {what} of {table} outside its owner")


def install(tables: dict[str, type]) -> None:
    """``tables``: table name -> model class (from test_owners.OWNERS). Idempotent."""
    for table, model in tables.items():
        if table in _installed:
            continue
        _installed.add(table)

        def on_init(target, args, kwargs, table=table):
            _note(table, "construction")
        event.listen(model, "init", on_init)
        for attr in inspect(model).column_attrs:
            def on_set(target, value, old, initiator, table=table, key=attr.key):
                _note(table, f"assignment of {key}")
            event.listen(getattr(model, attr.key), "set", on_set)
    if "_session" not in _installed:
        _installed.add("_session")
        event.listen(Session, "do_orm_execute", _on_execute)
        event.listen(Session, "before_flush", _on_flush)


def _owned() -> set[str]:
    return _installed - {"_session"}


def _on_execute(state) -> None:
    stmt = state.statement
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(stmt, "table", None)
    name = getattr(table, "name", None)
    if name in _owned():
        _note(name, type(stmt).__name__.lower())


def _on_flush(session, flush_context, instances) -> None:
    for obj in session.deleted:
        name = getattr(type(obj), "__tablename__", None)
        if name in _owned():
            _note(name, "session.delete")


def model_of(name: str) -> type:
    return Base.registry._class_registry[name]


def check_no_violations() -> list[str]:
    found = list(violations)
    violations.clear()
    return found
