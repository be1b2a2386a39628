"""The expired-session stash's rows (issue 16.1; issue 24 class 5): kept in the database so every app server sees
them, capped per browser and in total, purged when used and when older than ``max_age``. The web side
(``web/stash.py``) decides what is kept and to whom it is restored; this module only stores, finds and deletes.
Never commits."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from ..models import FormStash


@dataclass(frozen=True)
class Caps:
    per_stash_bytes: int
    per_client_count: int
    per_client_bytes: int
    total_count: int
    total_bytes: int


def purge_expired(session, *, now: datetime, max_age: int) -> int:
    return session.execute(delete(FormStash).where(FormStash.created_at < now - timedelta(seconds=max_age))
                           .execution_options(synchronize_session=False)).rowcount


def save(session, *, token: str, client_hash: str, account_id: int | None, action: str, page: str, payload: dict,
         size: int, caps: Caps, now: datetime, max_age: int) -> bool:
    """Keep one stash. The browser's own older stashes make room for it (oldest first) within its caps; when the
    whole table is full the new one is refused (False): other browsers' work is never pushed out."""
    if size > caps.per_stash_bytes:
        return False
    purge_expired(session, now=now, max_age=max_age)
    mine = session.execute(select(FormStash.id, FormStash.size).where(FormStash.client_hash == client_hash)
                           .order_by(FormStash.created_at.desc(), FormStash.id.desc())).all()
    keep_count, keep_bytes, drop = 1, size, []
    for row in mine:
        if keep_count + 1 > caps.per_client_count or keep_bytes + row.size > caps.per_client_bytes:
            drop.append(row.id)
        else:
            keep_count, keep_bytes = keep_count + 1, keep_bytes + row.size
    if drop:
        session.execute(delete(FormStash).where(FormStash.id.in_(drop)).execution_options(synchronize_session=False))
    count, total = session.execute(select(func.count(FormStash.id), func.coalesce(func.sum(FormStash.size), 0))).one()
    if count + 1 > caps.total_count or total + size > caps.total_bytes:
        return False
    session.add(FormStash(token=token, client_hash=client_hash, account_id=account_id, action=action[:500],
                          page=page[:2000], payload=payload, size=size, created_at=now))
    session.flush()
    return True


def find(session, token: str, *, now: datetime, max_age: int) -> FormStash | None:
    row = session.scalar(select(FormStash).where(FormStash.token == token))
    if row is None or row.created_at < now - timedelta(seconds=max_age):
        return None
    return row


def discard(session, token: str) -> None:
    session.execute(delete(FormStash).where(FormStash.token == token).execution_options(synchronize_session=False))


def counts(session, client_hash: str | None = None) -> tuple[int, int]:
    """(stashes, bytes) of one browser, or of everyone."""
    stmt = select(func.count(FormStash.id), func.coalesce(func.sum(FormStash.size), 0))
    if client_hash is not None:
        stmt = stmt.where(FormStash.client_hash == client_hash)
    count, total = session.execute(stmt).one()
    return int(count), int(total)
