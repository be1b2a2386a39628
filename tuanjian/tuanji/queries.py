"""团籍 read queries (issue 27): who was a member where at the end of a given day, from ``membership_events``.

The rule is ``domain.register.place_on`` in SQL: per person, the latest event dated on or before the day (ties by
id) that is not erased; an arrival places them in its org, a departure means they were not a member that day."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, exists, false, func, select

from ..domain import register
from ..models import CadrePost, Member, MembershipEvent, Org, Person
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


@dataclass(frozen=True)
class QueueRow:
    member: Member
    person: Person
    branch: Org
    turns: date              # the 28th birthday: the date of the 超龄离团
    status: str              # register.DUE / OVERDUE / EXEMPT
    kind: str                # 超龄离团 or 入党后年满28周岁离团
    holds_post: bool

    @property
    def status_label(self) -> str:
        return register.QUEUE_LABELS[self.status]

    @property
    def kind_label(self) -> str:
        return register.label(self.kind)


def overage_queue(session, org: Org, *, today: date, years: int,
                  horizon_days: int = register.QUEUE_DAYS) -> list[QueueRow]:
    """The 超龄 queue of ``org``'s subtree: members who turn ``years`` within ``horizon_days`` or already have
    (overdue first, then by date), with the exempt cadres listed too."""
    from ..domain.members import overage_cutoff
    cutoff = overage_cutoff(today + timedelta(days=horizon_days), years)
    has_post = exists().where(CadrePost.person_id == Member.person_id, CadrePost.ended_at.is_(None))
    rows = session.execute(
        select(Member, Person, Org, has_post.label("holds_post")).join(Person, Member.person_id == Person.id)
        .join(Org, Member.org_id == Org.id)
        .where(Member.deleted_at.is_(None), Person.birth_date <= cutoff, within(Org.code, org.code))).all()
    out = []
    for member, person, branch, holds in rows:
        status = register.queue_status(person.birth_date, today, holds_post=bool(holds), years=years,
                                       horizon_days=horizon_days)
        if status is None:
            continue
        out.append(QueueRow(member, person, branch, register.overage_day(person.birth_date, years), status,
                            register.overage_kind(person.political_status), bool(holds)))
    order = {register.OVERDUE: 0, register.DUE: 1, register.EXEMPT: 2}
    out.sort(key=lambda r: (order[r.status], r.branch.code, r.turns, r.person.name))
    return out


def counts_by_child(session, org: Org, day: date) -> tuple[list[tuple[Org, int]], int]:
    """(each live direct child with its subtree's members at the end of ``day``, the org's own total)."""
    from ..domain.orgtree import is_within
    counts = counts_on(session, day, org.code)
    codes = {}
    ids = list(counts)
    if ids:
        codes = {i: c for i, c in session.execute(select(Org.id, Org.code).where(Org.id.in_(ids)))}
    children = list(session.scalars(select(Org).where(Org.parent_id == org.id).order_by(Org.sort_order, Org.code)))
    out = [(c, sum(n for i, n in counts.items() if is_within(codes[i], c.code))) for c in children]
    return [(c, n) for c, n in out if n or not c.is_dissolved], sum(counts.values())


@dataclass(frozen=True)
class RollRow:
    person: Person
    member: Member | None


def roll_names(session, branch: Org, day: date) -> list[RollRow]:
    """The members of ``branch`` at the end of ``day``, by name."""
    placed = [p for p, o in members_on(session, day, branch.code).items() if o == branch.id]
    if not placed:
        return []
    rows = session.execute(select(Person, Member).outerjoin(Member, Member.person_id == Person.id)
                           .where(Person.id.in_(placed)).order_by(Person.name)).all()
    return [RollRow(p, m) for p, m in rows]
