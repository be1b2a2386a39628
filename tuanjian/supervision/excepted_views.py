"""特殊情况录入 list (issue 18): the members entered by an approved exception in a subtree, with the rule, the
reason, the vouching org and who approved; exported with masked ID numbers for the 说明 the province asks for."""
from __future__ import annotations

from flask import current_app, request, send_file

from ..clock import to_local
from ..extensions import db
from ..services import exceptions as exception_service
from ..services import progress as service
from ..spreadsheets.writer import write_table
from ..web.filters import local_time
from ..web.htmx import render
from ..web.scope import admin_required, current_actor, int_arg, org_or_404
from . import bp
from .queries import excepted_all, excepted_page
from .views import XLSX, _crumbs

HEADERS = ["姓名", "身份证号码", "所在团支部", "入团年月", "发展团员编号", "例外规则", "申请理由", "出具说明的组织",
           "申请人", "审批组织", "审批人", "批准时间"]


def _values(person, branch, member, req) -> list:
    return [person.name, person.masked_id, branch.short_name, person.join_date or "", member.dev_number or "",
            req.rule_labels, req.reason, req.voucher, req.requested_by.name if req.requested_by else "",
            req.approver_org.short_name, req.decided_by.name if req.decided_by else "",
            local_time(req.decided_at) if req.decided_at else ""]


@bp.get("/org/<int:org_id>/excepted")
@admin_required
def excepted(org_id: int):
    org = org_or_404(org_id)
    q = " ".join(request.args.get("q", "").split())[:30]
    found = excepted_page(db.session, org.code, q, int_arg("page", 1) or 1, current_app.config["PAGE_SIZE"])
    rows = [(m, _values(p, b, m, r)) for m, p, b, r in found.items]
    return render("supervision/excepted.html", block="excepted_table", org=org, q=q, rows=rows, headers=HEADERS,
                  total=found.total, page=found.page, pages=found.pages, crumbs=_crumbs(org))


@bp.get("/org/<int:org_id>/excepted.xlsx")
@admin_required
def export_excepted(org_id: int):
    org = org_or_404(org_id)
    rows = [_values(p, b, m, r) for m, p, b, r in excepted_all(db.session, org.code)]
    exception_service.record_export(db.session, current_actor(), org, len(rows))
    now, _ = service.now_and_today()
    out = write_table(HEADERS, rows, title="特殊情况录入", text_columns=range(len(HEADERS)),
                      widths=[12, 22, 20, 10, 16, 20, 40, 20, 10, 20, 10, 18],
                      caption=f"{org.full_name or org.short_name} · 特殊情况录入团员（截至 {local_time(now)}，"
                              "身份证号码已隐去）")
    return send_file(out, as_attachment=True, mimetype=XLSX,
                     download_name=f"特殊情况录入_{org.short_name}_{to_local(now):%Y%m%d%H%M}.xlsx")
