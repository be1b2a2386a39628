"""The pending import batch of a 上报文件 (``services.imports`` lifecycle): upload, then apply or cancel."""
from __future__ import annotations

from datetime import datetime

from ...models import Org
from ..actor import Actor
from .apply import Applied, apply_plan
from .plan import plan_import
from .wire import from_batch_report, read_package, to_batch_report

BATCH_KIND = "package"
ALREADY_APPLIED = "这份上报文件已处理过，不能再次导入。需要时请重新上传。"


def upload_package(session, actor: Actor, importer: Org, data: bytes, *, filename: str, settings, now: datetime,
                   default_key: str | None = None):
    """Read, verify and check a 上报文件 (refused now rather than at the preview), and keep it as a pending import
    batch (``services.imports``) until the admin applies or cancels it."""
    from ..imports import new_batch
    incoming = read_package(session, importer, data, default_key=default_key)
    plan_import(session, actor, importer, incoming, settings=settings)
    return new_batch(session, actor, importer, kind=BATCH_KIND, data=data, filename=filename or "上报文件.zip",
                     report=to_batch_report(incoming), now=now)


def apply_batch(session, actor: Actor, importer: Org, batch, *, settings, now: datetime) -> Applied:
    """Apply a pending 上报文件 batch, planned again against the current data, and close the batch."""
    from ..imports import check_pending, mark_committed
    check_pending(batch, ALREADY_APPLIED)
    plan = plan_import(session, actor, importer, from_batch_report(batch.report), settings=settings)
    result = apply_plan(session, actor, plan, now=now)
    mark_committed(batch, now=now, result={"totals": result.totals, "changed": result.changed})
    return result

