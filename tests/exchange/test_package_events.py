"""上报文件 carry the sender's 团籍变动 (issue 27): the receiver records them with the sender's dates and reasons
(within the package's subtree, through the memberships owner, never twice), instead of deriving changes dated the
day of applying; a package of an older version (no events) is still read and applied as before."""
from __future__ import annotations

from datetime import date

import pytest
from flask import current_app
from sqlalchemy import func, select

from tuanjian.clock import local_today
from tuanjian.domain import exchange as fmt
from tuanjian.domain import register
from tuanjian.domain.exchange import PackageError
from tuanjian.extensions import db
from tuanjian.models import Member, MembershipEvent, Org, Person, utcnow
from tuanjian.services import exchange
from tuanjian.services import members as member_service
from tuanjian.services.actor import Actor
from tuanjian.services.owners import memberships
from tuanjian.tuanji.queries import members_on

from ..factories import make_tree
from .helpers import KEY, county_instance, instance, populate
from .test_roundtrip import county_import


def _events(session, root_code: str) -> set[tuple]:
    """The subtree's events by natural key, by plain queries (nothing of the exchange service)."""
    session.expire_all()
    e = MembershipEvent
    return set(session.execute(select(Person.id_number, Org.code, e.on_date, e.kind, e.note, e.erased)
                               .join(Person, e.person_id == Person.id).join(Org, e.org_id == Org.id)
                               .where((Org.code == root_code) | Org.code.startswith(root_code + "."))).all())


def _placed(session, day, root_code):
    codes = dict(session.execute(select(Org.id, Org.code)).all())
    idns = dict(session.execute(select(Person.id, Person.id_number)).all())
    return {idns[p]: codes[o] for p, o in members_on(session, day, root_code).items()}


def _member(session, name):
    return session.scalar(select(Member).join(Member.person).where(Person.name == name))


def _township_packages(kind, path):
    """A: 王三 entered 2024-05-01 and left (自愿退团) 2025-03-01; 李一 新发展 2023-05-01; then a second package after
    李一 left on 2025-06-01. Returns the two packages, A's events after each and A's placements on some days."""
    out = []
    with instance(kind, path) as app:
        session = db.session
        tree = make_tree(session)
        populate(session, tree)
        actor = Actor(person_id=tree.township_admin.id, name="张镇", org_id=tree.township.id,
                      scope_code=tree.township.code)
        wang, li = _member(session, "王三"), _member(session, "李一")
        memberships.record(session, actor, wang.person_id, wang.org_id, date(2024, 5, 1), register.FIRST_ENTRY)
        memberships.record(session, actor, li.person_id, li.org_id, date(2023, 5, 1), register.NEW)
        member_service.leave_member(session, actor, wang, kind=register.WITHDRAWN, on=date(2025, 3, 1),
                                    note="本人申请", now=utcnow())
        session.commit()
        days = (date(2024, 12, 31), date(2025, 4, 1), local_today())
        for step in range(2):
            if step == 1:
                member_service.leave_member(session, actor, _member(session, "李一"), kind=register.WITHDRAWN,
                                            on=date(2025, 6, 1), note="本人申请", now=utcnow())
                session.commit()
            data, counts = exchange.export_package(session, actor, tree.township, now=utcnow(),
                                                   default_key=app.config["EXCHANGE_SECRET"])
            session.commit()
            out.append((data, counts, _events(session, tree.township.code),
                        {d: _placed(session, d, tree.township.code) for d in days}))
        return out, tree.township.code


def _without_events(data: bytes, **change) -> bytes:
    """The same package as an older version wrote it (no events), or with ``events`` replaced."""
    opened = fmt.open_package(data)
    content = fmt.verify(opened, KEY)
    content.pop("events")
    content.update(change)
    manifest = {k: v for k, v in opened.manifest.fields.items() if k not in ("data_sha256", "data_size")}
    return fmt.build(manifest, content, KEY)


def test_the_receiver_records_the_senders_events(tmp_path, db_kind):
    [(first, counts, events_a, placed_a), (second, _, events_a2, _)], code = _township_packages(
        db_kind, tmp_path / "a")
    assert counts["membership_events"] == len(events_a) >= 4
    with instance(db_kind, tmp_path / "b"):
        session = db.session
        tree = county_instance(session)
        plan, _ = county_import(session, tree, first)
        assert any("团籍变动" in n for n in plan.notes)
        got = _events(session, code)
        carried = {e[0] for e in events_a}
        # every event of the sender, with its date, kind and reason; none derived for those people
        assert {e for e in got if e[0] in carried} == events_a
        wang = session.scalar(select(Person.id_number).where(Person.name == "王三"))
        assert [e[2:] for e in got if e[0] == wang and e[3] == register.WITHDRAWN] == [
            (date(2025, 3, 1), register.WITHDRAWN, "自愿退团：本人申请", False)]
        # people the sender has no events for are derived as before (首次录入 on their record's day)
        others = {e for e in got if e[0] not in carried}
        assert others and {e[3] for e in others} == {register.FIRST_ENTRY}
        # the register as of past days agrees with the sender's for the people it carried
        for day, where in placed_a.items():
            here = _placed(session, day, code)
            assert {k: v for k, v in here.items() if k in carried} == {k: v for k, v in where.items()
                                                                       if k in carried}, day
        # the same file again: nothing new, nothing duplicated
        count = session.scalar(select(func.count()).select_from(MembershipEvent))
        plan, result = county_import(session, tree, first)
        assert plan.empty and not result.changed and not plan.new_events
        assert session.scalar(select(func.count()).select_from(MembershipEvent)) == count
        # the next package brings only the new leaving, once
        plan, _ = county_import(session, tree, second)
        assert [(e["kind"], e["on_date"]) for e in plan.new_events] == [(register.WITHDRAWN, "2025-06-01")]
        got = _events(session, code)
        assert {e for e in got if e[0] in carried} == events_a2
        assert session.scalar(select(func.count()).select_from(MembershipEvent)) == count + 1
        # next_on (what "members at the end of D" reads) was kept for the carried events too
        e = MembershipEvent
        rows = session.execute(select(e.id, e.person_id, e.on_date, e.erased, e.next_on)).all()
        assert {r.id: r.next_on for r in rows} == memberships.next_dates(
            (r.id, r.person_id, r.on_date, r.erased) for r in rows)


def test_an_older_package_without_events_still_applies(tmp_path, db_kind):
    [(first, _, events_a, _), _], code = _township_packages(db_kind, tmp_path / "a")
    old = _without_events(first)
    with instance(db_kind, tmp_path / "b"):
        session = db.session
        tree = county_instance(session)
        incoming = exchange.read_package(session, tree.county, old, default_key=current_app.config["EXCHANGE_SECRET"])
        assert incoming.events == []
        county_import(session, tree, old)
        got = _events(session, code)
        # derived on the receiver's side: no sender's dates, every current member arrived
        assert not {e for e in got if e[2] in (date(2024, 5, 1), date(2023, 5, 1), date(2025, 3, 1))}
        active = {idn for (idn,) in session.execute(
            select(Person.id_number).join(Member, Member.person_id == Person.id).join(Org, Member.org_id == Org.id)
            .where(Member.deleted_at.is_(None), Org.code.startswith(code)))}
        assert set(_placed(session, local_today(), code)) == active and active


@pytest.mark.parametrize("bad", [
    {"columns": ["person_id"], "rows": []},
    {"columns": ["person_id", "org_id", "on_date", "kind"], "rows": [["110101199001011237", "x", "2025-01-01",
                                                                       "new"]]},
    "not a table",
])
def test_bad_events_refuse_the_package(tmp_path, bad):
    [(first, _, _, _), _], code = _township_packages("sqlite", tmp_path / "a")
    with instance("sqlite", tmp_path / "b"):
        session = db.session
        tree = county_instance(session)
        with pytest.raises(PackageError, match="团籍变动"):
            exchange.read_package(session, tree.county, _without_events(first, events=bad),
                                  default_key=current_app.config["EXCHANGE_SECRET"])


def test_a_bad_kind_or_date_is_refused(tmp_path):
    [(first, _, _, _), _], code = _township_packages("sqlite", tmp_path / "a")
    content = fmt.verify(fmt.open_package(first), KEY)
    rows = content["events"]["rows"]
    with instance("sqlite", tmp_path / "b"):
        session = db.session
        tree = county_instance(session)
        for i, value in ((3, "bogus"), (2, "2025-02-30")):
            row = list(rows[0])
            row[i] = value
            with pytest.raises(PackageError, match="团籍变动第 1 行"):
                exchange.read_package(session, tree.county, _without_events(
                    first, events={"columns": content["events"]["columns"], "rows": [row]}),
                    default_key=current_app.config["EXCHANGE_SECRET"])


def test_a_member_who_moved_out_of_the_subtree_does_not_break_the_package(tmp_path):
    """The sender's events of someone now a member outside its subtree stay home (the package does not carry the
    person); the package still opens and applies."""
    with instance("sqlite", tmp_path / "a") as app:
        session = db.session
        tree = make_tree(session)
        populate(session, tree)
        actor = Actor.system("测试")
        li = _member(session, "王三")             # no post in the township: the package will not carry him
        memberships.record(session, actor, li.person_id, li.org_id, date(2023, 5, 1), register.NEW)
        memberships.move(session, actor, li, tree.sibling_branch, now=utcnow())
        session.commit()
        moved = li.person.id_number
        township = Actor(person_id=tree.township_admin.id, name="张镇", org_id=tree.township.id,
                         scope_code=tree.township.code)
        data, counts = exchange.export_package(session, township, tree.township, now=utcnow(),
                                               default_key=app.config["EXCHANGE_SECRET"])
        session.commit()
        code = tree.township.code
    content = fmt.verify(fmt.open_package(data), KEY)
    assert content["events"]["rows"] and all(r[0] != moved for r in content["events"]["rows"])
    with instance("sqlite", tmp_path / "b"):
        session = db.session
        tree = county_instance(session)
        county_import(session, tree, data)
        assert moved not in {e[0] for e in _events(session, code)}
