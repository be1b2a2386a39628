"""Searching people by ID number (issue 14, class 6): the full number or its last 4 only, audited, and full
numbers that find nobody are throttled per account, so the search cannot be used to try out candidate numbers."""
from __future__ import annotations

from datetime import datetime

from ..domain.people import IdSearch, classify_id_search, mask_id_number
from ..domain.settings import Settings
from . import audit, throttle
from .actor import Actor


def condition(column, search: IdSearch):
    """The SQL condition for an ID search on ``column`` (None when the query is not one)."""
    if search.kind == "full":
        return column == search.value
    if search.kind == "suffix":
        return column.endswith(search.value, autoescape=True)
    return None


def _key(actor: Actor) -> str:
    return f"idsearch:{actor.person_id}"


def blocked(session, actor: Actor, search: IdSearch, now: datetime) -> str | None:
    """The Chinese reason a full-number search may not run now (too many that found nobody), else None."""
    if search.kind != "full":
        return None
    wait = throttle.seconds_to_wait(session, _key(actor), now)
    return (f"按完整身份证号查找未找到的次数过多，请{throttle.format_wait(wait)}后再试（按姓名查找不受影响）"
            if wait else None)


def described(search: IdSearch) -> str:
    return mask_id_number(search.value) if search.kind == "full" else f"末4位 {search.value}"


def record(session, actor: Actor, *, org_id: int | None, where: str, search: IdSearch, found: int,
           settings: Settings, now: datetime) -> None:
    """Audit one ID search (the number masked) and count a full number that found nobody. Never commits."""
    if not search.is_id:
        return
    audit.record(session, actor, "member.search_id", object_type="org", object_id=org_id, org_id=org_id,
                 summary=f"在{where}中按身份证号查找（{described(search)}），找到 {found} 人",
                 after={"query": described(search), "found": found})
    if search.kind == "full" and found == 0:
        throttle.fail(session, _key(actor), throttle.code_policy(settings), now)


__all__ = ["IdSearch", "blocked", "classify_id_search", "condition", "record"]
