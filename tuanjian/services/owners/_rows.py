"""Set-at-a-time Core writes shared by the owners (上报文件 apply). Private to ``services/owners``: each owner wraps
these for its own tables, marked with ``owner_of``; nothing else calls them."""
from __future__ import annotations

from sqlalchemy import bindparam, event
from sqlalchemy.orm import Session

from ...models import Base
from ...queries import among
from .. import ownership
from ..actor import Actor

PLACE_TABLES = ("members", "cadre_posts", "admin_grants")


def fresh(session) -> set[int]:
    """Ids of people created by ``insert_many`` in the session's current transaction."""
    return session.info.setdefault(FRESH, set())


FRESH = "owners.fresh_people"


@event.listens_for(Session, "after_transaction_end")
def _forget_fresh(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(FRESH, None)



def table(name: str):
    return Base.metadata.tables[name]


def check_places(session, actor: Actor, name: str, person_ids, *, reach: tuple[str | None, ...]) -> None:
    """Places follow the person rule, set at a time: none of ``person_ids`` (people getting a new or moved place in
    ``name``) may hold a place out of the actor's reach or of ``reach`` (the package's subtree)."""
    if name not in PLACE_TABLES:
        return
    scopes = ([] if ownership.is_system(actor) else [actor.scope_code]) + list(reach)
    known = {p for p in person_ids if p is not None} - fresh(session)
    if scopes and known and ownership.foreign_people(session, scopes, known):
        raise ownership.ForeignPerson("package")


def insert_rows(session, name: str, rows: list[dict]) -> None:
    if rows:
        session.execute(table(name).insert(), rows)


def update_rows(session, name: str, shape: tuple[str, ...], rows: list[dict]) -> None:
    """``rows``: each with ``_id`` and the columns of ``shape``."""
    if rows:
        t = table(name)
        stmt = t.update().where(t.c.id == bindparam("_id")).values({c: bindparam(c) for c in shape})
        session.execute(stmt, rows)


def set_where(session, name: str, ids, values: dict, *, only_set: str | None = None) -> None:
    """Set ``values`` on the rows ``ids`` (``only_set``: only where that column is not null)."""
    t = table(name)
    for cond in among(session, t.c.id, list(ids)):
        where = [cond] if only_set is None else [cond, t.c[only_set].is_not(None)]
        session.execute(t.update().where(*where).values(values))
