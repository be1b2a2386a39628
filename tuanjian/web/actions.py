"""The one skeleton of a POST view (flaskr's shape): validate the form, act, commit once; on a domain error roll
back and re-render the page with the message. Views then read: load, ``form_action(...)``.

    return form_action(form, lambda: service.do(db.session, actor, org, form.data),
                       rerender=lambda status, error: page(org, form, status=status, error=error),
                       done=lambda result: (flash("已保存。", "success"), redirect(url))[1])

``rerender(status, error)`` gets 400 when the form did not validate, 422 for field errors (those a field could take
are attached to the form; ``error`` holds the rest joined, or None), and the error's own status (403, 409, …) with
its Chinese message for any other ``DomainError``. ``done(result)`` builds the response; the commit follows it.

One transaction per request (as indico's ``RH.process``): nothing in a view commits. ``end_transaction`` (an
``after_request`` hook, the one place that commits) commits once, at the end, when the answer is not an error
(< 400) and the request wrote something, and rolls back otherwise; a failed commit becomes a Chinese 409/503 page and
the request's flashed messages are dropped. ``keep()`` marks the writes of a refused request that must survive its
4xx answer (a wrong code's count, a failed login's counters, the audit entry of what a refused page still showed).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, flash, g, redirect, request, session
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from ..domain.errors import DomainError, ValidationFailed
from ..extensions import db
from .forms import apply_errors

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NOT_SAVED = "数据库繁忙，您的操作没有保存，请稍后重试。"
CONFLICT = "与其他人同时进行的操作发生冲突，您的操作没有保存。请刷新页面，核对后重试。"


def form_action(form, act: Callable[[], Any], *, rerender: Callable[[int, str | None], Any],
                done: Callable[[Any], Any], aliases: dict[str, str] | None = None, validate: bool = True):
    """Validate ``form`` (unless ``validate`` is False or form is None), run ``act()``, commit; see module doc."""
    if validate and form is not None and not form.validate():
        return rerender(400, None)
    try:
        result = act()
    except ValidationFailed as exc:
        db.session.rollback()
        leftover = apply_errors(form, exc, aliases) if form is not None else [exc.message]
        return rerender(exc.status, "；".join(leftover) or None)
    except DomainError as exc:
        db.session.rollback()
        return rerender(exc.status, exc.message)
    settle()
    return done(result)


def settle() -> None:
    """Flush the request's writes and expire what the session holds, as the commit used to, so the answer built
    after an action reads the rows as written (relationships a service set by id included); the commit follows."""
    db.session.flush()
    db.session.expire_all()


def flash_redirect(message: str | None, target: str, category: str = "success"):
    """The usual ``done``: flash a message (if any) and redirect."""
    if message:
        flash(message, category)
    return redirect(target)


def keep() -> None:
    """Commit this request's writes even though its answer is a refusal (4xx): see the module doc."""
    g.keep_writes = True


def conflict_message(message: str) -> None:
    """The Chinese message when this request's commit collides with another's (a unique key, a deadlock)."""
    g.conflict_message = message


def _wrote(s) -> bool:
    return bool(s.new or s.dirty or s.deleted or s.info.get("flushed"))


def end_transaction(response):
    """The one commit of a request (see the module doc)."""
    kept, conflict = g.pop("keep_writes", False), g.pop("conflict_message", None)
    s = db.session()                            # the request's Session (not the scoped proxy)
    if not s.in_transaction():
        return response
    if response.status_code >= 400 and not kept:
        s.rollback()
        return response
    if request.method in SAFE_METHODS and not kept and not _wrote(s):
        return response                        # a page that only read: the session's removal ends it
    try:
        s.commit()
    except DBAPIError as exc:
        s.rollback()
        from .errors import log_error, render_error
        log_error("commit failed", exc)
        session.pop("_flashes", None)          # "已保存" must not show on the next page
        raced = isinstance(exc, IntegrityError) or getattr(exc.orig, "sqlstate", None) in ("40P01", "40001")
        answer = current_app.make_response(render_error(409 if raced else 503, (conflict or CONFLICT) if raced
                                                        else NOT_SAVED))
        if not raced:
            answer.headers["Retry-After"] = "5"
        return answer
    return response


def _flushed(s, _context) -> None:
    s.info["flushed"] = True


def _ended(s, *_args) -> None:
    s.info.pop("flushed", None)


def init_app(app: Flask) -> None:
    """Register the end-of-request commit (after the hooks that may still change the answer run first)."""
    app.after_request(end_transaction)
    if not event.contains(Session, "after_flush", _flushed):
        event.listen(Session, "after_flush", _flushed)
        event.listen(Session, "after_commit", _ended)
        event.listen(Session, "after_soft_rollback", _ended)
