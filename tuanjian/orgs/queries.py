"""Read queries of the organisation pages (tree, admins, structure): ``session`` first, lists or a Page."""
from __future__ import annotations

from sqlalchemy import func, or_, select

from ..domain.canonical import canonical_org_name
from ..domain.orgtree import OrgKind
from ..models import AdminGrant, Member, Org, OrgCodeChange
from ..queries import Page, children_of, paginate, within


def children_page(session, org_id: int, page: int, per_page: int) -> Page:
    """One page of the live direct children, in the parent's order."""
    return paginate(session, children_of(org_id), page, per_page)


def search_below(session, org: Org, q: str, page: int, per_page: int) -> Page:
    """Live orgs anywhere below ``org`` whose short or full name contains ``q`` or whose code starts with it."""
    name = canonical_org_name(q)
    stmt = (select(Org).where(within(Org.code, org.code), Org.id != org.id, Org.dissolved_at.is_(None),
                              or_(Org.short_name.contains(name, autoescape=True),
                                  Org.full_name.contains(name, autoescape=True),
                                  Org.code.startswith(q, autoescape=True)))
            .order_by(Org.code))
    return paginate(session, stmt, page, per_page)


def active_grants(session, org_id: int) -> list[AdminGrant]:
    return list(session.scalars(select(AdminGrant).where(AdminGrant.org_id == org_id, AdminGrant.revoked_at.is_(None))
                                .order_by(AdminGrant.id)))


def live_child_count(session, org_id: int) -> int:
    return session.scalar(select(func.count()).select_from(children_of(org_id).order_by(None).subquery())) or 0


def member_count(session, org_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Member).where(Member.org_id == org_id,
                                                                        Member.deleted_at.is_(None))) or 0


def code_changes(session, org_id: int) -> list[OrgCodeChange]:
    """The org's code changes, newest first."""
    return list(session.scalars(select(OrgCodeChange).where(OrgCodeChange.org_id == org_id)
                                .order_by(OrgCodeChange.id.desc())))


def sibling_branches(session, org: Org) -> list[Org]:
    """The other live 团支部 under the same parent (merge targets), in the parent's order."""
    if org.parent_id is None:
        return []
    return [o for o in session.scalars(children_of(org.parent_id)) if o.id != org.id and o.org_kind is OrgKind.BRANCH]
