"""The one writer of ``member_tallies`` (issue 27, the 团内统计 of a province root): per counted field and value, how
many people the 团籍变动 place as members now (their latest counted event, whatever its date, is an arrival), with
their fields as recorded now (性别, 民族, 出生日期, 政治面貌 on the person; 学历, 职业 on the person's member
record). Whether each placed member has a live record in that org (the page's check for changes made directly in
the database) is not counted here: no counter kept on write can see such changes (``queries.unrecorded_whole``).

Kept by difference: the other owners wrap every write that can change a person's place or a counted field in
``kept(session, person_ids)``, which counts those people's contribution before and after the write and adds the
difference. The differences of a transaction are added up in the session and written at commit (a few rows, sorted
by key: concurrent writers wait on the same rows in the same order, never deadlock, and hold them only while
committing); inside a savepoint they are written at once (a savepoint rolled back takes them with it). A reader
in the writing transaction calls ``settle`` first. On PostgreSQL the people written are locked (``FOR UPDATE``, in
id order) before their "before" is read, so two transactions changing the same person count one after the other.

``rebuild`` recounts everything from the base tables (the migration's fill, the benches' bulk loads, the tests'
cross-check)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import String, and_, cast, delete, event, false, func, literal_column, select, union_all
from sqlalchemy.orm import Session, scoped_session

from ...domain import register
from ...models import Member, MembershipEvent, MemberTally, Person
from ...queries import among
from ._mark import owner_of
from ._rows import fresh

TABLE = "member_tallies"
# the person's fields as tally keys, then the member record's (the person's record, live or not, wherever it is)
PERSON_FIELDS = ("gender", "ethnicity", "birth", "political_status")
MEMBER_FIELDS = ("education", "occupation")
FIELDS = ("gender", "ethnicity", "birth", "education", "occupation", "political_status")
# the columns whose change can change a tally (a write touching none of them needs no recount)
PERSON_COLUMNS = frozenset({"gender", "ethnicity", "birth_date", "political_status"})
MEMBER_COLUMNS = frozenset({"education", "occupation", "person_id",
                            "org_id", "deleted_at"})     # a 上报文件's row writes derive events from these two
_PENDING = "owners.member_tallies.pending"
_TOUCHED = "owners.member_tallies.touched"          # people a kept write changed in this transaction


def latest():
    """The events that place their person now: the latest counted one (``next_on`` empty), an arrival."""
    e = MembershipEvent
    return and_(e.erased == false(), e.next_on.is_(None), e.kind.in_(register.ARRIVING))


def placed_groups(*where, count=None, among_people=None):
    """The placing events matching ``where`` (with the person's and member record's fields) counted by every tally
    field at once: rows (gender, ethnicity, birth_date, education, occupation, political_status, n).
    ``count``: what each event adds to n (default 1). ``among_people``: a subquery of distinct person ids
    (``person_id``) the events are read for, by person (a join, not a semi-join over every event)."""
    e = MembershipEvent
    cols = (Person.gender, Person.ethnicity, Person.birth_date, Member.education, Member.occupation,
            Person.political_status)
    n = func.count() if count is None else func.sum(count)
    stmt = select(*cols, n)
    if among_people is not None:
        stmt = stmt.select_from(among_people).join(e, e.person_id == among_people.c.person_id)
    else:
        stmt = stmt.select_from(e)
    return (stmt.join(Person, Person.id == e.person_id)
            .outerjoin(Member, Member.person_id == e.person_id).where(*where).group_by(*cols))


def tally_of(rows: Iterable) -> Counter:
    """(field, value) -> n from ``placed_groups`` rows."""
    out: Counter = Counter()
    for gender, ethnicity, birth, education, occupation, status, n in rows:
        for key, value in (("gender", gender), ("ethnicity", ethnicity), ("birth", birth.isoformat()),
                           ("education", education), ("occupation", occupation), ("political_status", status)):
            out[(key, value or "")] += n
    return out


def contributions(session, person_ids: Iterable[int | None]) -> Counter:
    """What ``person_ids`` add to the tallies as the database (and this session) stands now."""
    ids = sorted({p for p in person_ids if p is not None})
    out: Counter = Counter()
    if not ids:
        return out
    session.flush()
    conn = session.connection()
    for cond in among(session, MembershipEvent.person_id, ids):
        out.update(tally_of(conn.execute(placed_groups(latest(), cond))))
    return out


def _lock(session, person_ids: list[int]) -> None:
    """PostgreSQL: lock the people (id order) so that their before and after are read one transaction at a time.
    People created in this transaction are not visible to anyone else: no lock needed."""
    if session.get_bind().dialect.name != "postgresql":
        return
    ids = sorted(set(person_ids) - fresh(session))
    for cond in among(session, Person.id, ids):
        session.connection().execute(select(Person.id).where(cond).order_by(Person.id).with_for_update())


@contextmanager
def kept(session, person_ids: Iterable[int | None] | Callable[[], Iterable[int | None]], *,
         when: bool = True) -> Iterator[None]:
    """Wrap a write that may change where ``person_ids`` are placed or a counted field of theirs: their
    contribution is counted before and after it and the difference added. ``person_ids``: the ids, or a function
    giving them (called before and again after, for people the write creates). ``when``: False when the caller
    knows that nothing counted changes (the wrapper then does nothing)."""
    if not when:
        yield
        return
    ids_of = person_ids if callable(person_ids) else (lambda ids=list(person_ids): ids)
    before_ids = [p for p in ids_of() if p is not None]
    session.flush()
    _lock(session, before_ids)
    # people created in this transaction (``fresh``) that no write here has placed yet have no event: they add
    # nothing before (the member import's 50,000 new people need no look-up)
    new, touched = fresh(session), session.info.setdefault(_TOUCHED, set())
    before = contributions(session, [p for p in before_ids if p not in new or p in touched])
    yield
    ids = set(before_ids) | {p for p in ids_of() if p is not None}
    touched.update(ids)
    after = contributions(session, ids)
    add(session, {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)})


def untouched(session, person_ids: list[int]) -> bool:
    """Whether every one of ``person_ids`` was created in this transaction and no write here has placed them yet
    (they have no event at all)."""
    new, touched = fresh(session), session.info.get(_TOUCHED, set())
    return all(p in new and p not in touched for p in person_ids)


def add_first_places(session, person_ids: list[int], member_values: dict[str, Iterable[str | None]]) -> None:
    """``person_ids`` (``untouched`` until now) were just each given a live member record and one arrival in the
    same org (the member import's set-at-a-time path): each is placed, with that record. Their contribution is
    counted without joining events and records: the person fields by one grouped look-up of the people, the
    record's fields (``member_values``: field -> the values written, one per person; a field absent was left
    empty) in Python."""
    delta: Counter = Counter()
    for field in MEMBER_FIELDS:
        values = member_values.get(field)
        if values is None:
            delta[(field, "")] += len(person_ids)
        else:
            delta.update((field, v or "") for v in values)
    t = Person.__table__
    conn = session.connection()
    cols = (t.c.gender, t.c.ethnicity, t.c.birth_date, t.c.political_status)
    for cond in among(session, t.c.id, sorted(person_ids)):
        for gender, ethnicity, birth, status, n in conn.execute(
                select(*cols, func.count()).where(cond).group_by(*cols)):
            for field, value in (("gender", gender), ("ethnicity", ethnicity), ("birth", birth.isoformat()),
                                 ("political_status", status)):
                delta[(field, value or "")] += n
    session.info.setdefault(_TOUCHED, set()).update(person_ids)
    add(session, delta)


def add(session, delta: dict) -> None:
    """Add ``delta`` ((field, value) -> n) to the tallies: at commit, or at once inside a savepoint."""
    delta = {k: n for k, n in delta.items() if n}
    if not delta:
        return
    real = session() if isinstance(session, scoped_session) else session
    if real.in_nested_transaction():
        _write(session, delta)
        return
    session.info.setdefault(_PENDING, Counter()).update(delta)


@owner_of(TABLE)
def _write(session, delta: dict) -> None:
    rows = [{"f": f, "v": v, "d": n} for (f, v), n in sorted(delta.items()) if n]
    if not rows:
        return
    t = MemberTally.__table__
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    from sqlalchemy import bindparam
    stmt = insert(t).values(field=bindparam("f"), value=bindparam("v"), n=bindparam("d"))
    stmt = stmt.on_conflict_do_update(index_elements=[t.c.field, t.c.value], set_={"n": t.c.n + stmt.excluded.n})
    session.connection().execute(stmt, rows)


def settle(session) -> None:
    """Write this transaction's pending differences now (a reader of the tallies in a writing transaction)."""
    pending = session.info.pop(_PENDING, None)
    if pending:
        _write(session, pending)


def _before_commit(session) -> None:
    session.flush()
    settle(session)


def _forget(session, *args) -> None:
    session.info.pop(_PENDING, None)


def _transaction_end(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_TOUCHED, None)


def install() -> None:
    """Listen on every ORM session (once per process): pending differences are written before each commit and
    dropped on rollback."""
    if not event.contains(Session, "before_commit", _before_commit):
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_rollback", _forget)
        event.listen(Session, "after_transaction_end", _transaction_end)


install()


def recount_statement():
    """Every tally recounted from the base tables in SQL: rows (field, value, n), one grouped query per field over
    the placed members."""
    e = MembershipEvent
    placed = (select(Person.gender.label("gender"), Person.ethnicity.label("ethnicity"),
                     cast(Person.birth_date, String).label("birth"), Member.education.label("education"),
                     Member.occupation.label("occupation"), Person.political_status.label("political_status"))
              .select_from(e).join(Person, Person.id == e.person_id)
              .outerjoin(Member, Member.person_id == e.person_id).where(latest()).cte("placed"))
    parts = []
    for f in FIELDS:
        value = func.coalesce(placed.c[f], literal_column("''"))        # the same text in SELECT and GROUP BY
        parts.append(select(literal_column(f"'{f}'").label("field"), value.label("value"), func.count().label("n"))
                     .group_by(value))
    return union_all(*parts)


def recount(session) -> Counter:
    """The tallies as a recount from scratch gives them (zeros left out)."""
    session.flush()
    return Counter({(f, v): int(n) for f, v, n in session.connection().execute(recount_statement()) if n})


def stored(session) -> Counter:
    """The tallies as kept (zeros left out), this transaction's pending differences included."""
    settle(session)
    t = MemberTally.__table__
    return Counter({(f, v): n for f, v, n in session.connection().execute(
        select(t.c.field, t.c.value, t.c.n).where(t.c.n != 0))})


@owner_of(TABLE)
def rebuild(session) -> int:
    """Replace every tally by a recount from the base tables (after a bulk load that bypassed the owners). Returns
    how many rows."""
    session.info.pop(_PENDING, None)
    counts = recount(session)
    session.execute(delete(MemberTally))
    if counts:
        session.connection().execute(MemberTally.__table__.insert(),
                                     [{"field": f, "value": v, "n": n} for (f, v), n in sorted(counts.items())])
    return len(counts)
