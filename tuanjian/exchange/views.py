"""数据交换: 上报文件 export and upload → preview → apply, the 交换密钥, and the 智慧团建-format export."""
from __future__ import annotations

from flask import current_app, flash, render_template, request, send_file, url_for

from ..extensions import db
from ..models import utcnow
from ..queries import recent_batches
from ..services import audit
from ..services import exchange as service
from ..spreadsheets.writer import Column
from ..web.actions import form_action
from ..web.importflow import ImportFlow
from ..web.scope import admin_required, current_actor, org_or_404
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


def _package_columns(org) -> list[Column]:
    """The columns of a 上报文件's report rows and of its error workbook (a package has no sheet of its own)."""
    return [Column("项目", "item", width=60), Column("改动", "change", width=24)]


def _upload_view(org_id: int, *, error: str | None = None, status: int = 200):
    return _page(org_or_404(org_id), error=error, status=status)


def _preview_context(batch, report) -> dict:
    from datetime import datetime
    created = report.meta.get("created_at")
    return {"specs": service.SPECS, "created": datetime.fromisoformat(created) if created else None}


def _success(result) -> str:
    return "上报文件已导入。" if result.changed else "数据与这份上报文件一致，没有需要改动的内容。"


# 上报文件 through the same upload → preview → commit → result/error-workbook flow as every import (its upload form
# is on the 数据交换 page; the URLs of upload, preview and apply are the ones 上报文件 always had)
FLOW = ImportFlow(
    kind=KIND, what="导入上报文件", sheet="上报文件",
    endpoints={"upload_page": "exchange.index", "upload": "exchange.upload", "batch": "exchange.preview",
               "commit": "exchange.apply", "cancel": "exchange.cancel", "errors": "exchange.errors"},
    columns=_package_columns,
    instructions=lambda org: [],
    # a package's tables are files of our own: no hidden spreadsheet rows to include
    preview=lambda session, actor, org, include_hidden=False, **kw: service.preview_package(
        session, actor, org, default_key=_default_key(), **kw),
    commit_rows=service.commit_package,
    result_columns={},
    next_step=lambda org: (url_for("orgs.detail", org_id=org.id), "查看组织树"),
    success=_success,
    upload_view=_upload_view, batch_template="exchange/preview.html",
    missing_file="请选择要导入的上报文件（.zip）", extra_context=_preview_context)

FLOW.register(bp, upload_rule="/org/<int:org_id>/upload", template_rule=None,
              rules={"upload_page": None, "batch": "/packages/<int:batch_id>",
                     "commit": "/packages/<int:batch_id>/apply", "cancel": "/packages/<int:batch_id>/cancel",
                     "errors": "/packages/<int:batch_id>/errors.xlsx"})


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
