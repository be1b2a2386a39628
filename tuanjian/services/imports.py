"""Import batches: validate everything into a pending batch, then commit all valid rows in one transaction."""
from __future__ import annotations

import functools
import gc
import hashlib
from datetime import datetime

from sqlalchemy import select

from ..domain import policy
from ..domain.errors import Conflict, ValidationFailed
from ..domain.imports import ImportReport
from ..domain.org_import import HERE, ExistingOrg
from ..domain.org_import import READ_COLUMNS as ORG_COLUMNS
from ..domain.org_import import validate_rows as validate_org_rows
from ..domain.orgtree import OrgKind
from ..domain.settings import Settings
from ..domain.vocabulary import FILE_KINDS
from ..models import ImportBatch, Org
from ..spreadsheets.reader import Book, read_sheet
from . import audit
from .actor import Actor
from .orgs import add_org

ALL_OR_NOTHING, VALID_ONLY = "all", "valid"


def gc_paused(fn):
    """Run ``fn`` with the cyclic garbage collector paused. A large import allocates hundreds of thousands of
    small dicts that all stay alive until the end, so every automatic collection walks them all again (a
    measured 2-3× slow-down of JSON loading); reference counting still frees everything that is dropped."""
    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()
    return wrapped
ORG_SHEET = "下级组织"


def _validate(session, parent: Org, rows, settings: Settings) -> ImportReport:
    """Validate against the live tree below ``parent`` (read once; the domain rule makes no queries)."""
    from ..queries import within
    live = list(session.scalars(select(Org).where(within(Org.code, parent.code), Org.dissolved_at.is_(None))))
    children: dict[int, set[str]] = {}
    for o in live:
        if o.parent_id is not None:
            children.setdefault(o.parent_id, set()).add(o.short_name)
    here = ExistingOrg(HERE, parent.org_kind, frozenset(children.get(parent.id, ())))
    below: dict[str, list[ExistingOrg]] = {}
    for o in live:
        if o.id != parent.id:
            below.setdefault(o.short_name, []).append(
                ExistingOrg(f"org:{o.id}", o.org_kind, frozenset(children.get(o.id, ()))))
    return validate_org_rows(rows, here=here, below=below, placement=settings.placement)


def new_batch(session, actor: Actor, org: Org, *, kind: str, data: bytes, filename: str,
              report: ImportReport | dict, now: datetime, keep_ok_cells: int | None = None) -> ImportBatch:
    """A pending batch holding the validated rows until the user confirms or cancels. ``report``: the rows'
    ImportReport, or (for a 上报文件, which has no rows of a sheet) the checked content as stored JSON."""
    batch = ImportBatch(kind=kind, org_id=org.id, created_by_id=actor.person_id, created_at=now,
                        file_name=(filename or "")[:200], file_sha256=hashlib.sha256(data).hexdigest(),
                        status="pending")
    if isinstance(report, dict):
        batch.report = report
    else:
        batch.store_report(report, keep_ok_cells=keep_ok_cells)
    session.add(batch)
    session.flush()
    return batch


def check_pending(batch: ImportBatch, message: str | None = None) -> None:
    """A batch is committed once: ``message`` (Conflict) when it has been committed or cancelled already (by
    default: 这批数据已经导入／取消，不能再次导入)."""
    if batch.status != "pending":
        done = "导入" if batch.status == "committed" else "取消"
        raise Conflict(message or f"这批数据已经{done}，不能再次导入")


def mark_committed(batch: ImportBatch, *, now: datetime, result: dict | None = None) -> None:
    """The end of a batch's life when its rows were written: ``result`` is what the commit did (None: set later)."""
    batch.status, batch.committed_at = "committed", now
    if result is not None:
        batch.result = result


def check_may_import_children(actor: Actor, parent: Org) -> None:
    policy.require("org.create_child", actor.scope_code, parent.code)


def preview_org_children(session, actor: Actor, parent: Org, *, data: bytes, filename: str,
                         settings: Settings, now: datetime, include_hidden: bool = False) -> ImportBatch:
    check_may_import_children(actor, parent)
    sheet = read_sheet(data, filename, ORG_COLUMNS, required=("short_name", "kind"), prefer_sheet=ORG_SHEET,
                       max_rows=settings.import_max_rows, kinds=FILE_KINDS, own_kind="org_children",
                       include_hidden=include_hidden)
    if not sheet.rows:
        raise ValidationFailed.single("file", "表格中没有数据行：请在模板的“下级组织”工作表中从第2行起填写")
    report = _validate(session, parent, sheet.rows, settings)
    report.meta = {"unused_columns": sheet.unknown_headers, "layout_notices": Book([sheet]).layout_notices}
    return new_batch(session, actor, parent, kind="org_children", data=data, filename=filename, report=report, now=now)


def commit_org_children(session, actor: Actor, batch: ImportBatch, *, mode: str, settings: Settings,
                        now: datetime) -> list[Org]:
    """Re-validate against the current tree (another admin may have added children meanwhile), then create
    the rows in this one transaction: all valid rows, or nothing when ``mode`` is all-or-nothing."""
    parent = session.get(Org, batch.org_id)
    check_may_import_children(actor, parent)
    check_pending(batch)
    if mode not in (ALL_OR_NOTHING, VALID_ONLY):
        raise ValidationFailed.single("mode", "请选择导入方式")
    from ..spreadsheets.reader import RawRow
    stored = ImportReport.from_json(batch.report)
    report = _validate(session, parent, [RawRow(r.number, r.cells) for r in stored.rows], settings)
    report.meta = stored.meta
    if mode == ALL_OR_NOTHING and report.error_rows:
        raise Conflict(f"有 {len(report.error_rows)} 行有错误，按“全部无误才导入”的选择，本次没有导入任何数据；"
                       "请下载错误表修改后重新上传")
    created = []
    made: dict[str, Org] = {}                  # "row:<n>" -> the org created for that row (parents come first)
    for row in report.ok_rows:
        ref = row.data["parent"]
        target = parent if ref == HERE else made[ref] if ref.startswith("row:") else session.get(Org, int(ref[4:]))
        org = add_org(session, actor, target, short_name=row.data["short_name"], kind=OrgKind(row.data["kind"]),
                      settings=settings, is_township=row.data["is_township"])
        made[f"row:{row.number}"] = org
        created.append(org)
    batch.store_report(report)
    mark_committed(batch, now=now, result={"created": [{"id": o.id, "code": o.code, "short_name": o.short_name,
                                                        "parent": o.parent.short_name} for o in created],
                                           "skipped": len(report.error_rows), "mode": mode})
    audit.record(session, actor, "import.org_children", object_type="import_batch", object_id=batch.id,
                 org_id=parent.id, summary=f"批量创建下级组织：{batch.file_name}，新建 {len(created)} 个，"
                                           f"未导入 {len(report.error_rows)} 行",
                 after={"created": len(created), "skipped": len(report.error_rows)})
    return created


def cancel(session, actor: Actor, batch: ImportBatch) -> None:
    check_pending(batch, "这批数据已经处理，不能取消")
    batch.status = "cancelled"
    audit.record(session, actor, "import.cancel", object_type="import_batch", object_id=batch.id, org_id=batch.org_id,
                 summary=f"取消导入：{batch.file_name}（没有写入任何数据）")
