"""与智慧团建对账 (issue 28): upload 智慧团建's member lists → the differences (kept as the org's last comparison) →
export for 智慧团建, import the rows only 智慧团建 has, 组织关系转接, mark a difference explained."""
from __future__ import annotations

from flask import abort, current_app, request, send_file, url_for

from .. import current_settings as _settings
from ..domain import policy
from ..domain import reconcile as rules
from ..extensions import db
from ..models import utcnow
from ..queries import paginate_list
from ..services import reconcile as service
from ..spreadsheets.reader import clean_filename
from ..web.actions import flash_redirect, form_action, keep
from ..web.crumbs import breadcrumb
from ..web.htmx import render
from ..web.scope import admin_required, current_actor, int_arg, org_or_404
from . import bp
from .queries import last_comparison

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PROBLEMS = "problems"


def _kind() -> str:
    kind = request.values.get("kind", rules.DIFFERS)
    return kind if kind in rules.KINDS or kind == PROBLEMS else rules.DIFFERS


def _page(org, *, reveal: bool = False, error: str | None = None, status: int = 200):
    rec = last_comparison(db.session, org)
    result = service.comparison_of(rec) if rec is not None else None
    kind, shown, counts, page, pages = _kind(), [], {}, 1, 1
    if result is not None:
        counts = {k: len(result.indexed(k)) for k in rules.KINDS} | {PROBLEMS: len(result.problems)}
        listed = result.problems if kind == PROBLEMS else result.indexed(kind)
        found = paginate_list(listed, int_arg("page", 1) or 1, current_app.config["PAGE_SIZE"])
        shown, page, pages = found.items, found.page, found.pages
        if reveal and shown and kind != PROBLEMS:
            service.record_reveal(db.session, current_actor(), org, [it for _, it in shown])
            keep()          # a reveal is in the audit log whatever the page's answer
    branches = sorted(result.branches.items(), key=lambda kv: (kv[0] is None, result.names.get(kv[0], ""))) \
        if result else []
    return render("reconcile/index.html", block="result_list", status=status, org=org, rec=rec, result=result,
                  kind=kind, shown=shown, counts=counts, page=page, pages=pages, branches=branches,
                  reveal=reveal and bool(shown) and kind != PROBLEMS, error=error, rules=rules, mask=_mask,
                  crumbs=breadcrumb(org), explain_refusal=policy.refusal("reconcile.explain",
                                                                       current_actor().scope_code, org.code),
                  compare_refusal=policy.refusal("reconcile.compare", current_actor().scope_code, org.code),
                  max_mb=current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024))


def _mask(number: str) -> str:
    from ..domain.people import mask_id_number
    return mask_id_number(number)


def _refused(org):
    return lambda status, error: _page(org, error=error, status=status)


@bp.get("/org/<int:org_id>")
@admin_required
def index(org_id: int):
    return _page(org_or_404(org_id))


@bp.post("/org/<int:org_id>/reveal")
@admin_required
def reveal(org_id: int):
    return _page(org_or_404(org_id), reveal=True)


@bp.post("/org/<int:org_id>/compare")
@admin_required
def compare(org_id: int):
    org = org_or_404(org_id)
    files = [(f.read(), clean_filename(f.filename)) for f in request.files.getlist("file") if f and f.filename]
    return form_action(None, lambda: service.compare(db.session, current_actor(), org, files, settings=_settings(),
                                                     now=utcnow()),
                       rerender=_refused(org),
                       done=lambda rec: flash_redirect(
                           f"对账完成：相符 {rec.totals['matching']}/{rec.totals['people']} 人"
                           f"（{rules.rate_text(rules.figures_from(rec.totals).rate)}）。",
                           url_for("reconcile.index", org_id=org.id)))


NO_COMPARISON = "还没有对账结果，请先上传智慧团建导出的名单"   # an action on a comparison that is not there yet

def _kept(org):
    rec = last_comparison(db.session, org)
    if rec is None:
        abort(404)
    return rec


@bp.post("/org/<int:org_id>/explain")
@admin_required
def explain(org_id: int):
    org = org_or_404(org_id)
    rec = last_comparison(db.session, org)
    if rec is None:
        return _page(org, error=NO_COMPARISON, status=409)
    kind = _kind()
    back = url_for("reconcile.index", org_id=org.id, kind=kind, page=int_arg("page", 1) or 1)
    return form_action(None, lambda: service.explain(db.session, current_actor(), org, rec,
                                                     index=int_arg("item", -1, request.form),
                                                     field=request.form.get("field", ""),
                                                     note=request.form.get("note", ""), now=utcnow()),
                       rerender=_refused(org),
                       done=lambda item: flash_redirect(f"已标记为已说明：{item.name}。下次对账不再列出这项差异。",
                                                        back))


@bp.get("/org/<int:org_id>/differences.xlsx")
@admin_required
def differences(org_id: int):
    org = org_or_404(org_id)
    rec = _kept(org)
    reveal = request.args.get("reveal") == "1"
    out = service.differences_workbook(db.session, current_actor(), org, rec, reveal=reveal)
    return send_file(out, as_attachment=True, download_name=f"对账差异_{org.short_name}.xlsx", mimetype=XLSX)


@bp.get("/org/<int:org_id>/zhtj.xlsx")
@admin_required
def zhtj(org_id: int):
    """Full ID numbers (智慧团建 needs them): the export is in the audit log."""
    org = org_or_404(org_id)
    rec = _kept(org)
    out, _ = service.export_for_zhtj(db.session, current_actor(), org, rec)
    return send_file(out, as_attachment=True, download_name=f"对账_智慧团建导入_{org.short_name}.xlsx", mimetype=XLSX)


@bp.post("/org/<int:org_id>/import")
@admin_required
def start_import(org_id: int):
    org = org_or_404(org_id)
    rec = last_comparison(db.session, org)
    if rec is None:
        return _page(org, error=NO_COMPARISON, status=409)
    return form_action(None, lambda: service.start_import(db.session, current_actor(), org, rec, settings=_settings(),
                                                          now=utcnow()),
                       rerender=_refused(org),
                       done=lambda batch: flash_redirect("请核对导入预览：确认之前不会写入任何数据。",
                                                         url_for("members.batch", batch_id=batch.id), "info"))


@bp.post("/org/<int:org_id>/transfer")
@admin_required
def transfer(org_id: int):
    org = org_or_404(org_id)
    rec = last_comparison(db.session, org)
    if rec is None:
        return _page(org, error=NO_COMPARISON, status=409)

    def done(req):
        return flash_redirect(f"已申请组织关系转接：{req.member.person.name} 转入 {req.to_org.short_name}，"
                              "等待转出方处理。", url_for("reconcile.index", org_id=org.id, kind=rules.MOVED))
    return form_action(None, lambda: service.start_transfer(db.session, current_actor(), org, rec,
                                                            index=int_arg("item", -1, request.form), now=utcnow()),
                       rerender=_refused(org), done=done)


