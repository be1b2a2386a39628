"""数据交换: 上报文件 export and upload → preview → apply, the 交换密钥, and the 智慧团建-format export."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for

from .. import current_settings as _settings
from ..domain.errors import DomainError
from ..extensions import db
from ..models import ImportBatch, utcnow
from ..queries import recent_batches
from ..services import audit
from ..services import exchange as service
from ..spreadsheets.reader import clean_filename
from ..web.actions import flash_redirect, form_action
from ..web.scope import admin_required, batch_or_404, current_actor, org_or_404
from . import bp

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KIND = service.BATCH_KIND


def _default_key() -> str | None:
    """TUANJIAN_EXCHANGE_SECRET: the 交换密钥 of subtrees without their own."""
    return current_app.config.get("EXCHANGE_SECRET")


def _crumbs(org):
    from ..web.crumbs import breadcrumb
    return breadcrumb(org)


def _page(org, *, error: str | None = None, status: int = 200, shown_key: str | None = None):
    link = service.link_for(db.session, org.code)
    batches = recent_batches(db.session, org.id, KIND)
    return render_template("exchange/index.html", org=org, crumbs=_crumbs(org), link=link,
                           key=service.display_key(link.secret) if link and link.secret else None,
                           shown_key=shown_key, has_default=bool(service.settings_secret(_default_key())),
                           key_refusal=service.key_refusal(current_actor(), org),
                           links=service.last_links(db.session, org), batches=batches, error=error,
                           max_mb=current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)), status


@bp.get("/org/<int:org_id>")
@admin_required
def index(org_id: int):
    return _page(org_or_404(org_id))


def _refused(org):
    """The page again with a refusal's message and status (after form_action's rollback)."""
    return lambda status, error: _page(org, error=error, status=status)


@bp.post("/org/<int:org_id>/key")
@admin_required
def set_key(org_id: int):
    org = org_or_404(org_id)

    def done(shown: str):
        flash("交换密钥已保存。请把它当面或电话告知另一方（不要和上报文件放在同一个U盘里）。", "success")
        return _page(org, shown_key=shown)
    return form_action(None, lambda: service.set_key(db.session, current_actor(), org, request.form.get("key", ""),
                                                     now=utcnow()),
                       rerender=_refused(org), done=done)


@bp.post("/org/<int:org_id>/package")
@admin_required
def export_package(org_id: int):
    org = org_or_404(org_id)
    now = utcnow()

    def done(exported):
        from io import BytesIO
        return send_file(BytesIO(exported[0]), as_attachment=True, download_name=service.package_filename(org, now),
                         mimetype="application/zip")
    return form_action(None, lambda: service.export_package(db.session, current_actor(), org, now=now,
                                                            default_key=_default_key()),
                       rerender=_refused(org), done=done)


@bp.post("/org/<int:org_id>/upload")
@admin_required
def upload(org_id: int):
    org = org_or_404(org_id)
    file = request.files.get("file")
    if file is None or not file.filename:
        return _page(org, error="请选择要导入的上报文件（.zip）", status=422)
    return form_action(None, lambda: service.upload_package(db.session, current_actor(), org, file.read(),
                                                            filename=clean_filename(file.filename),
                                                            settings=_settings(), now=utcnow(),
                                                            default_key=_default_key()),
                       rerender=_refused(org), done=lambda batch: redirect(url_for("exchange.preview",
                                                                                   batch_id=batch.id)))


def _batch(batch_id: int) -> ImportBatch:
    batch = batch_or_404(batch_id)
    if batch.kind != KIND:
        abort(404)
    return batch


def _preview(batch: ImportBatch, *, status: int = 200):
    org = org_or_404(batch.org_id)
    plan, error, manifest, created = None, None, None, None
    if batch.status == "pending":
        from datetime import datetime
        manifest, created = batch.report["manifest"], datetime.fromisoformat(batch.report["created_at"])
        try:
            plan = service.plan_import(db.session, current_actor(), org, service.from_batch_report(batch.report),
                                       settings=_settings())
        except DomainError as exc:
            error, status = exc.message, (status if status != 200 else exc.status)
    return render_template("exchange/preview.html", batch=batch, org=org, crumbs=_crumbs(org), plan=plan,
                           error=error, manifest=manifest, created=created, specs=service.SPECS, sample=20), status


@bp.get("/packages/<int:batch_id>")
@admin_required
def preview(batch_id: int):
    return _preview(_batch(batch_id))


@bp.post("/packages/<int:batch_id>/apply")
@admin_required
def apply(batch_id: int):
    batch = _batch(batch_id)
    org = org_or_404(batch.org_id)

    def refused(status: int, error: str | None):
        flash(error, "error")
        return _preview(_batch(batch_id), status=status)

    def done(result):
        return flash_redirect("上报文件已导入。" if result.changed else "数据与这份上报文件一致，没有需要改动的内容。",
                              url_for("exchange.preview", batch_id=batch.id))
    return form_action(None, lambda: service.apply_batch(db.session, current_actor(), org, batch,
                                                         settings=_settings(), now=utcnow()),
                       rerender=refused, done=done)


@bp.post("/packages/<int:batch_id>/cancel")
@admin_required
def cancel(batch_id: int):
    from ..services.imports import cancel as cancel_batch
    batch = _batch(batch_id)
    back = url_for("exchange.index", org_id=batch.org_id)
    return form_action(None, lambda: cancel_batch(db.session, current_actor(), batch),
                       rerender=lambda status, error: flash_redirect(error, back, "error"),
                       done=lambda _: flash_redirect("已取消，没有导入任何数据。", back, "info"))


@bp.get("/org/<int:org_id>/zhtj.xlsx")
@admin_required
def zhtj(org_id: int):
    """Full ID numbers (智慧团建 needs them): the export is in the audit log."""
    from ..services.zhtj import zhtj_workbook
    org = org_or_404(org_id)
    out, counts = zhtj_workbook(db.session, org)
    audit.record(db.session, current_actor(), "export.zhtj", object_type="org", object_id=org.id, org_id=org.id,
                 summary=f"导出智慧团建导入格式：{org.short_name} 及全部下级，团支部 {counts['branches']} 个，"
                         f"团员 {counts['members']} 人，团干部 {counts['cadres']} 人（含完整身份证号码）",
                 after=counts)
    return send_file(out, as_attachment=True, download_name=f"智慧团建导入_{org.short_name}.xlsx", mimetype=XLSX)
