"""The one writer of ``people`` (a person's own fields). A person is shared by every org where they hold a place:
their fields change only for an actor whose reach covers every place (domain.policy ``person.edit``; the name and
ID number ``person.correct``)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select

from ...dbsetup import insert_many as _insert
from ...domain.errors import NotAllowed
from ...models import Person
from ...queries import among
from .. import ownership
from ..actor import Actor
from . import _rows, tallies
from ._mark import owner_of
from ._rows import fresh

TABLE = "people"


def _check(session, actor: Actor, person: Person, action: str) -> None:
    if person.id is not None and not ownership.is_system(actor):
        ownership.require_person(session, actor, person, action)


@owner_of(TABLE)
def create(session, actor: Actor, *, id_number: str, name: str, gender: str, birth_date: date | str,
           **fields) -> Person:
    """A person never seen here (no place yet: anybody may enter them). Flushed, so the id is known."""
    if isinstance(birth_date, str):
        birth_date = date.fromisoformat(birth_date)
    person = Person(id_number=id_number, name=name, gender=gender, birth_date=birth_date)
    for key, value in fields.items():
        setattr(person, key, value)
    session.add(person)
    session.flush()
    return person


@owner_of(TABLE)
def update(session, actor: Actor, person: Person, values: dict, *, action: str = "person.edit") -> dict:
    """Set the shared fields ``values`` (the person rule for ``actor`` first: NotAllowed when any place is out of
    reach and something would change). Returns the fields that changed, as {name: (before, after)}."""
    changed = {k: (getattr(person, k), v) for k, v in values.items() if getattr(person, k) != v}
    if changed:
        _check(session, actor, person, action)
        with tallies.kept(session, [person.id], when=bool(tallies.PERSON_COLUMNS & set(changed))):
            for key, (_, value) in changed.items():
                setattr(person, key, value)
            session.flush()
    return changed


@owner_of(TABLE)
def update_own(session, actor: Actor, person: Person, values: dict) -> None:
    """The person themself (本人修改个人信息): only their own row."""
    if actor.person_id is None or actor.person_id != person.id:
        raise NotAllowed("只能修改本人的信息")
    with tallies.kept(session, [person.id], when=bool(tallies.PERSON_COLUMNS & set(values))):
        for key, value in values.items():
            setattr(person, key, value)
        session.flush()


@owner_of(TABLE)
def correct_identity(session, actor: Actor, person: Person, *, name: str, id_number: str, gender: str,
                     birth_date: date) -> None:
    """姓名 and 身份证号码 (``person.correct``: only an admin strictly above every place)."""
    _check(session, actor, person, "person.correct")
    with tallies.kept(session, [person.id]):
        person.name, person.id_number = name, id_number
        person.gender, person.birth_date = gender, birth_date
        session.flush()


@owner_of(TABLE)
def insert_many(session, actor: Actor, rows: list[dict] | dict[str, list], *, now: datetime) -> dict[str, int]:
    """Set at a time: people never seen here (the member import's bulk path). One executemany, then one look-up of
    the new ids; returns {id_number: id}. ``rows``: dicts, or the values column by column (dbsetup.insert_many).
    Nobody holds a place yet, so no reach check is needed; a number already known is refused by the unique index
    (the caller classified the rows against the database).
    The new ids are read as the ids above the largest one before the insert (a range of the primary key, cheaper
    than looking up 50,000 ID numbers): ids only grow (SQLite's rowid while this transaction holds the write lock,
    PostgreSQL's sequence), so every new row is in that range; rows another transaction committed meanwhile may be
    too, and are left out by their ID numbers."""
    if not rows:
        return {}
    before = session.scalar(select(func.max(Person.id))) or 0
    _insert(session, Person.__table__, rows, {"created_at": now, "updated_at": now})
    wanted = set(rows["id_number"]) if isinstance(rows, dict) else {r["id_number"] for r in rows}
    id_of: dict[str, int] = {number: pid for number, pid in session.execute(
        select(Person.id_number, Person.id).where(Person.id > before)) if number in wanted}
    if len(id_of) != len(wanted):                 # cannot happen (see above); never hand back a partial answer
        raise RuntimeError("people.insert_many: new ids not found")
    # people created in this transaction hold no place but those the owners give them in it: the set-at-a-time
    # place checks need not look them up again (the set is dropped at commit or rollback)
    fresh(session).update(id_of.values())
    return id_of




# ---------------------------------------------------------------- 上报文件 apply (set at a time)

@owner_of("people")
def insert_rows(session, actor: Actor, name: str, rows: list[dict], *, reach: tuple[str | None, ...] = ()) -> None:
    """Rows of a 上报文件; a new place for a person known here follows the person rule (the actor's reach and the
    package's subtree, ``reach``)."""
    assert name in ("people",), name
    _rows.insert_rows(session, name, rows)
    for cond in among(session, Person.id_number, [r["id_number"] for r in rows]):
        fresh(session).update(session.scalars(select(Person.id).where(cond)))      # no place yet: see _rows.fresh


@owner_of("people")
def update_rows(session, actor: Actor, name: str, shape: tuple[str, ...], rows: list[dict], *,
                reach: tuple[str | None, ...] = (), moved: list[int] = ()) -> None:
    """``moved``: person ids whose place changes organisation or comes back (the person rule applies to them)."""
    assert name in ("people",), name
    _rows.check_places(session, actor, name, moved, reach=reach)
    with tallies.kept(session, [r["_id"] for r in rows], when=bool(tallies.PERSON_COLUMNS & set(shape))):
        _rows.update_rows(session, name, shape, rows)


@owner_of("people")
def set_where(session, actor: Actor, name: str, ids, values: dict, *, only_set: str | None = None) -> None:
    """Retire rows (a 上报文件 no longer has them) or free their 发展团员编号."""
    assert name in ("people",), name
    with tallies.kept(session, list(ids), when=bool(tallies.PERSON_COLUMNS & set(values))):
        _rows.set_where(session, name, ids, values, only_set=only_set)
