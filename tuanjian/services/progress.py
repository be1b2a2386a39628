"""录入进度: one row per direct subordinate, each summed over that subordinate's whole subtree, plus totals;
and the 红旗项 exception lists. Reads committed data only: sums of OrgStats rows (kept current by
services/stats.py) plus live look-ups for the facts that change with the calendar (expired registration codes, and
超龄 when the stored counts are of an earlier day). Reading the page writes nothing that lasts: it never commits."""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Integer, and_, bindparam, case, func, not_, or_, select, text

from ..domain.orgtree import CODE_SEGMENT_WIDTH, OrgKind
from ..domain.progress import EXCEPTION_KEYS, SORT_KEYS, Tally, combined_youth, completion
from ..models import Member, Org, OrgStats, Person, RegistrationCode, utcnow
from ..queries import live_children, within, within_bound, within_params
from . import stats

log = logging.getLogger(__name__)
ORG_EXCEPTIONS = ("empty_branches", "small_branches", "large_branches", "hollow_committees", "no_secretary",
                  "no_cadre_branches", "no_admin", "no_school_code", "school_no_branch")


@dataclass
class Row:
    org: Org                                   # the direct subordinate (or the org itself for the totals row)
    tally: Tally
    exceptions: dict[str, int] = field(default_factory=dict)
    has_children: bool = False
    rank: int = 0


@dataclass
class Progress:
    org: Org
    rows: list[Row]                           # one per direct subordinate, each over its whole subtree
    own: Row                                  # the organisation itself alone (本级)
    totals: Row                               # everything: the subordinates and the organisation itself
    as_of: datetime


def _is_branch():
    return OrgStats.kind == OrgKind.BRANCH.value


def _count(cond):
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def exception_conditions(settings) -> dict:
    """SQL conditions on Org joined to OrgStats for the organisation exceptions (one place for list and count)."""
    b, s = _is_branch(), OrgStats
    return {"empty_branches": and_(b, s.members == 0),
            "small_branches": and_(b, s.members > 0, s.members < settings.branch_complete_min_members),
            "large_branches": and_(b, s.members > settings.branch_large_members),
            "hollow_committees": and_(s.kind.in_([OrgKind.COMMITTEE.value, OrgKind.WORKING.value,
                                                  OrgKind.GENERAL_BRANCH.value]), s.branches_below == 0),
            "no_secretary": not_(s.has_secretary),
            "no_cadre_branches": and_(b, s.cadres == 0),
            "no_admin": s.admins == 0,
            # seed notice 002: the two lists of schools (the organisation standing for a whole school)
            "no_school_code": and_(s.school_unit, not_(s.has_school_code)),
            "school_no_branch": and_(s.school_unit, s.has_school_code, not_(b), s.branches_below == 0)}


def _stale_codes_condition(now: datetime):
    return and_(RegistrationCode.used_at.is_(None), RegistrationCode.revoked_at.is_(None),
                RegistrationCode.expires_at < now)


def _bring_current(session, org: Org, settings, *, look_for_missing: bool) -> None:
    """Rows computed under other rules settings are recomputed; with ``look_for_missing``, organisations without a
    row (data older than this feature) get one. In the caller's transaction, never committed: a page view writes
    nothing that lasts (the next write through the app stores them, or ``flask refresh-stats`` all at once)."""
    tag = stats.rules_tag(settings)
    stale = select(Org.id).outerjoin(OrgStats, OrgStats.org_id == Org.id).where(
        within(Org.code, org.code), Org.dissolved_at.is_(None),
        or_(OrgStats.org_id.is_(None), OrgStats.rules != tag) if look_for_missing else OrgStats.rules != tag)
    ids = list(session.scalars(stale))
    if ids:
        log.warning("录入进度：%d 个组织的统计不是按当前规则算的，本次临时重算（不保存）；"
                    "请运行 flask refresh-stats", len(ids))
        stats.refresh(session, ids, settings=settings)


def _live_overage(session, org: Org, *, settings, today: date, width: int) -> dict[str, int]:
    """超龄 members as of ``today`` by direct subordinate (the key of ``_grouped``), counted from the members, for
    when some stored counts are of an earlier day (``flask recount-overage`` stores today's): one read, no write."""
    key = func.substr(OrgStats.code, 1, width)
    return dict(session.execute(
        select(key, func.count()).select_from(Member).join(Person, Member.person_id == Person.id)
        .join(OrgStats, OrgStats.org_id == Member.org_id)
        .where(within(OrgStats.code, org.code), stats.overage_condition(today, settings)).group_by(key)).all())


_GROUPED: dict[int, tuple] = {}          # id(settings) → (settings, the statement of _grouped), built once


def _grouped_statement(settings):
    """The statement of ``_grouped`` for these rules settings, built once (30 columns of CASE expressions cost more
    to build than to run); the subtree, the width of its key, the rules tag and the day are its parameters."""
    cached = _GROUPED.get(id(settings))
    if cached is not None and cached[0] is settings:
        return cached[1]
    s, b = OrgStats, _is_branch()
    key = func.substr(s.code, 1, bindparam("width", type_=Integer))
    tag, today = bindparam("tag", type_=s.rules.type), bindparam("today", type_=s.overage_on.type)
    columns = [
        func.count().label("orgs"), _count(b).label("branches"), _count(s.admins > 0).label("with_admin"),
        _count(s.info_complete).label("info_complete"), func.coalesce(func.sum(s.members), 0).label("members"),
        func.coalesce(func.sum(s.complete_members), 0).label("complete_members"),
        _count(and_(b, s.members >= settings.branch_complete_min_members, s.complete_members == s.members))
        .label("branches_done"),
        _count(not_(b)).label("non_branches"),
        _count(and_(not_(b), s.complete_cadres >= settings.cadre_target)).label("cadres_ok"),
        func.coalesce(func.sum(s.bad_dev_numbers), 0).label("bad_dev_number"),
        func.coalesce(func.sum(s.overage), 0).label("overage"),
        func.coalesce(func.sum(s.unconfirmed), 0).label("unconfirmed"),
        # the youth count of the group's top organisation (the direct subordinate, or the org itself)
        func.max(case((s.code == key, s.youth), else_=None)).label("youth"), func.max(s.updated_at).label("updated_at"),
        # rows computed under other rules (recomputed first); 超龄 counted on another day (counted live instead)
        _count(s.rules != tag).label("stale"),
        _count(or_(s.overage_on.is_(None), s.overage_on != today)).label("stale_overage"),
        *[_count(cond).label(name) for name, cond in exception_conditions(settings).items()],
    ]
    stmt = select(key.label("key"), *columns).where(within_bound(s.code, "scope")).group_by(key)
    _GROUPED[id(settings)] = (settings, stmt)
    return stmt


def _grouped(session, org: Org, *, settings, today: date, width: int) -> dict:
    """Sums of the subtree's OrgStats rows by direct subordinate: one scan of org_stats, no join."""
    params = {"width": width, "tag": stats.rules_tag(settings), "today": today, **within_params("scope", org.code)}
    return {r.key: r for r in session.execute(_grouped_statement(settings), params)}


@functools.cache
def _stale_codes_statement():
    """Unused registration codes past their expiry by direct subordinate (the key of ``_grouped``), built once."""
    key = func.substr(Org.code, 1, bindparam("width", type_=Integer))
    return (select(key, func.count()).select_from(RegistrationCode)
            .join(Org, RegistrationCode.org_id == Org.id)
            .where(within_bound(Org.code, "scope"), Org.dissolved_at.is_(None),
                   _stale_codes_condition(bindparam("now", type_=RegistrationCode.expires_at.type)))
            .group_by(key))


def progress(session, org: Org, *, settings, now: datetime, today: date, check_current: bool = True) -> Progress:
    """One row per live direct subordinate (the org itself groups under its own code: the 本级 row)."""
    width = len(org.code) + 1 + CODE_SEGMENT_WIDTH
    if session.get_bind().dialect.name == "postgresql":
        # the planner cannot know that a province has few direct subordinates: let it sort them in memory
        session.execute(text("SET LOCAL work_mem = '32MB'"))
    grouped = _grouped(session, org, settings=settings, today=today, width=width)
    # every live org has a row once it has been written through the app; a database older than this feature
    # (or a restored copy) may lack them: the org's own missing row is the sign to look for the others
    missing = org.code not in grouped
    if check_current and (missing or any(r.stale for r in grouped.values())):
        _bring_current(session, org, settings, look_for_missing=missing)
        grouped = _grouped(session, org, settings=settings, today=today, width=width)
    overage = None
    if check_current and any(r.stale_overage for r in grouped.values()):
        overage = _live_overage(session, org, settings=settings, today=today, width=width)
    codes = dict(session.execute(_stale_codes_statement(),
                                 {"width": width, "now": now, **within_params("scope", org.code)}).all())
    children = live_children(session, org.id)
    with_children = set(session.scalars(select(Org.parent_id).where(
        Org.parent_id.in_([c.id for c in children]), Org.dissolved_at.is_(None)).distinct())) if children else set()
    def extra(code: str) -> dict:
        found = {"stale_codes": codes.get(code, 0)}
        if overage is not None:
            found["overage"] = overage.get(code, 0)
        return found
    rows = [_row(child, grouped.get(child.code), extra(child.code), child.id in with_children) for child in children]
    own = _row(org, grouped.get(org.code), extra(org.code), bool(children))
    own_youth = own.tally.youth
    own.tally.youth, own.tally.youth_members = None, 0     # the org's youth covers its whole area, not 本级 alone
    totals = _sum_rows(org, [*rows, own])
    totals.tally.youth, totals.tally.youth_members = combined_youth(
        own_youth, totals.tally.members, [(r.tally.members, r.tally.youth) for r in rows])
    for rank, row in enumerate(sorted(rows, key=lambda r: -completion(r.tally)), start=1):
        row.rank = rank
    return Progress(org=org, rows=rows, own=own, totals=totals, as_of=now)


def _row(org: Org, r, extra: dict, has_children: bool) -> Row:
    if r is None:                         # cannot happen for a live org (it counts itself), kept for safety
        return Row(org, Tally(), {k: 0 for k in EXCEPTION_KEYS}, has_children)
    exceptions = {k: int(getattr(r, k)) for k in ORG_EXCEPTIONS}
    exceptions["bad_dev_number"] = int(r.bad_dev_number)
    exceptions["overage"] = int(r.overage)
    exceptions["unconfirmed"] = int(r.unconfirmed)
    exceptions.update(extra)
    tally = Tally(orgs=r.orgs, branches=int(r.branches), with_admin=int(r.with_admin),
                  info_complete=int(r.info_complete), members=int(r.members), complete_members=int(r.complete_members),
                  branches_done=int(r.branches_done), non_branches=int(r.non_branches), cadres_ok=int(r.cadres_ok),
                  exceptions=sum(exceptions.values()), youth=int(r.youth) if r.youth is not None else None,
                  youth_members=int(r.members) if r.youth else 0, updated_at=r.updated_at)
    return Row(org, tally, exceptions, has_children)


def _sum_rows(org: Org, rows: list[Row]) -> Row:
    total = Tally()
    exceptions = {k: 0 for k in EXCEPTION_KEYS}
    for row in rows:
        for name in ("orgs", "branches", "with_admin", "info_complete", "members", "complete_members",
                     "branches_done", "non_branches", "cadres_ok", "exceptions"):
            setattr(total, name, getattr(total, name) + getattr(row.tally, name))
        for k, v in row.exceptions.items():
            exceptions[k] += v
        if row.tally.updated_at and (total.updated_at is None or row.tally.updated_at > total.updated_at):
            total.updated_at = row.tally.updated_at
    return Row(org, total, exceptions, bool(rows))


def sort_rows(rows: list[Row], key: str, descending: bool) -> list[Row]:
    """Sort by a column of the table; rows with nothing to rate sort last either way."""
    if key not in SORT_KEYS and key != "rank":
        key = "rank"
    if key == "rank":
        return sorted(rows, key=lambda r: r.rank, reverse=descending)
    if key == "name":
        return sorted(rows, key=lambda r: r.org.short_name, reverse=descending)
    if key == "updated_at":
        return sorted(rows, key=lambda r: r.tally.updated_at or datetime.min, reverse=descending)
    if key in ("orgs", "branches", "members", "exceptions"):
        return sorted(rows, key=lambda r: getattr(r.tally, key), reverse=descending)
    present = [r for r in rows if r.tally.rate(key) is not None]
    absent = [r for r in rows if r.tally.rate(key) is None]
    return sorted(present, key=lambda r: r.tally.rate(key), reverse=descending) + absent


# ---------------------------------------------------------------- exception lists

def exception_orgs(session, scope: Org, kind: str, *, settings) -> list[tuple[Org, OrgStats]]:
    """Organisations of one exception kind in ``scope``'s subtree (the scope itself included)."""
    cond = exception_conditions(settings)[kind]
    return list(session.execute(
        select(Org, OrgStats).join(OrgStats, OrgStats.org_id == Org.id)
        .where(within(Org.code, scope.code), Org.dissolved_at.is_(None), cond).order_by(Org.code)).all())


def exception_member_ids(session, scope: Org, kind: str, *, settings, today: date) -> list[int]:
    """Ids of the members on one member exception list, in the list's order (branch code, then name). The query
    narrows with the stats rows and reads only the columns the pure rule needs, so a list of 50,000 (every member
    of a county is 身份待确认 right after the evidence columns arrived) costs a fraction of loading the rows."""
    from ..domain.progress import dev_number_valid, member_identity

    def narrowed(*columns):
        return (select(Member.id, *columns).join(Person, Member.person_id == Person.id)
                .join(Org, Member.org_id == Org.id).where(within(Org.code, scope.code), Member.deleted_at.is_(None))
                .order_by(Org.code, Person.name, Member.id))
    if kind == "overage":
        return list(session.scalars(narrowed().where(stats.overage_condition(today, settings))))
    if kind == "unconfirmed":
        rows = session.execute(narrowed(Person.join_date, Member.has_application, Member.has_card, Member.card_year,
                                        Member.has_letter)
                               .join(OrgStats, OrgStats.org_id == Org.id).where(OrgStats.unconfirmed > 0))
        return [mid for mid, join, *evidence in rows if not member_identity(join, tuple(evidence))[0]]
    year = settings.dev_number_required_from_year
    # the rule is a pure function; the query only narrows to members of branches with a bad number counted
    from ..domain.exceptions import parse_rules
    from ..models import ExceptionRequest
    rows = session.execute(narrowed(Member.dev_number, Person.join_date, ExceptionRequest.rules)
                           .outerjoin(ExceptionRequest, Member.exception_id == ExceptionRequest.id)
                           .join(OrgStats, OrgStats.org_id == Org.id).where(OrgStats.bad_dev_numbers > 0))
    return [mid for mid, dev, join, excepted in rows
            if not dev_number_valid(dev, join, required_from_year=year, excepted=parse_rules(excepted))]


def members_by_ids(session, ids: list[int]) -> list[tuple[Member, Person]]:
    """(member, person) for ``ids``, in the order given."""
    from ..queries import among
    found = {}
    for cond in among(session, Member.id, ids):
        found.update((m.id, (m, p)) for m, p in session.execute(
            select(Member, Person).join(Person, Member.person_id == Person.id).where(cond)))
    return [found[i] for i in ids if i in found]


def exception_members(session, scope: Org, kind: str, *, settings, today: date) -> list[tuple[Member, Person]]:
    return members_by_ids(session, exception_member_ids(session, scope, kind, settings=settings, today=today))


def stale_codes(session, scope: Org, *, now: datetime) -> list[RegistrationCode]:
    return list(session.scalars(select(RegistrationCode).join(Org, RegistrationCode.org_id == Org.id).where(
        within(Org.code, scope.code), Org.dissolved_at.is_(None), _stale_codes_condition(now))
        .order_by(Org.code, RegistrationCode.expires_at)))


def now_and_today():
    from ..clock import local_date
    now = utcnow()
    return now, local_date(now)


def branch_todo(session, branch: Org, *, settings) -> list:
    """The branch home's to-do list (domain.progress.branch_todo) from the branch's live members and posts."""
    from ..domain.progress import branch_todo as todo_of
    from ..domain.progress import member_gaps
    from ..models import CadrePost
    from .orginfo import SECRETARY
    gaps = []
    from ..domain.exceptions import parse_rules
    from ..models import ExceptionRequest
    for mid, name, eth, pol, join, dev, excepted, *evidence in session.execute(
            select(Member.id, Person.name, Person.ethnicity, Person.political_status, Person.join_date,
                   Member.dev_number, ExceptionRequest.rules, Member.has_application, Member.has_card,
                   Member.card_year, Member.has_letter)
            .join(Person, Member.person_id == Person.id)
            .outerjoin(ExceptionRequest, Member.exception_id == ExceptionRequest.id)
            .where(Member.org_id == branch.id, Member.deleted_at.is_(None)).order_by(Person.name, Member.id)):
        gaps.append((mid, name, member_gaps(ethnicity=eth, political_status=pol, join_date=join, dev_number=dev,
                                            evidence=tuple(evidence),
                                            required_from_year=settings.dev_number_required_from_year,
                                            excepted=parse_rules(excepted))))
    positions = list(session.scalars(select(CadrePost.position).where(CadrePost.org_id == branch.id,
                                                                      CadrePost.ended_at.is_(None))))
    return todo_of(members=len(gaps), min_members=settings.branch_complete_min_members, gaps=gaps,
                   cadres=len(positions), has_secretary=SECRETARY in positions)
