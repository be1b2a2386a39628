from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from .. import current_settings as _settings
from ..domain.errors import NotAllowed, ValidationFailed
from ..extensions import db
from ..models import utcnow
from ..queries import account_with_grants, admin_grants_of, has_children
from ..services import accounts, resetcodes, throttle
from ..web import stash as stashes
from ..web.actions import keep
from ..web.busy import busy_response, login_slot
from ..web.forms import apply_errors
from ..web.guarded import guarded_action
from ..web.htmx import is_htmx
from ..web.net import client_ip
from ..web.scope import safe_next
from . import bp
from .forms import ChangePasswordForm, ForgotPasswordForm, LoginForm


def init_login_manager(login_manager) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(user_id: str):
        try:
            account_id, version = (int(x) for x in user_id.split("."))
        except ValueError:
            return None
        # the person and the admin grants come with it, in one statement: every page names the user
        # (current_actor, the header) and checks the scope (web.scope.active_grants reads them from g)
        account, grants = account_with_grants(db.session, account_id)
        if account is None or account.session_version != version:
            return None
        g.active_grants = grants
        return account

    @login_manager.unauthorized_handler
    def unauthorized():
        if request.method == "POST":
            from ..web.relogin import relogin_page
            return relogin_page("您已退出登录，请重新登录。")   # keep the typed form (issue 16.1)
        target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
        if is_htmx():
            resp = current_app.response_class("", status=401)
            resp.headers["HX-Redirect"] = target
            return resp
        flash("请先登录。", "info")
        return redirect(target)


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method != "POST":     # GET and HEAD
        form.next.data = request.args.get("next", "")
        return render_template("auth/login.html", form=form)
    if not form.validate():
        return render_template("auth/login.html", form=form), 400
    with login_slot() as free:          # a burst: a clear 503 page, not an unbounded queue (web.busy)
        if not free:
            return busy_response()
        result = accounts.authenticate(db.session, form.id_number.data or "", form.password.data or "",
                                       settings=_settings(), now=utcnow(), ip=client_ip(),
                                       first_code=form.first_code.data or "")
    keep()                # failure counters and the audit entry are kept either way
    if result.account is None:
        form.password.errors = [result.message]
        return render_template("auth/login.html", form=form), 401
    session.clear()
    login_user(result.account)
    stashes.bind(result.account.id)      # this browser, for the expired-session stash (web.stash)
    session["seen"] = utcnow().timestamp()
    if result.first_code_id is not None:
        # an unclaimed account: the code is spent when the new password is saved (issue 26.4), not now
        session["first_code_id"] = result.first_code_id
    grant = next(iter(admin_grants_of(db.session, result.account.person_id)), None)     # the highest organisation
    if grant is not None:
        session["org_id"] = grant.org_id
    if not result.account.is_claimed:
        flash("您正在使用初始密码（身份证号后八位），请先设置新密码。新密码保存之前，首次登录验证码仍然有效。",
              "warning")
        return redirect(url_for("auth.change_password"))
    flash(f"欢迎，{result.account.person.name}。", "success")
    wanted = form.next.data
    if grant is not None and safe_next(wanted) != wanted and has_children(db.session, grant.org_id):
        # an admin with subordinates first sees how they are doing (a plain page; a dialog on top of it)
        return redirect(url_for("supervision.index", org_id=grant.org_id, welcome=1))
    return redirect(safe_next(wanted))


@bp.post("/ping")
def ping():
    """继续 in the idle warning: any request from a logged-in user restarts the idle clock (web.security)."""
    if not current_user.is_authenticated:
        return current_app.response_class("", status=401)
    return current_app.response_class("", status=204)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        # server-side: a copy of this session cookie (or any other session of the account) stops working
        accounts.end_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    stashes.unbind()
    flash("您已安全退出。", "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if request.method == "POST":
        if not form.validate():
            return render_template("auth/password.html", form=form), 400
        try:
            accounts.change_password(db.session, current_user, current=form.current.data or "",
                                     new=form.new.data or "", confirm=form.confirm.data or "",
                                     settings=_settings(), ip=client_ip(),
                                     first_code_id=session.get("first_code_id"))
        except accounts.PasswordLocked as exc:
            keep()                       # the lock and its audit entry; the account's sessions have ended
            logout_user()
            session.clear()
            flash(exc.field_errors["current"][0], "error")
            return redirect(url_for("auth.login"))
        except ValidationFailed as exc:
            # nothing was changed but the wrong-password count (when the current password was wrong): keep it
            keep()
            apply_errors(form, exc)
            return render_template("auth/password.html", form=form), 422
        except NotAllowed as exc:
            # the first-login code this session was opened with is void now: nothing was written, log in again
            logout_user()
            session.clear()
            flash(exc.message, "error")
            return redirect(url_for("auth.login"))
        session.pop("first_code_id", None)
        login_user(current_user._get_current_object())   # new session_version → refresh our own cookie
        flash("密码已修改。其他地方登录的会话已失效。", "success")
        return redirect(url_for("main.home"))
    return render_template("auth/password.html", form=form)


@bp.route("/forgot", methods=["GET", "POST"])
def forgot():
    """忘记密码: ID number + 重置密码验证码 from an admin → a new password. Wrong codes are throttled per address."""
    form = ForgotPasswordForm()
    if request.method != "POST":     # GET and HEAD
        return render_template("auth/forgot.html", form=form)
    if not form.validate():           # CSRF only; the field rules live in services.resetcodes
        return render_template("auth/forgot.html", form=form, top_error="页面已过期，请刷新后重新填写。"), 400
    settings, ip, now = _settings(), client_ip(), utcnow()
    guard = throttle.CodeGuard.for_address("resetcode", ip, settings, "验证码")

    def redeem():
        resetcodes.redeem_reset_code(db.session, id_number=form.id_number.data or "", code=form.code.data or "",
                                     password=form.password.data or "", confirm=form.confirm.data or "",
                                     settings=settings, now=now, ip=ip)

    def done(_):
        if current_user.is_authenticated:
            logout_user()
            session.clear()
        flash("密码已重置，账号锁定（如有）已同时解除，其他地方登录的会话已失效。请用新密码登录。", "success")
        return redirect(url_for("auth.login"))
    return guarded_action(form, guard, redeem, wrong=resetcodes.WrongResetCode, now=now, done=done,
                          rerender=lambda status, error: (render_template("auth/forgot.html", form=form,
                                                                          top_error=error), status))
