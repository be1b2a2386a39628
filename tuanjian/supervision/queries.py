"""录入进度's look-ups that the progress service does not already answer."""
from __future__ import annotations

from sqlalchemy import Select, or_, select

from ..domain.canonical import canonical_org_name, name_query
from ..models import ExceptionRequest, Member, Org, OrgStats, Person
from ..queries import Page, paginate, within


def subtree_members_of(session, scope_code: str, codes) -> dict[str, int]:
    """团员 in the subtree of each of ``codes`` (organisations within ``scope_code``): the stats rows' members of the
    organisation and everything below it, from one read of the stats rows of the scope."""
    from ..domain.orgtree import subtree_totals
    codes = set(codes)
    if not codes:
        return {}
    return subtree_totals(session.execute(select(OrgStats.code, OrgStats.members)
                                          .where(within(OrgStats.code, scope_code))).all(), codes)


def org_names(session, org_ids) -> dict[int, str]:
    """The full (else short) names of these organisations."""
    ids = [i for i in org_ids if i is not None]
    if not ids:
        return {}
    return {o.id: o.full_name or o.short_name for o in session.scalars(select(Org).where(Org.id.in_(ids)))}


def _excepted(code: str, q: str = "") -> Select:
    """The members entered by an approved 特殊情况录入 in the subtree: (Member, Person, branch, ExceptionRequest)."""
    stmt = (select(Member, Person, Org, ExceptionRequest).join(Person, Member.person_id == Person.id)
            .join(Org, Member.org_id == Org.id).join(ExceptionRequest, Member.exception_id == ExceptionRequest.id)
            .where(within(Org.code, code), Member.deleted_at.is_(None)))
    if q:
        stmt = stmt.where(or_(Person.name.contains(name_query(q), autoescape=True),
                              Org.short_name.contains(canonical_org_name(q), autoescape=True)))
    return stmt.order_by(Org.code, Person.name, Member.id)


def excepted_page(session, code: str, q: str, page: int, per_page: int) -> Page:
    """One page of the excepted members whose name or branch contains ``q``; items are rows as in ``_excepted``."""
    return paginate(session, _excepted(code, q), page, per_page, rows=True)


def excepted_all(session, code: str) -> list:
    return list(session.execute(_excepted(code)).all())
