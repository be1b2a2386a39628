"""Scoped query builders. Every list the app shows starts from one of these."""
from __future__ import annotations

import functools
import json
import sqlite3
from dataclasses import dataclass

from sqlalchemy import ARRAY, Select, String, and_, any_, bindparam, cast, func, not_, or_, select
from sqlalchemy.orm import contains_eager

from .domain.orgtree import is_within
from .models import AdminGrant, CadrePost, Member, Org, Person, RegistrationCode


def within(column, scope_code: str):
    """SQL for "column is scope_code or lies below it" (delimiter-aware, so 001 never matches 0011)."""
    return or_(column == scope_code, column.startswith(scope_code + ".", autoescape=True))


def within_bound(column, name: str):
    """``within`` for a statement built once: the scope comes as the parameters ``within_params(name, code)``
    (the same SQL as ``within``, LIKE escaped the same way)."""
    return or_(column == bindparam(name, type_=String), column.startswith(bindparam(f"{name}_below", type_=String),
                                                                          escape="/"))


def within_params(name: str, scope_code: str) -> dict[str, str]:
    """The parameters of ``within_bound(column, name)`` for the subtree of ``scope_code``."""
    below = (scope_code + ".").replace("/", "//").replace("%", "/%").replace("_", "/_")
    return {name: scope_code, f"{name}_below": below}


# stays under SQLite's bound-parameter limit (999 before SQLite 3.32, 32766 since)
IN_CHUNK = 30000 if sqlite3.sqlite_version_info >= (3, 32) else 900
JSON_LIST_FROM = 100        # longer lists travel to SQLite as one JSON text


def among(session, column, values) -> list:
    """Conditions that together say "column IN values" for any number of values: one ``= ANY(array)`` with a
    single parameter on PostgreSQL; on SQLite, for a long list of texts or integers, ``IN (SELECT value FROM
    json_each(?))`` with the list as one JSON parameter (SQLAlchemy would otherwise render and convert tens of
    thousands of parameters, slower than the look-up itself), else IN (...) chunks under the parameter limit.
    Run the query once per condition and combine the results."""
    values = list(values)
    if not values:
        return []
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        joined = _joined(values)
        if joined is not None:
            # one text the server splits: psycopg's array dumper would quote the list item by item in Python.
            # Texts compare as text[] (a cast to varchar(n)[] would cut longer values and let them match)
            listed = func.string_to_array(bindparam(None, joined, type_=String), _SEPARATOR)
            return [column == any_(cast(listed, ARRAY(column.type)) if type(values[0]) is int else listed)]
        return [column == any_(bindparam(None, values, type_=ARRAY(column.type)))]
    if dialect == "sqlite" and len(values) > JSON_LIST_FROM and all(type(v) in (str, int) for v in values):
        listed = func.json_each(bindparam(None, json.dumps(values, ensure_ascii=False),
                                          type_=String)).table_valued("value")
        return [column.in_(select(listed.c.value).scalar_subquery())]
    return [column.in_(values[i:i + IN_CHUNK]) for i in range(0, len(values), IN_CHUNK)]


_SEPARATOR = "\x1f"          # the unit separator: no ID number, code or name holds it (checked below anyway)


def _joined(values: list) -> str | None:
    """A long list of non-empty texts or of integers as one text joined by _SEPARATOR, when none holds it (else
    None: the list goes as an array parameter)."""
    if len(values) <= JSON_LIST_FROM:
        return None
    kinds = set(map(type, values))
    if kinds == {int}:
        return _SEPARATOR.join(map(str, values))
    if kinds != {str} or not all(values):
        return None
    joined = _SEPARATOR.join(values)
    return joined if joined.count(_SEPARATOR) == len(values) - 1 else None


def page_bounds(total: int, page: int, per_page: int) -> tuple[int, int]:
    """(page, pages) for a list of ``total`` items: the page asked for, kept within 1..pages (a page past the end
    shows the last one)."""
    pages = max(1, -(-total // per_page))
    return min(max(1, page), pages), pages


@dataclass
class Page:
    """One page of a list: the one paging rule (page clamped to 1..pages, a page past the end shows the last)."""
    items: list
    total: int
    page: int
    pages: int
    per_page: int


def paginate(session, stmt: Select, page: int, per_page: int, *, rows: bool = False) -> Page:
    """One page of ``stmt``: its objects (``rows=True``: its rows, for a select of several entities).

    The total of a plain select is counted as ``SELECT count(*)`` over the same FROM and WHERE: building a count over
    a subquery of every selected column (a member row is three entities, 60 columns) cost more CPU than running it.
    (One statement with ``count(*) OVER ()`` beside each row would save a round trip, but makes the database keep
    every row of the list before the page is cut: 1.4–1.7× its time on a county of 50,000.) A select whose rows a
    plain count would not count (DISTINCT, GROUP BY, a LIMIT of its own) is counted over its subquery."""
    plain = (not stmt._distinct and not stmt._group_by_clauses and stmt._limit_clause is None
             and stmt._offset_clause is None)
    if plain:
        counting = stmt.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)
    else:
        counting = select(func.count()).select_from(stmt.order_by(None).subquery())
    total = session.scalar(counting) or 0
    page, pages = page_bounds(total, page, per_page)
    sliced = stmt.offset((page - 1) * per_page).limit(per_page)
    items = list(session.execute(sliced).all()) if rows else list(session.scalars(sliced))
    return Page(items, total, page, pages, per_page)


def paginate_list(items: list, page: int, per_page: int) -> Page:
    """The same rule for a list already in memory."""
    page, pages = page_bounds(len(items), page, per_page)
    return Page(items[(page - 1) * per_page: page * per_page], len(items), page, pages, per_page)


def ancestors_in_scope(session, code: str, scope_code: str) -> list[Org]:
    """The orgs from ``scope_code`` down to ``code`` (both included), outermost first; none above the scope."""
    codes = []
    c = code
    while True:
        codes.append(c)
        if c == scope_code or "." not in c:
            break
        c = c.rsplit(".", 1)[0]
    found = {o.code: o for o in session.scalars(select(Org).where(Org.code.in_(codes)))}
    return [found[c] for c in reversed(codes) if c in found and is_within(c, scope_code)]


def orgs_in(scope_code: str) -> Select:
    return select(Org).where(within(Org.code, scope_code))


def children_of(org_id: int) -> Select:
    """Live (not dissolved) direct children in the parent's chosen order."""
    return select(Org).where(Org.parent_id == org_id, Org.dissolved_at.is_(None)).order_by(Org.sort_order, Org.code)


def live_children(session, org_id: int) -> list[Org]:
    """The live direct children, in the parent's chosen order: the one home of this query (issue 29)."""
    return list(session.scalars(children_of(org_id)))


def is_admin(session, org_id: int, person_id: int) -> bool:
    """Whether the person is an (active) admin of the org."""
    return session.scalar(select(AdminGrant.id).where(AdminGrant.org_id == org_id, AdminGrant.person_id == person_id,
                                                      AdminGrant.revoked_at.is_(None))) is not None


def admin_count(session, org_id: int) -> int:
    return session.scalar(select(func.count()).select_from(AdminGrant).where(
        AdminGrant.org_id == org_id, AdminGrant.revoked_at.is_(None))) or 0


@functools.cache
def _node_facts() -> dict[str, Select]:
    """The three look-ups of the org tree's nodes, built once (the ids are an expanding parameter)."""
    ids = bindparam("ids", expanding=True)
    latest = (select(RegistrationCode.org_id, func.max(RegistrationCode.id).label("mid"))
              .where(RegistrationCode.org_id.in_(ids)).group_by(RegistrationCode.org_id).subquery())
    return {"children": (select(Org.parent_id, func.count())
                         .where(Org.parent_id.in_(ids), Org.dissolved_at.is_(None)).group_by(Org.parent_id)),
            "admins": (select(AdminGrant.org_id, func.count())
                       .where(AdminGrant.org_id.in_(ids), AdminGrant.revoked_at.is_(None))
                       .group_by(AdminGrant.org_id)),
            "codes": select(RegistrationCode).join(latest, and_(RegistrationCode.id == latest.c.mid))}


def child_counts(session, org_ids: list[int]) -> dict[int, int]:
    if not org_ids:
        return {}
    return {pid: n for pid, n in session.execute(_node_facts()["children"], {"ids": list(org_ids)})}


def admin_counts(session, org_ids: list[int]) -> dict[int, int]:
    if not org_ids:
        return {}
    return {oid: n for oid, n in session.execute(_node_facts()["admins"], {"ids": list(org_ids)})}


def latest_codes(session, org_ids: list[int]) -> dict[int, RegistrationCode]:
    """The most recently issued code of each org."""
    if not org_ids:
        return {}
    return {c.org_id: c for c in session.scalars(_node_facts()["codes"], {"ids": list(org_ids)})}


def post_held_at(end) -> object:
    """The condition "a cadre post held at the naive-UTC instant ``end``" (the end of an as-of day): entered before
    it and not ended by then. The one rule for as-of figures and lists (团内统计's cadres, the as-of member list)."""
    return and_(CadrePost.created_at < end, or_(CadrePost.ended_at.is_(None), CadrePost.ended_at >= end))


def active_posts(session, org_id: int) -> list[CadrePost]:
    return list(session.scalars(select(CadrePost).where(CadrePost.org_id == org_id, CadrePost.ended_at.is_(None))
                                .order_by(CadrePost.id)))


# ---------------------------------------------------------------- people in scope

def person_in_scope(scope_code: str):
    """SQL condition on ``Person``: an active cadre post, a current membership or an active admin grant in an
    organisation of the subtree. One EXISTS per kind, correlated to the enclosing ``select(Person)``."""
    def linked(model, active):
        return (select(model.id).join(Org, model.org_id == Org.id)
                .where(model.person_id == Person.id, active, within(Org.code, scope_code)).exists())
    return or_(linked(CadrePost, CadrePost.ended_at.is_(None)), linked(Member, Member.deleted_at.is_(None)),
               linked(AdminGrant, AdminGrant.revoked_at.is_(None)))


@dataclass(frozen=True)
class PersonLink:
    """One reason a person is in scope: a post, a membership or an admin grant in one organisation."""

    person_id: int
    org: Org
    role: str                    # "post" / "member" / "admin"
    position: str | None = None  # 团内职务 of a post

    @property
    def label(self) -> str:
        return {"post": self.position or "团干部", "member": "团员", "admin": "管理员"}[self.role]


_ROLE_ORDER = {"admin": 0, "post": 1, "member": 2}


def person_links(session, person_ids, scope_code: str) -> dict[int, list[PersonLink]]:
    """The active posts, memberships and admin grants of these people inside the subtree, by organisation code."""
    ids = sorted(set(person_ids))
    out: dict[int, list[PersonLink]] = {pid: [] for pid in ids}
    if not ids:
        return out
    in_scope = within(Org.code, scope_code)
    for post, org in session.execute(select(CadrePost, Org).join(Org, CadrePost.org_id == Org.id).where(
            CadrePost.person_id.in_(ids), CadrePost.ended_at.is_(None), in_scope)):
        out[post.person_id].append(PersonLink(post.person_id, org, "post", post.position))
    for pid, org in session.execute(select(Member.person_id, Org).join(Org, Member.org_id == Org.id).where(
            Member.person_id.in_(ids), Member.deleted_at.is_(None), in_scope)):
        out[pid].append(PersonLink(pid, org, "member"))
    for pid, org in session.execute(select(AdminGrant.person_id, Org).join(Org, AdminGrant.org_id == Org.id).where(
            AdminGrant.person_id.in_(ids), AdminGrant.revoked_at.is_(None), in_scope)):
        out[pid].append(PersonLink(pid, org, "admin"))
    for links in out.values():
        links.sort(key=lambda link: (link.org.code, _ROLE_ORDER[link.role], link.position or ""))
    return out


def admins_outside(session, person_ids, scope_code: str) -> set[int]:
    """Those of these people who administer an organisation outside the subtree."""
    ids = sorted(set(person_ids))
    if not ids:
        return set()
    return set(session.scalars(select(AdminGrant.person_id).join(Org, AdminGrant.org_id == Org.id).where(
        AdminGrant.person_id.in_(ids), AdminGrant.revoked_at.is_(None), not_(within(Org.code, scope_code)))))


def place_codes(session, person_ids) -> dict[int, list[str]]:
    """Every place of these people, wherever it is: the codes of the organisations where they are a current
    member, hold an active cadre post or an active admin grant (the person-ownership rule's input)."""
    ids = sorted(set(person_ids))
    out: dict[int, set[str]] = {pid: set() for pid in ids}
    if not ids:
        return {}
    for model, active in ((Member, Member.deleted_at.is_(None)), (CadrePost, CadrePost.ended_at.is_(None)),
                          (AdminGrant, AdminGrant.revoked_at.is_(None))):
        for cond in among(session, model.person_id, ids):
            for pid, code in session.execute(select(model.person_id, Org.code).join(Org, model.org_id == Org.id)
                                             .where(cond, active)):
                out[pid].add(code)
    return {pid: sorted(codes) for pid, codes in out.items()}


# ---------------------------------------------------------------- the scope chokepoint's look-ups (web/scope.py)

# The account of a session cookie with its person and active admin grants (each with its org), highest org first:
# one statement per request (the user loader), built once (SQLAlchemy memoises a statement's cache key).
@functools.cache
def _account_with_grants_statement():
    from .models import Account
    return (select(Account, AdminGrant).join(Account.person)
            .outerjoin(AdminGrant, and_(AdminGrant.person_id == Account.person_id, AdminGrant.revoked_at.is_(None)))
            .outerjoin(Org, AdminGrant.org_id == Org.id)
            .options(contains_eager(Account.person), contains_eager(AdminGrant.org))
            .where(Account.id == bindparam("account_id"))
            .order_by(Org.code))


def account_with_grants(session, account_id: int):
    """(account, its person's active admin grants highest organisation first) in one statement, or (None, [])."""
    rows = session.execute(_account_with_grants_statement(), {"account_id": account_id}).all()
    if not rows:
        return None, []
    return rows[0][0], [grant for _, grant in rows if grant is not None]


def admin_grants_of(session, person_id: int) -> list[AdminGrant]:
    """A person's active admin grants, highest organisation first."""
    return list(session.scalars(select(AdminGrant).join(Org, AdminGrant.org_id == Org.id)
                                .options(contains_eager(AdminGrant.org))      # every request reads grant.org
                                .where(AdminGrant.person_id == person_id, AdminGrant.revoked_at.is_(None))
                                .order_by(Org.code)))


def org_in_scope(session, org_id: int, scope_code: str) -> Org | None:
    return session.scalar(select(Org).where(Org.id == org_id, within(Org.code, scope_code)))


def owned_in_scope(session, model, obj_id: int, scope_code: str):
    """A row that belongs to an organisation (``model.org_id``) when that organisation is in the subtree."""
    return session.scalar(select(model).join(Org, model.org_id == Org.id)
                          .where(model.id == obj_id, within(Org.code, scope_code)))


def transfer_in_scope(session, transfer_id: int, scope_code: str):
    """A transfer request with either branch (from or to) in the subtree."""
    from sqlalchemy.orm import aliased

    from .models import TransferRequest
    src, dst = aliased(Org), aliased(Org)
    return session.scalar(select(TransferRequest).join(src, TransferRequest.from_org_id == src.id)
                          .join(dst, TransferRequest.to_org_id == dst.id)
                          .where(TransferRequest.id == transfer_id,
                                 within(src.code, scope_code) | within(dst.code, scope_code)))


def person_by_id_in_scope(session, person_id: int, scope_code: str) -> Person | None:
    return session.scalar(select(Person).where(Person.id == person_id, person_in_scope(scope_code)))


def parents_campaign(session, campaign_id: int, org: Org):
    """The campaign ``campaign_id`` when it was set by ``org``'s parent (the one an org confirms), else None."""
    from .models import Campaign
    if org.parent_id is None:
        return None
    return session.scalar(select(Campaign).where(Campaign.id == campaign_id, Campaign.org_id == org.parent_id))


def has_children(session, org_id: int) -> bool:
    """The organisation has a live (not dissolved) direct child."""
    return session.scalar(children_of(org_id).with_only_columns(Org.id).limit(1)) is not None


def recent_batches(session, org_id: int, kind: str, limit: int = 10) -> list:
    """The latest import batches of one kind uploaded under an organisation, newest first."""
    from .models import ImportBatch
    return list(session.scalars(select(ImportBatch).where(ImportBatch.org_id == org_id, ImportBatch.kind == kind)
                                .order_by(ImportBatch.id.desc()).limit(limit)))


@functools.cache
def _requests_waiting_statement():
    from .domain.exceptions import PENDING
    from .models import ExceptionRequest, TransferRequest
    person_id = bindparam("person_id", type_=ExceptionRequest.requested_by_id.type)
    exceptions = select(func.count()).select_from(ExceptionRequest).where(
        ExceptionRequest.approver_org_id == bindparam("org_id", type_=ExceptionRequest.approver_org_id.type),
        ExceptionRequest.status == PENDING,
        or_(ExceptionRequest.requested_by_id.is_(None), ExceptionRequest.requested_by_id != person_id))
    transfers = (select(func.count()).select_from(TransferRequest)
                 .join(Org, TransferRequest.from_org_id == Org.id)
                 .where(TransferRequest.status == "pending", within_bound(Org.code, "scope")))
    return select(exceptions.scalar_subquery(), transfers.scalar_subquery())


def requests_waiting(session, org: Org, person_id: int | None) -> tuple[int, int]:
    """(特殊情况录入, 组织关系转接) requests waiting for a decision by the admins of ``org`` (issue 26.1): the
    exception requests it approves (not the user's own: they may not decide them) and the transfers out of its
    subtree. One round trip, a statement built once (every page's menu shows the two counts)."""
    row = session.execute(_requests_waiting_statement(), {"org_id": org.id, "person_id": person_id,
                                                          **within_params("scope", org.code)}).one()
    return row[0] or 0, row[1] or 0
