"""The whole member list out of the app: the Excel workbook (团委 / 团总支 / 团支部 columns) and the A4 print. Both
are recorded in the audit log; ID numbers are masked unless the export asks to reveal them."""
from __future__ import annotations

from flask import render_template, request, send_file

from .. import current_settings as _settings
from ..clock import local_today, to_local
from ..domain.people import classify_id_search
from ..extensions import db
from ..models import utcnow
from ..services import idsearch
from ..services import members as service
from ..spreadsheets.writer import write_table
from ..web.scope import admin_required, current_actor, org_or_404
from . import bp
from . import queries as member_queries
from .views import search_text, searched_rows

EXPORT_HEADERS = ["团委", "团总支", "团支部", "团支部代码", "姓名", "性别", "身份证号码", "出生日期", "民族",
                  "政治面貌",
                  "入团年月", "发展团员编号", "团内职务", "手机号码", "学历", "职业", "学习工作单位", "超龄"]

PRINT_LIMIT = 3000


@bp.get("/org/<int:org_id>/export.xlsx")
@admin_required
def export(org_id: int):
    """Every member of the subtree in one workbook with 团委 / 团总支 / 团支部 columns. ID numbers are masked unless
    ``reveal=1`` (the same right as revealing them on the list); every export is in the audit log."""
    org = org_or_404(org_id)
    reveal = request.args.get("reveal") == "1"
    day = _as_of()
    if day is None:
        rows = member_queries.all_member_rows(db.session, org, overage_years=_settings().overage_years,
                                              today=local_today())
    else:                   # as of a past day: who was a member at its end, in the branch they were in then
        rows = member_queries.member_rows_on(db.session, org, day, overage_years=_settings().overage_years)
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
                      caption=f"{org.display_name} 全部团员（"
                              + (f"截至 {day.isoformat()} 终了，按当日所在团支部，" if day else "")
                              + f"{len(rows)} 人，导出于 {to_local(now):%Y-%m-%d %H:%M}）"
                              + ("" if reveal else "；身份证号码已隐去中间 8 位"))
    service.record_export(db.session, current_actor(), org, len(rows), reveal=reveal, on=day)
    suffix = f"_截至{day:%Y%m%d}" if day else ""
    return send_file(out, as_attachment=True, download_name=f"团员名单_{org.short_name}{suffix}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _as_of():
    """``?on=`` of the export: None (today's list), or a day that is over or today (400 otherwise)."""
    from flask import abort

    from ..domain.register import parse_day
    raw = request.args.get("on", "").strip()
    if not raw:
        return None
    day = parse_day(raw)
    if day is None:
        abort(400, "日期格式不对，请按 2026-12-31 的格式填写")
    if day > local_today():
        abort(400, "截至日期不能晚于今天")
    return day


@bp.get("/org/<int:org_id>/print")
@admin_required
def print_list(org_id: int):
    """The whole list (or the search result) on A4 pages: ID numbers masked, the print recorded in the audit log."""
    org = org_or_404(org_id)
    q = search_text()
    found, id_notice = searched_rows(org, q, 1, PRINT_LIMIT, where="团员名单打印")
    search = classify_id_search(q)
    service.record_print(db.session, current_actor(), org, q if not search.is_id else "（按身份证号）",
                         len(found.items))
    return render_template("members/print.html", org=org, rows=found.items, total=found.total, q=q,
                           limit=PRINT_LIMIT, is_branch=org.org_kind.holds_members, printed_at=utcnow(),
                           id_notice=id_notice, q_shown=idsearch.described(search) if search.is_id else q)
