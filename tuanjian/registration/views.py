"""Public admin registration (管理员注册) with a code from the parent organisation."""
from __future__ import annotations

from flask import render_template, request
from sqlalchemy.exc import IntegrityError

from .. import current_settings
from ..domain.errors import Conflict
from ..domain.people import CADRE_POLITICAL_STATUSES, ETHNICITIES, positions_for
from ..extensions import db
from ..models import Account, Org, utcnow
from ..services import accounts, throttle
from ..services.registration import RegistrationInput, WrongAccountPassword, WrongCode, register_admin
from ..web.guarded import guarded_action
from ..web.htmx import render
from ..web.net import client_ip
from ..web.scope import INT_ARG_LIMIT
from . import bp
from .forms import RegisterForm
from .queries import search_orgs

RESUBMITTED = "该信息刚刚已被提交过（可能是重复提交），请直接登录或刷新后重试。"


def _page(form: RegisterForm, status: int = 200, *, top_error: str | None = None, selected: Org | None = None):
    q = form.q.data or ""
    results = search_orgs(db.session, q)
    positions = positions_for(selected.org_kind.is_leading) if selected else ()
    return render("registration/register.html", block="org_results", status=status, form=form, q=q,
                  results=results, selected=selected, top_error=top_error,
                  positions=positions, ethnicities=ETHNICITIES, political_statuses=CADRE_POLITICAL_STATUSES)


def _org_id(raw) -> int | None:
    """The chosen org's id as the page carried it; anything else counts as no choice (the form then asks the
    registering cadre to search and pick again, keeping what they typed)."""
    try:
        value = int(str(raw or "").strip())
    except ValueError:
        return None
    return value if 0 < value <= INT_ARG_LIMIT else None


@bp.get("/")
def register():
    form = RegisterForm(formdata=None)
    form.q.data = request.args.get("q", "")
    selected = None
    org_id = _org_id(request.args.get("org_id"))
    if org_id is not None:
        selected = db.session.get(Org, org_id)
    return _page(form, selected=selected)


@bp.post("/")
def submit():
    form = RegisterForm()
    settings = current_settings()
    org_id = _org_id(form.org_id.data)
    selected = db.session.get(Org, org_id) if org_id is not None else None
    if not form.validate():          # CSRF only; the field rules live in the domain
        return _page(form, 400, top_error="页面已过期，请刷新后重新填写。", selected=selected)
    ip, now = client_ip(), utcnow()
    guard = throttle.CodeGuard.for_address("regcode", ip, settings, "注册码")
    data = RegistrationInput(
        org_id=selected.id if selected else None, position=form.position.data or "", code=form.code.data or "",
        name=form.name.data or "", id_number=form.id_number.data or "", phone=form.phone.data or "",
        ethnicity=form.ethnicity.data or "", political_status=form.political_status.data or "",
        join_date=form.join_date.data or "", password=form.password.data or "",
        password_confirm=form.password_confirm.data or "")

    def register():
        try:
            grant = register_admin(db.session, data, settings=settings, now=now, ip=ip)
            db.session.flush()
        except IntegrityError:
            raise Conflict(RESUBMITTED) from None
        return grant

    def kept(exc):
        # a password guess for an existing account: it counts towards that account's login lockout
        if isinstance(exc, WrongAccountPassword):
            account = db.session.get(Account, exc.account_id)
            if account is not None and not accounts.is_locked(account, now):
                accounts.count_wrong_password(db.session, account, settings=settings, now=now, ip=ip,
                                              where="管理员注册")

    def done(grant):
        return render_template("registration/done.html", org=grant.org, position=data.position,
                               id_number=grant.person.masked_id)
    return guarded_action(form, guard, register, wrong=WrongCode, now=now, kept=kept, done=done,
                          rerender=lambda status, error: _page(form, status, top_error=error, selected=selected))
