"""本人信息: a logged-in person completes their own profile and sees their posts; an upper admin corrects a name
or ID number (audited). Services never commit: the view does."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..clock import local_date
from ..domain.errors import Conflict, NotAllowed
from ..domain.profile import correction_refusal, validate_correction, validate_own_profile
from ..models import AdminGrant, CadrePost, Member, Org, Person
from ..queries import admin_grants_of
from . import audit
from .actor import Actor
from .owners import memberships, people

PERSON_FIELDS = ("phone", "ethnicity", "political_status", "join_date")
MEMBER_FIELDS = ("education", "occupation", "workplace")


@dataclass
class MyPlaces:
    posts: list[CadrePost]
    grants: list[AdminGrant]
    member: Member | None


def my_places(session, person: Person) -> MyPlaces:
    """The person's own active posts, admin grants and membership (their own data: not limited to a scope)."""
    posts = list(session.scalars(select(CadrePost).join(Org, CadrePost.org_id == Org.id).where(
        CadrePost.person_id == person.id, CadrePost.ended_at.is_(None)).order_by(Org.code, CadrePost.id)))
    grants = admin_grants_of(session, person.id)
    member = session.scalar(select(Member).where(Member.person_id == person.id, Member.deleted_at.is_(None)))
    return MyPlaces(posts, grants, member)


def update_own_profile(session, actor: Actor, person: Person, data: dict, *, settings, now: datetime) -> list[str]:
    """Validate and save what the person may complete themself; returns the labels of the changed fields."""
    if actor.person_id != person.id:
        raise NotAllowed("只能修改本人的信息")
    places = my_places(session, person)
    member = places.member
    clean = validate_own_profile(data, name=person.name, id_number=person.id_number, birth_date=person.birth_date,
                                 is_member=member is not None, settings=settings, today=local_date(now))
    before, after = {}, {}
    for key, value in clean.items():
        target = person if key in PERSON_FIELDS else member
        if getattr(target, key) != value:
            before[key], after[key] = getattr(target, key), value
    people.update_own(session, actor, person, {k: v for k, v in after.items() if k in PERSON_FIELDS})
    if member is not None:
        memberships.update_own(session, actor, member, {k: v for k, v in after.items() if k not in PERSON_FIELDS})
    if after:
        audit.record(session, actor, "profile.update", object_type="person", object_id=person.id,
                     org_id=member.org_id if member is not None else
                     (places.posts[0].org_id if places.posts else actor.org_id),
                     summary=f"本人修改个人信息：{person.name}", before=before, after=after, people=[person.id])
    return list(after)


def home_codes(session, person: Person) -> list[str]:
    """Codes of every organisation where the person is a member, holds a post or is an admin."""
    codes = set(session.scalars(select(Org.code).join(Member, Member.org_id == Org.id).where(
        Member.person_id == person.id, Member.deleted_at.is_(None))))
    codes |= set(session.scalars(select(Org.code).join(CadrePost, CadrePost.org_id == Org.id).where(
        CadrePost.person_id == person.id, CadrePost.ended_at.is_(None))))
    codes |= set(session.scalars(select(Org.code).join(AdminGrant, AdminGrant.org_id == Org.id).where(
        AdminGrant.person_id == person.id, AdminGrant.revoked_at.is_(None))))
    return sorted(codes)


def correction_refused(session, actor: Actor, person: Person) -> str | None:
    return correction_refusal(actor_scope=actor.scope_code, actor_org_id=actor.org_id, actor_person_id=actor.person_id,
                              person_id=person.id, home_codes=home_codes(session, person))


def correct_identity(session, actor: Actor, person: Person, *, name, id_number, reason, now: datetime) -> None:
    """An upper admin corrects the name and/or ID number (gender and birth date follow the ID); audited with
    the old and new values (ID numbers masked)."""
    refusal = correction_refused(session, actor, person)
    if refusal is not None:
        raise NotAllowed(refusal)
    if not str(id_number or "").strip():
        id_number = person.id_number                # blank: only the name is corrected
    new_name, info, why = validate_correction(name=name, id_number=id_number, reason=reason, today=local_date(now))
    if new_name == person.name and info.number == person.id_number:
        raise Conflict("姓名和身份证号码与现有记录相同，无需更正")
    if info.number != person.id_number and session.scalar(
            select(Person.id).where(Person.id_number == info.number, Person.id != person.id)):
        raise Conflict("该身份证号码已在系统中登记为另一人，不能更正为此号码；如为重复录入，请先核对并删除错误的记录")
    # the audit shows masked IDs, so only the birth year (the hidden digits are the birth date, issue 14)
    before = {"name": person.name, "id_number": person.masked_id, "gender": person.gender,
              "birth_year": person.birth_date.year}
    people.correct_identity(session, actor, person, name=new_name, id_number=info.number, gender=info.gender,
                            birth_date=info.birth_date)
    audit.record(session, actor, "person.correct", object_type="person", object_id=person.id, org_id=actor.org_id,
                 summary=f"上级组织更正姓名/身份证号码：{before['name']} → {person.name}，原因：{why}",
                 before=before, after={"name": person.name, "id_number": person.masked_id, "gender": person.gender,
                                       "birth_year": person.birth_date.year, "reason": why},
                 people=[person.id])
