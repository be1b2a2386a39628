"""The person-ownership rule applied to the database: where a person holds places, and whether an admin may enter
or change them (the rule itself is domain.policy's)."""
from __future__ import annotations

from sqlalchemy import select

from ..domain import policy
from ..domain.errors import NotAllowed, ValidationFailed
from ..models import AdminGrant, Org, Person
from ..queries import among, place_codes
from .actor import Actor


class ForeignPerson(ValidationFailed):
    """An ID number held by a person not wholly in the actor's reach: one message, whatever name was typed."""

    status = 409

    def __init__(self, kind: str, field: str = "id_number"):
        super().__init__({field: [policy.HELD_ELSEWHERE[kind]]})
        self.kind = kind


def places_of(session, person: Person) -> list[str]:
    return place_codes(session, [person.id]).get(person.id, []) if person.id is not None else []


def in_reach(session, actor: Actor, person: Person) -> bool:
    return policy.in_reach(actor.scope_code, places_of(session, person))


def check_entry(session, actor: Actor, person: Person | None, kind: str, *, typed_name: str | None = None,
                field: str = "id_number", name_field: str = "name") -> None:
    """An entry (form or import row) found ``person`` by the typed ID number. A person not wholly in reach stops it
    with the one message (ForeignPerson); a person in reach whose stored name differs gets NAME_DIFFERS (the stored
    name is never repeated). Nothing is written."""
    if person is None:
        return
    if not in_reach(session, actor, person):
        raise ForeignPerson(kind, field)
    if typed_name is not None and person.name != typed_name:
        raise ValidationFailed.single(name_field, policy.NAME_DIFFERS)


def reach_by_id_number(session, scope_code: str | None, numbers) -> dict[str, bool]:
    """For each known ID number among ``numbers``: whether its person is wholly in the reach of ``scope_code``."""
    numbers = sorted({n for n in numbers if n})
    ids: dict[str, int] = {}
    for cond in among(session, Person.id_number, numbers):
        ids.update(dict(session.execute(select(Person.id_number, Person.id).where(cond)).all()))
    places = place_codes(session, ids.values())
    return {n: policy.in_reach(scope_code, places.get(pid, [])) for n, pid in ids.items()}


def require_person(session, actor: Actor, person: Person, action: str = "person.edit") -> None:
    reason = policy.person_refusal(action, actor.scope_code, places_of(session, person))
    if reason is not None:
        raise NotAllowed(reason)


def is_system(actor: Actor) -> bool:
    """The command line and the demo: no person and no scope (they act for the whole instance)."""
    return actor.person_id is None and actor.scope_code is None and actor.org_id is None


def require_places(session, actor: Actor, person: Person | None, kind: str, *, also: tuple[str | None, ...] = (),
                   field: str = "id_number") -> None:
    """Places follow the person rule: a new place for an existing ``person`` only when every place it already holds
    lies in the actor's reach (and in each scope of ``also``: a deferred write's requester). Else the one
    held-elsewhere answer (ForeignPerson), the same whatever name was typed."""
    if person is None or person.id is None:
        return
    scopes = ([] if is_system(actor) else [actor.scope_code]) + list(also)
    if policy.place_refusal(kind, scopes, places_of(session, person)) is not None:
        raise ForeignPerson(kind, field)


REQUESTER_GONE = "申请人已不再是该组织或其上级组织的管理员，本申请无法执行，请退回"


def requester_scope(session, requester_id: int | None, org: Org) -> str:
    """The reach a deferred request was asked with, as it is now: the highest org above (or at) ``org`` where the
    requester still holds an active admin grant. Refused when none is left (the request cannot be carried out)."""
    if requester_id is None:
        raise NotAllowed(REQUESTER_GONE)
    codes = session.scalars(select(Org.code).join(AdminGrant, AdminGrant.org_id == Org.id)
                            .where(AdminGrant.person_id == requester_id, AdminGrant.revoked_at.is_(None)))
    mine = [c for c in codes if policy.relation(c, org.code) in policy.SUBTREE]
    if not mine:
        raise NotAllowed(REQUESTER_GONE)
    return min(mine, key=len)


def foreign_people(session, scope_codes, person_ids) -> set[int]:
    """Set at a time: of ``person_ids``, those holding a place outside the reach of any of ``scope_codes``."""
    places = place_codes(session, person_ids)
    return {pid for pid, codes in places.items() if not all(policy.in_reach(s, codes) for s in scope_codes)}


__all__ = ["REQUESTER_GONE", "ForeignPerson", "check_entry", "foreign_people", "in_reach", "is_system", "places_of",
           "reach_by_id_number", "require_person", "require_places", "requester_scope"]
