"""特殊情况录入 pages (issue 18): the request from the member form or an import row, the approval queue (both sides
see the status), one request with its decision and scan. Rules: domain.exceptions; who may: domain.policy."""
from __future__ import annotations

from flask import abort, current_app, flash, make_response, request, url_for

from .. import current_settings as _settings
from ..domain import exceptions as rules
from ..domain.errors import ValidationFailed
from ..domain.imports import ERROR, ImportReport
from ..domain.member_import import EXCEPTION_NOTE
from ..domain.people import mask_id_number
from ..extensions import db
from ..models import utcnow
from ..services import exceptions as service
from ..services.member_imports import branches_in
from ..web.actions import flash_redirect, form_action
from ..web.htmx import render
from ..web.scope import admin_required, batch_or_404, current_actor, current_org, exception_or_404, int_arg, org_or_404
from . import bp
from . import queries as member_queries
from .forms import MemberForm
from .views import Attempt, flash_error, form_context, search_text

STATUS_FILTERS = {"": "全部", rules.PENDING: "待审批", rules.APPROVED: "已批准", rules.REFUSED: "已退回"}


def _scan() -> bytes | None:
    """The attached scan, or None. Empty file fields (nothing chosen) count as none."""
    f = request.files.get("scan")
    if f is None:
        return None
    try:
        if not f.filename:
            return None
        # one byte past the limit is enough to refuse it (domain.exceptions.sniff_scan): never more in memory
        return f.read(_settings().exception_scan_max_kb * 1024 + 1)
    finally:
        f.close()


def _request_text() -> dict:
    return {"reason": request.form.get("reason", ""), "voucher": request.form.get("voucher", "")}


# ---------------------------------------------------------------- request from the member form

@bp.post("/org/<int:org_id>/exception")
@admin_required
def request_exception(org_id: int):
    org = org_or_404(org_id)
    form = MemberForm()
    attempt = Attempt(lambda: service.request_exception(db.session, current_actor(), org, form.data, scan=_scan(),
                                                        settings=_settings(), now=utcnow(), **_request_text()))

    def rerender(status, error):
        if attempt.error is None:                      # the form did not validate
            return render("members/form.html", status=status, **form_context(org, form))
        flash(attempt.error.message, "error")
        offer = None
        if isinstance(attempt.error, ValidationFailed) and set(attempt.field_errors) <= {"reason", "voucher", "scan"}:
            offer = _offer_for(form.data)
        return render("members/form.html", status=status, exception_offer=offer, exceptable=_exceptable(form.data),
                      exception_errors=attempt.field_errors, exception_text=_request_text(), **form_context(org, form))

    def done(req):
        return flash_redirect(f"已提交 {req.name} 的特殊情况录入申请（{req.rule_labels}），"
                              f"等待{req.approver_org.short_name}审批。可在“特殊情况录入申请”中查看进度。",
                              url_for("members.exception_detail", request_id=req.id))

    return form_action(form, attempt, rerender=rerender, done=done)


def _exceptable(values: dict) -> set[str]:
    """The messages of the rules a 特殊情况录入 may except, for the error summary (issue 26.3)."""
    from ..clock import local_date
    from ..domain.members import validate_member
    try:
        validate_member(values, settings=_settings(), today=local_date(utcnow()))
    except ValidationFailed as exc:
        allowed = rules.enabled_rules(_settings())
        return {m for m, rule in exc.rules.items() if rule in allowed}
    return set()


def _offer_for(values: dict):
    from ..clock import local_date
    verdict = service.assess_values(values, settings=_settings(), today=local_date(utcnow()))
    return verdict if verdict is not None and verdict.exceptable else None


# ---------------------------------------------------------------- request from an import row

def _import_row(batch_id: int, row: int):
    batch = batch_or_404(batch_id)
    if batch.kind != "members":
        abort(404)
    report = ImportReport.from_json(batch.report)
    found = next((r for r in report.rows if r.number == row and r.kind == ERROR and r.cells), None)
    if found is None:
        abort(404)
    org = org_or_404(batch.org_id)
    branch = org if org.org_kind.holds_members else None
    name = " ".join(str(found.cells.get("branch") or "").split())
    if name:
        matches = [b for b in branches_in(db.session, org) if b.short_name == name]
        branch = matches[0] if len(matches) == 1 else None
    return batch, org, found, branch


def _row_page(batch, org, row, branch, *, status=200, errors=None):
    from ..clock import local_date
    verdict = service.assess_values(row.cells, settings=_settings(), today=local_date(utcnow()))
    return render("members/exception_row.html", status=status, batch=batch, org=org, row=row, branch=branch,
                  verdict=verdict, masked=mask_id_number(str(row.cells.get("id_number") or "")),
                  errors=errors or {}, text=_request_text() if request.method == "POST" else {},
                  max_kb=_settings().exception_scan_max_kb)


@bp.get("/imports/<int:batch_id>/row/<int:row>/exception")
@admin_required
def row_exception(batch_id: int, row: int):
    return _row_page(*_import_row(batch_id, row))


@bp.post("/imports/<int:batch_id>/row/<int:row>/exception")
@admin_required
def request_row_exception(batch_id: int, row: int):
    batch, org, found, branch = _import_row(batch_id, row)
    if branch is None:
        flash("找不到这一行的团支部：请在“所在团支部”填写您管理范围内的团支部后重新导入。", "error")
        return _row_page(batch, org, found, branch, status=422)
    attempt = Attempt(lambda: service.request_exception(
        db.session, current_actor(), branch, dict(found.cells), scan=_scan(), settings=_settings(), now=utcnow(),
        batch=batch, row=found.number, **_request_text()))
    return form_action(
        None, attempt,
        rerender=lambda status, error: (flash_error(error),
                                        _row_page(batch, org, found, branch, status=status,
                                                  errors=attempt.field_errors))[1],
        done=lambda req: flash_redirect(f"已提交第{found.number}行 {req.name} 的特殊情况录入申请（{req.rule_labels}），"
                                        f"等待{req.approver_org.short_name}审批。其余各行不受影响，可以照常确认导入。",
                                        url_for("members.batch", batch_id=batch.id)))


def row_action(batch, row):
    """The preview's link on an error row that only exceptable rules block (ImportFlow.row_action)."""
    if row.kind == ERROR and (row.note or "").startswith(EXCEPTION_NOTE):
        return url_for("members.row_exception", batch_id=batch.id, row=row.number), "申请特殊情况录入"
    return None


# ---------------------------------------------------------------- queue and one request

@bp.get("/exceptions")
@admin_required
def exception_queue():
    scope = current_org()
    q = search_text()
    status = request.args.get("status", rules.PENDING if request.args.get("q") is None else "")
    status = status if status in STATUS_FILTERS else ""
    found = member_queries.exception_page(db.session, scope.code, status, q, int_arg("page", 1) or 1,
                                          current_app.config["PAGE_SIZE"])
    actor, reqs = current_actor(), found.items
    return render("members/exceptions.html", block="exception_table", reqs=reqs, q=q, status_filter=status,
                  statuses=STATUS_FILTERS, page=found.page, pages=found.pages, total=found.total,
                  to_decide=member_queries.exceptions_to_decide(db.session, scope.id), scope=scope,
                  may_decide={r.id: service.decide_refusal(actor, r) is None for r in reqs})


@bp.get("/exceptions/<int:request_id>")
@admin_required
def exception_detail(request_id: int):
    req = exception_or_404(request_id)
    refusal = service.decide_refusal(current_actor(), req)
    return render("members/exception.html", req=req, refusal=refusal,
                  masked=req.masked_id, data=req.data, facts=_facts(req))


def _facts(req):
    """What the approver needs (issue 26.1): the rule broken in words, 出生年月 and the age at joining, the evidence;
    checked as on the day of the request."""
    from ..clock import local_date
    return rules.decision_facts(req.data, req.rule_codes, settings=_settings(), today=local_date(req.requested_at))


def _decide(request_id: int, approve: bool):
    """Approve or refuse: on a refusal the request's page again with the message and the error's status."""
    req = exception_or_404(request_id)
    note, actor = request.form.get("note", ""), current_actor()
    name, branch, labels = req.name, req.org, req.rule_labels

    def act():
        if approve:
            return service.approve(db.session, actor, req, note=note, settings=_settings(), now=utcnow())
        return service.refuse(db.session, actor, req, note=note, now=utcnow())

    def rerender(status, error):
        flash_error(error)
        again = exception_or_404(request_id)
        return render("members/exception.html", status=status, req=again,
                      refusal=service.decide_refusal(current_actor(), again), masked=again.masked_id, data=again.data,
                      facts=_facts(again))

    def done(member):
        return flash_redirect(f"已批准，{member.person.name} 已录入{branch.short_name}（特殊情况录入：{labels}）。"
                              if approve else f"已退回 {name} 的特殊情况录入申请。", url_for("members.exception_queue"))

    return form_action(None, act, rerender=rerender, done=done)


@bp.post("/exceptions/<int:request_id>/approve")
@admin_required
def approve_exception(request_id: int):
    return _decide(request_id, True)


@bp.post("/exceptions/<int:request_id>/refuse")
@admin_required
def refuse_exception(request_id: int):
    return _decide(request_id, False)


@bp.get("/exceptions/<int:request_id>/scan")
@admin_required
def exception_scan(request_id: int):
    """The attached scan, to those in scope only, as the type sniffed at upload and as a download (never rendered
    inline as HTML whatever the bytes hold)."""
    req = exception_or_404(request_id)
    if req.scan_type not in rules.SCAN_TYPES or req.scan is None:
        abort(404)
    service.record_scan_view(db.session, current_actor(), req)
    ext = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}[req.scan_type]
    resp = make_response(req.scan)
    resp.headers["Content-Type"] = req.scan_type
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Content-Disposition"] = f"attachment; filename=exception-{req.id}.{ext}"
    return resp
