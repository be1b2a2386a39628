"""The one writer of ``members`` (a place as 团员 in a 团支部). A new place for a person already known here follows
the person rule (every place they hold lies in the actor's reach, and for a deferred write in the requester's too);
otherwise the one held-elsewhere answer and the 组织关系转接 route."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import bindparam, select
from sqlalchemy import update as sql_update

from ...clock import local_date
from ...dbsetup import insert_many as _insert
from ...domain import register
from ...domain.errors import NotAllowed
from ...models import Member, MembershipEvent, Org, Person, utcnow
from ...queries import among
from .. import ownership
from ..actor import Actor
from . import _rows, tallies
from ._mark import owner_of
from ._rows import fresh

TABLE = "members"
EVENTS = "membership_events"


@owner_of(TABLE, EVENTS)
def add(session, actor: Actor, person: Person, branch: Org, fields: dict, *, now: datetime,
        also: tuple[str | None, ...] = (), kind: str | None = None) -> tuple[Member, bool]:
    """Enter ``person`` as a member of ``branch`` (a soft-deleted record of theirs comes back here). Returns the
    member and whether an old record was restored. ``also``: the requester's reach of a deferred write. The arrival
    is recorded as a 团籍变动 of ``kind`` (default: 恢复团籍 / 新发展 / 首次录入, ``register.arrival_kind``)."""
    ownership.require_places(session, actor, person, "member", also=also)
    with tallies.kept(session, lambda: [person.id]):
        return _add(session, actor, person, branch, fields, now=now, kind=kind)


def _add(session, actor: Actor, person: Person, branch: Org, fields: dict, *, now: datetime,
         kind: str | None) -> tuple[Member, bool]:
    member = session.scalar(select(Member).where(Member.person_id == person.id)) if person.id is not None else None
    restored = member is not None
    if member is None:
        member = Member(person_id=person.id, org_id=branch.id, created_at=now)
        session.add(member)
    else:
        member.org_id, member.deleted_at, member.deleted_reason, member.deleted_by_id = branch.id, None, None, None
    for key, value in fields.items():
        setattr(member, key, value)
    session.flush()
    on = local_date(now)
    kind = kind or register.arrival_kind(person.join_date, on, restored=restored)
    _event(session, actor, person.id, branch.id, on, kind,
           dev_number=member.dev_number if kind == register.NEW else None)
    return member, restored


@owner_of(TABLE)
def update(session, actor: Actor, member: Member, fields: dict) -> None:
    """The member's own fields (发展团员编号, 学历, …); the caller checked ``member.edit`` for the branch."""
    with tallies.kept(session, [member.person_id], when=bool(tallies.MEMBER_COLUMNS & set(fields))):
        for key, value in fields.items():
            setattr(member, key, value)
        session.flush()


@owner_of(TABLE)
def update_own(session, actor: Actor, member: Member, fields: dict) -> None:
    """The member themself (本人修改个人信息): only their own record."""
    if actor.person_id is None or actor.person_id != member.person_id:
        raise NotAllowed("只能修改本人的信息")
    update.__wrapped__(session, actor, member, fields)


@owner_of(TABLE, EVENTS)
def end(session, actor: Actor, member: Member, *, reason: str, now: datetime, kind: str | None = None,
        on: date | None = None) -> None:
    """Soft delete: the record and its history stay. The departure is a 团籍变动 of ``kind`` on ``on`` (default:
    the kind the free-text ``reason`` names, today). 录入错误 erases the current span from every figure."""
    with tallies.kept(session, [member.person_id]):
        _end(session, actor, member, reason=reason, now=now, kind=kind, on=on)


def _end(session, actor: Actor, member: Member, *, reason: str, now: datetime, kind: str | None,
         on: date | None) -> None:
    member.deleted_at, member.deleted_reason, member.deleted_by_id = now, reason, actor.person_id
    session.flush()
    kind = kind or register.kind_from_reason(reason)
    on = on or local_date(now)
    _event(session, actor, member.person_id, member.org_id, on, kind, note=reason or None)
    if kind == register.ERROR:
        _erase_span(session, member.person_id)


@owner_of(TABLE, EVENTS)
def move(session, actor: Actor, member: Member, to_branch: Org, *, now: datetime | None = None,
         note: str | None = None) -> None:
    """The membership moves to another branch (组织关系转接 accepted, an import row naming another branch of the
    same admin, a merge): a 转出（县内）/转入（县内） pair. The caller decided who may; a transfer checks its
    requester with ``requester_scope``."""
    with tallies.kept(session, [member.person_id]):
        from_id = member.org_id
        member.org_id = to_branch.id
        session.flush()
        if from_id != to_branch.id and member.deleted_at is None:
            _move_events(session, actor, member.person_id, from_id, to_branch.id, local_date(now or utcnow()), note)


@owner_of(TABLE, EVENTS)
def move_all(session, actor: Actor, source: Org, target: Org, *, now: datetime | None = None) -> int:
    """Every member record of ``source`` moves to ``target`` (a merge of branches). Returns how many."""
    moved = 0
    on = local_date(now or utcnow())
    records = list(session.scalars(select(Member).where(Member.org_id == source.id)))
    with tallies.kept(session, [m.person_id for m in records]):
        for member in records:
            member.org_id = target.id
            moved += 1
            if member.deleted_at is None:
                _move_events(session, actor, member.person_id, source.id, target.id, on, f"{source.short_name}并入")
        session.flush()
    return moved


@owner_of(EVENTS)
def record(session, actor: Actor, person_id: int, org_id: int, on: date, kind: str, *,
           dev_number: str | None = None, note: str | None = None) -> MembershipEvent:
    """One 团籍变动 on its own (no change of the current place): what the migration and the generated histories of
    the tests write."""
    with tallies.kept(session, [person_id]):
        return _event(session, actor, person_id, org_id, on, kind, dev_number=dev_number, note=note)


def _event(session, actor: Actor, person_id: int, org_id: int, on: date, kind: str, *,
           dev_number: str | None = None, note: str | None = None) -> MembershipEvent:
    ev = _add_event(session, actor, person_id, org_id, on, kind, dev_number=dev_number, note=note)
    _relink(session, [person_id])
    return ev


def _add_event(session, actor: Actor, person_id: int, org_id: int, on: date, kind: str, *,
               dev_number: str | None = None, note: str | None = None) -> MembershipEvent:
    """The event row alone; the caller relinks ``next_on`` once it has written all of the person's events."""
    assert kind in register.KINDS, kind
    ev = MembershipEvent(person_id=person_id, org_id=org_id, on_date=on, kind=kind, dev_number=dev_number,
                         note=(note or None) and note[:200], erased=False, created_by_id=actor.person_id)
    session.add(ev)
    return ev


def _move_events(session, actor, person_id: int, from_id: int, to_id: int, on: date, note: str | None) -> None:
    _add_event(session, actor, person_id, from_id, on, register.OUT_COUNTY, note=note)
    _add_event(session, actor, person_id, to_id, on, register.IN_COUNTY, note=note)
    _relink(session, [person_id])                  # both rows in one recomputation (_relink flushes them first)


def _erase_span(session, person_id: int) -> None:
    rows = session.scalars(select(MembershipEvent).where(MembershipEvent.person_id == person_id)).all()
    pure = [register.Event(r.id, r.person_id, r.org_id, r.on_date, r.kind, r.erased) for r in rows]
    ids = [e.id for e in register.erased_span(pure)]
    if ids:
        session.execute(sql_update(MembershipEvent).where(MembershipEvent.id.in_(ids)).values(erased=True),
                        execution_options={"synchronize_session": "fetch"})
        _relink(session, [person_id])


def next_dates(events: Iterable[tuple[int, int, date, bool]]) -> dict[int, date | None]:
    """event id -> ``next_on`` for (id, person id, on_date, erased) rows holding every event of their persons: the
    date of the person's next counted event by (date, id); None for the latest and for erased rows."""
    by_person: dict[int, list[tuple[date, int]]] = {}
    out: dict[int, date | None] = {}
    for eid, pid, on, erased in events:
        out[eid] = None
        if not erased:
            by_person.setdefault(pid, []).append((on, eid))
    for steps in by_person.values():
        steps.sort()
        for (_, eid), (nxt, _) in zip(steps, steps[1:], strict=False):
            out[eid] = nxt
    return out


def _relink(session, person_ids: Iterable[int]) -> None:
    """Recompute ``next_on`` of every event of ``person_ids`` (after any write of their events), updating the rows
    that changed. Called by every writer of ``membership_events`` in this module."""
    t = MembershipEvent.__table__
    wanted = sorted({p for p in person_ids if p is not None})
    if not wanted:
        return
    session.flush()
    rows = []
    for cond in among(session, t.c.person_id, wanted):
        rows += session.execute(select(t.c.id, t.c.person_id, t.c.on_date, t.c.erased, t.c.next_on).where(cond)).all()
    now = {r.id: r.next_on for r in rows}
    changed = [{"_id": eid, "_next": nxt} for eid, nxt in next_dates((r.id, r.person_id, r.on_date, r.erased)
                                                                     for r in rows).items() if now[eid] != nxt]
    if changed:
        session.execute(sql_update(t).where(t.c.id == bindparam("_id")).values(next_on=bindparam("_next")), changed)


def last_event_on(session, person_id: int) -> date | None:
    """The date of the person's latest 团籍变动 still counted (a leaving may not be dated before it)."""
    from sqlalchemy import func
    return session.scalar(select(func.max(MembershipEvent.on_date)).where(
        MembershipEvent.person_id == person_id, MembershipEvent.erased.is_(False)))


@owner_of(TABLE)
def mark_exception(session, member: Member, request_id: int) -> None:
    """The member was entered by an approved 特殊情况录入 request."""
    member.exception_id = request_id
    session.flush()


@owner_of(TABLE, EVENTS)
def insert_many(session, actor: Actor, rows: list[dict] | dict[str, list], *, now: datetime,
                join_dates: dict[int, str | None] | None = None) -> None:
    """Set at a time (the member import's bulk path): members of people entered in the same transaction, who hold
    no other place; one query checks that none of them holds a place out of reach (a person entered elsewhere since
    the preview), then one executemany. ``join_dates``: person id -> 入团年月 of these people as the caller just
    wrote them (else read back), which makes each arrival's kind (新发展 or 首次录入). ``rows``: dicts, or the
    values column by column (dbsetup.insert_many; the member import builds no row dicts)."""
    if not rows:
        return
    if isinstance(rows, dict):
        person_ids, org_ids = list(rows["person_id"]), rows["org_id"]
        dev_numbers = rows.get("dev_number") or [None] * len(person_ids)
    else:
        person_ids, org_ids = [r["person_id"] for r in rows], [r["org_id"] for r in rows]
        dev_numbers = [r.get("dev_number") for r in rows]
    if not person_ids:
        return
    _require_no_foreign(session, actor, person_ids, "member")
    if len(set(person_ids)) == len(person_ids) and tallies.untouched(session, person_ids):
        # people entered in this transaction, placed nowhere yet: each now holds this record and its arrival
        _insert_many(session, actor, rows, person_ids, org_ids, dev_numbers, now=now, join_dates=join_dates)
        tallies.add_first_places(session, person_ids, {
            f: rows.get(f) if isinstance(rows, dict) else [r.get(f) for r in rows] for f in tallies.MEMBER_FIELDS})
        return
    with tallies.kept(session, person_ids):
        _insert_many(session, actor, rows, person_ids, org_ids, dev_numbers, now=now, join_dates=join_dates)


def _insert_many(session, actor: Actor, rows, person_ids: list[int], org_ids, dev_numbers, *, now: datetime,
                 join_dates: dict[int, str | None] | None) -> None:
    _insert(session, Member.__table__, rows, {"created_at": now, "updated_at": now})
    on = local_date(now)
    joined = _join_dates(session, person_ids) if join_dates is None else join_dates
    kinds = {}                                  # arrival_kind per distinct 入团年月 (a file's rows share a few)
    kind_of = [kinds.get(join) or kinds.setdefault(join, register.arrival_kind(join, on))
               for join in map(joined.get, person_ids)]
    _insert(session, MembershipEvent.__table__,
            {"person_id": person_ids, "org_id": org_ids, "kind": kind_of,
             "dev_number": [dev if kind == register.NEW else None
                            for kind, dev in zip(kind_of, dev_numbers, strict=True)]},
            {"on_date": on, "note": None, "erased": False, "created_at": now, "created_by_id": actor.person_id})
    # people entered in this transaction have no earlier event: next_on stays empty, no relink needed


def _join_dates(session, person_ids: list[int]) -> dict[int, str | None]:
    out: dict[int, str | None] = {}
    for cond in among(session, Person.id, person_ids):
        out.update({pid: joined for pid, joined in session.execute(select(Person.id, Person.join_date).where(cond))})
    return out


def _places(session, person_ids) -> dict[int, tuple]:
    """person id -> (org id, deleted_at, deleted_reason, created_at) of their member record."""
    t = Member.__table__
    out: dict[int, tuple] = {}
    for cond in among(session, t.c.person_id, [p for p in person_ids if p is not None]):
        for pid, org_id, deleted_at, reason, created in session.execute(
                select(t.c.person_id, t.c.org_id, t.c.deleted_at, t.c.deleted_reason, t.c.created_at).where(cond)):
            out[pid] = (org_id, deleted_at, reason, created)
    return out


def _record_changes(session, actor: Actor, before: dict[int, tuple], after: dict[int, tuple], on: date,
                    note: str, carried=frozenset()) -> None:
    """The 团籍变动 a set-at-a-time write made (上报文件): each person's place before and after, compared. People in
    ``carried`` are skipped: the package brought their own events (``record_carried``)."""
    events = []

    def add(pid, org_id, day, kind, text=None):
        events.append({"person_id": pid, "org_id": org_id, "on_date": day, "kind": kind, "dev_number": None,
                       "note": (text or note)[:200], "erased": False, "created_at": utcnow(),
                       "created_by_id": actor.person_id})

    for pid, (org_id, deleted_at, reason, created) in after.items():
        if pid in carried:
            continue
        old = before.get(pid)
        if old is None:
            add(pid, org_id, local_date(created) if created else on, register.FIRST_ENTRY)
            if deleted_at is not None:
                add(pid, org_id, local_date(deleted_at), register.kind_from_reason(reason), reason)
            continue
        old_org, old_deleted = old[0], old[1]
        if old_deleted is None and deleted_at is None and old_org != org_id:
            add(pid, old_org, on, register.OUT_COUNTY)
            add(pid, org_id, on, register.IN_COUNTY)
        elif old_deleted is None and deleted_at is not None:
            add(pid, old_org, on, register.kind_from_reason(reason), reason)
        elif old_deleted is not None and deleted_at is None:
            add(pid, org_id, on, register.RESTORED)
    _insert(session, MembershipEvent.__table__, events)
    _relink(session, {e["person_id"] for e in events})


def _require_no_foreign(session, actor: Actor, person_ids: Iterable[int], kind: str) -> None:
    if ownership.is_system(actor):
        return
    known = set(person_ids) - fresh(session)
    if known and ownership.foreign_people(session, [actor.scope_code], known):
        raise ownership.ForeignPerson(kind)


# ---------------------------------------------------------------- 上报文件 apply (set at a time)

@owner_of("members", EVENTS)
def insert_rows(session, actor: Actor, name: str, rows: list[dict], *, reach: tuple[str | None, ...] = (),
                carried=frozenset()) -> None:
    """Rows of a 上报文件; a new place for a person known here follows the person rule (the actor's reach and the
    package's subtree, ``reach``)."""
    assert name in ("members",), name
    _rows.check_places(session, actor, name, [r.get("person_id") for r in rows], reach=reach)
    people_ids = [r.get("person_id") for r in rows]
    with tallies.kept(session, people_ids):
        before = _places(session, people_ids)
        _rows.insert_rows(session, name, rows)
        _record_changes(session, actor, before, _places(session, people_ids), local_date(utcnow()), "上报文件",
                        carried)


@owner_of("members", EVENTS)
def update_rows(session, actor: Actor, name: str, shape: tuple[str, ...], rows: list[dict], *,
                reach: tuple[str | None, ...] = (), moved: list[int] = (), carried=frozenset()) -> None:
    """``moved``: person ids whose place changes organisation or comes back (the person rule applies to them)."""
    assert name in ("members",), name
    _rows.check_places(session, actor, name, moved, reach=reach)
    # (org_id and deleted_at are counted columns: a write of neither needs no people)
    counted = bool(tallies.MEMBER_COLUMNS & set(shape))
    people_ids = _people_of(session, [r["_id"] for r in rows]) if counted else []
    with tallies.kept(session, people_ids, when=counted):
        if "org_id" not in shape and "deleted_at" not in shape:
            _rows.update_rows(session, name, shape, rows)
            return
        before = _places(session, people_ids)
        _rows.update_rows(session, name, shape, rows)
        _record_changes(session, actor, before, _places(session, people_ids), local_date(utcnow()), "上报文件",
                        carried)


@owner_of("members", EVENTS)
def set_where(session, actor: Actor, name: str, ids, values: dict, *, only_set: str | None = None,
              carried=frozenset()) -> None:
    """Retire rows (a 上报文件 no longer has them) or free their 发展团员编号."""
    assert name in ("members",), name
    counted = bool(tallies.MEMBER_COLUMNS & set(values))
    people_ids = _people_of(session, ids) if counted else []
    with tallies.kept(session, people_ids, when=counted):
        if "deleted_at" not in values:
            _rows.set_where(session, name, ids, values, only_set=only_set)
            return
        before = _places(session, people_ids)
        _rows.set_where(session, name, ids, values, only_set=only_set)
        _record_changes(session, actor, before, _places(session, people_ids), local_date(values["deleted_at"]),
                        "上报文件", carried)


@owner_of(EVENTS)
def record_carried(session, actor: Actor, events: list[dict], *, erased_keys=()) -> int:
    """The sender's 团籍变动 a 上报文件 carried, as this instance's rows (``events``: person_id, org_id as ids here,
    on_date, kind, dev_number, note, erased; the caller left out the ones already here). ``erased_keys``: (person
    id, org id, date, kind) of events here that the sender has since erased (a 录入错误). Returns how many written."""
    touched = {e["person_id"] for e in events} | {k[0] for k in erased_keys}
    with tallies.kept(session, touched):
        return _record_carried(session, actor, events, erased_keys=erased_keys)


def _record_carried(session, actor: Actor, events: list[dict], *, erased_keys=()) -> int:
    now = utcnow()
    rows = [{"person_id": e["person_id"], "org_id": e["org_id"], "on_date": e["on_date"], "kind": e["kind"],
             "dev_number": e.get("dev_number"), "note": e.get("note"), "erased": bool(e.get("erased")),
             "created_at": now, "created_by_id": actor.person_id} for e in events]
    _insert(session, MembershipEvent.__table__, rows)
    e = MembershipEvent
    for pid, org_id, on, kind in erased_keys:
        session.execute(sql_update(e).where(e.person_id == pid, e.org_id == org_id, e.on_date == on, e.kind == kind,
                                            e.erased.is_(False)).values(erased=True),
                        execution_options={"synchronize_session": False})
    _relink(session, {r["person_id"] for r in rows} | {k[0] for k in erased_keys})
    return len(rows)


def _people_of(session, member_ids) -> list[int]:
    t = Member.__table__
    out: list[int] = []
    for cond in among(session, t.c.id, list(member_ids)):
        out += list(session.scalars(select(t.c.person_id).where(cond)))
    return out
