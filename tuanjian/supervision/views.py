"""录入进度 pages: the progress table with drill-down and sorting, the printable 通报, Excel exports and the
红旗项 exception lists. Every org comes through org_or_404, so nothing outside the user's subtree is shown."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, send_file, session, url_for

from .. import current_settings as _settings
from ..clock import to_local
from ..domain.orgtree import KIND_LABELS, OrgKind
from ..domain.people import mask_id_number
from ..domain.progress import (
    COUNT_COLUMNS,
    EXCEPTIONS,
    RATE_METRICS,
    below_threshold,
    campaign_standing,
    exception_label,
    metric_definitions,
    percent,
    sheet_rate,
    short_of,
    tally_youth_ratio,
)
from ..extensions import db
from ..queries import has_children, paginate_list
from ..services import audit
from ..services import progress as service
from ..spreadsheets.writer import write_table
from ..web.actions import flash_redirect, form_action
from ..web.filters import local_time
from ..web.forms import ErrorsByName
from ..web.htmx import render, wants_fragment
from ..web.scope import (
    admin_required,
    campaign_or_404,
    current_actor,
    grant_for,
    int_arg,
    org_or_404,
    parents_campaign_or_404,
)
from . import bp
from .queries import org_names, subtree_members_of

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXCEPTION_BY_KEY = {e.key: e for e in EXCEPTIONS}


def _crumbs(org):
    from ..web.crumbs import breadcrumb
    return breadcrumb(org)


def _progress(org):
    now, today = service.now_and_today()
    return service.progress(db.session, org, settings=_settings(), now=now, today=today)


def _match(org) -> dict:
    """与智慧团建相符率 per direct subordinate and for the whole subtree (issue 28): shown once any branch below was
    compared."""
    from ..domain.reconcile import rate_text
    from ..reconcile.queries import match_rates
    rates = match_rates(db.session, org)
    return {"match_rates": rates, "show_match": bool(rates),
            "match_text": lambda org_id: rate_text(rates[org_id].rate) if org_id in rates else "—"}


def _view_helpers():
    settings = _settings()
    return {"rate_metrics": RATE_METRICS, "count_columns": dict(COUNT_COLUMNS), "percent": percent,
            "short_of": short_of,
            "below": lambda tally, key: below_threshold(tally, key, settings),
            "youth_rate": tally_youth_ratio, "exception_kinds": EXCEPTIONS,
            "exception_label": lambda kind: exception_label(kind, settings),
            "definitions": metric_definitions(settings)}


@bp.get("/org/<int:org_id>")
@admin_required
def index(org_id: int):
    org = org_or_404(org_id)
    if request.args.get("welcome") == "1":
        # shown once (issue 26.6): the flag moves to the session and the address loses ?welcome=1, so F5 after
        # 知道了 (or a bookmark) does not bring the box back
        session["welcome_org"] = org.id
        args = {k: v for k, v in request.args.items() if k != "welcome"}
        return redirect(url_for("supervision.index", org_id=org.id, **args))
    report = _progress(org)
    sort = request.args.get("sort", "rank")
    descending = request.args.get("desc") == "1"
    rows = service.sort_rows(report.rows, sort, descending)
    welcome = not wants_fragment() and session.pop("welcome_org", None) == org.id and bool(report.rows)
    lagging = [r for r in report.rows if any(below_threshold(r.tally, m.key, _settings()) for m in RATE_METRICS)]
    from ..services.campaigns import campaigns_for
    as_of, status = _members_as_of(org)
    return render("supervision/index.html", block="progress_table", status=status, as_of=as_of,
                  org=org, report=report, rows=rows, sort=sort,
                  descending=descending, welcome=welcome, lagging=lagging, crumbs=_crumbs(org),
                  parent_campaigns=campaigns_for(db.session, org), today=service.now_and_today()[1],
                  show_youth=any(r.tally.youth for r in [*report.rows, report.totals]), **_view_helpers(),
                  **_match(org))


def _members_as_of(org) -> tuple[dict, int]:
    """``?on=D``: 团员数 of each direct subordinate, of the org itself and in all at the end of D, from the 团籍变动
    (``tuanji.queries.counts_by_child``); the rates stay current. ({} when not asked, status)."""
    from ..clock import local_today
    from ..domain.register import parse_day
    from ..tuanji.queries import counts_by_child
    raw = " ".join(request.args.get("on", "").split())[:20]
    if not raw:
        return {}, 200
    day = parse_day(raw)
    if day is None or day > local_today():
        return {"raw": raw, "error": "日期格式不对，请按 2026-12-31 的格式填写" if day is None
                else "日期不能晚于今天"}, 400
    children, total = counts_by_child(db.session, org, day)
    by_org = {c.id: n for c, n in children}
    return {"raw": raw, "day": day, "by_org": by_org, "total": total, "own": total - sum(by_org.values())}, 200


def _as_of_or_400(org) -> dict:
    """``?on=D`` of the print view and the Excel export: as on the page, but a bad date is a plain 400."""
    as_of, status = _members_as_of(org)
    if status != 200:
        abort(400, as_of["error"])
    return as_of


@bp.get("/org/<int:org_id>/print")
@admin_required
def print_report(org_id: int):
    org = org_or_404(org_id)
    report = _progress(org)
    rows = service.sort_rows(report.rows, "rank", False)
    appendix = [(r, [(kind, r.exceptions.get(kind.key, 0)) for kind in EXCEPTIONS if r.exceptions.get(kind.key)])
                for r in rows]
    return render_template("supervision/print.html", org=org, report=report, rows=rows, appendix=appendix,
                           show_youth=any(r.tally.youth for r in [*report.rows, report.totals]), **_view_helpers(),
                           as_of=_as_of_or_400(org), **_match(org))


def _table(report, rows, *, as_of: dict, match_rates: dict, org_id: int):
    """The Excel sheet of the progress report: the page's columns, with 团员数（截至 D） when asked for and
    与智慧团建相符率 once any branch below was compared. Returns (headers, rows, percent column indexes)."""
    day = as_of.get("day")
    headers = ["排名", "组织", "下级组织数", "团支部数", *[m.label for m in RATE_METRICS], "团员数",
               *([f"团员数（截至 {day.isoformat()}）"] if day else []), "团青比例",
               *(["与智慧团建相符率"] if match_rates else []), "异常项", "最后更新"]
    percents = [headers.index(m.label) for m in RATE_METRICS] + [headers.index("团青比例")]
    if match_rates:
        percents.append(headers.index("与智慧团建相符率"))

    def line(rank, name, t, *, own=False, as_of_count=None, match_key=None):
        # rates are numbers (formatted 0.0% in the sheet), "—" where there is nothing to count
        rates = [sheet_rate(t.rate(m.key)) for m in RATE_METRICS]
        youth = sheet_rate(tally_youth_ratio(t)) if t.youth else None
        match = match_rates.get(match_key)
        match_rate = sheet_rate(match.rate) if match is not None else None
        return [rank, name, "" if own else t.subordinates, t.branches, *["—" if r is None else r for r in rates],
                t.members, *([as_of_count] if day else []), "" if youth is None else youth,
                *(["—" if match_rate is None else match_rate] if match_rates else []), t.exceptions,
                local_time(t.updated_at) if t.updated_at else ""]
    by_org = as_of.get("by_org", {})
    body = [line(r.rank, r.org.full_name or r.org.short_name, r.tally, as_of_count=by_org.get(r.org.id, 0),
                 match_key=r.org.id) for r in rows]
    body.append(line("", "本级", report.own.tally, own=True, as_of_count=as_of.get("own")))
    body.append(line("", "合计（含本级）", report.totals.tally, as_of_count=as_of.get("total"), match_key=org_id))
    return headers, body, tuple(percents)


SHEET_WIDTHS = {"排名": 6, "组织": 36, "下级组织数": 10, "团支部数": 10, "团员数": 10, "团青比例": 10,
                "与智慧团建相符率": 14, "异常项": 8, "最后更新": 18}       # the rates: 12


@bp.get("/org/<int:org_id>/export.xlsx")
@admin_required
def export(org_id: int):
    org = org_or_404(org_id)
    report = _progress(org)
    as_of = _as_of_or_400(org)
    headers, body, percents = _table(report, service.sort_rows(report.rows, "rank", False), as_of=as_of,
                                     match_rates=_match(org)["match_rates"], org_id=org.id)
    day = as_of.get("day")
    audit.record(db.session, current_actor(), "export.progress", object_type="org", object_id=org.id, org_id=org.id,
                 summary=f"导出“{org.short_name}”录入进度（{len(report.rows)} 个下级组织"
                         + (f"，团员数另列截至 {day.isoformat()}" if day else "") + "）")
    out = write_table(headers, body, title="录入进度",
                      widths=[SHEET_WIDTHS.get(h, 16 if h.startswith("团员数（") else 12) for h in headers],
                      percent_columns=percents,
                      caption=f"{org.full_name or org.short_name} 基础信息录入进度（截至 {local_time(report.as_of)}"
                              + (f"；“团员数（截至 {day.isoformat()}）”为该日终了时的团员数，由团籍变动算出，"
                                 "其余各列为当前数字" if day else "") + "）")
    return send_file(out, as_attachment=True, mimetype=XLSX,
                     download_name=f"录入进度_{org.short_name}_{to_local(report.as_of):%Y%m%d%H%M}.xlsx")


# ---------------------------------------------------------------- exception lists

def _exception_rows(org, key, *, members=None):
    """(headers, rows, text columns) of one exception list, ID numbers masked. ``members``: for a list of people,
    the (member, person) pairs to show (one page) instead of the whole list."""
    kind = EXCEPTION_BY_KEY.get(key)
    if kind is None:
        abort(404)
    now, today = service.now_and_today()
    if key in ("no_school_code", "school_no_branch"):
        found = service.exception_orgs(db.session, org, key, settings=_settings())
        parents = org_names(db.session, {o.parent_id for o, _ in found})
        below = subtree_members_of(db.session, org.code, [o.code for o, _ in found])
        return kind, ["学校团组织全称", "上级组织", "单位所属行业类别", "学校标识码", "团支部数", "团员人数",
                      "组织代码"], [
            ({"org": o}, [o.full_name or MISSING, parents.get(o.parent_id, ""), o.industry or "",
                          o.school_code or "", s.branches_below, below[o.code], o.code])
            for o, s in found], (3, 6)
    if kind.about == "org":
        found = service.exception_orgs(db.session, org, key, settings=_settings())
        parents = org_names(db.session, {o.parent_id for o, _ in found})
        # 团员人数 counted as the progress table does: the organisation and everything below it
        below = subtree_members_of(db.session, org.code,
                                   [o.code for o, _ in found if o.kind != OrgKind.BRANCH.value])
        return kind, ["团组织全称", "团组织简称", "上级组织", "组织类别", "建立日期", "团员人数", "组织代码"], [
            ({"org": o}, [o.full_name or MISSING, o.short_name, parents.get(o.parent_id, ""),
                          KIND_LABELS[OrgKind(o.kind)],
                          o.founded_on.isoformat() if o.founded_on else MISSING,
                          s.members if o.kind == OrgKind.BRANCH.value else below[o.code], o.code])
            for o, s in found], (6,)
    if kind.about == "member" and members is None:
        members = service.exception_members(db.session, org, key, settings=_settings(), today=today)
    if key == "unconfirmed":
        from ..domain.progress import member_identity
        found = members
        branches = org_names(db.session, {m.org_id for m, _ in found})
        yes_no = {True: "有", False: "无", None: "未核实"}
        return kind, ["姓名", "身份证号码", "入团年月", "入团志愿书", "团员证（注册年度）", "介绍信", "待确认原因",
                      "所在团支部"], [
            ({"member": m}, [p.name, mask_id_number(p.id_number), p.join_date or "", yes_no[m.has_application],
                             yes_no[m.has_card] + (f"（{m.card_year}）" if m.card_year else ""), yes_no[m.has_letter],
                             member_identity(p.join_date, m.evidence)[1] or "", branches.get(m.org_id, "")])
            for m, p in found], (1, 2)
    if kind.about == "member":
        found = members
        branches = org_names(db.session, {m.org_id for m, _ in found})
        # the birth year only next to a masked ID number: its hidden digits are the birth date (issue 14)
        return kind, ["姓名", "身份证号码", "出生年份", "入团年月", "发展团员编号", "所在团支部"], [
            ({"member": m}, [p.name, mask_id_number(p.id_number), str(p.birth_date.year), p.join_date or "",
                             m.dev_number or "", branches.get(m.org_id, "")]) for m, p in found], (1, 4)
    codes = service.stale_codes(db.session, org, now=now)
    return kind, ["组织", "组织代码", "注册码", "生成时间", "有效期至"], [
        ({"org": c.org}, [c.org.short_name, c.org.code, c.code, local_time(c.issued_at), local_time(c.expires_at)])
        for c in codes], (1, 2)


MISSING = "（未填写）"         # a field nobody filled in shows as missing, never as another field's value


@bp.get("/org/<int:org_id>/exceptions/<key>")
@admin_required
def exceptions(org_id: int, key: str):
    org = org_or_404(org_id)
    q = " ".join(request.args.get("q", "").split())[:30]
    page = int_arg("page", 1) or 1
    per_page = current_app.config["PAGE_SIZE"]
    about = EXCEPTION_BY_KEY[key].about if key in EXCEPTION_BY_KEY else None
    if about == "member" and not q:
        # a list of people may hold a whole county: find who is on it, then load only the page shown
        _, today = service.now_and_today()
        ids = service.exception_member_ids(db.session, org, key, settings=_settings(), today=today)
        shown = paginate_list(ids, page, per_page)
        kind, headers, rows, _ = _exception_rows(org, key, members=service.members_by_ids(db.session, shown.items))
    else:
        kind, headers, rows, _ = _exception_rows(org, key)
        if q:            # any shown cell: name, org, code, masked ID number (never the full number)
            rows = [(link, values) for link, values in rows if any(q in str(v) for v in values)]
        shown = paginate_list(rows, page, per_page)
        rows = shown.items
    total, page, pages = shown.total, shown.page, shown.pages
    return render("supervision/exceptions.html", block="exception_table", org=org, kind=kind, key=key,
                  headers=headers, rows=rows, total=total, page=page, q=q,
                  pages=pages, crumbs=_crumbs(org), **_view_helpers())


@bp.get("/org/<int:org_id>/exceptions/<key>/export.xlsx")
@admin_required
def export_exceptions(org_id: int, key: str):
    org = org_or_404(org_id)
    kind, headers, rows, text_columns = _exception_rows(org, key)
    label = exception_label(kind, _settings())
    audit.record(db.session, current_actor(), "export.exceptions", object_type="org", object_id=org.id, org_id=org.id,
                 summary=f"导出“{org.short_name}”异常清单：{label}（{len(rows)} 条）")
    now, _ = service.now_and_today()
    out = write_table(headers, [values for _, values in rows], title="异常清单", text_columns=text_columns,
                      widths=[30] * len(headers),
                      caption=f"{org.full_name or org.short_name} · {label}（截至 {local_time(now)}）")
    return send_file(out, as_attachment=True, mimetype=XLSX,
                     download_name=f"异常清单_{org.short_name}_{label.split('（')[0].strip()}_"
                                   f"{to_local(now):%Y%m%d%H%M}.xlsx")


def exception_url(org_id: int, key: str) -> str:
    return url_for("supervision.exceptions", org_id=org_id, key=key)


# ---------------------------------------------------------------- campaigns (阶段任务)

def _campaign_page(org, *, errors=None, form=None, status=200):
    from ..domain.progress import CAMPAIGN_TARGETS
    from ..services import campaigns as campaign_service
    now, today = service.now_and_today()
    mine = campaign_service.campaigns_set_by(db.session, org)
    parent_campaigns = []
    received = campaign_service.campaigns_for(db.session, org)
    if received:                        # the org's own standing, computed once for all its parent's campaigns
        rated = [c for c in received if c.kind != campaign_service.REGISTER]
        own = service.progress(db.session, org, settings=_settings(), now=now, today=today).totals.tally \
            if rated else None
        for c in received:
            confirmation = campaign_service.confirmation_of(db.session, c, org)
            if c.kind == campaign_service.REGISTER:     # 团内统计确认: its figures of the day and what blocks
                check = campaign_service.register_check(db.session, org, c.on_date, settings=_settings(),
                                                        today=today)
                parent_campaigns.append((c, check, confirmation))
            else:
                parent_campaigns.append((c, campaign_standing(own, c.targets), confirmation))
    return render_template("supervision/campaigns.html", org=org, mine=mine, parent_campaigns=parent_campaigns,
                           targets=CAMPAIGN_TARGETS, errors=errors or {}, form=form or {}, today=today,
                           can_create=has_children(db.session, org.id), crumbs=_crumbs(org),
                           may_confirm=grant_for(org.id) is not None,
                           **_view_helpers()), status


@bp.get("/org/<int:org_id>/campaigns")
@admin_required
def campaigns(org_id: int):
    return _campaign_page(org_or_404(org_id))


@bp.post("/org/<int:org_id>/campaigns")
@admin_required
def create_campaign(org_id: int):
    from ..domain.progress import CAMPAIGN_TARGETS
    from ..services import campaigns as campaign_service
    org = org_or_404(org_id)
    form = {"name": request.form.get("name", ""), "deadline": request.form.get("deadline", ""),
            "targets": {key: request.form.get(f"target_{key}", "") for key, _ in CAMPAIGN_TARGETS}}
    now, today = service.now_and_today()
    errors = ErrorsByName()
    return form_action(
        errors, lambda: campaign_service.create_campaign(db.session, current_actor(), org, form, now=now, today=today),
        validate=False,
        rerender=lambda status, error: _campaign_page(org, errors=errors.with_form_error(error), form=form,
                                                      status=status),
        done=lambda campaign: flash_redirect(f"已发布阶段任务“{campaign.name}”，直属下级组织登录后即可看到。",
                                             url_for("supervision.campaign", campaign_id=campaign.id)))


def _participants(campaign):
    from ..services import campaigns as campaign_service
    now, today = service.now_and_today()
    return campaign_service.participants(db.session, campaign, settings=_settings(), now=now, today=today), today


@bp.get("/campaigns/<int:campaign_id>")
@admin_required
def campaign(campaign_id: int):
    from ..domain.progress import CAMPAIGN_TARGETS
    c = campaign_or_404(campaign_id)
    people, today = _participants(c)
    return render_template("supervision/campaign.html", campaign=c, org=c.org, participants=people, today=today,
                           target_labels=dict(CAMPAIGN_TARGETS), crumbs=_crumbs(c.org), **_view_helpers())


@bp.get("/campaigns/<int:campaign_id>/reminders")
@admin_required
def reminders(campaign_id: int):
    from ..domain.progress import CAMPAIGN_TARGETS
    c = campaign_or_404(campaign_id)
    people, today = _participants(c)
    now, _ = service.now_and_today()
    return render_template("supervision/reminders.html", campaign=c, org=c.org, today=today, now=now,
                           pending=[p for p in people if p.confirmation is None], target_labels=dict(CAMPAIGN_TARGETS))


@bp.post("/campaigns/<int:campaign_id>/close")
@admin_required
def close_campaign(campaign_id: int):
    from ..services import campaigns as campaign_service
    c = campaign_or_404(campaign_id)
    now, _ = service.now_and_today()
    back = url_for("supervision.campaign", campaign_id=c.id)
    return form_action(None, lambda: campaign_service.close_campaign(db.session, current_actor(), c, now=now),
                       rerender=lambda status, error: flash_redirect(error, back, "error"),
                       done=lambda _: flash_redirect(f"阶段任务“{c.name}”已结束。", back))


@bp.post("/org/<int:org_id>/campaigns/<int:campaign_id>/confirm")
@admin_required
def confirm(org_id: int, campaign_id: int):
    """提交确认 by a subordinate. The campaign belongs to its parent, outside its scope, so it is loaded through
    the org: the org must be in scope and the campaign must be its parent's (or itself in scope, when the
    service then explains why this org cannot confirm it)."""
    from ..services import campaigns as campaign_service
    org = org_or_404(org_id)
    c = parents_campaign_or_404(org, campaign_id)
    now, today = service.now_and_today()

    def refused(status: int, error: str | None):
        flash(error, "error")
        return _campaign_page(org, status=status)
    note = request.form.get("note", "")
    return form_action(None, lambda: campaign_service.confirm(db.session, current_actor(), c, org,
                                                              settings=_settings(), now=now, today=today,
                                                              note=note),
                       rerender=refused,
                       done=lambda _: flash_redirect(f"已对阶段任务“{c.name}”提交确认。",
                                                     url_for("supervision.campaigns", org_id=org.id)))
