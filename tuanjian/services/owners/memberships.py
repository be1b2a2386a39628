"""The one writer of ``members`` (a place as 团员 in a 团支部). A new place for a person already known here follows
the person rule (every place they hold lies in the actor's reach, and for a deferred write in the requester's too);
otherwise the one held-elsewhere answer and the 组织关系转接 route."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from ...dbsetup import insert_many as _insert
from ...domain.errors import NotAllowed
from ...models import Member, Org, Person
from .. import ownership
from ..actor import Actor
from . import _rows
from ._mark import owner_of
from ._rows import fresh

TABLE = "members"


@owner_of(TABLE)
def add(session, actor: Actor, person: Person, branch: Org, fields: dict, *, now: datetime,
        also: tuple[str | None, ...] = ()) -> tuple[Member, bool]:
    """Enter ``person`` as a member of ``branch`` (a soft-deleted record of theirs comes back here). Returns the
    member and whether an old record was restored. ``also``: the requester's reach of a deferred write."""
    ownership.require_places(session, actor, person, "member", also=also)
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
    return member, restored


@owner_of(TABLE)
def update(session, actor: Actor, member: Member, fields: dict) -> None:
    """The member's own fields (发展团员编号, 学历, …); the caller checked ``member.edit`` for the branch."""
    for key, value in fields.items():
        setattr(member, key, value)
    session.flush()


@owner_of(TABLE)
def update_own(session, actor: Actor, member: Member, fields: dict) -> None:
    """The member themself (本人修改个人信息): only their own record."""
    if actor.person_id is None or actor.person_id != member.person_id:
        raise NotAllowed("只能修改本人的信息")
    update.__wrapped__(session, actor, member, fields)


@owner_of(TABLE)
def end(session, actor: Actor, member: Member, *, reason: str, now: datetime) -> None:
    """Soft delete: the record and its history stay."""
    member.deleted_at, member.deleted_reason, member.deleted_by_id = now, reason, actor.person_id
    session.flush()


@owner_of(TABLE)
def move(session, actor: Actor, member: Member, to_branch: Org) -> None:
    """The membership moves to another branch (组织关系转接 accepted, an import row naming another branch of the
    same admin, a merge). The caller decided who may; a transfer checks its requester with ``requester_scope``."""
    member.org_id = to_branch.id
    session.flush()


@owner_of(TABLE)
def move_all(session, actor: Actor, source: Org, target: Org) -> int:
    """Every member record of ``source`` moves to ``target`` (a merge of branches). Returns how many."""
    moved = 0
    for member in session.scalars(select(Member).where(Member.org_id == source.id)):
        member.org_id = target.id
        moved += 1
    session.flush()
    return moved


@owner_of(TABLE)
def mark_exception(session, member: Member, request_id: int) -> None:
    """The member was entered by an approved 特殊情况录入 request."""
    member.exception_id = request_id
    session.flush()


@owner_of(TABLE)
def insert_many(session, actor: Actor, rows: list[dict], *, now: datetime) -> None:
    """Set at a time (the member import's bulk path): members of people entered in the same transaction, who hold
    no other place; one query checks that none of them holds a place out of reach (a person entered elsewhere since
    the preview), then one executemany."""
    if not rows:
        return
    _require_no_foreign(session, actor, [r["person_id"] for r in rows], "member")
    _insert(session, Member.__table__, [{**r, "created_at": now, "updated_at": now} for r in rows])


def _require_no_foreign(session, actor: Actor, person_ids: Iterable[int], kind: str) -> None:
    if ownership.is_system(actor):
        return
    known = set(person_ids) - fresh(session)
    if known and ownership.foreign_people(session, [actor.scope_code], known):
        raise ownership.ForeignPerson(kind)


# ---------------------------------------------------------------- 上报文件 apply (set at a time)

@owner_of("members")
def insert_rows(session, actor: Actor, name: str, rows: list[dict], *, reach: tuple[str | None, ...] = ()) -> None:
    """Rows of a 上报文件; a new place for a person known here follows the person rule (the actor's reach and the
    package's subtree, ``reach``)."""
    assert name in ("members",), name
    _rows.check_places(session, actor, name, [r.get("person_id") for r in rows], reach=reach)
    _rows.insert_rows(session, name, rows)


@owner_of("members")
def update_rows(session, actor: Actor, name: str, shape: tuple[str, ...], rows: list[dict], *,
                reach: tuple[str | None, ...] = (), moved: list[int] = ()) -> None:
    """``moved``: person ids whose place changes organisation or comes back (the person rule applies to them)."""
    assert name in ("members",), name
    _rows.check_places(session, actor, name, moved, reach=reach)
    _rows.update_rows(session, name, shape, rows)


@owner_of("members")
def set_where(session, actor: Actor, name: str, ids, values: dict, *, only_set: str | None = None) -> None:
    """Retire rows (a 上报文件 no longer has them) or free their 发展团员编号."""
    assert name in ("members",), name
    _rows.set_where(session, name, ids, values, only_set=only_set)
