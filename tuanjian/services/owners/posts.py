"""The one writer of ``cadre_posts`` and ``post_changes`` (a place as 团干部, with its 变更记录). A new post for a
person already known here follows the person rule (every place they hold lies in the actor's reach), else the one
held-elsewhere answer. Every way a post changes or ends keeps a PostChange."""
from __future__ import annotations

from datetime import date, datetime

from ...clock import local_date
from ...dbsetup import insert_many as _insert
from ...models import CadrePost, Org, Person, PostChange
from .. import ownership
from ..actor import Actor
from . import _rows
from ._mark import owner_of
from .memberships import _require_no_foreign

TABLES = ("cadre_posts", "post_changes")


@owner_of(*TABLES)
def open_post(session, actor: Actor, person: Person, org: Org, *, position: str, now: datetime, kind: str = "cadre",
              also: tuple[str | None, ...] = (), field: str = "id_number", proven_self: bool = False,
              **fields) -> CadrePost:
    """A new post of ``person`` in ``org`` (``kind`` chooses the held-elsewhere answer: cadre, secretary, member;
    ``field`` the form field it is attached to). ``proven_self``: registration by the person themself, proved by
    their own password (as in grants.grant)."""
    if not proven_self:
        ownership.require_places(session, actor, person, kind, also=also, field=field)
    post = CadrePost(person_id=person.id, org_id=org.id, position=position, created_at=now)
    for key, value in fields.items():
        setattr(post, key, value)
    session.add(post)
    session.flush()
    return post


@owner_of(*TABLES)
def rename(session, actor: Actor, post: CadrePost, *, position: str, now: datetime, note: str | None = None,
           changed_on: date | None = None, **fields) -> PostChange:
    """The post keeps its id and gets another position (and ``fields``, e.g. title, start_month); the change (from,
    to, date, by whom) is kept."""
    change = PostChange(post_id=post.id, from_position=post.position, to_position=position,
                        changed_on=local_date(now) if changed_on is None else changed_on,
                        by_person_id=actor.person_id, at=now, note=note)
    session.add(change)
    post.position = position
    for key, value in fields.items():
        setattr(post, key, value)
    session.flush()
    return change


@owner_of(*TABLES)
def update(session, actor: Actor, post: CadrePost, fields: dict) -> None:
    """任现职年月, 团干部性质, 是否同级党委（支部）成员 … (no history: these are descriptions of the post)."""
    for key, value in fields.items():
        setattr(post, key, value)
    session.flush()


@owner_of(*TABLES)
def close(session, actor: Actor, post: CadrePost, *, now: datetime, reason: str, ended_on: date | None = None,
          note: str | None = None) -> None:
    """The one way a post ends (卸任, a member deleted or transferred, an org closed, a new 书记): sets the end and
    keeps a PostChange (position → none) by the actor. No authority check and no audit entry: the caller does both."""
    ended_on = local_date(now) if ended_on is None else ended_on
    post.ended_at, post.ended_on, post.end_reason = now, ended_on, reason
    session.add(PostChange(post_id=post.id, from_position=post.position, to_position=None, changed_on=ended_on,
                           note=reason if note is None else note, by_person_id=actor.person_id, at=now))
    session.flush()


@owner_of(*TABLES)
def move(session, actor: Actor, post: CadrePost, target: Org) -> None:
    """A post follows its branch into another (a merge of branches)."""
    post.org_id = target.id
    session.flush()


@owner_of(*TABLES)
def insert_many(session, actor: Actor, rows: list[dict], *, now: datetime) -> None:
    """Set at a time (the member import's bulk path): posts of people entered in the same transaction; one query
    checks none holds a place out of reach, then one executemany."""
    if not rows:
        return
    _require_no_foreign(session, actor, [r["person_id"] for r in rows], "cadre")
    _insert(session, CadrePost.__table__, rows, {"created_at": now})


# ---------------------------------------------------------------- 上报文件 apply (set at a time)

@owner_of("cadre_posts", "post_changes")
def insert_rows(session, actor: Actor, name: str, rows: list[dict], *, reach: tuple[str | None, ...] = ()) -> None:
    """Rows of a 上报文件; a new place for a person known here follows the person rule (the actor's reach and the
    package's subtree, ``reach``)."""
    assert name in ("cadre_posts", "post_changes",), name
    _rows.check_places(session, actor, name, [r.get("person_id") for r in rows], reach=reach)
    _rows.insert_rows(session, name, rows)


@owner_of("cadre_posts", "post_changes")
def update_rows(session, actor: Actor, name: str, shape: tuple[str, ...], rows: list[dict], *,
                reach: tuple[str | None, ...] = (), moved: list[int] = ()) -> None:
    """``moved``: person ids whose place changes organisation or comes back (the person rule applies to them)."""
    assert name in ("cadre_posts", "post_changes",), name
    _rows.check_places(session, actor, name, moved, reach=reach)
    _rows.update_rows(session, name, shape, rows)


@owner_of("cadre_posts", "post_changes")
def set_where(session, actor: Actor, name: str, ids, values: dict, *, only_set: str | None = None) -> None:
    """Retire rows (a 上报文件 no longer has them) or free their 发展团员编号."""
    assert name in ("cadre_posts", "post_changes",), name
    _rows.set_where(session, name, ids, values, only_set=only_set)
