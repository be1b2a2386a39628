"""queries.among: "column IN values" for any number of values, on both databases."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests.factories import make_person
from tuanjian.models import Person
from tuanjian.queries import JSON_LIST_FROM, among


def _found(session, column, values):
    out = set()
    for cond in among(session, column, values):
        out |= set(session.scalars(select(column).where(cond)))
    return out


@pytest.mark.parametrize("extra", [0, 3, JSON_LIST_FROM + 500])
def test_among_finds_exactly_the_listed_values(session, extra):
    people = [make_person(session, name=f"测试{i}", birth=date(1995 + i, 1 + i, 1 + i)) for i in range(4)]
    session.flush()
    numbers = [p.id_number for p in people]
    # absent values around the present ones, including ones that differ only in the last character
    absent = [f"34000019900101{i:04d}"[:18] for i in range(extra)] + [numbers[0][:17] + "Y"]
    assert _found(session, Person.id_number, absent + numbers[:3]) == set(numbers[:3])
    ids = [p.id for p in people]
    assert _found(session, Person.id, [10_000_000 + i for i in range(extra)] + ids[1:]) == set(ids[1:])
    assert _found(session, Person.name, ["测试2", "测试9"] * (extra // 2 + 1)) == {"测试2"}
    assert among(session, Person.id, []) == []


def test_among_long_lists_match_whole_values_only(session):
    """A long list (one joined text on PostgreSQL, JSON on SQLite): a longer value never matches a stored prefix of
    it, and texts holding the separator, empty texts and mixed lists still find exactly what is listed."""
    people = [make_person(session, name=f"长{i}", birth=date(1990 + i, 2, 3)) for i in range(3)]
    session.flush()
    numbers = [p.id_number for p in people]
    filler = [f"X{i:05d}" for i in range(JSON_LIST_FROM + 50)]
    assert _found(session, Person.id_number, filler + [numbers[0] + "9", numbers[1][:17]]) == set()
    assert _found(session, Person.id_number, filler + [numbers[0] + "9", numbers[2]]) == {numbers[2]}
    assert _found(session, Person.name, filler + ["长0\x1f长1", "长2"]) == {"长2"}
    assert _found(session, Person.name, filler + ["", "长1"]) == {"长1"}
    assert _found(session, Person.id, [10_000_000 + i for i in range(JSON_LIST_FROM + 50)] + [people[0].id]) == {
        people[0].id}
