"""One upload → preview → commit → result/error-workbook flow, shared by every Excel import.

A blueprint declares an ``ImportFlow`` (what it imports, its columns, its preview and commit services)
and its views become one-liners. Batches are loaded through the scope chokepoint and by kind.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from sqlalchemy.exc import DBAPIError, IntegrityError

from .. import current_settings
from ..domain.errors import DomainError
from ..domain.imports import OK_ROWS_SHOWN, RESULT_ROWS_SHOWN, ROWS_PER_PAGE, ImportReport
from ..domain.member_import import workbook_explanation
from ..extensions import db
from ..models import ImportBatch, Org, utcnow
from ..queries import paginate_list, recent_batches
from ..services.imports import cancel, gc_paused
from ..spreadsheets.reader import ImportFileError, clean_filename
from ..spreadsheets.writer import Column, error_workbook, template_workbook
from .actions import conflict_message, flash_redirect, form_action
from .htmx import render
from .scope import batch_or_404, current_actor, int_arg, org_or_404

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A commit re-checks the file against the database, but another admin's import of the same people (or orgs) may
# commit between that check and this transaction's inserts; the unique constraints then refuse the duplicates.
# Two such imports inserting the same rows in opposite orders can also deadlock on PostgreSQL (one is aborted).
RACED = "这次导入与另一位管理员同时进行的导入发生冲突，本次没有导入任何数据。请重新上传该文件，核对预览结果后再导入。"
_RACE_SQLSTATES = ("40P01", "40001")           # deadlock detected, serialization failure


class Unreadable(DomainError):
    """The upload cannot be read as the expected workbook (``ImportFileError``): refused with 422."""

    status = 422


def raced(exc: DBAPIError) -> bool:
    return isinstance(exc, IntegrityError) or getattr(exc.orig, "sqlstate", None) in _RACE_SQLSTATES


@dataclass
class ImportFlow:
    kind: str                                          # ImportBatch.kind
    what: str                                          # 批量创建下级组织 / 批量录入团干部
    sheet: str                                         # the data sheet of the template
    endpoints: dict[str, str]                          # upload_page, template, upload, batch, commit, cancel, errors
    columns: Callable[[Org], list[Column]]
    instructions: Callable[[Org], list[str]]
    preview: Callable                                  # (session, actor, org, *, data, filename, settings, now)
    commit_rows: Callable                              # (session, actor, batch, *, mode, settings, now) -> list
    result_columns: dict[str, str]
    next_step: Callable[[Org], tuple[str, str]]        # (url, label) after a successful import
    success: Callable[[list], str]
    steps: list[str] = field(default_factory=list)     # the numbered lines on the upload page
    row_action: Callable | None = None                 # (batch, row) -> (url, label) or None: a link on a preview row
    clears_blanks: bool = False                        # commit_rows takes clear_blanks (the preview offers the choice)
    # a flow whose upload form sits on a page of its own (上报文件: the 数据交换 page): (org_id, *, error, status)
    upload_view: Callable | None = None
    batch_template: str = "imports/batch.html"         # the preview/result page (it gets the same context)
    missing_file: str = "请选择要上传的 Excel 文件"
    extra_context: Callable | None = None              # (batch, report) -> dict: more for ``batch_template``

    # ---- helpers
    def _settings(self):
        return current_settings()

    def batch(self, batch_id: int) -> ImportBatch:
        batch = batch_or_404(batch_id)
        if batch.kind != self.kind:
            abort(404)
        return batch

    @gc_paused
    def render_batch(self, batch: ImportBatch, org: Org, status: int = 200):
        from ..web.crumbs import breadcrumb
        urls = {name: url_for(self.endpoints[name], batch_id=batch.id) for name in ("commit", "cancel", "errors")}
        urls["upload_page"] = url_for(self.endpoints["upload_page"], org_id=org.id)
        urls["next"], next_label = self.next_step(org)
        report = ImportReport.from_json(batch.report)
        # a 50,000-row file must not become a 50,000-row page: the totals first, then every error row (in file
        # order), then a sample of the OK rows, a page at a time; the error workbook lists every error row
        errors, sample = report.error_rows, report.ok_rows[:OK_ROWS_SHOWN]
        listed = paginate_list(errors + sample, int_arg("page", 1) or 1, ROWS_PER_PAGE)
        return render(self.batch_template, status=status, batch=batch, org=org, crumbs=breadcrumb(org),
                      report=report, listed=listed, errors=len(errors), sampled=len(sample),
                      hidden=len(report.rows) - len(errors) - len(sample), result_shown=RESULT_ROWS_SHOWN,
                      batch_endpoint=self.endpoints["batch"],
                      labels={c.key: c.header for c in self.columns(org)},
                      what=self.what, urls=urls, result_columns=self.result_columns, next_label=next_label,
                      row_action=self.row_action, clears_blanks=self.clears_blanks,
                      **(self.extra_context(batch, report) if self.extra_context else {}))

    # ---- views
    def upload_page(self, org_id: int, *, error: str | None = None, status: int = 200):
        from ..web.crumbs import breadcrumb
        if self.upload_view is not None:
            return self.upload_view(org_id, error=error, status=status)
        org = org_or_404(org_id)
        batches = recent_batches(db.session, org.id, self.kind)
        return render_template("imports/upload.html", org=org, crumbs=breadcrumb(org), flow=self, batches=batches,
                               error=error, max_mb=current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)), status

    def template(self, org_id: int):
        org = org_or_404(org_id)
        out = template_workbook(self.columns(org), sheet=self.sheet, title=f"{org.short_name} {self.what}",
                                instructions=self.instructions(org))
        return send_file(out, as_attachment=True, download_name=f"{self.what}模板_{org.short_name}.xlsx",
                         mimetype=XLSX)

    def upload(self, org_id: int):
        org = org_or_404(org_id)
        file = request.files.get("file")
        if file is None or not file.filename:
            return self.upload_page(org_id, error=self.missing_file, status=422)

        def preview():
            try:
                return self.preview(db.session, current_actor(), org, data=file.read(),
                                    filename=clean_filename(file.filename), settings=self._settings(), now=utcnow(),
                                    include_hidden=request.form.get("include_hidden") == "1")
            except ImportFileError as exc:
                raise Unreadable(str(exc)) from None
        return form_action(None, preview,
                           rerender=lambda status, error: self.upload_page(org_id, error=error, status=status),
                           done=lambda batch: redirect(url_for(self.endpoints["batch"], batch_id=batch.id)))

    def show(self, batch_id: int):
        batch = self.batch(batch_id)
        return self.render_batch(batch, org_or_404(batch.org_id))

    def commit(self, batch_id: int):
        batch = self.batch(batch_id)
        org = org_or_404(batch.org_id)

        def refused(status: int, error: str | None):
            flash(error, "error")
            return self.render_batch(batch, org, status=status)

        def done(created):
            flash(self.success(created), "success")
            return redirect(url_for(self.endpoints["batch"], batch_id=batch.id))
        conflict_message(RACED)              # a unique key refused at the request's commit
        try:
            extra = {"clear_blanks": request.form.get("clear_blanks") == "1"} if self.clears_blanks else {}
            return form_action(None, lambda: self.commit_rows(db.session, current_actor(), batch,
                                                              mode=request.form.get("mode", ""),
                                                              settings=self._settings(), now=utcnow(), **extra),
                               rerender=refused, done=done)
        except DBAPIError as exc:
            if not raced(exc):
                raise
            db.session.rollback()
            return refused(409, RACED)

    def cancel(self, batch_id: int):
        batch = self.batch(batch_id)
        back = url_for(self.endpoints["upload_page"], org_id=batch.org_id)
        return form_action(None, lambda: cancel(db.session, current_actor(), batch),
                           rerender=lambda status, error: flash_redirect(error, back, "error"),
                           done=lambda _: flash_redirect("已取消这次导入，没有写入任何数据。", back, "info"))

    def errors(self, batch_id: int):
        batch = self.batch(batch_id)
        org = org_or_404(batch.org_id)
        report = ImportReport.from_json(batch.report)
        out = error_workbook(self.columns(org), [(r.number, r.cells, workbook_explanation(r.errors, r.note), r.sheet)
                                                 for r in report.error_rows], sheet=self.sheet)
        return send_file(out, as_attachment=True, download_name=f"导入错误_{batch.file_name.rsplit('.', 1)[0]}.xlsx",
                         mimetype=XLSX)

    def register(self, bp, *, upload_rule: str, template_rule: str | None, rules: dict[str, str] | None = None) -> None:
        """Add the seven routes to ``bp`` under the endpoint names in ``self.endpoints``. ``rules``: other URL rules
        by key (batch, commit, cancel, errors, upload); a key whose rule is None (or ``template_rule`` None) is
        not added: the blueprint serves it itself (上报文件: its upload page is the 数据交换 page, no template)."""
        from .scope import admin_required
        rules = rules or {}

        def name(key):
            return self.endpoints[key].split(".", 1)[1]

        routes = [
            (upload_rule, "upload_page", ["GET"], lambda org_id: self.upload_page(org_id)),
            (template_rule, "template", ["GET"], self.template),
            (upload_rule, "upload", ["POST"], self.upload),
            ("/imports/<int:batch_id>", "batch", ["GET"], self.show),
            ("/imports/<int:batch_id>/commit", "commit", ["POST"], self.commit),
            ("/imports/<int:batch_id>/cancel", "cancel", ["POST"], self.cancel),
            ("/imports/<int:batch_id>/errors.xlsx", "errors", ["GET"], self.errors),
        ]
        for rule, key, methods, view in routes:
            rule = rules.get(key, rule)
            if rule is None:
                continue
            bp.add_url_rule(rule, endpoint=name(key), view_func=admin_required(view), methods=methods)
