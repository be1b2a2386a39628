"""The members feature's read queries: the member lists (a branch, or a whole subtree flattened, with 团委 / 团总支
and posts), the 组织关系转接 list and the 特殊情况录入 queue. Functions take the session first; they never write.
Settings and the date are passed in (the views read them)."""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Integer, Select, and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import aliased

from ..domain import exceptions as rules
from ..domain.canonical import canonical_org_name, name_query
from ..domain.members import is_overage
from ..domain.orgtree import OrgKind, is_within
from ..domain.people import classify_id_search
from ..models import CadrePost, ExceptionRequest, Member, Org, Person, TransferRequest
from ..queries import Page, among, paginate, post_held_at, within, within_bound, within_params
from ..services import idsearch


@dataclass
class Row:
    member: Member
    person: Person
    branch: Org
    committee: Org | None      # nearest 团委/团工委 (or leading body) above the branch, within scope
    general: Org | None        # nearest 团总支 above the branch
    overage: bool
    cadre_positions: list[str]


# ---------------------------------------------------------------- 团员名单

def member_stmt(org: Org, q: str = "") -> Select:
    """(member, person, branch) of the current members in ``org``'s subtree matching the search ``q``, in list
    order (branch code, name)."""
    stmt = (select(Member, Person, Org).join(Person, Member.person_id == Person.id).join(Org, Member.org_id == Org.id)
            .where(within(Org.code, org.code), Member.deleted_at.is_(None)))
    if q:
        # ID digits find the full number or its last 4 only (issue 14): never a beginning or a middle part
        id_cond = idsearch.condition(Person.id_number, classify_id_search(q))
        if id_cond is not None:
            stmt = stmt.where(id_cond)
        else:
            name = name_query(q)
            stmt = stmt.where(or_(Person.name.contains(name, autoescape=True),
                                  Org.short_name.contains(canonical_org_name(q), autoescape=True)))
    return stmt.order_by(Org.code, Person.name, Member.id)


def member_page(session, org: Org, q: str, page: int, per_page: int, *, scope: Org, overage_years: int,
                today: date) -> Page:
    """One page of ``org``'s member list as ``Row``s (团委 / 团总支 and posts seen from ``scope``)."""
    found = paginate(session, member_stmt(org, q), page, per_page, rows=True)
    return dataclasses.replace(found, items=annotate(session, found.items, scope, overage_years=overage_years,
                                                     today=today))


def all_member_rows(session, org: Org, *, overage_years: int, today: date) -> list[Row]:
    """Every current member of ``org``'s subtree as ``Row``s seen from ``org`` (the export)."""
    return annotate(session, session.execute(member_stmt(org)).all(), org, overage_years=overage_years, today=today)


def member_rows_on(session, org: Org, day: date, *, overage_years: int) -> list[Row]:
    """Every member of ``org``'s subtree at the end of ``day`` (from the 团籍变动, ``tuanji.queries.members_on``),
    with the branch they were in then, as ``Row``s seen from ``org`` (超龄 and 团内职务 as of ``day``: the posts held
    at its end, under their present titles)."""
    from ..tuanji.queries import _end_utc, members_on
    placed = members_on(session, day, org.code)
    if not placed:
        return []
    branches = {o.id: o for o in session.scalars(select(Org).where(Org.id.in_(set(placed.values()))))}
    found = []
    for cond in among(session, Member.person_id, list(placed)):
        found += [(m, p, branches[placed[p.id]]) for m, p in session.execute(
            select(Member, Person).join(Person, Member.person_id == Person.id).where(cond))]
    found.sort(key=lambda t: (t[2].code, t[1].name))
    return annotate(session, found, org, overage_years=overage_years, today=day, posts_at=_end_utc(day))


def annotate(session, found, scope: Org, *, overage_years: int, today: date, posts_at=None) -> list[Row]:
    """(member, person, branch) triples as list rows: 团委 / 团总支 above the branch (within ``scope``), posts, 超龄.
    ``posts_at``: the posts held at that naive-UTC instant (``queries.post_held_at``) instead of today's."""
    ancestor_codes = set()
    for _, _, branch in found:
        code = branch.code
        while "." in code and code != scope.code:
            code = code.rsplit(".", 1)[0]
            ancestor_codes.add(code)
    ancestors = {}
    for cond in among(session, Org.code, sorted(ancestor_codes)):
        ancestors.update((o.code, o) for o in session.scalars(select(Org).where(cond)))
    person_ids = [p.id for _, p, _ in found]
    posts: dict[int, list[str]] = {}          # posts shown: only those held in organisations within ``scope``
    holds_post: set[int] = set()              # any post anywhere keeps a member from being 超龄 (not shown)
    for cond in among(session, CadrePost.person_id, person_ids):
        for pid, pos, org_code in session.execute(
                select(CadrePost.person_id, CadrePost.position, Org.code).join(Org, CadrePost.org_id == Org.id)
                .where(cond, CadrePost.ended_at.is_(None) if posts_at is None else post_held_at(posts_at))
                .order_by(CadrePost.id)):
            holds_post.add(pid)
            if is_within(org_code, scope.code):
                posts.setdefault(pid, []).append(pos)
    rows = []
    for member, person, branch in found:
        committee = general = None
        code = branch.code
        while "." in code and code != scope.code:
            code = code.rsplit(".", 1)[0]
            anc = ancestors.get(code)
            if anc is None:
                continue
            if anc.org_kind is OrgKind.GENERAL_BRANCH and general is None:
                general = anc
            elif anc.org_kind is not OrgKind.GENERAL_BRANCH and committee is None:
                committee = anc
        rows.append(Row(member, person, branch, committee, general,
                        is_overage(person.birth_date, today, holds_post=person.id in holds_post, years=overage_years),
                        posts.get(person.id, [])))
    return rows


def member_positions(session, member: Member) -> list[str]:
    """The member's active posts in the member's own branch, oldest first."""
    return [c.position for c in session.scalars(select(CadrePost).where(
        CadrePost.org_id == member.org_id, CadrePost.person_id == member.person_id, CadrePost.ended_at.is_(None))
        .order_by(CadrePost.id))]


# ---------------------------------------------------------------- 组织关系转接

def transfer_page(session, scope_code: str, q: str, page: int, per_page: int) -> Page:
    """The transfer requests either side of which lies in the subtree, pending first, newest first; ``q`` finds a
    member's name or an organisation's name (an organisation outside the subtree is not searchable by name)."""
    src, dst = aliased(Org), aliased(Org)
    stmt = (select(TransferRequest).join(src, TransferRequest.from_org_id == src.id)
            .join(dst, TransferRequest.to_org_id == dst.id).join(Member, TransferRequest.member_id == Member.id)
            .join(Person, Member.person_id == Person.id)
            .where(within(src.code, scope_code) | within(dst.code, scope_code)))
    if q:
        org_q = canonical_org_name(q)
        stmt = stmt.where(or_(Person.name.contains(name_query(q), autoescape=True),
                              within(src.code, scope_code) & src.short_name.contains(org_q, autoescape=True),
                              within(dst.code, scope_code) & dst.short_name.contains(org_q, autoescape=True)))
    return paginate(session, stmt.order_by((TransferRequest.status == "pending").desc(), TransferRequest.id.desc()),
                    page, per_page)


# ---------------------------------------------------------------- 特殊情况录入

def exception_page(session, scope_code: str, status: str, q: str, page: int, per_page: int) -> Page:
    """The requests for branches in the subtree (``status`` one of domain.exceptions' statuses, or "" for all),
    pending first, newest first; ``q`` finds the person's or the branch's name."""
    branch = aliased(Org)
    stmt = (select(ExceptionRequest).join(branch, ExceptionRequest.org_id == branch.id)
            .where(within(branch.code, scope_code)))
    if status:
        stmt = stmt.where(ExceptionRequest.status == status)
    if q:
        stmt = stmt.where(or_(ExceptionRequest.name.contains(name_query(q), autoescape=True),
                              branch.short_name.contains(canonical_org_name(q), autoescape=True)))
    return paginate(session, stmt.order_by((ExceptionRequest.status == rules.PENDING).desc(),
                                           ExceptionRequest.id.desc()), page, per_page)


def exceptions_to_decide(session, approver_org_id: int) -> int:
    """How many pending requests wait for the decision of this organisation."""
    return session.scalar(select(func.count()).select_from(ExceptionRequest).where(
        ExceptionRequest.approver_org_id == approver_org_id, ExceptionRequest.status == rules.PENDING)) or 0


# ---------------------------------------------------------------- 我的申请 (issue 26.1): the requester's side

def _requester_params(scope: Org, person_id: int, since: datetime, limit: int) -> dict:
    return {"scope_id": scope.id, "person_id": person_id, "since": since, "limit": limit,
            **within_params("scope", scope.code)}


# kind -> (request model, the org it is for, what a later request for the same case shares, its three statuses)
_REQUESTS = {"exceptions": (ExceptionRequest, "org_id", "id_number", (rules.PENDING, rules.REFUSED, rules.APPROVED)),
             "transfers": (TransferRequest, "to_org_id", "member_id", ("pending", "refused", "accepted"))}


@functools.cache
def _requester_statement(kind: str) -> Select:
    """The requests of one kind a branch (or the user) asked for, built once (the scope is a parameter): pending,
    returned until a later request for the same case is sent, and decided since a day; newest first."""
    model, org_column, case_column, (pending, refused, approved) = _REQUESTS[kind]
    target, later = aliased(Org), aliased(model)
    for_org = getattr(model, org_column)
    resent = exists().where(getattr(later, case_column) == getattr(model, case_column), later.id > model.id)
    return (select(model).join(target, for_org == target.id)
            .where(within_bound(target.code, "scope"),
                   or_(for_org == bindparam("scope_id", type_=for_org.type),
                       model.requested_by_id == bindparam("person_id", type_=model.requested_by_id.type)),
                   or_(model.status == pending, and_(model.status == refused, ~resent),
                       and_(model.status == approved,
                            model.decided_at >= bindparam("since", type_=model.decided_at.type))))
            .order_by(model.id.desc()).limit(bindparam("limit", type_=Integer)))


def requester_exceptions(session, scope: Org, person_id: int, *, since: datetime, limit: int = 100
                         ) -> list[ExceptionRequest]:
    """The 特殊情况录入 requests the current org (its branch) or the user asked for, within the subtree: pending,
    returned (until a later request for the same person is sent) and approved since ``since``; newest first."""
    return list(session.scalars(_requester_statement("exceptions"),
                                _requester_params(scope, person_id, since, limit)))


def requester_transfers(session, scope: Org, person_id: int, *, since: datetime, limit: int = 100
                        ) -> list[TransferRequest]:
    """The 组织关系转接 requests into the current org (or asked for by the user) within the subtree: pending,
    refused (until a later request for the same member) and accepted since ``since``; newest first."""
    return list(session.scalars(_requester_statement("transfers"),
                                _requester_params(scope, person_id, since, limit)))


@dataclass(frozen=True)
class EventRow:
    on: date
    kind: str
    label: str
    org_name: str | None           # None: an organisation outside the viewer's subtree (never named to them)
    note: str | None
    erased: bool


def events_of(session, person_id: int, scope_code: str | None) -> list[EventRow]:
    """A person's 团籍变动, oldest first, as the member page shows them to a viewer whose subtree is ``scope_code``."""
    from ..domain.register import label
    from ..models import MembershipEvent
    rows = session.execute(select(MembershipEvent, Org.code, Org.short_name).join(Org, MembershipEvent.org_id == Org.id)
                           .where(MembershipEvent.person_id == person_id)
                           .order_by(MembershipEvent.on_date, MembershipEvent.id)).all()
    out = []
    for ev, code, name in rows:
        seen = scope_code is None or is_within(code, scope_code)
        out.append(EventRow(ev.on_date, ev.kind, label(ev.kind), name if seen else None, ev.note if seen else None,
                            ev.erased))
    return out
