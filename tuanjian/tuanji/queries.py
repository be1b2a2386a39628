"""团籍 read queries (issue 27): who was a member where at the end of a given day, from ``membership_events``.

The rule is ``domain.register.place_on`` in SQL: per person, the latest event dated on or before the day (ties by
id) that is not erased; an arrival places them in its org, a departure means they were not a member that day."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import BigInteger, and_, case, cast, exists, false, func, or_, select, text, true, union_all
from sqlalchemy.orm import aliased

from .. import clock
from ..domain import register
from ..domain.orgtree import is_within
from ..domain.progress import combined_youth, youth_ratio
from ..models import CadrePost, Member, MembershipEvent, Org, Person
from ..queries import among, post_held_at, within


def _placed(day: date):
    """The events that place their person in their org at the end of ``day``: the person's latest counted event on
    or before ``day`` (``next_on``, kept by the memberships owner, is the date of the next one) and an arrival."""
    e = MembershipEvent
    return and_(e.erased == false(), e.on_date <= day, or_(e.next_on.is_(None), e.next_on > day),
                e.kind.in_(register.ARRIVING))


def whole_scope(session, org: Org) -> str | None:
    """``org.code``, or None when no org lies outside ``org``'s subtree (the root of the data): the queries below
    then skip the subtree filter, a join of millions of events to the orgs with a LIKE per row that keeps
    everything (issue 27, province root)."""
    if org.parent_id is not None or session.scalar(select(exists().where(~within(Org.code, org.code)))):
        return org.code
    return None


def _inside(stmt, org_id, scope_code: str | None, org=Org):
    """``stmt`` restricted to events/records whose ``org_id`` lies in ``scope_code``'s subtree (None: no filter)."""
    if scope_code is None:
        return stmt
    return stmt.join(org, org.id == org_id).where(within(org.code, scope_code))


def _figures_stmt(day: date, earlier: date, scope_code: str | None, *, checksum: bool = False):
    e = MembershipEvent
    arriving = e.kind.in_(register.ARRIVING)
    at_day = and_(arriving, or_(e.next_on.is_(None), e.next_on > day))
    at_earlier = and_(arriving, e.on_date <= earlier, or_(e.next_on.is_(None), e.next_on > earlier))
    in_span = e.on_date > earlier
    sums = ([func.sum(case((at_day, h), else_=0)).label(f"h{i}")
             for i, h in enumerate(_pair_hashes(e.person_id, e.org_id))] if checksum else [])
    return _inside(select(e.org_id.label("org_id"), func.sum(case((at_earlier, 1), else_=0)).label("last"),
                          func.sum(case((and_(in_span, arriving), 1), else_=0)).label("arrivals"),
                          func.sum(case((and_(in_span, ~arriving), 1), else_=0)).label("departures"),
                          func.sum(case((at_day, 1), else_=0)).label("this"), *sums)
                   .where(e.erased == false(), e.on_date <= day,
                          or_(in_span, and_(arriving, or_(e.next_on.is_(None), e.next_on > earlier)))),
                   e.org_id, scope_code).group_by(e.org_id)


def members_on(session, day: date, scope_code: str | None = None) -> dict[int, int]:
    """person id -> org id of every member at the end of ``day`` (within ``scope_code``'s subtree if given)."""
    e = MembershipEvent
    stmt = select(e.person_id, e.org_id).where(_placed(day))
    if scope_code is not None:
        stmt = stmt.join(Org, Org.id == e.org_id).where(within(Org.code, scope_code))
    session.flush()                  # Core reads below do not autoflush
    return {a: b for a, b in session.connection().execute(stmt)}


def counts_on(session, day: date, scope_code: str | None = None) -> dict[int, int]:
    """org id -> number of members at the end of ``day`` (orgs with none are absent)."""
    e = MembershipEvent
    stmt = select(e.org_id, func.count()).where(_placed(day)).group_by(e.org_id)
    if scope_code is not None:
        stmt = stmt.join(Org, Org.id == e.org_id).where(within(Org.code, scope_code))
    session.flush()
    return {a: b for a, b in session.connection().execute(stmt)}


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


# ---------------------------------------------------------------- 团内统计 facts

def _end_utc(day: date) -> datetime:
    """The end of the local ``day`` as the naive-UTC instant the DateTime columns hold."""
    return datetime.combine(day + timedelta(days=1), time()) - timedelta(hours=clock.UTC_OFFSET_HOURS)


def member_facts(session, day: date, scope_code: str | None) -> list:
    """The members at the end of ``day`` (as ``members_on``) with the person's and member record's fields, one row
    each (the brute-force tests compare ``member_groups`` with these counted in Python)."""
    from ..domain.register_stats import MemberFact
    e = MembershipEvent
    stmt = (select(Person.id, e.org_id, Person.gender, Person.ethnicity, Person.birth_date, Member.education,
                   Member.occupation, Person.political_status)
            .select_from(e).join(Person, Person.id == e.person_id)
            .outerjoin(Member, Member.person_id == e.person_id).where(_placed(day)))
    if scope_code is not None:
        stmt = stmt.join(Org, Org.id == e.org_id).where(within(Org.code, scope_code))
    session.flush()
    return [MemberFact(*row) for row in session.connection().execute(stmt)]      # Core: no ORM row overhead


def member_groups(session, day: date, scope_code: str | None, bounds, *, unrecorded: list | None = None) -> list:
    """The members at the end of ``day`` counted in SQL by every field the tables show (age group from the birth
    date compared with ``age_cutoffs``): a few thousand rows instead of one per member. ``unrecorded``: a list to
    receive, in the same pass, how many of them have no live member record in the org the events place them in
    (the first half of ``unexplained`` when ``day`` is today)."""
    from ..domain.register_stats import MemberGroup, age_cutoffs
    e = MembershipEvent
    cuts = age_cutoffs(day, bounds)
    age = case(*[(Person.birth_date > c, i) for i, c in enumerate(cuts)], else_=len(cuts)).label("age")
    off = case((or_(Member.id.is_(None), Member.deleted_at.is_not(None), Member.org_id != e.org_id), 1),
               else_=0).label("off")
    session.flush()
    conn = session.connection()
    merge = scope_code is None and conn.dialect.name == "postgresql"

    def counted(*person_range):
        """The grouped count of the members whose person id lies in ``person_range`` (lo, hi) if given."""
        on_member = Member.person_id == e.person_id
        where = [_placed(day)]
        if person_range:
            lo, hi = person_range
            where += [e.person_id >= lo, e.person_id < hi, Person.id >= lo, Person.id < hi]
            on_member = and_(on_member, Member.person_id >= lo, Member.person_id < hi)
        inner = (select(Person.gender.label("gender"), Person.ethnicity.label("ethnicity"), age,
                        Member.education.label("education"), Member.occupation.label("occupation"),
                        Person.political_status.label("political_status"), off)
                 .select_from(e).join(Person, Person.id == e.person_id).outerjoin(Member, on_member).where(*where))
        t = _inside(inner, e.org_id, scope_code).subquery("placed")
        keys = (t.c.gender, t.c.ethnicity, t.c.age, t.c.education, t.c.occupation, t.c.political_status, t.c.off)
        return select(*keys, func.count().label("n")).group_by(*keys)

    if merge:
        # every member of the data: the planner hashes people and member records (2.5M rows each at a province,
        # 11 s); events, people and records read in person order by their indexes and merged take about half. The
        # people are split into two halves by id, each merged and counted in its own process (a Parallel Append
        # of two whole plans: the scan sizes set out of reach keep the planner from splitting the scans inside)
        low, middle, high = _halves(conn)
        t = union_all(counted(low, middle), counted(middle, high)).subquery("halves")
        keys = (t.c.gender, t.c.ethnicity, t.c.age, t.c.education, t.c.occupation, t.c.political_status, t.c.off)
        stmt = select(*keys, func.sum(t.c.n)).group_by(*keys)
    else:
        stmt = counted()
    with _planner(conn, _MERGE_SETTINGS if merge else {}):
        found = conn.execute(stmt).all()
    out, off_record = [], 0
    for *row, flag, n in found:
        if not n:
            continue
        out.append(MemberGroup(*row, int(n)))
        off_record += int(n) if flag else 0
    if unrecorded is not None:
        unrecorded.append(off_record)
    return out


def _halves(conn) -> tuple[int, int, int]:
    """People ids split in two halves: (low, middle, high), high exclusive."""
    low, high = conn.execute(select(func.min(Person.id), func.max(Person.id))).one()
    low, high = (low or 0), (high or 0) + 1
    return low, (low + high) // 2, high


# PostgreSQL: merge in person order, each half of a UNION ALL in its own process (see ``member_groups``)
_MERGE_SETTINGS = {"enable_hashjoin": "off", "min_parallel_table_scan_size": "'1TB'",
                   "min_parallel_index_scan_size": "'1TB'"}


@contextmanager
def _planner(conn, settings: dict[str, str]):
    """PostgreSQL planner ``settings`` (name -> value) for the statements run inside, back to their defaults after
    them (on an error the transaction is rolled back, and the SET LOCAL with it)."""
    for name, value in settings.items():
        conn.execute(text(f"SET LOCAL {name} = {value}"))
    yield
    for name in settings:
        conn.execute(text(f"SET LOCAL {name} TO DEFAULT"))


def _pair_hashes(person_id, org_id):
    """Two 32-bit hashes of the (person, org) pair (PostgreSQL): summed over a set of pairs, with its count, a
    64-bit checksum of the set."""
    key = cast(person_id, BigInteger) * 4294967296 + org_id
    return func.hashint8(key), func.hashint8extended(key, 27).op(">>")(32)


def records_match(session, day: date, placed: tuple[int, int, int] | None = None) -> bool:
    """PostgreSQL, all the data: whether the members the events place at the end of ``day`` and the live member
    records are the same (person, org) pairs, by their count and a 64-bit checksum of each side (two scans, no
    join: about half the merge of ``unrecorded_whole``). False means they differ; True that they agree, wrong only if
    a difference happens to leave both 32-bit sums unchanged (about one chance in 2^64). On SQLite: False (the
    caller runs the exact queries)."""
    session.flush()
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return False
    e = MembershipEvent
    if placed is None:      # (the page has it from ``subtree_figures``' pass over the events)
        placed = conn.execute(select(func.count(), *map(func.sum, _pair_hashes(e.person_id, e.org_id)))
                              .where(_placed(day))).one()
    recorded = conn.execute(select(func.count(), *map(func.sum, _pair_hashes(Member.person_id, Member.org_id)))
                            .where(Member.deleted_at.is_(None))).one()
    return tuple(int(n or 0) for n in placed) == tuple(int(n or 0) for n in recorded)


def unrecorded_whole(session, day: date) -> int:
    """How many members the events place at the end of ``day`` (in all the data) have no live member record in
    that org (``member_groups``' ``unrecorded`` without the fields): every placing event read with its person's
    record, because what it looks for — a record changed directly in the database — is what no counter kept on
    write can see. On PostgreSQL merged in person order, in two halves in two processes."""
    e = MembershipEvent
    off = or_(Member.id.is_(None), Member.deleted_at.is_not(None), Member.org_id != e.org_id)
    session.flush()
    conn = session.connection()

    def counted(*person_range):
        on_member, where = Member.person_id == e.person_id, [_placed(day), off]
        if person_range:
            lo, hi = person_range
            where += [e.person_id >= lo, e.person_id < hi]
            on_member = and_(on_member, Member.person_id >= lo, Member.person_id < hi)
        return select(func.count().label("n")).select_from(e).outerjoin(Member, on_member).where(*where)

    if conn.dialect.name != "postgresql":
        return conn.execute(counted()).scalar() or 0
    low, middle, high = _halves(conn)
    t = union_all(counted(low, middle), counted(middle, high)).subquery("halves")
    with _planner(conn, _MERGE_SETTINGS):
        n = conn.execute(select(func.sum(t.c.n))).scalar() or 0
    return int(n)


# The correction of the tallies reads each mover's events, person and member record by index (or hashes them all):
# at a province, under load, about 50 µs a mover, against about 1.3 µs a member for counting everyone in SQL
# (bench/register_stats.py). With more events dated after the day than this share of the members, counting them
# all is cheaper, and the page does that.
MOVERS_SHARE = 0.02


def tallied(session, day: date, *, movers_share: float | None = MOVERS_SHARE) -> dict[tuple[str, str], int] | None:
    """The member tallies of the whole data as of the end of ``day`` ((field, value) -> n, as ``member_tallies``
    holds them; ``register_stats.tally_margins`` makes the tables' counts): the tallies kept on write count the
    people placed by their latest counted event; only people with a counted event dated after ``day`` (movers)
    can be placed otherwise at its end, so their contribution now is taken off and their contribution as of
    ``day`` added, in one grouped pass over those people alone (none when ``day`` is today and nothing is dated
    ahead; January's movers for last 31 December in January). None when the events dated after ``day`` are more
    than ``movers_share`` of the members (the caller counts the members instead; None: no limit)."""
    from ..models import MemberTally
    from ..services.owners import tallies
    session.flush()
    tallies.settle(session)            # this transaction's own writes (a reader after writes, e.g. a test)
    conn = session.connection()
    t = MemberTally.__table__
    out = {(f, v): n for f, v, n in conn.execute(select(t.c.field, t.c.value, t.c.n).where(t.c.n != 0))}
    e, later_e = MembershipEvent, aliased(MembershipEvent)
    if movers_share is not None:
        members = sum(n for (f, _), n in out.items() if f == "gender")
        # erased ones included: an upper bound read from the (on_date, person_id) index alone
        if conn.execute(select(func.count()).select_from(e).where(e.on_date > day)).scalar() > members * movers_share:
            return None
    later = (select(later_e.person_id).where(later_e.erased == false(), later_e.on_date > day).distinct()
             .subquery("later"))
    # the event placing a mover now counts -1, the one placing them at the end of ``day`` +1 (never the same
    # event: their latest is dated after ``day``)
    now_or_then = and_(e.erased == false(), e.kind.in_(register.ARRIVING),
                       or_(e.next_on.is_(None), and_(e.on_date <= day, e.next_on > day)))
    sign = case((e.next_on.is_(None), -1), else_=1)
    rows = conn.execute(tallies.placed_groups(now_or_then, count=sign, among_people=later))
    for key, n in tallies.tally_of(rows).items():
        out[key] = out.get(key, 0) + n
    return out


def kind_counts(session, start: date, end: date, scope_code: str | None) -> dict[str, int]:
    """kind -> counted events dated after ``start`` and on or before ``end`` in the subtree."""
    e = MembershipEvent
    stmt = _inside(select(e.kind, func.count())
                   .where(e.erased == false(), e.on_date > start, e.on_date <= end), e.org_id, scope_code)
    session.flush()
    return dict(session.connection().execute(stmt.group_by(e.kind)).all())


def internal_transfers(session, start: date, end: date, scope_code: str | None) -> int:
    """Transfers dated after ``start`` and on or before ``end`` from one org of the subtree to another: a 转入（县内）
    in the subtree whose person's previous counted event (by id) is a 转出（县内） of the same day in the subtree
    (``register_stats.internal_transfers`` in SQL)."""
    e_in, e_out, e_prev = aliased(MembershipEvent), aliased(MembershipEvent), aliased(MembershipEvent)
    o_in, o_out = aliased(Org), aliased(Org)
    session.flush()
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        # the previous event read once per 转入 (LATERAL, newest id first, LIMIT 1): half the work of the max(id)
        # subquery, which the planner evaluates inside a hash join over every 转出
        prev = (select(e_prev.kind, e_prev.on_date, e_prev.org_id)
                .where(e_prev.person_id == e_in.person_id, e_prev.erased == false(), e_prev.id < e_in.id)
                .order_by(e_prev.id.desc()).limit(1).lateral("prev"))
        stmt = _inside(_inside(select(func.count()).select_from(e_in).join(prev, true())
                               .where(e_in.kind == register.IN_COUNTY, e_in.erased == false(), e_in.on_date > start,
                                      e_in.on_date <= end, prev.c.kind == register.OUT_COUNTY,
                                      prev.c.on_date == e_in.on_date), e_in.org_id, scope_code, o_in),
                       prev.c.org_id, scope_code, o_out)
        return conn.execute(stmt).scalar() or 0
    previous = (select(func.max(e_prev.id)).where(e_prev.person_id == e_in.person_id, e_prev.erased == false(),
                                                  e_prev.id < e_in.id).correlate(e_in).scalar_subquery())
    paired = _inside(select(e_out.id).where(e_out.id == previous, e_out.kind == register.OUT_COUNTY,
                                            e_out.on_date == e_in.on_date), e_out.org_id, scope_code, o_out)
    stmt = _inside(select(func.count()).select_from(e_in)
                   .where(e_in.kind == register.IN_COUNTY, e_in.erased == false(), e_in.on_date > start,
                          e_in.on_date <= end), e_in.org_id, scope_code, o_in).where(exists(paired))
    return conn.execute(stmt).scalar() or 0


def org_facts(session, org: Org, day: date) -> list:
    """The orgs of ``org``'s subtree that existed at the end of ``day`` (created by then, not dissolved before)."""
    from ..domain.orgtree import KIND_LABELS, OrgKind
    from ..domain.register_stats import OrgFact
    session.flush()
    rows = session.connection().execute(select(Org.id, Org.code, Org.kind, Org.industry).where(
        _existing(org, day)))          # Core: 120,000 rows at a province
    kinds = {k.value: (KIND_LABELS[k], k.holds_members) for k in OrgKind}
    return [OrgFact(i, c, k, kinds[k][0], ind, kinds[k][1])
            for i, c, k, ind in rows]


def _existed(end: datetime):
    """The orgs that existed at the naive-UTC instant ``end``: created by then, not dissolved before."""
    return and_(Org.created_at < end, or_(Org.dissolved_at.is_(None), Org.dissolved_at >= end))


def _existing(org: Org, day: date):
    """The orgs of ``org``'s subtree that existed at the end of ``day``."""
    return and_(within(Org.code, org.code), _existed(_end_utc(day)))


def org_groups(session, org: Org, day: date) -> list:
    """``org_facts`` counted in SQL by kind label and 领域."""
    from ..domain.orgtree import KIND_LABELS, OrgKind
    from ..domain.register_stats import OrgGroup
    session.flush()
    labels = {k.value: KIND_LABELS[k] for k in OrgKind}
    return [OrgGroup(labels[k], ind, n) for k, ind, n in session.connection().execute(
        select(Org.kind, Org.industry, func.count()).where(_existing(org, day))
        .group_by(Org.kind, Org.industry)).all()]


def subtree_figures(session, org: Org, day: date, earlier: date, scope_code: str | None, *,
                    small: int, checksum: list | None = None) -> tuple[dict[str, tuple[int, int, int, int]], object]:
    """Per org: members at the end of ``earlier``, the counted arrivals and departures dated after it and on or
    before ``day``, members at the end of ``day`` (one pass over the events); added up in SQL per head code (the
    code of ``org``'s child whose subtree holds the org — a child's code is its parent's and one 3-digit segment —
    or ``org``'s own code); and the branches existing at the end of ``day`` counted by members then
    (``register_stats.BranchSizes``). A few rows instead of one per org. ``checksum`` (PostgreSQL): a list to
    receive (members at the end of ``day``, the two sums of ``_pair_hashes`` over them), ``records_match``'s events
    side, summed in the same pass."""
    from ..domain.orgtree import CODE_SEGMENT_WIDTH, OrgKind
    from ..domain.register_stats import BranchSizes
    f = _figures_stmt(day, earlier, scope_code, checksum=checksum is not None).subquery("figures")
    head = func.substr(Org.code, 1, len(org.code) + 1 + CODE_SEGMENT_WIDTH).label("head")
    end = _end_utc(day)
    branch = and_(Org.kind.in_([k.value for k in OrgKind if k.holds_members]), _existed(end))
    now = func.coalesce(f.c.this, 0)
    stmt = (select(head, *[func.sum(func.coalesce(c, 0)) for c in (f.c.last, f.c.arrivals, f.c.departures, f.c.this)],
                   func.sum(case((branch, 1), else_=0)), func.sum(case((and_(branch, now == 0), 1), else_=0)),
                   func.sum(case((and_(branch, now > 0, now < small), 1), else_=0)),
                   *([func.sum(f.c.h0), func.sum(f.c.h1)] if checksum is not None else []))
            .select_from(Org).outerjoin(f, f.c.org_id == Org.id).where(within(Org.code, org.code)).group_by(head))
    session.flush()
    sums, sizes, hashes = {}, [0, 0, 0], [0, 0]
    for code, *row in session.connection().execute(stmt).all():
        sums[code] = tuple(int(n or 0) for n in row[:4])
        sizes = [a + int(b or 0) for a, b in zip(sizes, row[4:7], strict=True)]
        hashes = [a + int(b or 0) for a, b in zip(hashes, row[7:], strict=False)]
    if checksum is not None:
        checksum.append((sum(v[3] for v in sums.values()), *hashes))
    return sums, BranchSizes(*sizes)


def _cadres_in_post(org: Org, day: date, whole: bool, *cols):
    end = _end_utc(day)
    return _inside(select(*cols).select_from(CadrePost).join(Person, CadrePost.person_id == Person.id)
                   .outerjoin(Member, Member.person_id == Person.id)
                   .where(post_held_at(end)), CadrePost.org_id, None if whole else org.code)


def cadre_facts(session, org: Org, day: date, *, whole: bool = False) -> list:
    """团干部 in post at the end of ``day`` in ``org``'s subtree, by post id (``whole``: it is all the data, see
    ``whole_scope``)."""
    from ..domain.register_stats import CadreFact
    session.flush()
    rows = session.connection().execute(_cadres_in_post(
        org, day, whole, CadrePost.person_id, CadrePost.org_id, CadrePost.nature, Person.gender, Person.birth_date,
        Member.education).order_by(CadrePost.id))
    return [CadreFact(*r) for r in rows]


def cadre_groups(session, org: Org, day: date, bounds, *, whole: bool = False) -> list:
    """``cadre_facts`` counted in SQL as ``register_stats.cadre_tables`` counts them: one per person (their post
    with the lowest id), by nature, gender, age group (``age_cutoffs``) and 文化程度."""
    from ..domain.register_stats import CadreGroup, age_cutoffs
    cuts = age_cutoffs(day, bounds)
    age = case(*[(Person.birth_date > c, i) for i, c in enumerate(cuts)], else_=len(cuts)).label("age")
    first = func.row_number().over(partition_by=CadrePost.person_id, order_by=CadrePost.id).label("rn")
    t = _cadres_in_post(org, day, whole, CadrePost.nature.label("nature"), Person.gender.label("gender"), age,
                        Member.education.label("education"), first).subquery("posts")
    keys = (t.c.nature, t.c.gender, t.c.age, t.c.education)
    session.flush()
    conn = session.connection()
    # all the data on PostgreSQL: each post's person and record looked up by index (in person order, as the window
    # wants them) rather than every person hashed (a province: 180,000 posts, 2.5 million people; 0.65–1.05 s
    # against 0.96–2.29 s by EXPLAIN ANALYZE on a quiet machine)
    lookups = whole and conn.dialect.name == "postgresql"
    with _planner(conn, {"enable_hashjoin": "off", "enable_mergejoin": "off"} if lookups else {}):
        return [CadreGroup(*row) for row in conn.execute(
            select(*keys, func.count()).where(t.c.rn == 1).group_by(*keys))]


def pure_events(session, start: date, end: date, scope_code: str) -> list[register.Event]:
    """``events_between`` as plain tuples (no ORM objects)."""
    e = MembershipEvent
    stmt = (select(e.id, e.person_id, e.org_id, e.on_date, e.kind, e.erased)
            .where(e.erased == false(), and_(e.on_date > start, e.on_date <= end)))
    if scope_code is not None:
        stmt = stmt.join(Org, Org.id == e.org_id).where(within(Org.code, scope_code))
    session.flush()
    return [register.Event(*row) for row in session.connection().execute(stmt)]


@dataclass(frozen=True)
class Unexplained:
    """A person the record places differently from the 团籍变动 (a direct edit, an old write without an event)."""
    person: Person
    by_record: Org | None
    by_events: Org | None


def unexplained(session, org: Org, today: date, placed_count: int | None = None,
                unrecorded: int | None = None, *, whole: bool = False) -> list[Unexplained]:
    """Today, in ``org``'s subtree: members whose record (``members``) and events disagree, by name, found in SQL
    (a member placed by the events whose record is elsewhere or gone; a record with no event placing them there).
    ``placed_count``: how many members the events place in the subtree today, and ``unrecorded``: how many of those
    have no live record in that org (``member_groups``), when the caller has them. An org outside the subtree is
    never named. ``whole``: the subtree is all the data (``whole_scope``)."""
    e, m = MembershipEvent, Member
    scope = None if whole else org.code
    session.flush()
    conn = session.connection()
    wrong = set() if unrecorded == 0 else set(conn.execute(_inside(
        select(e.person_id).outerjoin(m, and_(m.person_id == e.person_id, m.deleted_at.is_(None)))
        .where(_placed(today), or_(m.id.is_(None), m.org_id != e.org_id)), e.org_id, scope)).scalars())
    # the other way round only when needed: with every placed member recorded in the same org, records without an
    # event placing them exist only if there are more records than placed members (a person has one record)
    if wrong or placed_count is None or placed_count != conn.execute(_inside(
            select(func.count()).select_from(m).where(m.deleted_at.is_(None)), m.org_id, scope)).scalar():
        wrong |= set(conn.execute(_inside(
            select(m.person_id).where(m.deleted_at.is_(None),
                                      ~exists().where(e.person_id == m.person_id, e.org_id == m.org_id,
                                                      _placed(today))), m.org_id, scope)).scalars())
    if not wrong:
        return []
    ids = sorted(wrong)
    placed, recorded = {}, {}
    for cond in among(session, e.person_id, ids):
        placed.update(conn.execute(select(e.person_id, e.org_id).join(Org, Org.id == e.org_id)
                                   .where(cond, _placed(today), within(Org.code, org.code))).all())
    for cond in among(session, m.person_id, ids):
        recorded.update(conn.execute(select(m.person_id, m.org_id).join(Org, Org.id == m.org_id)
                                     .where(cond, m.deleted_at.is_(None), within(Org.code, org.code))).all())
    org_ids = [i for i in set(placed.values()) | set(recorded.values())]
    orgs = {o.id: o for o in session.scalars(select(Org).where(Org.id.in_(org_ids)))} if org_ids else {}
    people = {}
    for cond in among(session, Person.id, ids):
        people.update({p.id: p for p in session.scalars(select(Person).where(cond))})
    return sorted((Unexplained(people[p], orgs.get(recorded.get(p)), orgs.get(placed.get(p))) for p in ids),
                  key=lambda u: u.person.name)


@dataclass
class Statistics:
    org: Org
    day: date
    last_day: date
    member_tables: list
    change_tables: list
    org_tables: list
    cadre_tables: list
    comparison: list             # (child org or the org itself, register_stats.Comparison)
    total: object                # the org's own Comparison, net of the transfers between its subordinates
    unexplained: list
    internal: int = 0            # transfers between two orgs of the subtree in the year (off the total both ways)
    youth: dict = field(default_factory=dict)     # child org id -> its own 14–28周岁青年数 (None: not recorded)
    total_youth: tuple = (None, 0)                # (youth, members counted against it) of the total row

    def ratio(self, members: int, youth: int | None) -> float | None:
        return youth_ratio(members, youth)


def tune(session) -> None:
    """PostgreSQL settings for the 团内统计's queries, for the rest of the transaction: a province joins millions
    of events, people and member records, so hash tables may take 256 MB; and no JIT compilation (at these costs
    it compiles and optimises each query, 0.1-0.2 s a query, more than it saves on a few million rows)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL work_mem = '256MB'"))
        session.execute(text("SET LOCAL jit = off"))


def statistics(session, org: Org, day: date, *, age_bounds, small: int, use_tallies: bool = True) -> Statistics:
    """团内统计 of ``org``'s subtree as of the end of ``day``, compared with the same day a year before. Counted in
    SQL: members at both dates (``next_on`` filter, no window) and the year's arrivals and departures per org in
    one pass over the events, added up per subordinate with the branches' sizes; the members' fields, the orgs and
    the cadres each in one grouped query; the year's events by kind. Python gets a few hundred rows. For the whole
    data (a province root) the members' fields come from the tallies kept on write (``tallied``) instead of
    reading every member, unless many events are dated after ``day`` (then they are counted in SQL as for any other
    org); ``use_tallies=False`` always counts them (the bench's comparison)."""
    from ..domain import register_stats as rs
    try:
        last_day = day.replace(year=day.year - 1)
    except ValueError:
        last_day = date(day.year - 1, 2, 28)
    today = clock.local_today()
    tune(session)
    scope = whole_scope(session, org)
    # the whole data today, on PostgreSQL: the pass over the events also sums the checksum of the placed members
    # (the record check, ``records_match``)
    placed_check = ([] if scope is None and use_tallies and day == today
                    and session.get_bind().dialect.name == "postgresql" else None)
    sums, sizes = subtree_figures(session, org, day, last_day, scope, small=small, checksum=placed_check)
    kinds = kind_counts(session, last_day, day, scope)
    internal = internal_transfers(session, last_day, day, scope)
    children = list(session.scalars(select(Org).where(Org.parent_id == org.id).order_by(Org.sort_order, Org.code)))
    compared = {c.org_id: c for c in rs.compare_heads(sums, [(c.id, c.code) for c in children], org.id)}
    rows = [(c, compared[c.id]) for c in children
            if not c.is_dissolved or any(getattr(compared[c.id], k)
                                         for k in ("last", "arrivals", "departures", "this"))]
    total = rs.net_of_internal(compared[org.id], internal)
    youth = {c.id: c.youth_count for c, _ in rows}
    unrecorded: list[int] = []
    # the whole data (a province root): the tallies kept on write, not millions of members read
    tally = tallied(session, day) if scope is None and use_tallies else None
    matched = False
    if tally is not None:
        member_tables = rs.margin_member_tables(rs.tally_margins(tally, day, age_bounds), age_bounds)
        if day == today:
            # the record check: the placed members and the live records compared by checksum; named only if they
            # differ (by the exact queries)
            matched = records_match(session, day, placed_check[0] if placed_check else None)
            if not matched:
                unrecorded.append(unrecorded_whole(session, day))
    else:
        member_tables = rs.grouped_member_tables(
            member_groups(session, day, scope, age_bounds, unrecorded=unrecorded if day == today else None),
            age_bounds)
    return Statistics(org, day, last_day, member_tables,
                      rs.kind_tables(kinds, internal),
                      rs.grouped_org_tables(org_groups(session, org, day), sizes, small=small),
                      rs.grouped_cadre_tables(cadre_groups(session, org, day, age_bounds, whole=scope is None),
                                              age_bounds),
                      rows, total, [] if matched else unexplained(
                          session, org, today, total.this if day == today else None,
                          unrecorded[0] if unrecorded else None, whole=scope is None),
                      internal, youth,
                      combined_youth(org.youth_count, total.this, [(r.this, youth[c.id]) for c, r in rows]))


def snapshot_of(session, org: Org, day: date):
    from ..models import RegisterSnapshot
    return session.scalar(select(RegisterSnapshot).where(RegisterSnapshot.org_id == org.id,
                                                         RegisterSnapshot.on_date == day))


@dataclass(frozen=True)
class Correction:
    """A 团籍变动 written after a freeze, dated on or before the frozen day (it changes the figure as it stands now,
    not the one reported)."""
    on: date
    label: str
    person: Person
    org: Org
    erased: bool
    written: datetime


def corrections(session, org: Org, day: date, frozen_at: datetime) -> list[Correction]:
    e = MembershipEvent
    rows = session.execute(select(e, Person, Org).join(Person, e.person_id == Person.id)
                           .join(Org, e.org_id == Org.id)
                           .where(within(Org.code, org.code), e.on_date <= day, e.created_at > frozen_at)
                           .order_by(e.on_date, e.id)).all()
    return [Correction(ev.on_date, register.label(ev.kind), p, o, ev.erased, ev.created_at) for ev, p, o in rows]


def roll_rows(session, org: Org, day: date) -> list[tuple[Person, Org]]:
    """Every member of ``org``'s subtree at the end of ``day`` with their branch then, by branch code and name."""
    placed = members_on(session, day, org.code)
    if not placed:
        return []
    people = {}
    for cond in among(session, Person.id, list(placed)):
        people.update({p.id: p for p in session.scalars(select(Person).where(cond))})
    orgs = {o.id: o for o in session.scalars(select(Org).where(Org.id.in_(set(placed.values()))))}
    return sorted(((people[p], orgs[o]) for p, o in placed.items()), key=lambda r: (r[1].code, r[0].name))
