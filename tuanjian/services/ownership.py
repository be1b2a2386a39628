"""The person-ownership rule applied to the database: where a person holds places, and whether an admin may enter
or change them (the rule itself is domain.policy's)."""
from __future__ import annotations

from sqlalchemy import select

from ..domain import policy
from ..domain.errors import NotAllowed, ValidationFailed
from ..models import Person
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


__all__ = ["ForeignPerson", "check_entry", "in_reach", "places_of", "reach_by_id_number", "require_person"]
