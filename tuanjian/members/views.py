"""团员 lists (a branch, or any org's whole subtree flattened), single entry, edit, soft delete. The Excel import is
in import_views, the export and print in export_views, 组织关系转接 in transfer_views, 特殊情况录入 in
exception_views; the queries in members/queries."""
from __future__ import annotations

from flask import current_app, flash, request, url_for

from .. import current_settings as _settings
from ..clock import local_date, local_today
from ..domain import register
from ..domain.errors import DomainError, ValidationFailed
from ..domain.exceptions import RECENT_DAYS, assess
from ..domain.members import EDUCATIONS, OCCUPATIONS, validate_member
from ..domain.people import (
    ETHNICITIES,
    ID_SEARCH_HINT,
    MEMBER_POLITICAL_STATUSES,
    POSITIONS_GRASSROOTS,
    classify_id_search,
)
from ..extensions import db
from ..models import utcnow
from ..queries import Page, paginate_list
from ..services import idsearch
from ..services import members as service
from ..web.actions import flash_redirect, form_action, keep
from ..web.crumbs import breadcrumb
from ..web.htmx import render, wants_fragment
from ..web.scope import admin_required, current_actor, current_org, int_arg, member_or_404, org_or_404
from . import bp
from . import queries as member_queries
from .forms import DeleteForm, MemberForm


class Attempt:
    """An ``act`` for ``form_action`` that keeps the domain error it raised, for the pages that show more than its
    status and message (the offer of a 特殊情况录入 or a 转接, the errors of the request's own fields)."""

    def __init__(self, act):
        self.act, self.error = act, None

    def __call__(self):
        try:
            return self.act()
        except DomainError as exc:
            self.error = exc
            raise

    @property
    def field_errors(self) -> dict:
        return getattr(self.error, "field_errors", {})


def flash_error(error: str | None) -> None:
    if error:
        flash(error, "error")


# ---------------------------------------------------------------- lists

def searched_rows(org, q: str, page: int, per_page: int, *, where: str) -> tuple[Page, str | None]:
    """A page of ``org``'s member list with the ID-search rules: a search by ID number is audited, full numbers
    that find nobody are throttled, other digit strings are not used as ID numbers. Returns (page, notice)."""
    search = classify_id_search(q)
    actor, now = current_actor(), utcnow()
    refusal = idsearch.blocked(db.session, actor, search, now)
    if refusal:
        return paginate_list([], page, per_page), refusal
    found = member_queries.member_page(db.session, org, q, page, per_page, scope=current_org(),
                                       overage_years=_settings().overage_years, today=local_today())
    if search.is_id:
        idsearch.record(db.session, actor, org_id=org.id, where=f"“{org.short_name}”的{where}", search=search,
                        found=found.total, settings=_settings(), now=now)
        keep()          # the search is in the audit log whatever the page's answer
    return found, (ID_SEARCH_HINT if search.kind == "refused" else None)


def search_text() -> str:
    return " ".join(request.values.get("q", "").split())[:30]


def _list(org, *, reveal: bool = False, status: int = 200):
    q = search_text()
    found, id_notice = searched_rows(org, q, int_arg("page", 1) or 1, current_app.config["PAGE_SIZE"],
                                     where="团员名单")
    rows = found.items
    if reveal and rows:
        service.record_reveal(db.session, current_actor(), org, [r.member for r in rows])
        keep()          # a reveal is in the audit log whatever the page's answer
    todo = mine = None
    if org.org_kind.holds_members and not org.is_dissolved and not wants_fragment():
        from ..services.progress import branch_todo
        todo = branch_todo(db.session, org, settings=_settings())      # the branch home's to-do list (issue 16.2)
        from .request_views import my_requests_of
        mine = my_requests_of(org)                                       # and its requests' fates (issue 26.1)
    return render("members/index.html", block="member_table", status=status, org=org, rows=rows, total=found.total,
                  q=q, page=found.page, pages=found.pages, reveal=reveal and bool(rows),
                  is_branch=org.org_kind.holds_members, crumbs=breadcrumb(org), id_notice=id_notice, todo=todo,
                  mine=mine, recent_days=RECENT_DAYS)


@bp.get("/org/<int:org_id>")
@admin_required
def index(org_id: int):
    return _list(org_or_404(org_id))


@bp.post("/org/<int:org_id>/reveal")
@admin_required
def reveal(org_id: int):
    return _list(org_or_404(org_id), reveal=True)


# ---------------------------------------------------------------- one member

def _flash_identity_notice(member) -> None:
    """A yellow notice of its own, after the green success (issue 16.10): why the member is 身份待确认, what that
    does to the figures and what to do, with a link to the evidence fields of the saved member."""
    from markupsafe import Markup, escape

    from ..domain.progress import member_identity
    ok, problem = member_identity(member.person.join_date, member.evidence)
    if ok:
        return
    link = url_for("members.edit", member_id=member.id) + "#evidence"
    flash(Markup("{name}身份待确认（{problem}）：已列入“身份待确认”清单，暂不计入资料完整的团员和录入完成率。"
                 "请核实其入团志愿书、团员证（团籍注册年度）或组织关系介绍信，在 <a href=\"{link}\">团员身份摸底</a> "
                 "中登记“是”。").format(name=escape(member.person.name), problem=problem, link=link), "warning")


def evidence_form_values(member) -> dict:
    """The evidence columns as the form shows them (是/否/blank, the year as text)."""
    yes_no = {True: "是", False: "否", None: ""}
    return {"has_application": yes_no[member.has_application], "has_card": yes_no[member.has_card],
            "card_year": str(member.card_year) if member.card_year else "", "has_letter": yes_no[member.has_letter]}


def form_context(org, form, member=None, *, leave=None, leave_errors=None):
    identity = None
    if member is not None:
        from ..domain.progress import member_identity
        identity = member_identity(member.person.join_date, member.evidence)
    return dict(org=org, form=form, member=member, crumbs=breadcrumb(org), ethnicities=ETHNICITIES, identity=identity,
                political_statuses=MEMBER_POLITICAL_STATUSES, positions=POSITIONS_GRASSROOTS, educations=EDUCATIONS,
                occupations=OCCUPATIONS, dev_from=_settings().dev_number_required_from_year,
                delete_form=DeleteForm(formdata=None),
                leave_reasons=[(k, register.label(k)) for k in _settings().leave_reasons],
                today=local_today(), leave=leave or {}, leave_errors=leave_errors or {},
                events=member_queries.events_of(db.session, member.person_id, current_actor().scope_code)
                if member is not None else [])


@bp.get("/org/<int:org_id>/new")
@admin_required
def new(org_id: int):
    org = org_or_404(org_id)
    if not org.org_kind.holds_members:
        return flash_redirect("团员只能录入到团支部：请先进入具体的团支部。", url_for("members.index", org_id=org.id),
                              "error")
    form = MemberForm(formdata=None)
    form.is_cadre.data = "否"
    again = _returned_request(org)
    if again is not None:
        _fill_from_request(form, again.data)
    return render("members/form.html", again=again, **form_context(org, form))


def _returned_request(org):
    """``?again=<id>``: a returned 特殊情况录入 request of this branch, to correct and send again (issue 26.1)."""
    from ..domain.exceptions import REFUSED
    from ..web.scope import exception_or_404
    request_id = int_arg("again")
    if request_id is None:
        return None
    req = exception_or_404(request_id)
    return req if req.org_id == org.id and req.status == REFUSED else None


def _fill_from_request(form, data: dict) -> None:
    yes_no = {True: "是", False: "否"}
    for key, value in data.items():
        fld = getattr(form, key, None)
        if fld is not None and key != "csrf_token" and value is not None:
            fld.data = yes_no.get(value, value) if isinstance(value, bool) else str(value)


@bp.post("/org/<int:org_id>/new")
@admin_required
def create(org_id: int):
    org = org_or_404(org_id)
    form = MemberForm()
    now = utcnow()
    data: dict = {}

    def act():
        data.update(validate_member(form.data, settings=_settings(), today=local_date(now)))
        return service.add_member(db.session, current_actor(), org, data, now=now)

    attempt = Attempt(act)

    def rerender(status, error):
        flash_error(error)
        offers = {}
        if isinstance(attempt.error, ValidationFailed):
            verdict = assess(attempt.error, _settings())        # only exceptable rules failed: offer 申请特殊情况录入
            offers["exception_offer"] = verdict if verdict.exceptable else None
            offers["exceptable"] = {m for m, rule in attempt.error.rules.items() if rule in verdict.rules}
        elif isinstance(attempt.error, service.HeldElsewhere):
            offers["transfer_offer"] = {"id_number": data["id_number"], "name": data["name"],
                                        "holder": attempt.error.holder}
        return render("members/form.html", status=status, **offers, **form_context(org, form))

    def done(result):
        member, opened = result
        flash(f"已录入团员 {member.person.name}。"
              + ("已为其开通账号（团干部），初始密码为身份证号后八位。" if opened else "")
              + "可以继续录入下一名。", "success")
        _flash_identity_notice(member)
        return flash_redirect(None, url_for("members.new", org_id=org.id))

    return form_action(form, attempt, rerender=rerender, done=done)


@bp.get("/<int:member_id>")
@admin_required
def edit(member_id: int):
    member = member_or_404(member_id)
    return render("members/form.html", **form_context(member.org, filled_form(member), member))


def filled_form(member) -> MemberForm:
    form = MemberForm(formdata=None)
    p = member.person
    posts = member_queries.member_positions(db.session, member)
    for key, value in {"name": p.name, "id_number": p.id_number, "ethnicity": p.ethnicity,
                       "political_status": p.political_status, "join_date": p.join_date, "phone": p.phone,
                       "dev_number": member.dev_number, "education": member.education, "occupation": member.occupation,
                       "workplace": member.workplace, "is_cadre": "是" if posts else "否",
                       "position": posts[0] if posts else "", **evidence_form_values(member)}.items():
        getattr(form, key).data = value or ""
    return form


@bp.post("/<int:member_id>")
@admin_required
def update(member_id: int):
    member = member_or_404(member_id)
    form = MemberForm()
    form.name.data, form.id_number.data = member.person.name, member.person.id_number     # fixed fields
    now = utcnow()

    def act():
        waive = frozenset(member.exception.rule_codes) if member.exception is not None else frozenset()
        data = validate_member(form.data, settings=_settings(), today=local_date(now), waive=waive)
        service.update_member(db.session, current_actor(), member, data, now=now)

    def rerender(status, error):
        flash_error(error)
        return render("members/form.html", status=status, **form_context(member.org, form, member))

    def done(_):
        flash(f"已保存 {member.person.name} 的信息。", "success")
        _flash_identity_notice(member)
        return flash_redirect(None, url_for("members.index", org_id=member.org_id))

    return form_action(form, act, rerender=rerender, done=done)


@bp.post("/<int:member_id>/delete")
@admin_required
def delete(member_id: int):
    """离团或删除 (issue 27): a reason from the list and a date; 录入错误 is the only real deletion."""
    member = member_or_404(member_id)
    org_id, name = member.org_id, member.person.name
    leave = {k: request.form.get(k, "") for k in ("kind", "on", "note")}
    attempt = Attempt(lambda: service.leave_member(db.session, current_actor(), member, kind=leave["kind"],
                                                   on=leave["on"], note=leave["note"], now=utcnow(),
                                                   settings=_settings()))

    def rerender(status, error):
        if not attempt.field_errors:
            return flash_redirect(error, url_for("members.edit", member_id=member_id), "error")
        flash("请检查离团信息。", "error")
        return render("members/form.html", status=status, **form_context(
            member.org, filled_form(member), member, leave=leave, leave_errors=attempt.field_errors))

    def done(kind):
        if kind == register.ERROR:
            return flash_redirect(f"已删除 {name} 的团员记录（录入错误，不计入任何统计；记录保留，可在操作日志中查到）"
                                  "。",
                                  url_for("members.index", org_id=org_id))
        return flash_redirect(f"{name} 已离团（{register.label(kind)}），已记入团籍变动。",
                              url_for("members.index", org_id=org_id))

    return form_action(None, attempt, rerender=rerender, done=done)
