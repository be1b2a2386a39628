"""人员查询's look-ups: people in the admin's subtree found by name or ID number."""
from __future__ import annotations

from sqlalchemy import false, select
from sqlalchemy.orm import selectinload

from ..domain.canonical import name_query
from ..domain.people import IdSearch
from ..models import Person
from ..queries import Page, paginate, person_in_scope
from ..services import idsearch


def search_condition(q: str, search: IdSearch):
    """A name contains ``q``; ID digits find the full number or its last 4 only (issue 14), never a part that
    would reveal the hidden birth-date digits; any other digit string finds nobody."""
    cond = idsearch.condition(Person.id_number, search)
    if cond is not None:
        return cond
    if search.kind == "refused":
        return false()
    return Person.name.contains(name_query(q), autoescape=True)


def search_people(session, scope_code: str, q: str, search: IdSearch, page: int, per_page: int) -> Page:
    """One page of the people in the subtree that ``q`` finds, by name."""
    stmt = (select(Person).where(person_in_scope(scope_code), search_condition(q, search))
            .options(selectinload(Person.account)).order_by(Person.name, Person.id))
    return paginate(session, stmt, page, per_page)
