"""The one writer of ``admin_grants`` (a place as 管理员). A new grant follows the person rule: every place the person
already holds lies in the actor's reach (else the one held-elsewhere answer). The account that the grant opens is
the accounts owner's."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ...models import AdminGrant, Org, Person
from .. import ownership
from ..actor import Actor
from . import _rows
from ._mark import owner_of

TABLE = "admin_grants"


@owner_of(TABLE)
def grant(session, actor: Actor, org: Org, person: Person, *, now: datetime, code_id: int | None = None,
          proven_self: bool = False, field: str = "post_id") -> AdminGrant:
    """Make ``person`` an admin of ``org`` (``code_id``: by a registration code, granted by nobody).
    ``proven_self``: registration by the person themself, who proved who they are with their own password (their
    places are their own); otherwise the person rule for ``actor``."""
    if not proven_self:
        ownership.require_places(session, actor, person, "admin", field=field)
    row = AdminGrant(org_id=org.id, person_id=person.id, granted_at=now, code_id=code_id,
                     granted_by_id=None if code_id is not None else actor.person_id)
    session.add(row)
    session.flush()
    return row


@owner_of(TABLE)
def revoke(session, actor: Actor, row: AdminGrant, *, now: datetime) -> None:
    row.revoked_at, row.revoked_by_id = now, actor.person_id
    session.flush()


@owner_of(TABLE)
def revoke_all(session, actor: Actor, org: Org, *, now: datetime) -> int:
    """Every active grant of ``org`` ends (the org is dissolved or merged)."""
    n = 0
    for row in session.scalars(select(AdminGrant).where(AdminGrant.org_id == org.id,
                                                        AdminGrant.revoked_at.is_(None))):
        row.revoked_at, row.revoked_by_id = now, actor.person_id
        n += 1
    session.flush()
    return n


# ---------------------------------------------------------------- 上报文件 apply (set at a time)

@owner_of("admin_grants")
def insert_rows(session, actor: Actor, name: str, rows: list[dict], *, reach: tuple[str | None, ...] = ()) -> None:
    """Rows of a 上报文件; a new place for a person known here follows the person rule (the actor's reach and the
    package's subtree, ``reach``)."""
    assert name in ("admin_grants",), name
    _rows.check_places(session, actor, name, [r.get("person_id") for r in rows], reach=reach)
    _rows.insert_rows(session, name, rows)


@owner_of("admin_grants")
def update_rows(session, actor: Actor, name: str, shape: tuple[str, ...], rows: list[dict], *,
                reach: tuple[str | None, ...] = (), moved: list[int] = ()) -> None:
    """``moved``: person ids whose place changes organisation or comes back (the person rule applies to them)."""
    assert name in ("admin_grants",), name
    _rows.check_places(session, actor, name, moved, reach=reach)
    _rows.update_rows(session, name, shape, rows)


@owner_of("admin_grants")
def set_where(session, actor: Actor, name: str, ids, values: dict, *, only_set: str | None = None) -> None:
    """Retire rows (a 上报文件 no longer has them) or free their 发展团员编号."""
    assert name in ("admin_grants",), name
    _rows.set_where(session, name, ids, values, only_set=only_set)
