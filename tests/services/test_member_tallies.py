"""The member tallies kept on write (issue 27, the 团内统计 of a province root): after random writes through the
owners — arrivals, departures, 录入错误, transfers, a merge of branches, edits of 性别/民族/出生日期/政治面貌/学历/
职业, a member import's set-at-a-time path, a 上报文件's row writes and carried events, events dated ahead — the
tallies equal a recount from scratch, and the root's 团内统计 read through them equals the members counted one by
one, for today, for past days and for a day before an event dated ahead."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from tuanjian import clock
from tuanjian.domain import register
from tuanjian.domain import register_stats as rs
from tuanjian.domain.members import EDUCATIONS, OCCUPATIONS, validate_member
from tuanjian.domain.orgtree import OrgKind
from tuanjian.domain.settings import DEFAULT_SETTINGS as S
from tuanjian.models import Member, MemberTally, Org
from tuanjian.services import members, orgs
from tuanjian.services.actor import Actor
from tuanjian.services.owners import memberships, people, tallies
from tuanjian.tuanji import queries

from ..conftest import DB_KINDS
from ..factories import new_id

SYSTEM = Actor(person_id=None, name="系统", ip="127.0.0.1", org_id=None, scope_code=None)


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 4, 0)


def _check(session) -> None:
    assert tallies.stored(session) == tallies.recount(session)


def _name(prefix: str, n: int) -> str:
    return prefix + "".join("零一二三四五六七八九"[int(c)] for c in str(n))


def _member_data(rng, n: int, birth: date) -> dict:
    return validate_member({"name": _name("计", n), "id_number": new_id(birth),
                            "ethnicity": rng.choice(["汉族", "回族"]), "political_status": "共青团员",
                            "join_date": f"{min(birth.year + 14, 2016)}-05", "dev_number": "", "is_cadre": "否",
                            "has_application": "是", "education": rng.choice(EDUCATIONS[:4] + ("",)),
                            "occupation": rng.choice(OCCUPATIONS[:4] + ("",))},
                           settings=S, today=date(2026, 11, 23))


def _same_as_counted(session, root: Org, day: date) -> None:
    """The root's member tables (through the tallies) equal the members at the end of ``day`` counted one by one
    and the grouped query of any other org (the path the tallies replace)."""
    report = queries.statistics(session, root, day, age_bounds=S.register_age_bounds, small=3)
    facts = queries.member_facts(session, day, None)
    assert report.member_tables == rs.member_tables(facts, day, S.register_age_bounds), day
    # the tallies corrected by the movers, however many (the page counts the members instead past a share)
    tally = queries.tallied(session, day, movers_share=None)
    assert rs.margin_member_tables(rs.tally_margins(tally, day, S.register_age_bounds), S.register_age_bounds) == \
        report.member_tables, day
    grouped = queries.member_groups(session, day, root.code, S.register_age_bounds)
    assert report.member_tables == rs.grouped_member_tables(grouped, S.register_age_bounds), day
    assert report.total.this == len(facts)


def test_tallies_follow_every_write_and_give_the_counted_statistics(session, tree):
    rng = random.Random(2027)
    root = tree.county
    assert queries.whole_scope(session, root) is None       # the root's 团内统计 reads the tallies
    county = Actor(person_id=tree.county_admin.id, name="王县", ip="10.0.0.1", org_id=tree.county.id,
                   scope_code=tree.county.code)
    extra = orgs.create_child(session, Actor(person_id=tree.township_admin.id, name="张镇", ip="10.0.0.1",
                                             org_id=tree.township.id, scope_code=tree.township.code),
                              tree.township, short_name="并入村团支部", kind=OrgKind.BRANCH, settings=S)
    branches = [tree.village, tree.klass, tree.sibling_branch, extra]
    _check(session)
    today = clock.local_today()
    day = today - timedelta(days=700)
    active: dict[int, Member] = {}
    left: list[Member] = []
    n = 0
    done: set[str] = set()
    while day < today - timedelta(days=5):
        day += timedelta(days=rng.randint(1, 12))
        roll = rng.random()
        if roll < 0.4 or len(active) < 6:
            n += 1
            birth = date(rng.randint(1996, 2002), rng.randint(1, 12), rng.randint(1, 28))
            m, _ = members.add_member(session, county, rng.choice(branches), _member_data(rng, n, birth),
                                      now=_at(day))
            active[m.person_id] = m
            done.add("arrive")
        elif roll < 0.47:
            m = active.pop(rng.choice(sorted(active)))
            members.leave_member(session, county, m, kind=rng.choice([register.WITHDRAWN, register.OVERAGE]),
                                 on=day, note="生成", now=_at(day))
            left.append(m)
            done.add("leave")
        elif roll < 0.5:
            m = active.pop(rng.choice(sorted(active)))
            members.leave_member(session, county, m, kind=register.ERROR, on=day, note="录错", now=_at(day))
            done.add("erase")
        elif roll < 0.58:
            m = active[rng.choice(sorted(active))]
            memberships.move(session, county, m, rng.choice([b for b in branches if b.id != m.org_id]), now=_at(day))
            done.add("transfer")
        elif roll < 0.68:
            m = active[rng.choice(sorted(active))]
            people.update(session, county, m.person, {
                "gender": rng.choice(["男", "女"]), "ethnicity": rng.choice(["汉族", "壮族", None]),
                "birth_date": date(rng.randint(1995, 2009), rng.randint(1, 12), rng.randint(1, 28)),
                "political_status": rng.choice(["共青团员", "中共预备党员"])})
            done.add("person edit")
        elif roll < 0.78:
            m = active[rng.choice(sorted(active))]
            memberships.update(session, county, m, {"education": rng.choice(EDUCATIONS + (None,)),
                                                   "occupation": rng.choice(OCCUPATIONS + (None,))})
            done.add("member edit")
        elif roll < 0.83 and left:
            m = left.pop()
            memberships.add(session, county, m.person, rng.choice(branches), {}, now=_at(day))
            active[m.person_id] = m
            done.add("restore")
        elif roll < 0.9:
            # a member import's set-at-a-time path: people, then their member records and arrivals
            rows = []
            for _ in range(3):
                n += 1
                birth = date(rng.randint(1996, 2002), rng.randint(1, 12), rng.randint(1, 28))
                rows.append({"id_number": new_id(birth), "name": _name("导", n), "gender": rng.choice(["男", "女"]),
                             "birth_date": birth, "ethnicity": "汉族", "political_status": "共青团员",
                             "join_date": "2020-05"})
            ids = people.insert_many(session, county, rows, now=_at(day))
            memberships.insert_many(session, county, [
                {"person_id": ids[r["id_number"]], "org_id": rng.choice(branches).id,
                 "education": rng.choice(EDUCATIONS)} for r in rows], now=_at(day))
            active.update({m.person_id: m for m in session.scalars(
                select(Member).where(Member.person_id.in_(list(ids.values()))))})
            done.add("import")
        else:
            # a 上报文件's row writes: fields of member records and people, a record retired, carried events
            ms = [active[p] for p in rng.sample(sorted(active), 3)]
            memberships.update_rows(session, SYSTEM, "members", ("education", "occupation"),
                                    [{"_id": m.id, "education": rng.choice(EDUCATIONS),
                                      "occupation": rng.choice(OCCUPATIONS)} for m in ms])
            people.update_rows(session, SYSTEM, "people", ("gender", "ethnicity"),
                               [{"_id": m.person_id, "gender": rng.choice(["男", "女"]), "ethnicity": "回族"}
                                for m in ms])
            gone = ms[0]
            memberships.set_where(session, SYSTEM, "members", [gone.id], {"deleted_at": _at(day),
                                                                          "deleted_reason": "自愿退团"})
            active.pop(gone.person_id)
            memberships.record_carried(session, SYSTEM, [
                {"person_id": ms[1].person_id, "org_id": ms[1].org_id, "on_date": day, "kind": register.DIED,
                 "note": "包", "erased": False}])
            active.pop(ms[1].person_id)
            session.expire_all()
            done.add("package")
        _check(session)
    # a merge of branches
    memberships.move_all(session, county, extra, tree.village, now=_at(day))
    _check(session)
    # a 上报文件 erasing an event here (the sender's 录入错误)
    victim = active[sorted(active)[0]]
    ev = session.scalars(select(queries.MembershipEvent).where(queries.MembershipEvent.person_id == victim.person_id,
                                                               queries.MembershipEvent.erased.is_(False))
                         .order_by(queries.MembershipEvent.id.desc())).first()
    memberships.record_carried(session, SYSTEM, [], erased_keys=[(ev.person_id, ev.org_id, ev.on_date, ev.kind)])
    _check(session)
    # events dated ahead: a departure in ten days, an arrival of someone who left, in twenty
    ahead = sorted(active)[1:3]
    memberships.record(session, county, ahead[0], active[ahead[0]].org_id, today + timedelta(days=10),
                       register.OUT_OUTSIDE)
    if left:
        memberships.record(session, county, left[0].person_id, tree.village.id, today + timedelta(days=20),
                           register.IN_OUTSIDE)
    _check(session)
    assert done >= {"arrive", "leave", "erase", "transfer", "person edit", "member edit", "import", "package"}, done
    assert len(active) > 20
    for d in (today, today - timedelta(days=1), today - timedelta(days=90), today - timedelta(days=400),
              today + timedelta(days=15), today + timedelta(days=30)):
        _same_as_counted(session, root, d)
    # the page reads the tallies when few events are dated after the day, and counts the members past the share
    assert queries.tallied(session, today + timedelta(days=30)) is not None
    assert queries.tallied(session, today - timedelta(days=400)) is None
    # committed: the pending differences are written at commit and equal a recount
    session.commit()
    _check(session)
    _same_as_counted(session, session.get(Org, root.id), today)


def test_a_rollback_drops_the_pending_differences(session, tree):
    county = Actor(person_id=tree.county_admin.id, name="王县", ip="10.0.0.1", org_id=tree.county.id,
                   scope_code=tree.county.code)
    rng = random.Random(5)
    session.commit()
    before = tallies.stored(session)
    members.add_member(session, county, tree.village, _member_data(rng, 1, date(2004, 3, 5)),
                       now=_at(clock.local_today()))
    session.flush()
    assert tallies.recount(session) != before
    session.rollback()
    assert tallies.stored(session) == before == tallies.recount(session)
    m, _ = members.add_member(session, county, tree.village, _member_data(rng, 2, date(2004, 3, 6)),
                              now=_at(clock.local_today()))
    session.commit()
    stored = tallies.stored(session)
    assert stored == tallies.recount(session) and stored[("birth", "2004-03-06")] == 1


def test_rebuild_recounts_after_a_bulk_load(session, tree):
    county = Actor(person_id=tree.county_admin.id, name="王县", ip="10.0.0.1", org_id=tree.county.id,
                   scope_code=tree.county.code)
    members.add_member(session, county, tree.village, _member_data(random.Random(6), 1, date(2003, 7, 8)),
                       now=_at(clock.local_today()))
    session.commit()
    session.execute(MemberTally.__table__.delete())         # as a bulk load leaves it (the test may write anything)
    assert tallies.stored(session) != tallies.recount(session)
    assert tallies.rebuild(session) > 0
    _check(session)


def test_the_member_import_keeps_the_tallies(session, tree):
    """The import's commit: new people by the set-at-a-time path (their record's fields counted from the rows), a
    second file changing a 学历 and moving one of them (the per-row owners)."""
    from tuanjian.models import ImportBatch, utcnow
    from tuanjian.services import member_imports

    from ..factories import text_workbook
    actor = Actor(person_id=tree.township_admin.id, name="张镇", ip="10.0.0.1", org_id=tree.township.id,
                  scope_code=tree.township.code)
    head = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "所在团支部", "是否为团干部", "团内职务",
            "发展团员编号", "手机号码", "学历", "职业", "学习工作单位", "入团志愿书", "团员证", "团籍注册年度",
            "组织关系介绍信"]
    now = utcnow()
    first, second = new_id(date(2003, 4, 1)), new_id(date(2003, 4, 2))

    def rows(education, branch):
        return [["甲一", first, "汉族", "共青团员", "2015-05", branch, "否", "", "", "13900000000", education, "学生",
                 "", "是", "", "", ""],
                ["甲二", second, "回族", "共青团员", "2015-05", "城东村团支部", "否", "", "", "13900000000", "", "",
                 "", "是", "", "", ""]]

    for education, branch in (("普通高中", "城东村团支部"), ("普通本科", "城东村团支部")):
        data = text_workbook(head, rows(education, branch), sheet="团员").getvalue()
        batch = member_imports.preview_members(session, actor, tree.township, data=data, filename="团员.xlsx",
                                               settings=S, now=now)
        member_imports.commit_members(session, actor, session.get(ImportBatch, batch.id), mode="all", settings=S,
                                      now=now)
        stored = tallies.stored(session)
        assert stored == tallies.recount(session)
        assert stored[("education", education)] == 1 and stored[("education", "")] == 1
        assert stored[("ethnicity", "回族")] == 1 and stored[("occupation", "学生")] == 1
    assert not tallies.stored(session).get(("education", "普通高中"))
    session.commit()
    _check(session)


@pytest.mark.parametrize("db_kind", [k for k in DB_KINDS if k == "postgresql"])     # a checksum on PostgreSQL
def test_the_record_check_of_the_whole_data_compares_checksums(session, tree):
    """The placed members and the live records agree by count and checksum until a record is changed directly
    (no event): then they differ, and the page names the person by the exact queries."""
    county = Actor(person_id=tree.county_admin.id, name="王县", ip="10.0.0.1", org_id=tree.county.id,
                   scope_code=tree.county.code)
    rng = random.Random(8)
    added = [members.add_member(session, county, tree.village, _member_data(rng, i, date(2001, 1, 1 + i)),
                                now=_at(clock.local_today()))[0] for i in range(3)]
    session.commit()
    today = clock.local_today()
    assert queries.records_match(session, today)
    report = queries.statistics(session, tree.county, today, age_bounds=S.register_age_bounds, small=3)
    assert report.unexplained == []
    # the events' side summed in the figures' pass equals it summed on its own
    check: list = []
    queries.subtree_figures(session, tree.county, today, today - timedelta(days=365), None, small=3, checksum=check)
    assert check[0][0] == report.total.this == 3 and queries.records_match(session, today, check[0])
    session.get(Member, added[1].id).org_id = tree.klass.id            # a direct change (test code writes anything)
    session.commit()
    assert not queries.records_match(session, today)
    assert queries.unrecorded_whole(session, today) == 1
    report = queries.statistics(session, tree.county, today, age_bounds=S.register_age_bounds, small=3)
    assert [u.person.id for u in report.unexplained] == [added[1].person_id]
    session.get(Member, added[1].id).org_id = tree.village.id
    session.commit()
    assert queries.records_match(session, today)
