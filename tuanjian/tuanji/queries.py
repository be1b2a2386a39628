"""团籍 read queries (issue 27): who was a member where at the end of a given day, from ``membership_events``.

The rule is ``domain.register.place_on`` in SQL: per person, the latest event dated on or before the day (ties by
id) that is not erased; an arrival places them in its org, a departure means they were not a member that day."""
from __future__ import annotations

from datetime import date

from sqlalchemy import and_, false, func, select

from ..domain import register
from ..models import MembershipEvent, Org
from ..queries import within


def _latest(day: date):
    e = MembershipEvent
    rn = func.row_number().over(partition_by=e.person_id, order_by=(e.on_date.desc(), e.id.desc())).label("rn")
    return (select(e.person_id, e.org_id, e.kind, rn)
            .where(e.erased == false(), e.on_date <= day).subquery("latest"))


def members_on(session, day: date, scope_code: str | None = None) -> dict[int, int]:
    """person id -> org id of every member at the end of ``day`` (within ``scope_code``'s subtree if given)."""
    t = _latest(day)
    stmt = select(t.c.person_id, t.c.org_id).where(t.c.rn == 1, t.c.kind.in_(register.ARRIVING))
    if scope_code is not None:
        stmt = stmt.join(Org, Org.id == t.c.org_id).where(within(Org.code, scope_code))
    return {a: b for a, b in session.execute(stmt)}


def counts_on(session, day: date, scope_code: str | None = None) -> dict[int, int]:
    """org id -> number of members at the end of ``day`` (orgs with none are absent)."""
    t = _latest(day)
    stmt = (select(t.c.org_id, func.count()).where(t.c.rn == 1, t.c.kind.in_(register.ARRIVING))
            .group_by(t.c.org_id))
    if scope_code is not None:
        stmt = stmt.join(Org, Org.id == t.c.org_id).where(within(Org.code, scope_code))
    return {a: b for a, b in session.execute(stmt)}


def events_between(session, start: date, end: date, scope_code: str | None = None) -> list[MembershipEvent]:
    """The counted events dated after ``start`` and on or before ``end`` (a year's changes: start = 31 Dec of the
    year before)."""
    e = MembershipEvent
    stmt = select(e).where(e.erased == false(), and_(e.on_date > start, e.on_date <= end))
    if scope_code is not None:
        stmt = stmt.join(Org, Org.id == e.org_id).where(within(Org.code, scope_code))
    return list(session.scalars(stmt.order_by(e.on_date, e.id)))
