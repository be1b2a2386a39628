"""纸质采集表 and 核对表 for a branch without a computer (issue 26.5, seed notice 000): printing the 核对表 (the
branch's members, ID numbers masked) is recorded in the audit log like every print. Services never commit."""
from __future__ import annotations

from ..domain import policy
from ..models import Org
from . import audit
from .actor import Actor


def record_check_sheet(session, actor: Actor, branch: Org, count: int) -> None:
    policy.require("org.view", actor.scope_code, branch.code)
    audit.record(session, actor, "member.print_check", object_type="org", object_id=branch.id, org_id=branch.id,
                 summary=f"打印团员核对表：{branch.short_name}（{count} 人，身份证号码部分隐藏）",
                 after={"count": count})
