import pytest
from sqlalchemy import select

from tuanjian.domain.errors import ValidationFailed
from tuanjian.models import Member

from .factories import make_member, make_person


def test_member_cannot_be_placed_outside_a_branch(session, tree):
    make_member(session, tree.village)
    session.commit()
    person = make_person(session, name="错放")
    session.add(Member(person_id=person.id, org_id=tree.township.id))
    with pytest.raises(ValidationFailed) as exc:
        session.flush()
    assert "团员只能编入团支部" in exc.value.message
    session.rollback()
    member = session.scalar(select(Member))
    member.org_id = tree.grade.id                 # a 团总支
    with pytest.raises(ValidationFailed):
        session.flush()
    session.rollback()


def test_one_membership_per_person(session, tree):
    from sqlalchemy.exc import IntegrityError
    m = make_member(session, tree.village)
    session.add(Member(person_id=m.person_id, org_id=tree.klass.id))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()
