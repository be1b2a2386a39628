"""团员 lists (a branch, or any org's whole subtree flattened), single entry, edit, soft delete."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import func, or_, select

from .. import current_settings as _settings
from ..clock import local_date, local_today
from ..domain.cadres import NATURES
from ..domain.canonical import canonical_org_name, name_query
from ..domain.errors import DomainError, ValidationFailed
from ..domain.exceptions import assess
from ..domain.members import EDUCATIONS, OCCUPATIONS, is_overage, validate_member
from ..domain.orgtree import OrgKind
from ..domain.people import (
    ETHNICITIES,
    ID_SEARCH_HINT,
    MEMBER_POLITICAL_STATUSES,
    POSITIONS_GRASSROOTS,
    classify_id_search,
)
from ..extensions import db
from ..models import CadrePost, Member, Org, Person, utcnow
from ..queries import among, page_of, within
from ..services import idsearch
from ..services import members as service
from ..services.member_imports import commit_members, preview_members
from ..spreadsheets.writer import Column
from ..web.forms import apply_errors
from ..web.htmx import render, wants_fragment
from ..web.importflow import ImportFlow
from ..web.scope import admin_required, current_actor, current_org, int_arg, member_or_404, org_or_404, transfer_or_404
from . import bp
from .forms import DeleteForm, MemberForm


@dataclass
class Row:
    member: Member
    person: Person
    branch: Org
    committee: Org | None      # nearest 团委/团工委 (or leading body) above the branch, within scope
    general: Org | None        # nearest 团总支 above the branch
    overage: bool
    cadre_positions: list[str]


def _query(org: Org, q: str):
    stmt = (select(Member, Person, Org).join(Person, Member.person_id == Person.id).join(Org, Member.org_id == Org.id)
            .where(within(Org.code, org.code), Member.deleted_at.is_(None)))
    if q:
        # ID digits find the full number or its last 4 only (issue 14): never a beginning or a middle part
        id_cond = idsearch.condition(Person.id_number, classify_id_search(q))
        if id_cond is not None:
            stmt = stmt.where(id_cond)
        else:
            name = name_query(q)
            stmt = stmt.where(or_(Person.name.contains(name, autoescape=True),
                                  Org.short_name.contains(canonical_org_name(q), autoescape=True)))
    return stmt


def searched_rows(org: Org, q: str, page: int, per_page: int, *, where: str) -> tuple[list[Row], int, str | None]:
    """``member_rows`` with the ID-search rules: a search by ID number is audited, full numbers that find nobody
    are throttled, other digit strings are not used as ID numbers. Returns (rows, total, notice)."""
    search = classify_id_search(q)
    actor, now = current_actor(), utcnow()
    refusal = idsearch.blocked(db.session, actor, search, now)
    if refusal:
        return [], 0, refusal
    rows, total = member_rows(org, q, page, per_page)
    if search.is_id:
        idsearch.record(db.session, actor, org_id=org.id, where=f"“{org.short_name}”的{where}", search=search,
                        found=total, settings=_settings(), now=now)
        db.session.commit()
    return rows, total, (ID_SEARCH_HINT if search.kind == "refused" else None)


def member_rows(org: Org, q: str, page: int, per_page: int) -> tuple[list[Row], int]:
    stmt = _query(org, q)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    found = db.session.execute(stmt.order_by(Org.code, Person.name, Member.id)
                               .offset((page - 1) * per_page).limit(per_page)).all()
    return annotate(found, current_org()), total


def annotate(found, scope: Org) -> list[Row]:
    """(member, person, branch) triples as list rows: 团委 / 团总支 above the branch (within ``scope``), posts, 超龄."""
    ancestor_codes = set()
    for _, _, branch in found:
        code = branch.code
        while "." in code and code != scope.code:
            code = code.rsplit(".", 1)[0]
            ancestor_codes.add(code)
    ancestors = {}
    for cond in among(db.session, Org.code, sorted(ancestor_codes)):
        ancestors.update((o.code, o) for o in db.session.scalars(select(Org).where(cond)))
    person_ids = [p.id for _, p, _ in found]
    posts: dict[int, list[str]] = {}          # posts shown: only those held in organisations within ``scope``
    holds_post: set[int] = set()              # any post anywhere keeps a member from being 超龄 (not shown)
    for cond in among(db.session, CadrePost.person_id, person_ids):
        for pid, pos, org_code in db.session.execute(
                select(CadrePost.person_id, CadrePost.position, Org.code).join(Org, CadrePost.org_id == Org.id)
                .where(cond, CadrePost.ended_at.is_(None)).order_by(CadrePost.id)):
            holds_post.add(pid)
            if org_code == scope.code or org_code.startswith(scope.code + "."):
                posts.setdefault(pid, []).append(pos)
    today = local_today()
    rows = []
    for member, person, branch in found:
        committee = general = None
        code = branch.code
        while "." in code and code != scope.code:
            code = code.rsplit(".", 1)[0]
            anc = ancestors.get(code)
            if anc is None:
                continue
            if anc.org_kind is OrgKind.GENERAL_BRANCH and general is None:
                general = anc
            elif anc.org_kind is not OrgKind.GENERAL_BRANCH and committee is None:
                committee = anc
        rows.append(Row(member, person, branch, committee, general,
                        is_overage(person.birth_date, today, holds_post=person.id in holds_post,
                                   years=_settings().overage_years), posts.get(person.id, [])))
    return rows


def _list(org: Org, *, reveal: bool = False, status: int = 200):
    q = " ".join(request.values.get("q", "").split())[:30]
    page = max(1, int_arg("page", 1) or 1)
    per_page = current_app.config["PAGE_SIZE"]
    rows, total, id_notice = searched_rows(org, q, page, per_page, where="团员名单")
    if reveal and rows:
        service.record_reveal(db.session, current_actor(), org, [r.member for r in rows])
        db.session.commit()
    todo = None
    if org.org_kind.holds_members and not org.is_dissolved and not wants_fragment():
        from ..services.progress import branch_todo
        todo = branch_todo(db.session, org, settings=_settings())      # the branch home's to-do list (issue 16.2)
    return render("members/index.html", block="member_table", status=status, org=org, rows=rows, total=total, q=q,
                  page=page, pages=max(1, (total + per_page - 1) // per_page), reveal=reveal and bool(rows),
                  is_branch=org.org_kind.holds_members, crumbs=_crumbs(org), id_notice=id_notice, todo=todo)


def _crumbs(org):
    from ..web.crumbs import breadcrumb
    return breadcrumb(org)


@bp.get("/org/<int:org_id>")
@admin_required
def index(org_id: int):
    return _list(org_or_404(org_id))


@bp.post("/org/<int:org_id>/reveal")
@admin_required
def reveal(org_id: int):
    return _list(org_or_404(org_id), reveal=True)


EXPORT_HEADERS = ["团委", "团总支", "团支部", "团支部代码", "姓名", "性别", "身份证号码", "出生日期", "民族",
                  "政治面貌",
                  "入团年月", "发展团员编号", "团内职务", "手机号码", "学历", "职业", "学习工作单位", "超龄"]


@bp.get("/org/<int:org_id>/export.xlsx")
@admin_required
def export(org_id: int):
    """Every member of the subtree in one workbook with 团委 / 团总支 / 团支部 columns. ID numbers are masked unless
    ``reveal=1`` (the same right as revealing them on the list); every export is in the audit log."""
    from flask import send_file

    from ..clock import to_local
    from ..spreadsheets.writer import write_table
    org = org_or_404(org_id)
    reveal = request.args.get("reveal") == "1"
    found = db.session.execute(_query(org, "").order_by(Org.code, Person.name, Member.id)).all()
    rows = annotate(found, org)
    data = [[r.committee.short_name if r.committee else "", r.general.short_name if r.general else "",
             r.branch.short_name, r.branch.code, r.person.name, r.person.gender,
             r.person.id_number if reveal else r.person.masked_id,
             r.person.birth_date.isoformat() if reveal else str(r.person.birth_date.year),
             r.person.ethnicity, r.person.political_status, r.person.join_date, r.member.dev_number,
             "、".join(r.cadre_positions), r.person.phone, r.member.education, r.member.occupation,
             r.member.workplace, "是" if r.overage else ""] for r in rows]
    now = utcnow()
    # masked: the birth year only, since the hidden digits of the ID number are the birth date (issue 14)
    headers = EXPORT_HEADERS if reveal else [("出生年份" if h == "出生日期" else h) for h in EXPORT_HEADERS]
    out = write_table(headers, data, title="团员名单", text_columns=(3, 6, 10, 11, 13),
                      widths=(18, 16, 22, 24, 10, 6, 22, 12, 8, 12, 10, 16, 12, 14, 14, 12, 24, 6),
                      caption=f"{org.display_name} 全部团员（{len(rows)} 人，导出于 {to_local(now):%Y-%m-%d %H:%M}）"
                              + ("" if reveal else "；身份证号码已隐去中间 8 位"))
    service.record_export(db.session, current_actor(), org, len(rows), reveal=reveal)
    db.session.commit()
    return send_file(out, as_attachment=True, download_name=f"团员名单_{org.short_name}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


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


PRINT_LIMIT = 3000


@bp.get("/org/<int:org_id>/print")
@admin_required
def print_list(org_id: int):
    """The whole list (or the search result) on A4 pages: ID numbers masked, the print recorded in the audit log."""
    org = org_or_404(org_id)
    q = " ".join(request.args.get("q", "").split())[:30]
    rows, total, id_notice = searched_rows(org, q, 1, PRINT_LIMIT, where="团员名单打印")
    service.record_print(db.session, current_actor(), org, q if not classify_id_search(q).is_id else "（按身份证号）",
                         len(rows))
    db.session.commit()
    return render_template("members/print.html", org=org, rows=rows, total=total, q=q, limit=PRINT_LIMIT,
                           is_branch=org.org_kind.holds_members, printed_at=utcnow(), id_notice=id_notice,
                           q_shown=idsearch.described(classify_id_search(q)) if classify_id_search(q).is_id else q)


def _form_context(org, form, member=None):
    identity = None
    if member is not None:
        from ..domain.progress import member_identity
        identity = member_identity(member.person.join_date, member.evidence)
    return dict(org=org, form=form, member=member, crumbs=_crumbs(org), ethnicities=ETHNICITIES, identity=identity,
                political_statuses=MEMBER_POLITICAL_STATUSES, positions=POSITIONS_GRASSROOTS, educations=EDUCATIONS,
                occupations=OCCUPATIONS, dev_from=_settings().dev_number_required_from_year,
                delete_form=DeleteForm(formdata=None))


@bp.get("/org/<int:org_id>/new")
@admin_required
def new(org_id: int):
    org = org_or_404(org_id)
    if not org.org_kind.holds_members:
        flash("团员只能录入到团支部：请先进入具体的团支部。", "error")
        return redirect(url_for("members.index", org_id=org.id))
    form = MemberForm(formdata=None)
    form.is_cadre.data = "否"
    return render("members/form.html", **_form_context(org, form))


@bp.post("/org/<int:org_id>/new")
@admin_required
def create(org_id: int):
    org = org_or_404(org_id)
    form = MemberForm()
    if not form.validate():
        return render("members/form.html", status=400, **_form_context(org, form))
    now = utcnow()
    try:
        data = validate_member(form.data, settings=_settings(), today=local_date(now))
        member, opened = service.add_member(db.session, current_actor(), org, data, now=now)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        for msg in apply_errors(form, exc):
            flash(msg, "error")
        verdict = assess(exc, _settings())        # only exceptable rules failed: offer 申请特殊情况录入
        return render("members/form.html", status=422, exception_offer=verdict if verdict.exceptable else None,
                      **_form_context(org, form))
    except service.HeldElsewhere as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return render("members/form.html", status=exc.status, transfer_offer={"id_number": data["id_number"],
                      "name": data["name"], "holder": exc.holder}, **_form_context(org, form))
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return render("members/form.html", status=exc.status, **_form_context(org, form))
    flash(f"已录入团员 {member.person.name}。"
          + ("已为其开通账号（团干部），初始密码为身份证号后八位。" if opened else "")
          + "可以继续录入下一名。", "success")
    _flash_identity_notice(member)
    return redirect(url_for("members.new", org_id=org.id))


@bp.get("/<int:member_id>")
@admin_required
def edit(member_id: int):
    member = member_or_404(member_id)
    form = MemberForm(formdata=None)
    p = member.person
    posts = [c.position for c in db.session.scalars(select(CadrePost).where(
        CadrePost.org_id == member.org_id, CadrePost.person_id == p.id, CadrePost.ended_at.is_(None)))]
    for key, value in {"name": p.name, "id_number": p.id_number, "ethnicity": p.ethnicity,
                       "political_status": p.political_status, "join_date": p.join_date, "phone": p.phone,
                       "dev_number": member.dev_number, "education": member.education, "occupation": member.occupation,
                       "workplace": member.workplace, "is_cadre": "是" if posts else "否",
                       "position": posts[0] if posts else "", **evidence_form_values(member)}.items():
        getattr(form, key).data = value or ""
    return render("members/form.html", **_form_context(member.org, form, member))


@bp.post("/<int:member_id>")
@admin_required
def update(member_id: int):
    member = member_or_404(member_id)
    form = MemberForm()
    form.name.data, form.id_number.data = member.person.name, member.person.id_number     # fixed fields
    if not form.validate():
        return render("members/form.html", status=400, **_form_context(member.org, form, member))
    now = utcnow()
    try:
        waive = frozenset(member.exception.rule_codes) if member.exception is not None else frozenset()
        data = validate_member(form.data, settings=_settings(), today=local_date(now), waive=waive)
        service.update_member(db.session, current_actor(), member, data, now=now)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        for msg in apply_errors(form, exc):
            flash(msg, "error")
        return render("members/form.html", status=422, **_form_context(member.org, form, member))
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return render("members/form.html", status=exc.status, **_form_context(member.org, form, member))
    flash(f"已保存 {member.person.name} 的信息。", "success")
    _flash_identity_notice(member)
    return redirect(url_for("members.index", org_id=member.org_id))


@bp.post("/<int:member_id>/delete")
@admin_required
def delete(member_id: int):
    member = member_or_404(member_id)
    org_id = member.org_id
    try:
        service.delete_member(db.session, current_actor(), member, reason=request.form.get("reason", ""), now=utcnow())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("members.edit", member_id=member.id))
    flash(f"已删除 {member.person.name} 的团员记录（记录保留，可在操作日志中查到）。", "success")
    return redirect(url_for("members.index", org_id=org_id))


# ---------------------------------------------------------------- Excel import (导入团员团干部)

def _columns(org) -> list[Column]:
    from ..services.member_imports import branches_in
    names = tuple(dict.fromkeys(b.short_name for b in branches_in(db.session, org)))
    branch_required = not org.org_kind.holds_members
    return [Column("姓名", "name", required=True, width=12),
            Column("身份证号码", "id_number", required=True, width=22,
                   note="18位，须为文本格式（模板已设置），末位X大小写均可"),
            Column("民族", "ethnicity", required=True, width=10, choices=ETHNICITIES, note="也可写“汉”“回”等"),
            Column("政治面貌", "political_status", required=True, width=12, choices=MEMBER_POLITICAL_STATUSES),
            Column("入团年月", "join_date", required=True, width=10, note="如 2015-06、2015.6、201506"),
            Column("所在团支部", "branch", required=branch_required, width=26, choices=names,
                   note="从下拉列表选择" if branch_required else "可不填（即本团支部）"),
            Column("是否为团干部", "is_cadre", required=True, width=10, choices=("是", "否")),
            Column("团内现任职务", "position", width=12, choices=POSITIONS_GRASSROOTS,
                   note="是团干部时必填；也可写“团支部书记”"),
            Column("发展团员编号", "dev_number", width=16, note="2017年及以后入团的必填，12位"),
            Column("手机号码", "phone", width=14),
            Column("文化程度", "education", width=14, choices=EDUCATIONS, note="即学历"),
            Column("职业", "occupation", width=14, choices=OCCUPATIONS),
            Column("学习工作单位", "workplace", width=24),
            Column("入团志愿书", "has_application", width=10, choices=("是", "否"),
                   note="团员身份摸底：有无入团志愿书；2016年及以后入团的必须有"),
            Column("团员证", "has_card", width=8, choices=("是", "否"), note="有无团员证"),
            Column("团籍注册年度", "card_year", width=12, note="团员证上最近一次团籍注册的年份，如 2018"),
            Column("组织关系介绍信", "has_letter", width=14, choices=("是", "否"),
                   note="有公章、由团的领导机关或基层团委开具的介绍信"),
            Column("任现职年月", "start_month", width=10, note="团干部填写，如 2023-09"),
            Column("团干部性质", "nature", width=10, choices=NATURES, note="团干部填写：专职、兼职或挂职"),
            Column("是否同级党委（支部）成员", "party_committee", width=14, choices=("是", "否"), note="团干部填写")]


FLOW = ImportFlow(
    kind="members", what="导入团员团干部", sheet="团员",
    endpoints={"upload_page": "members.import_page", "template": "members.template", "upload": "members.upload",
               "batch": "members.batch", "commit": "members.commit_batch", "cancel": "members.cancel_batch",
               "errors": "members.batch_errors"},
    columns=_columns,
    instructions=lambda org: [
        "1. 在“团员”工作表中从第2行起每行填写一名团员；红色表头为必填。"
        "团支部的团干部也在这里填写（是否为团干部填“是”并选团内职务）。",
        "2. 身份证号码、手机号码、入团年月列已设为文本格式，请勿改成数字，否则身份证号末几位会丢失。",
        "3. 下拉列表的栏目请从列表中选择；列的顺序可以调整。"
        "智慧团建模板、省级平台导出的表格和本系统导出的“智慧团建格式”"
        "文件也能直接上传（如“身份证号”“学历”“团内职务”“是否团干部”等写法都认得，每个团支部一张工作表亦可）；"
        "系统用不到的列不导入，预览页会列出“以下列未导入”。",
        "4. 已在系统中的团员按身份证号更新，信息未变的行自动跳过；同一文件重复上传不会重复录入。",
        "5. 团干部自动开通账号，初始密码为身份证号后八位。",
        "6. 团员身份摸底：入团志愿书、团员证、组织关系介绍信填“是”或“否”。2016年以前入团的，三者有其一即可"
        "（团员证须在2017年或以后进行过团籍注册，并填写团籍注册年度）；2016年及以后入团的，必须有入团志愿书。"
        "不符合的团员列入“身份待确认”清单。更新已有团员时，这几列留空表示不修改已登记的情况。",
        "7. 团干部可填写任现职年月、团干部性质、是否同级党委（支部）成员；更新时留空表示不修改。"],
    steps=["每行一名团员；团支部的团干部也在这里填写。团委、团总支导入时须填写“所在团支部”。",
           "已在系统中的团员按身份证号更新，未变的行自动跳过。"],
    preview=preview_members, commit_rows=commit_members,
    result_columns={"name": "姓名", "branch": "所在团支部", "change": "结果"},
    next_step=lambda org: (url_for("members.index", org_id=org.id), "查看团员名单"),
    success=lambda written: f"已导入 {len(written)} 名团员（新增或更新）。",
    row_action=lambda batch, row: _row_action(batch, row))


def _row_action(batch, row):
    from .exception_views import row_action
    return row_action(batch, row)

FLOW.register(bp, upload_rule="/org/<int:org_id>/import", template_rule="/org/<int:org_id>/template.xlsx")


# ---------------------------------------------------------------- 组织关系转接

@bp.get("/transfers")
@admin_required
def transfers():
    from sqlalchemy.orm import aliased

    from ..models import TransferRequest
    from ..services import transfers as transfer_service
    scope = current_org()
    q = " ".join(request.args.get("q", "").split())[:30]
    src, dst = aliased(Org), aliased(Org)
    stmt = (select(TransferRequest).join(src, TransferRequest.from_org_id == src.id)
            .join(dst, TransferRequest.to_org_id == dst.id).join(Member, TransferRequest.member_id == Member.id)
            .join(Person, Member.person_id == Person.id)
            .where(within(src.code, scope.code) | within(dst.code, scope.code)))
    if q:      # an organisation outside the subtree is not searchable by name (it is not shown either)
        org_q = canonical_org_name(q)
        stmt = stmt.where(or_(Person.name.contains(name_query(q), autoescape=True),
                              within(src.code, scope.code) & src.short_name.contains(org_q, autoescape=True),
                              within(dst.code, scope.code) & dst.short_name.contains(org_q, autoescape=True)))
    reqs, total, page, pages = page_of(db.session, stmt.order_by((TransferRequest.status == "pending").desc(),
                                                                  TransferRequest.id.desc()),
                                       int_arg("page", 1) or 1, current_app.config["PAGE_SIZE"])
    actor = current_actor()
    return render("members/transfers.html", block="transfer_table", reqs=reqs, q=q, page=page, pages=pages,
                  total=total, scope_code=scope.code,
                  may_decide={r.id: transfer_service.may_decide(actor, r) for r in reqs},
                  may_cancel={r.id: transfer_service.may_cancel(actor, r) for r in reqs})


@bp.post("/org/<int:org_id>/transfer")
@admin_required
def request_transfer(org_id: int):
    from ..services import transfers as transfer_service
    org = org_or_404(org_id)
    try:
        transfer_service.request_transfer(db.session, current_actor(), org, id_number=request.form.get("id_number", ""),
                                          name=request.form.get("name", ""), reason=request.form.get("reason", ""),
                                          now=utcnow())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("members.new", org_id=org.id))
    flash("已发出转接申请，等待转出团支部或其上级组织管理员处理。可在“组织关系转接”中查看进度。", "success")
    return redirect(url_for("members.transfers"))


def _decide(transfer_id: int, accept: bool):
    from ..services import transfers as transfer_service
    req = transfer_or_404(transfer_id)
    try:
        transfer_service.decide(db.session, current_actor(), req, accept=accept, note=request.form.get("note", ""),
                                now=utcnow())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(f"已{'同意' if accept else '拒绝'} {req.member.person.name} 的转接申请。", "success")
    return redirect(url_for("members.transfers"))


@bp.post("/transfers/<int:transfer_id>/accept")
@admin_required
def accept_transfer(transfer_id: int):
    return _decide(transfer_id, True)


@bp.post("/transfers/<int:transfer_id>/refuse")
@admin_required
def refuse_transfer(transfer_id: int):
    return _decide(transfer_id, False)


@bp.post("/transfers/<int:transfer_id>/cancel")
@admin_required
def cancel_transfer(transfer_id: int):
    from ..services import transfers as transfer_service
    req = transfer_or_404(transfer_id)
    try:
        transfer_service.cancel_request(db.session, current_actor(), req, now=utcnow())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash("已撤回转接申请。", "info")
    return redirect(url_for("members.transfers"))
