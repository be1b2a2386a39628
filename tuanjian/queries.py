"""Scoped query builders. Every list the app shows starts from one of these."""
from __future__ import annotations

from sqlalchemy import Select, and_, func, or_, select

from .models import AdminGrant, CadrePost, Org, RegistrationCode


def within(column, scope_code: str):
    """SQL for "column is scope_code or lies below it" (delimiter-aware, so 001 never matches 0011)."""
    return or_(column == scope_code, column.startswith(scope_code + ".", autoescape=True))


def orgs_in(scope_code: str) -> Select:
    return select(Org).where(within(Org.code, scope_code))


def children_of(org_id: int) -> Select:
    return select(Org).where(Org.parent_id == org_id).order_by(Org.sort_order, Org.code)


def active_grants_query():
    return select(AdminGrant).where(AdminGrant.revoked_at.is_(None))


def admin_count(session, org_id: int) -> int:
    return session.scalar(select(func.count()).select_from(AdminGrant).where(
        AdminGrant.org_id == org_id, AdminGrant.revoked_at.is_(None))) or 0


def child_counts(session, org_ids: list[int]) -> dict[int, int]:
    if not org_ids:
        return {}
    rows = session.execute(select(Org.parent_id, func.count()).where(Org.parent_id.in_(org_ids))
                           .group_by(Org.parent_id))
    return {pid: n for pid, n in rows}


def admin_counts(session, org_ids: list[int]) -> dict[int, int]:
    if not org_ids:
        return {}
    rows = session.execute(select(AdminGrant.org_id, func.count()).where(
        AdminGrant.org_id.in_(org_ids), AdminGrant.revoked_at.is_(None)).group_by(AdminGrant.org_id))
    return {oid: n for oid, n in rows}


def latest_codes(session, org_ids: list[int]) -> dict[int, RegistrationCode]:
    """The most recently issued code of each org."""
    if not org_ids:
        return {}
    latest = (select(RegistrationCode.org_id, func.max(RegistrationCode.id).label("mid"))
              .where(RegistrationCode.org_id.in_(org_ids)).group_by(RegistrationCode.org_id).subquery())
    rows = session.scalars(select(RegistrationCode).join(latest, and_(RegistrationCode.id == latest.c.mid)))
    return {c.org_id: c for c in rows}


def active_posts(session, org_id: int) -> list[CadrePost]:
    return list(session.scalars(select(CadrePost).where(CadrePost.org_id == org_id, CadrePost.ended_at.is_(None))
                                .order_by(CadrePost.id)))
