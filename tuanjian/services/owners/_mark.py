"""Which owner is writing right now: each owner module wraps its public writers in ``owner_of(table, …)``, which
marks the tables it writes for the duration of the call (a context variable). Nothing outside ``services/owners``
imports this; ``tests/test_owners.py`` installs a guard that fails a test when a row of an owned table is written
while its owner is not the one writing."""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

_writing: ContextVar[frozenset[str]] = ContextVar("tuanjian_owner_writing", default=frozenset())

F = TypeVar("F", bound=Callable)


@contextmanager
def writing(*tables: str) -> Iterator[None]:
    token = _writing.set(_writing.get() | frozenset(tables))
    try:
        yield
    finally:
        _writing.reset(token)


def owner_of(*tables: str) -> Callable[[F], F]:
    """Decorator for an owner's public writer: the function (and the flush it ends with) writes ``tables``."""
    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            with writing(*tables):
                return fn(*args, **kwargs)
        inner.__owner_tables__ = tables      # type: ignore[attr-defined]
        return inner                         # type: ignore[return-value]
    return wrap


def writing_now() -> frozenset[str]:
    """The tables whose owner is writing at this moment (what the test guard compares a write with)."""
    return _writing.get()
