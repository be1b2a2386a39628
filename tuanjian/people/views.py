"""人员查询: people in the admin's subtree, a person's page, and 重置密码验证码 (issue 3)."""
from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for

from .. import current_settings as _settings
from ..domain.people import ID_SEARCH_HINT, classify_id_search
from ..extensions import db
from ..models import Person, utcnow
from ..queries import person_links
from ..services import firstlogin, idsearch, resetcodes
from ..web.actions import flash_redirect, form_action, keep
from ..web.filters import local_time
from ..web.forms import ErrorsByName
from ..web.htmx import render
from ..web.scope import admin_required, current_actor, int_arg, person_or_404
from . import bp
from .queries import search_people

MIN_QUERY = 2


def _clean_query(raw: str | None) -> str:
    return " ".join((raw or "").split())[:30]


@bp.get("/")
@admin_required
def index():
    q = _clean_query(request.args.get("q"))
    page = max(1, int_arg("page", 1) or 1)
    per_page = current_app.config["PAGE_SIZE"]
    actor = current_actor()
    people: list[Person] = []
    total, pages = 0, 1
    search = classify_id_search(q)
    id_notice = ID_SEARCH_HINT if search.kind == "refused" else None
    refusal = idsearch.blocked(db.session, actor, search, utcnow())
    if refusal:
        id_notice = refusal
    elif len(q) >= MIN_QUERY:
        found = search_people(db.session, actor.scope_code, q, search, page, per_page)
        people, total, page, pages = found.items, found.total, found.page, found.pages
        if search.is_id:
            idsearch.record(db.session, actor, org_id=actor.org_id, where="人员查询", search=search, found=total,
                            settings=_settings(), now=utcnow())
            keep()      # the search is in the audit log whatever the page's answer
    ids = [p.id for p in people]
    links = person_links(db.session, ids, actor.scope_code)
    refusals = resetcodes.refusals(db.session, actor, people, links)
    codes = resetcodes.usable_codes(db.session, [pid for pid in ids if refusals[pid] is None], utcnow())
    # unclaimed accounts: a link to their 首次登录验证码 only for an admin who may issue it (issue 24)
    unclaimed = [p for p in people if p.account is not None and not p.account.is_claimed]
    first_refusals = firstlogin.refusals(db.session, actor, unclaimed)
    return render("people/index.html", block="people_results", q=q, people=people, links=links,
                  refusals=refusals, codes=codes, first_refusals=first_refusals, page=page, pages=pages,
                  total=total, min_query=MIN_QUERY,
                  id_notice=id_notice)


@bp.get("/<int:person_id>")
@admin_required
def detail(person_id: int, correction: dict | None = None, status: int = 200):
    person = person_or_404(person_id)
    actor = current_actor()
    now = utcnow()
    links = person_links(db.session, [person.id], actor.scope_code)
    refusal = resetcodes.refusals(db.session, actor, [person], links)[person.id]
    code = resetcodes.usable_codes(db.session, [person.id], now).get(person.id) if refusal is None else None
    account = person.account
    locked = account is not None and account.locked_until is not None and account.locked_until > now
    first_refusal = first_code = None
    if account is not None and not account.is_claimed:
        # an unclaimed account: its 首次登录验证码, only for an admin whose reach covers every place (issue 24)
        first_refusal = firstlogin.refusals(db.session, actor, [person])[person.id]
        if first_refusal is None:
            first_code = firstlogin.usable_codes(db.session, [person.id], now).get(person.id)
    from ..services.profile import correction_refused
    return render("people/detail.html", person=person, links=links[person.id], refusal=refusal, code=code,
                  first_refusal=first_refusal, first_code=first_code,
                  account=account, locked=locked, q=_clean_query(request.args.get("q")),
                  correction_refusal=correction_refused(db.session, actor, person), correction=correction or {},
                  status=status)


@bp.post("/<int:person_id>/correct")
@admin_required
def correct(person_id: int):
    """更正姓名和身份证号码: an admin of an organisation above every place the person holds (audited)."""
    from ..services.profile import correct_identity
    person = person_or_404(person_id)
    values = {k: request.form.get(k, "") for k in ("name", "id_number", "reason")}
    errors = ErrorsByName()

    def refused(status: int, error: str | None):
        return detail(person_id, correction={**values, "errors": errors.with_form_error(error)}, status=status)
    return form_action(errors, lambda: correct_identity(db.session, current_actor(), person, name=values["name"],
                                                        id_number=values["id_number"], reason=values["reason"],
                                                        now=utcnow()),
                       rerender=refused, done=lambda _: _corrected(person), validate=False)


def _corrected(person: Person):
    flash(f"已更正为 {person.name}（{person.masked_id}），已记入操作日志。其登录用户名随之改为新的身份证号码"
          + ("，初始密码为新身份证号后八位" if person.account is not None and not person.account.is_claimed
             else "")
          + "。", "success")
    return redirect(url_for("people.detail", person_id=person.id))


@bp.post("/<int:person_id>/reset-code")
@admin_required
def issue_reset_code(person_id: int):
    person = person_or_404(person_id)
    code = resetcodes.issue_reset_code(db.session, current_actor(), person, settings=_settings(), now=utcnow())
    flash(f"已为 {person.name} 生成重置密码验证码，有效期至 {local_time(code.expires_at)}。请把验证码告知本人。",
          "success")
    q = _clean_query(request.form.get("q"))
    return redirect(url_for("people.detail", person_id=person.id, q=q or None) + "#reset-code")


@bp.post("/<int:person_id>/first-login-code")
@admin_required
def issue_first_login_code(person_id: int):
    """首次登录验证码 for an unclaimed account (cadre, member or admin): only an admin covering every place."""
    person = person_or_404(person_id)
    q = _clean_query(request.form.get("q"))
    return form_action(
        None, lambda: firstlogin.issue_for_person(db.session, current_actor(), person, settings=_settings(),
                                                  now=utcnow()),
        rerender=lambda status, error: _refused(person, status, error),
        done=lambda code: flash_redirect(
            f"已为 {person.name} 生成首次登录验证码，有效期至 {local_time(code.expires_at)}。请当面告知本人。",
            url_for("people.detail", person_id=person.id, q=q or None) + "#reset-code"))


def _refused(person: Person, status: int, error: str | None):
    if error:
        flash(error, "error")
    return detail(person.id, status=status)

