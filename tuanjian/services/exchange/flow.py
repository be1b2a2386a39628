"""A 上报文件 as an import batch (``services.imports`` lifecycle, the web's ``ImportFlow``): preview into a pending
batch with an import report (every row's outcome, the same totals, the error rows for the error workbook), then
commit it once, planned again against the current data, or cancel it.

A package is applied whole or not at all: while any row has an error, the commit is refused and nothing is
written. The committing admin may be another admin of the same organisation (as for every import): the plan is
made again with the committer's reach, and the audit log names the committer.
"""
from __future__ import annotations

from datetime import datetime

from ...domain.exchange import PackageConflict
from ...domain.imports import OK_ROWS_SHOWN
from ...models import ImportBatch, Org
from ..actor import Actor
from ..imports import check_pending, mark_committed, new_batch
from .apply import Applied, apply_plan
from .plan import plan_import, to_report
from .wire import from_batch_report, read_package, to_batch_report

BATCH_KIND = "package"
ALREADY_APPLIED = "这份上报文件已处理过，不能再次导入。需要时请重新上传。"
SHOWN_PROBLEMS = 5


def preview_package(session, actor: Actor, importer: Org, *, data: bytes, filename: str, settings, now: datetime,
                    default_key: str | None = None) -> ImportBatch:
    """Read, verify and plan a 上报文件 (a package that does not belong here is refused now), and keep it as a
    pending batch: the report of every row (the labels of the error rows and of the preview's sample of the rest,
    as for a member import), and the verified content for the commit."""
    incoming = read_package(session, importer, data, default_key=default_key)
    plan = plan_import(session, actor, importer, incoming, settings=settings, collect=True)
    batch = new_batch(session, actor, importer, kind=BATCH_KIND, data=data, filename=filename or "上报文件.zip",
                      report=to_report(plan), now=now, keep_ok_cells=OK_ROWS_SHOWN)
    batch.report = {**batch.report, "package": to_batch_report(incoming)}
    return batch


def commit_package(session, actor: Actor, batch: ImportBatch, *, settings, now: datetime, mode: str = "") -> Applied:
    """Apply a pending 上报文件 batch, planned again against the current data, and close the batch. ``mode`` is
    ignored: a package is applied whole."""
    check_pending(batch, ALREADY_APPLIED)
    importer = session.get(Org, batch.org_id)
    stored = batch.report.get("package", batch.report)          # batches stored before the report held rows
    plan = plan_import(session, actor, importer, from_batch_report(stored), settings=settings, collect=True)
    if plan.problems:
        shown = "；".join(p.message for p in plan.problems[:SHOWN_PROBLEMS])
        more = f"；另有 {len(plan.problems) - SHOWN_PROBLEMS} 处" if len(plan.problems) > SHOWN_PROBLEMS else ""
        raise PackageConflict(f"上报文件中有 {len(plan.problems)} 处错误，上报文件只能整份导入，没有导入任何数据："
                              f"{shown}{more}。请下载错误表交下级组织改正，重新导出上报文件后再上传。")
    result = apply_plan(session, actor, plan, now=now)
    mark_committed(batch, now=now, result={"totals": result.totals, "changed": result.changed})
    return result
