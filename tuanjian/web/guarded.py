"""``form_action`` for a form carrying a code that can be guessed (注册码, 重置密码验证码), in the sequence of
``services.throttle.CodeGuard``: refused with 429 while the address must wait; a wrong code is rolled back, then
counted and kept (``actions.keep``: the count must survive the rollback and the 4xx answer) and the page shows
the note the count gives; a success clears the count in the same transaction."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..domain.errors import DomainError
from ..extensions import db
from .actions import form_action, keep


def guarded_action(form, guard, act: Callable[[], Any], *, wrong: type[DomainError], now: datetime,
                   rerender: Callable[[int, str | None], Any], done: Callable[[Any], Any],
                   kept: Callable[[DomainError], None] | None = None):
    """Run ``act`` as ``form_action`` does (the form already validated). ``wrong``: the error of a wrong code.
    ``kept(exc)``: after the rollback of any other refusal, writes what must be kept of it (kept)."""
    refusal = guard.blocked(db.session, now)
    if refusal:
        return rerender(429, refusal)
    failed: list[DomainError] = []

    def attempt():
        try:
            result = act()
        except DomainError as exc:
            failed.append(exc)
            raise
        guard.passed(db.session)
        return result

    def refused(status: int, error: str | None):
        if failed and isinstance(failed[0], wrong):
            error = guard.wrong(db.session, now)
            keep()
        elif failed and kept is not None:
            kept(failed[0])
            keep()
        return rerender(status, error)

    return form_action(form, attempt, rerender=refused, done=done, validate=False)
