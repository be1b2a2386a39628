"""The one skeleton of a POST view (flaskr's shape): validate the form, act, commit once; on a domain error roll
back and re-render the page with the message. Views then read: load, ``form_action(...)``.

    return form_action(form, lambda: service.do(db.session, actor, org, form.data),
                       rerender=lambda status, error: page(org, form, status=status, error=error),
                       done=lambda result: (flash("已保存。", "success"), redirect(url))[1])

``rerender(status, error)`` gets 400 when the form did not validate, 422 for field errors (those a field could take
are attached to the form; ``error`` holds the rest joined, or None), and the error's own status (403, 409, …) with
its Chinese message for any other ``DomainError``. ``done(result)`` builds the response after the commit.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect

from ..domain.errors import DomainError, ValidationFailed
from ..extensions import db
from .forms import apply_errors


def form_action(form, act: Callable[[], Any], *, rerender: Callable[[int, str | None], Any],
                done: Callable[[Any], Any], aliases: dict[str, str] | None = None, validate: bool = True):
    """Validate ``form`` (unless ``validate`` is False or form is None), run ``act()``, commit; see module doc."""
    if validate and form is not None and not form.validate():
        return rerender(400, None)
    try:
        result = act()
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        leftover = apply_errors(form, exc, aliases) if form is not None else [exc.message]
        return rerender(exc.status, "；".join(leftover) or None)
    except DomainError as exc:
        db.session.rollback()
        return rerender(exc.status, exc.message)
    return done(result)


def flash_redirect(message: str | None, target: str, category: str = "success"):
    """The usual ``done``: flash a message (if any) and redirect."""
    if message:
        flash(message, category)
    return redirect(target)
