"""团籍 pages: the 超龄 queue of an org's subtree (a batch 超龄离团 on a branch's page) and the roll as of a date
(counts per child org, drill-down to the names, masked ID numbers)."""
from __future__ import annotations

from datetime import date

from flask import abort, render_template, request, send_file, url_for

from .. import current_settings as _settings
from ..clock import local_today
from ..domain import policy, register
from ..domain import register_stats as rs
from ..extensions import db
from ..models import utcnow
from ..services import tuanji as service
from ..spreadsheets.writer import write_sheets
from ..web.actions import flash_redirect, form_action, keep
from ..web.crumbs import breadcrumb
from ..web.htmx import render
from ..web.scope import admin_required, current_actor, org_or_404
from . import bp, queries

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _queue_page(org, *, status: int = 200, errors: dict | None = None, chosen=(), on: str = ""):
    settings = _settings()
    today = local_today()
    rows = queries.overage_queue(db.session, org, today=today, years=settings.overage_years)
    may_batch = org.org_kind.holds_members and not org.is_dissolved and policy.refusal(
        "member.leave_batch", current_actor().scope_code, org.code) is None
    counts = {s: sum(1 for r in rows if r.status == s) for s in (register.OVERDUE, register.DUE, register.EXEMPT)}
    return render("tuanji/overage.html", status=status, org=org, rows=rows, counts=counts, may_batch=may_batch,
                  today=today, years=settings.overage_years, horizon=register.QUEUE_DAYS, errors=errors or {},
                  chosen={int(c) for c in chosen if str(c).isdigit()}, on=on, crumbs=breadcrumb(org),
                  labels=register.QUEUE_LABELS)


@bp.get("/org/<int:org_id>/overage")
@admin_required
def overage(org_id: int):
    return _queue_page(org_or_404(org_id))


@bp.post("/org/<int:org_id>/overage")
@admin_required
def leave_overage(org_id: int):
    org = org_or_404(org_id)
    chosen = request.form.getlist("member")
    on = request.form.get("on", "")
    failed = {}

    def act():
        from ..domain.errors import ValidationFailed
        try:
            return service.leave_overage_batch(db.session, current_actor(), org,
                                               [int(c) for c in chosen if c.isdigit()], on=on, now=utcnow(),
                                               settings=_settings())
        except ValidationFailed as exc:
            failed.update(exc.field_errors)
            raise

    def rerender(status, error):
        if not failed:
            return flash_redirect(error, url_for("tuanji.overage", org_id=org.id), "error")
        return _queue_page(org, status=status, errors=failed, chosen=chosen, on=on)

    return form_action(None, act, rerender=rerender,
                       done=lambda n: flash_redirect(f"已为 {n} 名团员办理超龄离团，已记入团籍变动。",
                                                     url_for("tuanji.overage", org_id=org.id)))


@bp.get("/org/<int:org_id>")
@admin_required
def roll(org_id: int):
    """Who was a member as of a date: counts per direct child org, and for a branch the names."""
    org = org_or_404(org_id)
    raw = request.args.get("on", "")
    day = register.parse_day(raw) if raw else local_today()
    status = 200
    error = None
    if day is None:
        day, status, error = local_today(), 400, "日期格式不对，请按 2026-12-31 的格式填写"
    children, total = queries.counts_by_child(db.session, org, day)
    names = queries.roll_names(db.session, org, day) if org.org_kind.holds_members else []
    return render("tuanji/roll.html", status=status, org=org, day=day, raw=raw or day.isoformat(), error=error,
                  total=total, children=children, names=names, crumbs=breadcrumb(org))


def _year_end_day() -> tuple[date | None, str]:
    """The date asked for (?on=), by default 31 December of the year that ended last (of this year in December)."""
    today = local_today()
    raw = request.args.get("on", "")
    if not raw:
        default = date(today.year if today.month == 12 else today.year - 1, 12, 31)
        return default, default.isoformat()
    return register.parse_day(raw), raw


@bp.get("/org/<int:org_id>/stats")
@admin_required
def stats(org_id: int):
    """团内统计 of the org's subtree as of a date, with the comparison with the same day a year before."""
    org = org_or_404(org_id)
    day, raw = _year_end_day()
    status, error = 200, None
    year_end = date(local_today().year, 12, 31)     # in December the coming 31 December counts what is known so far
    if day is None or day > year_end:
        status = 400
        error = "日期格式不对，请按 2026-12-31 的格式填写" if day is None else "统计日期不能晚于今年12月31日"
        day = local_today()
    snap = queries.snapshot_of(db.session, org, day)
    if snap is not None and request.args.get("live") != "1":       # frozen: the figures as reported, at once
        return _frozen_page(org, snap, raw=raw, error=error, status=status)
    report = _report(org, day)
    may_freeze = snap is None and day < local_today() and policy.refusal(
        "register.freeze", current_actor().scope_code, org.code) is None
    return render("tuanji/stats.html", status=status, org=org, report=report, raw=raw, error=error,
                  may_freeze=may_freeze, snap=snap, crumbs=breadcrumb(org),
                  youth=rs.youth_cells(service.snapshot_data(report)), note=rs.internal_note(report.internal))


def _frozen_page(org, snap, *, raw: str, error: str | None = None, status: int = 200, errors=None, form=None):
    from ..queries import has_children
    from ..services import campaigns
    task = campaigns.register_campaign_of(db.session, org, snap.on_date)
    may_publish = task is None and has_children(db.session, org.id) and policy.refusal(
        "register.confirm_task", current_actor().scope_code, org.code) is None
    return render("tuanji/frozen.html", status=status, org=org, snap=snap, raw=raw, error=error, task=task,
                  may_publish=may_publish, errors=errors or {}, form=form or {},
                  fixes=queries.corrections(db.session, org, snap.on_date, snap.frozen_at), crumbs=breadcrumb(org),
                  youth=rs.youth_cells(snap.data), note=rs.internal_note(snap.data.get("internal", 0)))


@bp.post("/org/<int:org_id>/stats/confirm-task")
@admin_required
def publish_confirm_task(org_id: int):
    """发布确认任务: the direct subordinates confirm their 团内统计 as of a date this org froze (a 阶段任务)."""
    from ..services import campaigns
    from ..web.forms import ErrorsByName
    org = org_or_404(org_id)
    day = register.parse_day(request.form.get("on", ""))
    form = {"deadline": request.form.get("deadline", "")}
    back = url_for("tuanji.stats", org_id=org.id, on=day.isoformat() if day else None)
    if day is None:
        return flash_redirect("日期格式不对，请按 2026-12-31 的格式填写", back, "error")
    snap = queries.snapshot_of(db.session, org, day)
    now = utcnow()
    errors = ErrorsByName()
    return form_action(
        errors, lambda: campaigns.create_register_campaign(db.session, current_actor(), org, on=day,
                                                           deadline=form["deadline"], now=now, today=local_today()),
        validate=False,
        rerender=lambda status, error: flash_redirect(error, back, "error") if snap is None else _frozen_page(
            org, snap, raw=day.isoformat(), status=status, errors=errors.with_form_error(error), form=form),
        done=lambda c: flash_redirect(f"已发布“{c.name}”，直属下级组织在“阶段任务”页面核对后提交确认。",
                                      url_for("supervision.campaign", campaign_id=c.id)))


def _report(org, day):
    settings = _settings()
    return queries.statistics(db.session, org, day, age_bounds=settings.register_age_bounds,
                              small=settings.branch_complete_min_members)


@bp.post("/org/<int:org_id>/stats/freeze")
@admin_required
def freeze(org_id: int):
    org = org_or_404(org_id)
    day = register.parse_day(request.form.get("on", ""))
    back = url_for("tuanji.stats", org_id=org.id, on=day.isoformat() if day else None)
    if day is None:
        return flash_redirect("日期格式不对，请按 2026-12-31 的格式填写", back, "error")
    return form_action(None, lambda: service.freeze(db.session, current_actor(), org, _report(org, day), now=utcnow()),
                       rerender=lambda status, error: flash_redirect(error, back, "error"),
                       done=lambda snap: flash_redirect(f"已冻结 {org.short_name} 截至 {day.isoformat()} 的团内统计。",
                                                        back))


def _figures(org):
    """(day, the figures as a snapshot's data, the snapshot or None) for the print and the workbook."""
    day, _ = _year_end_day()
    if day is None or day > date(local_today().year, 12, 31):
        abort(400)
    snap = queries.snapshot_of(db.session, org, day)
    if snap is not None:
        return day, snap.data, snap
    return day, service.snapshot_data(_report(org, day)), None


@bp.get("/org/<int:org_id>/stats/print")
@admin_required
def print_stats(org_id: int):
    org = org_or_404(org_id)
    day, d, snap = _figures(org)
    service.record_export(db.session, current_actor(), org, day, frozen=snap is not None, what="print")
    keep()                          # the audit entry of a print or export, committed with the answer
    return render_template("tuanji/print.html", org=org, day=day, d=d, snap=snap, youth=rs.youth_cells(d),
                           note=rs.internal_note(d.get("internal", 0)))


@bp.get("/org/<int:org_id>/stats/export.xlsx")
@admin_required
def export_stats(org_id: int):
    org = org_or_404(org_id)
    day, d, snap = _figures(org)
    service.record_export(db.session, current_actor(), org, day, frozen=snap is not None, what="excel")
    keep()                          # the audit entry of a print or export, committed with the answer
    head = f"{org.full_name or org.short_name} 团内统计（截至 {day.isoformat()}{'，已冻结' if snap else ''}）"
    youth = rs.youth_cells(d)
    note = rs.internal_note(d.get("internal", 0))
    ratio = youth.shown                  # the 团青比例 column when any org recorded its 14–28周岁青年数
    rows = [[name, *nums, *([youth.rows[i]] if ratio else [])] for i, (_, name, *nums) in enumerate(d["comparison"])]
    rows.append(["合计", *d["total"], *([youth.total] if ratio else [])])
    if note:
        rows.append(["说明：" + note])
    columns = ["组织", "上年数", "增加", "减少", "本年数"] + (["团青比例"] if ratio else [])
    sheets = [("对比表", head + " 对比表", columns, rows)]
    for key in ("members", "changes", "orgs", "cadres"):
        sheets += [(title, f"{head} {title}", ["项目", "数量"], rows) for title, rows in d[key]]
    sheets.append(("团青比例", f"{head} 团青比例", ["项目", "数值"],
                   [["团员数", youth.members if youth.youth else d["total"][3]],
                    ["14–28周岁青年数", youth.youth if youth.youth else "未填写"], ["团青比例", youth.total]]))
    return send_file(write_sheets(sheets), as_attachment=True, mimetype=XLSX,
                     download_name=f"团内统计_{org.short_name}_{day:%Y%m%d}.xlsx")


@bp.get("/org/<int:org_id>/roll.xlsx")
@admin_required
def export_roll(org_id: int):
    """The 团籍名册 as of a date, the whole subtree, ID numbers masked."""
    org = org_or_404(org_id)
    raw = request.args.get("on", "")
    day = register.parse_day(raw) if raw else local_today()
    if day is None:
        abort(400)
    rows = queries.roll_rows(db.session, org, day)
    service.record_roll_export(db.session, current_actor(), org, day, len(rows))
    keep()                          # the audit entry of a print or export, committed with the answer
    body = [[i, p.name, p.gender, p.masked_id, branch.short_name] for i, (p, branch) in enumerate(rows, start=1)]
    out = write_sheets([("团籍名册", f"{org.full_name or org.short_name} 团籍名册（截至 {day.isoformat()}，"
                                     f"共 {len(rows)} 人，身份证号码已隐去）",
                         ["序号", "姓名", "性别", "身份证号码", "所在团支部"], body)])
    return send_file(out, as_attachment=True, mimetype=XLSX,
                     download_name=f"团籍名册_{org.short_name}_{day:%Y%m%d}.xlsx")
