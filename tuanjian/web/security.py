"""Security headers, idle timeout, forced password change."""
from __future__ import annotations

from datetime import timedelta

from flask import Flask, abort, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user

from .. import current_settings, settings_of
from ..models import utcnow

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'")

# Endpoints a user who must change the password may still reach.
_PASSWORD_CHANGE_ALLOWED = {"auth.change_password", "auth.logout", "auth.ping", "static", "main.help"}


def init_app(app: Flask) -> None:
    settings = settings_of(app)
    app.permanent_session_lifetime = timedelta(minutes=settings.session_idle_minutes)

    @app.before_request
    def refuse_nul():
        """A NUL character is never typed into a form; PostgreSQL refuses it in text, so say so up front (400)
        instead of letting a query fail. Other control characters are cleaned where text is stored."""
        if request.endpoint == "static":
            return None
        values = [*request.args.values()]
        if request.method == "POST" and request.mimetype in ("application/x-www-form-urlencoded",
                                                             "multipart/form-data"):
            values += [*request.form.values()]
        if any("\x00" in v for v in values):
            abort(400, description="提交的内容中含有无效字符（NUL），请检查后重新填写")
        return None

    @app.before_request
    def idle_timeout():
        if request.endpoint == "static":
            return None
        now = utcnow().timestamp()
        seen = session.get("seen")
        if current_user.is_authenticated:
            idle = current_settings().session_idle_minutes * 60
            if seen is not None and now - seen > idle:
                account_id = current_user.id
                logout_user()
                session.clear()
                if request.method == "POST":
                    from .relogin import idle_message, relogin_page
                    return relogin_page(idle_message(), account_id)      # keep the typed form (issue 16.1)
                flash("您已长时间未操作，为保护数据已自动退出，请重新登录。", "warning")
                return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
            session.permanent = True
            session["seen"] = now
        return None

    @app.before_request
    def force_password_change():
        if (current_user.is_authenticated and not current_user.is_claimed
                and request.endpoint not in _PASSWORD_CHANGE_ALLOWED):
            flash("您正在使用初始密码，请先修改密码。", "warning")
            return redirect(url_for("auth.change_password"))
        return None

    @app.after_request
    def headers(resp):
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint != "static":
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp
