"""Per-organisation facts for the progress page (models.OrgStats), kept current inside every writing transaction.

Session events note which organisations a flush touched (members, people, cadre posts, admin grants, the
organisations themselves); just before the transaction commits, their rows are recomputed from the base
tables with the pure rules of domain/progress.py. Writes that bypass the ORM (bulk imports) call ``touch``.
So the progress page sums small rows instead of scanning every member, and still shows committed data only.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date

from sqlalchemy import and_, delete, event, exists, func, inspect, not_, or_, select, update
from sqlalchemy.orm import Session

from ..clock import local_today
from ..domain.exceptions import parse_rules
from ..domain.members import overage_cutoff
from ..domain.orginfo import info_complete, is_school_unit
from ..domain.orgtree import OrgKind
from ..domain.progress import cadre_complete, many_member_facts, member_facts
from ..models import AdminGrant, CadrePost, ExceptionRequest, Member, Org, OrgStats, Person, utcnow
from ..queries import among, within
from .orginfo import SECRETARY, info_values

_KEY = "tuanjian_stats_pending"


def _no_settings():
    return None


# where the commit hook finds the rule settings: install() is given it by the app factory (no Flask import here)
_settings_source: Callable[[], object | None] = _no_settings


def rules_tag(settings) -> str:
    """The settings a row was computed with; rows with another tag are recomputed before they are used."""
    return f"dev{settings.dev_number_required_from_year}"


def _pending(session) -> dict[str, set]:
    return session.info.setdefault(_KEY, {"orgs": set(), "codes": set(), "people": set(), "parents": set()})


def touch(session, *, org_ids=(), people_ids=(), codes=()) -> None:
    """Mark organisations (or the organisations of people, or the ancestors of codes) for recomputation."""
    pending = _pending(session)
    pending["orgs"].update(i for i in org_ids if i is not None)
    pending["people"].update(i for i in people_ids if i is not None)
    for code in codes:
        parts = code.split(".")
        pending["codes"].update(".".join(parts[:n]) for n in range(1, len(parts) + 1))


def _old_and_new(obj, attr: str) -> list:
    history = inspect(obj).attrs[attr].history
    return [*history.deleted, *history.added] or [getattr(obj, attr)]


def _after_flush(session, flush_context) -> None:
    for obj in [*session.new, *session.dirty, *session.deleted]:
        if isinstance(obj, Member | CadrePost | AdminGrant):
            touch(session, org_ids=_old_and_new(obj, "org_id"))
            if isinstance(obj, CadrePost):
                touch(session, people_ids=[obj.person_id])       # posts change what the person's branch counts
        elif isinstance(obj, Person):
            touch(session, people_ids=[obj.id])
        elif isinstance(obj, Org):
            touch(session, org_ids=[obj.id], codes=[c for c in _old_and_new(obj, "code") if c])
            if obj.id is not None and inspect(obj).attrs["industry"].history.has_changes():
                _pending(session)["parents"].add(obj.id)     # whether a child stands for a school depends on it


def _before_commit(session) -> None:
    session.flush()             # the commit's own flush runs after this hook: flush now so every change is marked
    pending = session.info.pop(_KEY, None)
    if not pending or not any(pending.values()):
        return
    settings = _settings_source()
    if settings is None:
        from ..domain.settings import DEFAULT_SETTINGS as settings
    org_ids = set(pending["orgs"])
    for cond in among(session, Member.person_id, sorted(pending["people"])):
        org_ids.update(session.scalars(select(Member.org_id).where(cond)))
    for cond in among(session, CadrePost.person_id, sorted(pending["people"])):
        org_ids.update(session.scalars(select(CadrePost.org_id).where(cond, CadrePost.ended_at.is_(None))))
    for cond in among(session, Org.code, sorted(pending["codes"])):
        org_ids.update(session.scalars(select(Org.id).where(cond)))
    for cond in among(session, Org.parent_id, sorted(pending["parents"])):
        org_ids.update(session.scalars(select(Org.id).where(cond)))
    refresh(session, org_ids, settings=settings)
    session.info.pop(_KEY, None)                  # refresh() itself flushes nothing that needs another pass


def _forget(session, *args) -> None:
    session.info.pop(_KEY, None)


def install(settings_source: Callable[[], object | None] | None = None) -> None:
    """Listen on every ORM session (once per process). ``settings_source()`` gives the rule settings in force when a
    transaction commits (None: the defaults)."""
    global _settings_source
    if settings_source is not None:
        _settings_source = settings_source
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_rollback", _forget)


def refresh(session, org_ids, *, settings) -> None:
    """Recompute the OrgStats rows of ``org_ids`` from the base tables (rows of dissolved orgs are removed)."""
    org_ids = sorted(set(org_ids))
    if not org_ids:
        return
    orgs = []
    for cond in among(session, Org.id, org_ids):
        # one recompute of an organisation at a time (PostgreSQL row locks, in id order): a concurrent writer waits
        # here for this transaction to commit, then replaces this row and counts this data (not a duplicate key).
        # FOR NO KEY UPDATE: inserting members already holds FOR KEY SHARE on the branch through the foreign key,
        # which FOR UPDATE would conflict with (two imports into one branch deadlocked); this one does not.
        session.execute(select(Org.id).where(cond).order_by(Org.id).with_for_update(key_share=True))
        orgs += session.scalars(select(Org).where(cond)).all()
    for cond in among(session, OrgStats.org_id, org_ids):
        session.execute(delete(OrgStats).where(cond))
    live = [o for o in orgs if o.dissolved_at is None]
    if not live:
        return
    rows = compute(session, live, settings=settings)
    session.execute(OrgStats.__table__.insert(), rows)


def compute(session, orgs: list[Org], *, settings, below: dict[int, int] | None = None,
            today: date | None = None) -> list[dict]:
    """The OrgStats values of ``orgs`` (any number; queries go by chunks of ids). ``below``: branches below each
    org when the caller already counted them; ``today``: the day 超龄 is counted for (Beijing today by default)."""
    ids = [o.id for o in orgs]
    year = settings.dev_number_required_from_year
    members = defaultdict(int)
    complete = defaultdict(int)
    bad_dev = defaultdict(int)
    unconfirmed = defaultdict(int)
    for cond in among(session, Member.org_id, ids):
        for org_id, eth, pol, join, dev, excepted, *evidence in session.execute(
                select(Member.org_id, Person.ethnicity, Person.political_status, Person.join_date, Member.dev_number,
                       ExceptionRequest.rules,
                       Member.has_application, Member.has_card, Member.card_year, Member.has_letter)
                .join(Person, Member.person_id == Person.id)
                .outerjoin(ExceptionRequest, Member.exception_id == ExceptionRequest.id)
                .where(cond, Member.deleted_at.is_(None))):
            members[org_id] += 1
            # an approved 特殊情况录入 does not count against 资料完整率 for the excepted rule (issue 18)
            is_complete, dev_ok, identity_ok = member_facts(ethnicity=eth, political_status=pol, join_date=join,
                                                            dev_number=dev, evidence=tuple(evidence),
                                                            required_from_year=year,
                                                            excepted=parse_rules(excepted) if excepted else ())
            complete[org_id] += is_complete
            bad_dev[org_id] += not dev_ok
            unconfirmed[org_id] += not identity_ok
    parent_industry = {}
    for cond in among(session, Org.id, sorted({o.parent_id for o in orgs if o.parent_id is not None})):
        parent_industry.update(dict(session.execute(select(Org.id, Org.industry).where(cond)).all()))
    today = today or local_today()
    overage = defaultdict(int)
    for cond in among(session, Member.org_id, ids):
        overage.update(dict(session.execute(
            select(Member.org_id, func.count()).join(Person, Member.person_id == Person.id)
            .where(cond, overage_condition(today, settings)).group_by(Member.org_id)).all()))
    cadres: dict[int, set] = defaultdict(set)
    complete_cadres: dict[int, set] = defaultdict(set)
    secretary_phone: dict[int, bool] = {}
    for cond in among(session, CadrePost.org_id, ids):
        for org_id, position, pid, eth, pol, join, phone in session.execute(
                select(CadrePost.org_id, CadrePost.position, Person.id, Person.ethnicity, Person.political_status,
                       Person.join_date, Person.phone)
                .join(Person, CadrePost.person_id == Person.id).where(cond, CadrePost.ended_at.is_(None))):
            cadres[org_id].add(pid)
            if cadre_complete(ethnicity=eth, political_status=pol, join_date=join, phone=phone):
                complete_cadres[org_id].add(pid)
            if position == SECRETARY:
                secretary_phone[org_id] = secretary_phone.get(org_id, False) or bool(phone)
    admins = defaultdict(int)
    for cond in among(session, AdminGrant.org_id, ids):
        for org_id, n in session.execute(select(AdminGrant.org_id, func.count()).where(
                cond, AdminGrant.revoked_at.is_(None)).group_by(AdminGrant.org_id)):
            admins[org_id] = n
    if below is None:
        below = _branches_below(session, [o for o in orgs if o.kind != OrgKind.BRANCH.value])
    now, tag = utcnow(), rules_tag(settings)
    return [{"org_id": o.id, "code": o.code, "kind": o.kind, "youth": o.youth_count, "members": members[o.id],
             "complete_members": complete[o.id],
             "bad_dev_numbers": bad_dev[o.id], "unconfirmed": unconfirmed[o.id], "cadres": len(cadres[o.id]),
             "school_unit": is_school_unit(o.industry, parent_industry.get(o.parent_id)),
             "has_school_code": bool(o.school_code),
             "complete_cadres": len(complete_cadres[o.id]), "has_secretary": o.id in secretary_phone,
             "info_complete": info_complete(info_values(o), o.org_kind,
                                            secretary_has_phone=secretary_phone.get(o.id, False)),
             "admins": admins[o.id], "branches_below": below.get(o.id, 0), "overage": overage[o.id],
             "overage_on": today, "rules": tag, "updated_at": now}
            for o in orgs]


def add_new_members(session, branch_id: int, added: list[dict], *, settings, now,
                    counts: dict[str, int] | None = None) -> None:
    """Members just bulk-inserted into ``branch_id`` (people never seen before, no posts): add their counts to the
    branch's row. A row that is missing, computed under other rules or for another day is recomputed at commit
    instead. The same lock as refresh() keeps a concurrent recompute from losing the addition. ``counts``:
    new_member_counts(added) for today when the caller already has it."""
    session.execute(select(Org.id).where(Org.id == branch_id).with_for_update(key_share=True))
    today = local_today()
    row = session.get(OrgStats, branch_id, populate_existing=True)
    if row is None or row.rules != rules_tag(settings) or row.overage_on != today:
        touch(session, org_ids=[branch_id])
        return
    if counts is None or counts["today"] != today:
        counts = new_member_counts(added, settings=settings, today=today)
    session.execute(update(OrgStats).where(OrgStats.org_id == branch_id).values(
        members=OrgStats.members + len(added), complete_members=OrgStats.complete_members + counts["complete"],
        bad_dev_numbers=OrgStats.bad_dev_numbers + counts["bad"], overage=OrgStats.overage + counts["overage"],
        unconfirmed=OrgStats.unconfirmed + counts["unconfirmed"], updated_at=now))
    session.expire(row)


def new_member_counts(added: list[dict], *, settings, today: date) -> dict:
    """What members new to the register (their cleaned import data; no posts, no exceptions) add to their branch's
    figures on ``today``: 资料完整, 发展团员编号 invalid, 超龄, 身份待确认. Pure (no database): the member import
    computes it while the server checks the inserted rows."""
    from ..domain.members import EVIDENCE_FIELDS, is_overage
    complete = bad = overage = unconfirmed = 0
    for is_complete, dev_ok, identity_ok in many_member_facts(
            ((d["ethnicity"], d["political_status"], d["join_date"], d["dev_number"],
              tuple(map(d.get, EVIDENCE_FIELDS))) for d in added),
            required_from_year=settings.dev_number_required_from_year):
        complete += is_complete
        bad += not dev_ok
        unconfirmed += not identity_ok
    born_on: dict[str, int] = {}                 # birth dates repeat: 超龄 once per distinct date
    for d in added:
        birth = d["birth_date"]
        if birth not in born_on:
            born_on[birth] = is_overage(date.fromisoformat(birth), today, holds_post=False,
                                        years=settings.overage_years)
        overage += born_on[birth]
    return {"complete": complete, "bad": bad, "overage": overage, "unconfirmed": unconfirmed, "today": today}


def expected_rows(session, orgs: list[Org], *, settings) -> dict[int, dict]:
    """What each org's stored OrgStats row should hold (a consistency check): a fresh compute, with 超龄 counted for
    the day the stored row counts it for, so a row written before midnight is not a mismatch after it (the daily
    recount, ``flask recount-overage``, moves rows to the new day)."""
    days = {}
    for cond in among(session, OrgStats.org_id, [o.id for o in orgs]):
        days.update(session.execute(select(OrgStats.org_id, OrgStats.overage_on).where(cond)).all())
    by_day: dict = defaultdict(list)
    for org in orgs:
        by_day[days.get(org.id)].append(org)
    return {row["org_id"]: row for day, group in by_day.items()
            for row in compute(session, group, settings=settings, today=day)}


def overage_condition(today: date, settings):
    """SQL on Member joined to Person: 超龄 today (aged overage_years or more, no active post anywhere)."""
    has_post = exists().where(CadrePost.person_id == Member.person_id, CadrePost.ended_at.is_(None))
    return and_(Member.deleted_at.is_(None), Person.birth_date <= overage_cutoff(today, settings.overage_years),
                not_(has_post))


def recount_overage(session, scope: Org, *, settings, today: date) -> None:
    """Bring the 超龄 counts of ``scope``'s subtree to ``today`` (rows counted on an earlier day), in two
    statements whatever the size of the subtree."""
    in_scope = select(Org.id).where(within(Org.code, scope.code)).scalar_subquery()
    stale = and_(OrgStats.org_id.in_(in_scope), or_(OrgStats.overage_on.is_(None), OrgStats.overage_on != today))
    counts = (select(Member.org_id.label("org_id"), func.count().label("n"))
              .join(Person, Member.person_id == Person.id).join(Org, Member.org_id == Org.id)
              .where(within(Org.code, scope.code), overage_condition(today, settings))
              .group_by(Member.org_id).subquery())
    session.execute(update(OrgStats).where(stale, OrgStats.org_id == counts.c.org_id)
                    .values(overage=counts.c.n, overage_on=today))
    session.execute(update(OrgStats).where(stale).values(overage=0, overage_on=today))


def _branches_below(session, orgs: list[Org]) -> dict[int, int]:
    if not orgs:
        return {}
    if len(orgs) > 50:                            # many (a full recompute): one pass over every live branch
        codes = {o.code: o.id for o in orgs}
        counts: dict[int, int] = defaultdict(int)
        for (code,) in session.execute(select(Org.code).where(Org.kind == OrgKind.BRANCH.value,
                                                              Org.dissolved_at.is_(None))):
            parts = code.split(".")
            for n in range(1, len(parts)):
                org_id = codes.get(".".join(parts[:n]))
                if org_id is not None:
                    counts[org_id] += 1
        return counts
    return {o.id: session.scalar(select(func.count()).select_from(Org).where(
        Org.code.startswith(o.code + ".", autoescape=True), Org.kind == OrgKind.BRANCH.value,
        Org.dissolved_at.is_(None))) or 0 for o in orgs}


def refresh_all(session, *, settings, batch: int = 2000) -> int:
    """Recompute every live organisation's row (CLI ``refresh-stats``, the benchmark). Expunges the session
    between batches to keep memory flat on a province-sized database: use it on its own session."""
    ids = list(session.scalars(select(Org.id).where(Org.dissolved_at.is_(None)).order_by(Org.id)))
    session.execute(delete(OrgStats))
    below = _branches_below(session, list(session.scalars(select(Org).where(
        Org.dissolved_at.is_(None), Org.kind != OrgKind.BRANCH.value))))
    for i in range(0, len(ids), batch):
        chunk = list(session.scalars(select(Org).where(Org.id.in_(ids[i:i + batch]))))
        rows = compute(session, chunk, settings=settings, below=below)
        session.execute(OrgStats.__table__.insert(), rows)
        session.expunge_all()
    return len(ids)
