"""Look-ups of the public registration page."""
from __future__ import annotations

from sqlalchemy import or_, select

from ..domain.canonical import canonical_org_name
from ..models import Org

SEARCH_LIMIT = 20


def search_orgs(session, q: str) -> list[Org]:
    """Live organisations whose name contains ``q`` (two characters at least) or whose code starts with it."""
    q = " ".join((q or "").split())
    if len(q) < 2:
        return []
    name = canonical_org_name(q)
    return list(session.scalars(
        select(Org).where(or_(Org.short_name.contains(name, autoescape=True),
                              Org.full_name.contains(name, autoescape=True),
                              Org.code.startswith(q, autoescape=True)), Org.dissolved_at.is_(None))
        .order_by(Org.code).limit(SEARCH_LIMIT)))
