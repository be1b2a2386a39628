"""Log in again on the same page without losing the typed form (issue 16.1).

Three ways a form POST can arrive without a usable session, all answered here:

* the session idled out (the browser dropped the cookie, so the CSRF token is missing; or the server's idle
  check logs the user out);
* the user is logged out (logged out in another tab), so a login-only view refuses;
* the page is stale while the user is still logged in (the CSRF token belongs to an older session).

In every case the posted non-secret fields are stashed (``web.stash``). A logged-out user gets the login form
right there, saying why; after logging in (the normal login view: ``next`` carries the stash token) the page the
form was on comes back filled in. A still-logged-in user goes straight back to the filled-in page.
"""
from __future__ import annotations

from flask import Flask, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from .. import current_settings
from . import stash as stashes
from .htmx import is_htmx

# Endpoints that do not need a login: a stale page there only needs the form back.
PUBLIC_FORMS = stashes.PUBLIC_FORMS
# Endpoints where keeping the form makes no sense.
NOT_STASHED = {"auth.login", "auth.logout", "auth.ping", "main.switch_org"}


def idle_message() -> str:
    minutes = current_settings().session_idle_minutes
    return f"您已 {minutes} 分钟未操作，已自动退出，请重新登录。"


def _login_form(next_url: str, id_number: str = ""):
    from ..auth.forms import LoginForm
    form = LoginForm(formdata=None)
    form.next.data = next_url
    form.id_number.data = id_number
    return form


def _page(body, status: int):
    resp = current_app.make_response((body, status))
    if is_htmx():
        # a boosted form swaps the body; make sure the login form replaces the whole page, not a fragment
        resp.headers["HX-Retarget"] = "body"
        resp.headers["HX-Reswap"] = "innerHTML"
    return resp


def relogin_page(reason: str, account_id: int | None = None):
    """The login form in answer to a POST that lost its session, keeping what was typed for this browser and the
    account whose session it was (``account_id`` when the caller already ended that session)."""
    kept = stashes.save_from_request(account_id) if request.endpoint not in NOT_STASHED else None
    next_url = kept.page_with_token() if kept else stashes.page_of_request()
    body = render_template("auth/login.html", form=_login_form(next_url), relogin_reason=reason, stash=kept)
    return _page(body, 401)


def stale_page_response(default_message: str):
    """A POST whose CSRF check failed. Decide what the user needs and keep what they typed."""
    endpoint = request.endpoint or ""
    if endpoint == "auth.login":
        form = _login_form(request.form.get("next", ""), request.form.get("id_number", ""))
        body = render_template("auth/login.html", form=form,
                               relogin_reason="登录页面停留太久已过期（安全校验未通过），请重新输入密码登录。",
                               stash=None)
        return _page(body, 400)
    if endpoint == "auth.logout" and not current_user.is_authenticated:
        flash("您已退出。", "info")
        return redirect(url_for("auth.login"))
    if endpoint in NOT_STASHED:
        return None
    if endpoint in PUBLIC_FORMS or current_user.is_authenticated:
        kept = stashes.save_from_request()
        if kept is None:
            return None
        flash("页面停留太久已过期（安全校验未通过），内容没有提交。已为您填回刚才填写的内容，请核对后重新提交。",
              "warning")
        return redirect(kept.page_with_token())
    return relogin_page(idle_message())


def init_app(app: Flask) -> None:
    @app.before_request
    def restore_typed_form():
        """On the page a stashed form comes back to: say so, and fill it in after rendering."""
        if request.method == "GET" and request.endpoint in PUBLIC_FORMS:
            stashes.bind_public_page()
        token = request.args.get(stashes.PARAM)
        if request.method != "GET" or not token or request.endpoint == "static":
            return None
        kept = stashes.load(token)
        if kept is None:
            return None
        if kept.page.split("?")[0] != request.path:
            return None
        if not current_user.is_authenticated and request.endpoint not in PUBLIC_FORMS:
            return None            # the page will send the user to log in first; the token stays in ``next``
        if not stashes.may_restore(kept, account_id=current_user.id if current_user.is_authenticated else None,
                                   endpoint=request.endpoint):
            return None            # another browser's or another account's stash: never shown here
        g.restore_stash = kept
        note = kept.reenter_note()
        flash(f"已填回您退出前填写的内容（{kept.kept} 项），请核对后重新提交。" + (f"{note}。" if note else ""),
              "warning")
        return None

    app.after_request(stashes.apply_binding)


def init_fill(app: Flask) -> None:
    """Filling a restored form spends its stash: registered after ``web.actions``' commit hook, so it runs before
    it and the spent stash is committed with the page (a failed commit keeps the stash for another try)."""
    @app.after_request
    def fill_typed_form(resp):
        kept = g.pop("restore_stash", None)
        if kept is None or resp.status_code != 200 or resp.mimetype != "text/html" or resp.direct_passthrough:
            return resp
        html, found = stashes.fill_form(resp.get_data(as_text=True), kept, request.path)
        if found:
            resp.set_data(html)
            stashes.discard(kept.token)
        return resp
