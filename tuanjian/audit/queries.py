"""操作日志's look-ups: the entries of a subtree, and the names of the organisations they mention."""
from __future__ import annotations

from sqlalchemy import select

from ..domain.orgtree import is_within
from ..models import AuditEntry, AuditOrg, Org
from ..queries import Page, paginate, within


def entries(session, scope_code: str, *, action: str | None, q: str, page: int, per_page: int) -> Page:
    """One page of the entries filed under an org of the subtree, or also filed there because they touched a
    person who holds a place there; newest first. Items are (entry, org), org None when the entry is filed
    outside the subtree (an entry shown for a shared person does not name the outside organisation)."""
    also = select(AuditOrg.entry_id).join(Org, AuditOrg.org_id == Org.id).where(within(Org.code, scope_code))
    stmt = (select(AuditEntry, Org).join(Org, AuditEntry.org_id == Org.id)
            .where(within(Org.code, scope_code) | AuditEntry.id.in_(also)))
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if q:
        stmt = stmt.where(AuditEntry.summary.like(f"%{q}%") | AuditEntry.actor_name.like(f"%{q}%"))
    found = paginate(session, stmt.order_by(AuditEntry.id.desc()), page, per_page, rows=True)
    found.items = [(e, o if is_within(o.code, scope_code) else None) for e, o in found.items]
    return found


def org_names(session, ids, codes) -> dict:
    """Short names of the organisations with these ids or codes, keyed by both."""
    names: dict = {}
    if ids or codes:
        for o in session.scalars(select(Org).where(Org.id.in_(ids) | Org.code.in_(codes))):
            names[o.id] = names[o.code] = o.short_name
    return names
