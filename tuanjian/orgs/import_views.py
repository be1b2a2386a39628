"""批量创建下级组织: template → upload → preview → commit → result and error workbook."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from sqlalchemy import select

from ..domain.errors import DomainError
from ..domain.imports import ImportReport
from ..domain.orgtree import KIND_LABELS, OrgKind, allowed_children
from ..extensions import db
from ..models import ImportBatch, utcnow
from ..services import imports as service
from ..spreadsheets.reader import ImportFileError
from ..spreadsheets.writer import Column, error_workbook, template_workbook
from ..web.htmx import render
from ..web.scope import admin_required, batch_or_404, current_actor, org_or_404
from . import bp
from .views import breadcrumb

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _settings():
    return current_app.extensions["tuanjian_settings"]


def _columns(org) -> list[Column]:
    placement = _settings().placement
    reachable, frontier = set(), [org.org_kind]          # every category that may appear below this org
    while frontier:
        for child in allowed_children(frontier.pop(), placement):
            if child not in reachable:
                reachable.add(child)
                frontier.append(child)
    kinds = tuple(k.label for k in OrgKind if k in reachable)
    return [Column("组织简称", "short_name", required=True, width=34,
                   note="最多25个字，如“华阳镇城东村团支部”“计算机专业2017级3班团支部”"),
            Column("组织类别", "kind", required=True, width=16, choices=kinds,
                   note="可选：" + "、".join(kinds)),
            Column("上级组织", "parent", width=24,
                   note="直属本组织的留空；要建在本表前面某行组织（如团总支）之下的，填那一行的组织简称"),
            Column("是否为乡镇（街道）团委（团工委）", "is_township", width=30, choices=("是", "否"),
                   note="只对基层团委、团工委有效；企业、学校等填“否”或不填")]


def _page(org, *, status=200, error=None):
    batches = list(db.session.scalars(select(ImportBatch).where(ImportBatch.org_id == org.id,
                                                                 ImportBatch.kind == "org_children")
                                      .order_by(ImportBatch.id.desc()).limit(10)))
    return render_template("orgs/import.html", org=org, crumbs=breadcrumb(org), batches=batches, error=error,
                           kinds=[KIND_LABELS[k] for k in allowed_children(org.org_kind, _settings().placement)],
                           max_mb=current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)), status


@bp.get("/<int:org_id>/children/import")
@admin_required
def import_children(org_id: int):
    return _page(org_or_404(org_id))


@bp.get("/<int:org_id>/children/template.xlsx")
@admin_required
def children_template(org_id: int):
    org = org_or_404(org_id)
    out = template_workbook(_columns(org), sheet=service.ORG_SHEET, title=f"{org.short_name} 批量创建直属下级组织",
                            instructions=["1. 在“下级组织”工作表中从第2行起每行填写一个组织；红色表头为必填。",
                                          "   直属本组织的，“上级组织”留空；要建在团总支等之下的，先写上级那一行，再在“上级组织”填它的简称。",
                                          "2. 组织类别请从下拉列表中选择；不要修改表头，不要增删列。",
                                          "3. 组织代码由系统自动编定，无需填写。",
                                          "4. 填好后保存，在系统“批量创建下级组织”页面上传，先预览再确认导入。"])
    return send_file(out, as_attachment=True, download_name=f"批量创建下级组织模板_{org.short_name}.xlsx", mimetype=XLSX)


@bp.post("/<int:org_id>/children/import")
@admin_required
def upload_children(org_id: int):
    org = org_or_404(org_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(org, status=422, error="请选择要上传的 Excel 文件")
    try:
        batch = service.preview_org_children(db.session, current_actor(), org, data=upload.read(),
                                             filename=upload.filename, settings=_settings(), now=utcnow())
        db.session.commit()
    except ImportFileError as exc:
        db.session.rollback()
        return _page(org, status=422, error=str(exc))
    except DomainError as exc:
        db.session.rollback()
        return _page(org, status=exc.status, error=exc.message)
    return redirect(url_for("orgs.import_batch", batch_id=batch.id))


def render_batch(batch, org, columns, *, status=200, what, endpoints, result_columns, next_url, next_label):
    """The preview / result page of any import batch (shared by org, cadre and later member imports)."""
    urls = {"commit": url_for(endpoints["commit"], batch_id=batch.id),
            "cancel": url_for(endpoints["cancel"], batch_id=batch.id),
            "errors": url_for(endpoints["errors"], batch_id=batch.id),
            "upload_page": url_for(endpoints["upload_page"], org_id=org.id), "next": next_url}
    return render("imports/batch.html", status=status, batch=batch, org=org, crumbs=breadcrumb(org),
                  report=ImportReport.from_json(batch.report), labels={c.key: c.header for c in columns},
                  what=what, urls=urls, result_columns=result_columns, next_label=next_label)


ENDPOINTS = {"commit": "orgs.commit_batch", "cancel": "orgs.cancel_batch", "errors": "orgs.batch_errors",
             "upload_page": "orgs.import_children"}


def _render_org_batch(batch, org, status=200):
    return render_batch(batch, org, _columns(org), status=status, what="批量创建下级组织", endpoints=ENDPOINTS,
                        result_columns={"code": "组织代码", "short_name": "组织简称", "parent": "上级组织"},
                        next_url=url_for("orgs.detail", org_id=org.id), next_label="回到组织树，生成注册码")


def _org_batch_or_404(batch_id: int):
    batch = batch_or_404(batch_id)
    if batch.kind != "org_children":
        abort(404)
    return batch


@bp.get("/imports/<int:batch_id>")
@admin_required
def import_batch(batch_id: int):
    batch = _org_batch_or_404(batch_id)
    return _render_org_batch(batch, org_or_404(batch.org_id))


@bp.post("/imports/<int:batch_id>/commit")
@admin_required
def commit_batch(batch_id: int):
    batch = _org_batch_or_404(batch_id)
    org = org_or_404(batch.org_id)
    try:
        created = service.commit_org_children(db.session, current_actor(), batch, mode=request.form.get("mode", ""),
                                              settings=_settings(), now=utcnow())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _render_org_batch(batch, org, status=exc.status)
    flash(f"已创建 {len(created)} 个下级组织。下一步：为它们生成管理员注册码。", "success")
    return redirect(url_for("orgs.import_batch", batch_id=batch.id))


@bp.post("/imports/<int:batch_id>/cancel")
@admin_required
def cancel_batch(batch_id: int):
    batch = _org_batch_or_404(batch_id)
    try:
        service.cancel(db.session, current_actor(), batch)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash("已取消这次导入，没有写入任何数据。", "info")
    return redirect(url_for("orgs.import_children", org_id=batch.org_id))


@bp.get("/imports/<int:batch_id>/errors.xlsx")
@admin_required
def batch_errors(batch_id: int):
    batch = _org_batch_or_404(batch_id)
    org = org_or_404(batch.org_id)
    report = ImportReport.from_json(batch.report)
    out = error_workbook(_columns(org), [(r.number, r.cells, r.errors) for r in report.error_rows],
                         sheet=service.ORG_SHEET)
    return send_file(out, as_attachment=True, download_name=f"导入错误_{batch.file_name.rsplit('.', 1)[0]}.xlsx",
                     mimetype=XLSX)



