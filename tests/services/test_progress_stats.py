"""录入进度 on real data: exact numbers of progress() on a hand-counted tree, the exception lists and their scope,
and OrgStats kept current through every write path (each compared with a fresh compute())."""
from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import delete, event, func, select, text
from sqlalchemy.orm import Session

from tuanjian.clock import local_date
from tuanjian.domain.members import validate_member
from tuanjian.domain.orgtree import OrgKind
from tuanjian.domain.progress import EXCEPTION_KEYS, SORT_KEYS, Tally
from tuanjian.domain.settings import DEFAULT_SETTINGS as _S
from tuanjian.extensions import db
from tuanjian.models import AdminGrant, CadrePost, ImportBatch, Member, Org, OrgStats, Person, utcnow
from tuanjian.services import accounts, cadres, member_imports, members, orginfo, orgs, stats, transfers
from tuanjian.services.actor import Actor
from tuanjian.services.progress import Row, exception_members, exception_orgs, progress, sort_rows, stale_codes

from ..factories import make_cadre, make_code, make_member, new_id, text_workbook

TODAY = date(2026, 11, 23)          # 超龄: born on or before 1998-11-23
SYSTEM = Actor.system("测试")
FIELDS = ("orgs", "branches", "with_admin", "info_complete", "members", "complete_members", "branches_done",
          "non_branches", "cadres_ok", "exceptions", "youth")


def settings_of(app):
    return app.extensions["tuanjian_settings"]


def actor_for(person, org):
    return Actor(person_id=person.id, name=person.name, ip="10.0.0.1", org_id=org.id, scope_code=org.code)


def numbers(row: Row) -> dict:
    return {f: getattr(row.tally, f) for f in FIELDS}


def exc(**nonzero) -> dict:
    assert set(nonzero) <= set(EXCEPTION_KEYS)
    return {k: nonzero.get(k, 0) for k in EXCEPTION_KEYS}


def stats_row(session, org) -> OrgStats:
    session.expire_all()
    return session.get(OrgStats, org.id)


def assert_current(session, settings) -> None:
    """The invariant: every live organisation has exactly the row a fresh compute() gives, dissolved ones none,
    and the transaction left nothing pending."""
    assert not any(session.info.get(stats._KEY, {}).values()), session.info.get(stats._KEY)
    session.expire_all()
    live = list(session.scalars(select(Org).where(Org.dissolved_at.is_(None))))
    bookkeeping = ("updated_at", "overage_on")      # when, not what: progress() recounts 超龄 for the day it is given
    fresh = {r["org_id"]: {k: v for k, v in r.items() if k not in bookkeeping}
             for r in stats.expected_rows(session, live, settings=settings).values()}
    kept = {r.org_id: {c.key: getattr(r, c.key) for c in OrgStats.__table__.columns if c.key not in bookkeeping}
            for r in session.scalars(select(OrgStats))}
    assert kept == fresh
    session.rollback()


def member_data(person: Person, member: Member, **change) -> dict:
    """What validate_member returns for this member as it stands, with ``change`` applied (the services write
    what they are given, so a test can also hand them data as old imports left it)."""
    data = {"name": person.name, "id_number": person.id_number, "gender": person.gender,
            "birth_date": person.birth_date.isoformat(), "ethnicity": person.ethnicity,
            "political_status": person.political_status, "join_date": person.join_date,
            "dev_number": member.dev_number, "phone": person.phone, "is_cadre": False, "position": None,
            "education": member.education, "occupation": member.occupation, "workplace": member.workplace,
            "has_application": member.has_application, "has_card": member.has_card, "card_year": member.card_year,
            "has_letter": member.has_letter}
    return {**data, **change}


# ---------------------------------------------------------------- the hand-counted county

def branch(session, parent, name, kind=OrgKind.BRANCH):
    return orgs.create_child(session, SYSTEM, parent, short_name=name, kind=kind, settings=_S)


def member(session, org, name, *, birth=date(2000, 5, 20), join="2015-05", dev=None, **kw):
    m = make_member(session, org, name=name, birth=birth, join_date=join, **kw)
    m.dev_number = dev
    session.flush()
    return m


def build_world(session, tree) -> SimpleNamespace:
    """county (tree) with three direct subordinates; every number in the tests below is counted from here.

    华阳镇团委 (admin 张镇; 书记 张镇 with phone via the org-info form; a 2nd complete cadre; info complete)
      城东村团支部   admin 陈支; 3 complete members                       → done
      东山村团支部   0 members                                            → 空心, no cadre, no admin
      西山村团支部   2 complete members; an expired unused code           → 1–2 members
      城关社区团支部 51 complete members                                  → >50, done
    望江中学团委 (admin 刘校 + a 群众 cadre without 入团年月 → 2 complete cadres; 14–28 youth 40;
               行业类别 普通高中 without a 学校标识码)
      高一年级团总支 (书记 without phone, every other info field filled)
        高一(1)班团支部  9 live members: 7 complete, 1 without a 2018 dev number, 1 bad 民族;
                         2 aged 36: one plain (超龄), one holding a post here; 1 deleted (would be both)
      高二年级团总支 (no branch below: 空心团委)
    高士镇团委 (admin 赵邻)
      高士村团支部  2 members: one aged 46 (超龄, no evidence recorded: 身份待确认), one with a 2019-prefixed
                    number for a 2020 join;
                    an expired unused code
    """
    t = tree
    w = SimpleNamespace(tree=t, county=t.county, township=t.township, village=t.village, school=t.school,
                        grade=t.grade, klass=t.klass, sibling=t.sibling, sibling_branch=t.sibling_branch)
    county = actor_for(t.county_admin, t.county)
    # 华阳镇
    orginfo.save_org_info(session, county, t.township, {
        "kind": "committee", "short_name": "华阳镇团委", "full_name": "中国共产主义青年团测试县华阳镇委员会",
        "industry": "农村", "staff_admin_quota": "0", "staff_admin_actual": "0", "staff_inst_quota": "1",
        "staff_inst_actual": "1", "secretary_name": "张镇", "secretary_id_number": t.township_admin.id_number,
        "secretary_phone": "13700000000"}, settings=_S, now=utcnow(), confirmed=True)
    make_cadre(session, t.township, name="李委", position="组织委员")
    w.empty = branch(session, t.township, "东山村团支部")
    w.small = branch(session, t.township, "西山村团支部")
    w.large = branch(session, t.township, "城关社区团支部")
    w.village_members = [member(session, t.village, f"村{i}") for i in range(3)]
    w.small_members = [member(session, w.small, f"西{i}") for i in range(2)]
    for i in range(51):
        make_member(session, w.large, name=f"城{i}")
    make_code(session, t.village, expired=True, used=True)           # used: not stale
    make_code(session, t.village, expired=True, revoked=True)        # revoked: not stale
    make_code(session, t.village)                                    # still valid
    w.small_code = make_code(session, w.small, expired=True)
    # 望江中学
    masses = make_cadre(session, t.school, name="群干", position="组织委员").person
    masses.political_status, masses.join_date = "群众", None
    t.school.youth_count = 40
    # a school without its 学校标识码 (the 总支 below shares the category)
    t.school.industry = "普通高中"
    sec = make_cadre(session, t.grade, name="总支书", position="书记").person
    sec.phone = None
    w.grade_secretary = sec
    t.grade.full_name, t.grade.industry = "中国共产主义青年团望江中学高一年级总支部委员会", "普通高中"
    t.grade.staff_admin_quota = t.grade.staff_admin_actual = t.grade.staff_inst_quota = t.grade.staff_inst_actual = 0
    w.hollow = branch(session, t.school, "高二年级团总支", kind=OrgKind.GENERAL_BRANCH)
    k = t.klass
    w.plain = member(session, k, "甲一")
    w.no_dev = member(session, k, "甲二", join="2018-05")                          # incomplete + bad dev number
    w.overage = member(session, k, "甲三", birth=date(1990, 1, 1), join="2005-05")
    w.overage_cadre = member(session, k, "甲四", birth=date(1990, 2, 2), join="2005-05")
    session.add(CadrePost(person_id=w.overage_cadre.person_id, org_id=k.id, position="组织委员"))
    w.bad_ethnicity = member(session, k, "甲五")
    w.bad_ethnicity.person.ethnicity = "火星族"
    member(session, k, "甲六", join="2019-03", dev="201912345678")
    member(session, k, "甲七", join="2017-06", dev="201812345679")                 # 2017/2018 twins
    member(session, k, "甲八", join="2016-12")                                     # before 2017: optional
    member(session, k, "甲十", political="中共党员")
    w.deleted = member(session, k, "甲九", birth=date(1985, 1, 1), join="2019-01")
    w.deleted.deleted_at, w.deleted.deleted_reason = utcnow(), "测试"
    # 高士镇
    w.old = member(session, t.sibling_branch, "乙老", birth=date(1980, 6, 6), join="1995-05",
                   evidence=(None, None, None, None))               # evidence never recorded: 身份待确认
    w.wrong_prefix = member(session, t.sibling_branch, "乙错", join="2020-05", dev="201912345670")
    w.sibling_code = make_code(session, t.sibling_branch, expired=True)
    session.commit()
    return w


@pytest.fixture
def world(session, tree):
    return build_world(session, tree)


TOWNSHIP = {"orgs": 5, "branches": 4, "with_admin": 2, "info_complete": 1, "members": 56, "complete_members": 56,
            "branches_done": 2, "non_branches": 1, "cadres_ok": 1, "exceptions": 14, "youth": None}
TOWNSHIP_EXC = exc(empty_branches=1, small_branches=1, large_branches=1, no_secretary=4, no_cadre_branches=3,
                   no_admin=3, stale_codes=1)
SCHOOL = {"orgs": 4, "branches": 1, "with_admin": 1, "info_complete": 0, "members": 9, "complete_members": 7,
          "branches_done": 0, "non_branches": 3, "cadres_ok": 1, "exceptions": 10, "youth": 40}
SCHOOL_EXC = exc(hollow_committees=1, no_secretary=3, no_admin=3, overage=1, bad_dev_number=1, no_school_code=1)
SIBLING = {"orgs": 2, "branches": 1, "with_admin": 1, "info_complete": 0, "members": 2, "complete_members": 0,
           "branches_done": 0, "non_branches": 1, "cadres_ok": 0, "exceptions": 9, "youth": None}
SIBLING_EXC = exc(small_branches=1, no_secretary=2, no_cadre_branches=1, no_admin=1, overage=1, bad_dev_number=1,
                  stale_codes=1, unconfirmed=1)


def test_progress_numbers_by_hand(app, session, world):
    s = settings_of(app)
    now = utcnow()
    p = progress(session, world.county, settings=s, now=now, today=TODAY)
    assert p.org.id == world.county.id and p.as_of == now
    assert [r.org.id for r in p.rows] == [world.township.id, world.school.id, world.sibling.id]
    by = {r.org.id: r for r in p.rows}
    t, sc, sb = by[world.township.id], by[world.school.id], by[world.sibling.id]
    assert (numbers(t), t.exceptions) == (TOWNSHIP, TOWNSHIP_EXC)
    assert (numbers(sc), sc.exceptions) == (SCHOOL, SCHOOL_EXC)
    assert (numbers(sb), sb.exceptions) == (SIBLING, SIBLING_EXC)
    assert all(r.has_children for r in p.rows)
    # rates, as the page shows them
    assert {m: t.tally.rate(m) for m in ("admins", "info", "member_complete", "branches_done", "cadres")} == \
        {"admins": 2 / 5, "info": 1 / 5, "member_complete": 1.0, "branches_done": 2 / 4, "cadres": 1.0}
    assert {m: sc.tally.rate(m) for m in ("admins", "info", "member_complete", "branches_done", "cadres")} == \
        {"admins": 1 / 4, "info": 0.0, "member_complete": 7 / 9, "branches_done": 0.0, "cadres": 1 / 3}
    assert [r.rank for r in p.rows] == [1, 2, 3]         # 0.62, 0.272, 0.2
    # 本级: the county alone (admin 王县, no 书记, one complete cadre)
    assert p.own.org.id == world.county.id and p.own.has_children
    assert numbers(p.own) == {"orgs": 1, "branches": 0, "with_admin": 1, "info_complete": 0, "members": 0,
                              "complete_members": 0, "branches_done": 0, "non_branches": 1, "cadres_ok": 0,
                              "exceptions": 1, "youth": None}
    assert p.own.exceptions == exc(no_secretary=1)
    # totals: the rows plus the county itself
    total = p.totals
    assert total.org.id == world.county.id and total.has_children
    assert numbers(total) == {"orgs": 12, "branches": 6, "with_admin": 5, "info_complete": 1, "members": 67,
                              "complete_members": 63, "branches_done": 2, "non_branches": 6, "cadres_ok": 2,
                              "exceptions": 34, "youth": 40}
    assert total.exceptions == exc(empty_branches=1, small_branches=2, large_branches=1, hollow_committees=1,
                                   no_secretary=10, no_cadre_branches=4, no_admin=7, overage=2, bad_dev_number=2,
                                   stale_codes=2, no_school_code=1, unconfirmed=1)
    # 团青比例: only the school recorded its 14–28周岁青年数, so the county's ratio counts the school's members only
    assert (sc.tally.youth, sc.tally.youth_members) == (40, 9)
    assert (t.tally.youth, t.tally.youth_members) == (None, 0)
    assert (total.tally.youth, total.tally.youth_members) == (40, 9)
    # last update: the newest row of each subtree, never in the future
    newest = session.scalar(select(func.max(OrgStats.updated_at)))
    assert total.tally.updated_at == newest and all(r.tally.updated_at <= newest for r in p.rows)
    assert all(r.tally.updated_at is not None for r in p.rows)


def test_progress_one_level_down_ranks_by_completion(app, session, world):
    p = progress(session, world.township, settings=settings_of(app), now=utcnow(), today=TODAY)
    assert [r.org.short_name for r in p.rows] == ["城东村团支部", "东山村团支部", "西山村团支部", "城关社区团支部"]
    assert not any(r.has_children for r in p.rows)
    one = {"orgs": 1, "branches": 1, "info_complete": 0, "non_branches": 0, "cadres_ok": 0, "youth": None}
    expected = {
        "城东村团支部": ({**one, "with_admin": 1, "members": 3, "complete_members": 3, "branches_done": 1,
                       "exceptions": 1}, exc(no_secretary=1)),
        "东山村团支部": ({**one, "with_admin": 0, "members": 0, "complete_members": 0, "branches_done": 0,
                       "exceptions": 4}, exc(empty_branches=1, no_secretary=1, no_cadre_branches=1, no_admin=1)),
        "西山村团支部": ({**one, "with_admin": 0, "members": 2, "complete_members": 2, "branches_done": 0,
                       "exceptions": 5},
                      exc(small_branches=1, no_secretary=1, no_cadre_branches=1, no_admin=1, stale_codes=1)),
        "城关社区团支部": ({**one, "with_admin": 0, "members": 51, "complete_members": 51, "branches_done": 1,
                        "exceptions": 4}, exc(large_branches=1, no_secretary=1, no_cadre_branches=1, no_admin=1)),
    }
    assert {r.org.short_name: (numbers(r), r.exceptions) for r in p.rows} == expected
    # completion: 城东 (1+0+1+1)/4, 东山 0 (no members to rate), 西山 (0+0+1+0)/4, 城关 (0+0+1+1)/4
    assert {r.org.short_name: r.rank for r in p.rows} == {"城东村团支部": 1, "城关社区团支部": 2, "西山村团支部": 3,
                                                          "东山村团支部": 4}
    # 本级 华阳镇 (admin, 书记 with phone, info complete, 2 complete cadres) + the four rows = the county's row
    assert numbers(p.own) == {f: 0 for f in FIELDS} | {"orgs": 1, "with_admin": 1, "info_complete": 1,
                                                       "non_branches": 1, "cadres_ok": 1, "youth": None}
    assert p.own.exceptions == exc()
    assert (numbers(p.totals), p.totals.exceptions) == (TOWNSHIP, TOWNSHIP_EXC)
    # a branch has no subordinates: no rows; the totals are the branch itself
    leaf = progress(session, world.village, settings=settings_of(app), now=utcnow(), today=TODAY)
    assert leaf.rows == [] and not leaf.own.has_children
    assert numbers(leaf.own) == numbers(leaf.totals) == expected["城东村团支部"][0]
    assert leaf.own.exceptions == leaf.totals.exceptions == exc(no_secretary=1)


def test_settings_thresholds_change_the_counts(app, session, world):
    s = replace(settings_of(app), branch_complete_min_members=52, branch_large_members=51, cadre_target=1,
                overage_years=40)
    p = progress(session, world.county, settings=s, now=utcnow(), today=TODAY)
    t, sc, sb = p.rows
    # ≥52 members: no branch is done; 城关 (51) is now small, not large; one complete cadre is enough
    assert (t.tally.branches_done, t.tally.cadres_ok) == (0, 1)
    assert (t.exceptions["small_branches"], t.exceptions["large_branches"]) == (3, 0)
    assert (sc.tally.cadres_ok, sb.tally.cadres_ok) == (1, 1)     # 高一年级团总支: its only cadre has no phone
    assert (sc.exceptions["overage"], sb.exceptions["overage"]) == (0, 1)    # born 1990: 36; born 1980: 46


# ---------------------------------------------------------------- exception lists and their scope

def org_names(pairs):
    for org, row in pairs:
        assert row.org_id == org.id
    return [org.short_name for org, _ in pairs]


def test_exception_orgs_exactly_and_in_scope(app, session, world):
    s = settings_of(app)
    county_lists = {
        "empty_branches": ["东山村团支部"],
        "small_branches": ["西山村团支部", "高士村团支部"],
        "large_branches": ["城关社区团支部"],
        "hollow_committees": ["高二年级团总支"],
        "no_secretary": ["共青团测试县委员会", "城东村团支部", "东山村团支部", "西山村团支部", "城关社区团支部",
                         "望江中学团委", "高一(1)班团支部", "高二年级团总支", "高士镇团委", "高士村团支部"],
        "no_cadre_branches": ["东山村团支部", "西山村团支部", "城关社区团支部", "高士村团支部"],
        "no_admin": ["东山村团支部", "西山村团支部", "城关社区团支部", "高一年级团总支", "高一(1)班团支部",
                     "高二年级团总支", "高士村团支部"],
    }
    progress(session, world.county, settings=s, now=utcnow(), today=TODAY)
    codes = {o.short_name: o.code for o in session.scalars(select(Org))}
    for kind, names in county_lists.items():
        got = org_names(exception_orgs(session, world.county, kind, settings=s))
        assert sorted(got, key=codes.get) == got, kind                       # listed in code order
        assert sorted(got) == sorted(names), kind
        for scope in (world.township, world.school, world.sibling, world.village):
            inside = {o.short_name for o in session.scalars(select(Org).where(
                (Org.code == scope.code) | Org.code.startswith(scope.code + ".")))}
            assert org_names(exception_orgs(session, scope, kind, settings=s)) == [n for n in got if n in inside], \
                (kind, scope.short_name)
    # the row counts and the lists agree
    p = progress(session, world.county, settings=s, now=utcnow(), today=TODAY)
    for row in p.rows:
        for kind in county_lists:
            assert row.exceptions[kind] == len(exception_orgs(session, row.org, kind, settings=s)), kind


def test_exception_members_and_codes_exactly_and_in_scope(app, session, world):
    s = settings_of(app)
    now = utcnow()

    def names(scope, kind):
        return [p.name for _, p in exception_members(session, scope, kind, settings=s, today=TODAY)]

    assert names(world.county, "overage") == ["甲三", "乙老"]
    assert names(world.school, "overage") == ["甲三"]
    assert names(world.klass, "overage") == ["甲三"]
    assert names(world.sibling_branch, "overage") == ["乙老"]
    assert names(world.township, "overage") == []
    assert names(world.county, "bad_dev_number") == ["甲二", "乙错"]
    assert names(world.sibling, "bad_dev_number") == ["乙错"]
    assert names(world.grade, "bad_dev_number") == ["甲二"]
    assert names(world.township, "bad_dev_number") == []
    for m, p in exception_members(session, world.county, "overage", settings=s, today=TODAY):
        assert m.person_id == p.id and m.deleted_at is None
    # the cut-off moves with "today"
    assert [p.name for _, p in exception_members(session, world.county, "overage", settings=s,
                                                 today=date(2017, 12, 31))] == ["乙老"]   # 甲三 was 27 then
    assert names(world.county, "overage") == ["甲三", "乙老"]
    assert [c.id for c in stale_codes(session, world.county, now=now)] == [world.small_code.id, world.sibling_code.id]
    assert [c.id for c in stale_codes(session, world.township, now=now)] == [world.small_code.id]
    assert [c.id for c in stale_codes(session, world.sibling, now=now)] == [world.sibling_code.id]
    assert stale_codes(session, world.school, now=now) == [] and stale_codes(session, world.village, now=now) == []
    # a code counts as stale only once its time has passed
    assert stale_codes(session, world.county, now=now - timedelta(days=11)) == []


# ---------------------------------------------------------------- sorting

def fake_row(name, rank, updated=None, **tally):
    return Row(org=SimpleNamespace(short_name=name), tally=Tally(updated_at=updated, **tally), rank=rank)


def test_sort_rows_every_key():
    t0 = datetime(2026, 11, 1, 8)
    rows = [fake_row("乙", 2, t0, orgs=3, branches=2, members=10, complete_members=5, exceptions=4, with_admin=3,
                     info_complete=1, branches_done=1, non_branches=1, cadres_ok=0),
            fake_row("甲", 1, t0 + timedelta(hours=1), orgs=1, branches=1, members=0, exceptions=0, with_admin=1,
                     info_complete=1, branches_done=1),
            fake_row("丙", 3, None, orgs=2, branches=0, members=20, complete_members=19, exceptions=7,
                     non_branches=2, cadres_ok=2),
            fake_row("丁", 4, t0 - timedelta(days=1))]                     # an empty subtree: nothing to rate
    names = lambda rs: [r.org.short_name for r in rs]  # noqa: E731
    expected_ascending = {
        "rank": ["甲", "乙", "丙", "丁"],
        "name": sorted(["甲", "乙", "丙", "丁"]),
        "orgs": ["丁", "甲", "丙", "乙"],
        "branches": ["丙", "丁", "甲", "乙"],
        "members": ["甲", "丁", "乙", "丙"],
        "exceptions": ["甲", "丁", "乙", "丙"],
        "updated_at": ["丙", "丁", "乙", "甲"],                           # no time sorts as the oldest
        "admins": ["丙", "乙", "甲", "丁"],                                # 丙 0/2, 乙 3/3 = 甲 1/1 (stable)
        "info": ["丙", "乙", "甲", "丁"],                                  # 0/2, 1/3, 1/1
        "member_complete": ["乙", "丙", "甲", "丁"],                       # 0.5, 0.95; 甲 and 丁 have none
        "branches_done": ["乙", "甲", "丙", "丁"],                         # 1/2, 1/1; 丙 and 丁 have none
        "cadres": ["乙", "丙", "甲", "丁"],                                # 0/1, 2/2
    }
    assert set(expected_ascending) == set(SORT_KEYS) | {"rank"}
    for key, order in expected_ascending.items():
        assert names(sort_rows(rows, key, False)) == order, key
    expected_descending = {
        "rank": ["丁", "丙", "乙", "甲"],
        "name": sorted(["甲", "乙", "丙", "丁"], reverse=True),
        "orgs": ["乙", "丙", "甲", "丁"],
        "branches": ["乙", "甲", "丙", "丁"],
        "members": ["丙", "乙", "甲", "丁"],
        "exceptions": ["丙", "乙", "甲", "丁"],
        "updated_at": ["甲", "乙", "丁", "丙"],
        "admins": ["乙", "甲", "丙", "丁"],
        "info": ["甲", "乙", "丙", "丁"],
        "member_complete": ["丙", "乙", "甲", "丁"],                       # the unrated stay last
        "branches_done": ["甲", "乙", "丙", "丁"],
        "cadres": ["丙", "乙", "甲", "丁"],
    }
    for key, order in expected_descending.items():
        assert names(sort_rows(rows, key, True)) == order, key
    assert names(sort_rows(rows, "bogus", False)) == expected_ascending["rank"]          # unknown key: by rank
    assert names(rows) == ["乙", "甲", "丙", "丁"]                                          # input untouched


def test_sort_rows_on_real_rows(app, session, world):
    p = progress(session, world.township, settings=settings_of(app), now=utcnow(), today=TODAY)
    short = lambda rs: [r.org.short_name[:2] for r in rs]  # noqa: E731
    assert short(sort_rows(p.rows, "members", True)) == ["城关", "城东", "西山", "东山"]
    assert short(sort_rows(p.rows, "exceptions", True)) == ["西山", "东山", "城关", "城东"]
    assert short(sort_rows(p.rows, "name", False)) == ["东山", "城东", "城关", "西山"]
    assert short(sort_rows(p.rows, "member_complete", False)) == ["城东", "西山", "城关", "东山"]   # 东山: no members
    assert short(sort_rows(p.rows, "rank", False)) == ["城东", "城关", "西山", "东山"]


# ---------------------------------------------------------------- rows are rebuilt when missing or stale

def test_missing_rows_are_rebuilt_by_progress(app, session, world):
    s = settings_of(app)
    before = progress(session, world.county, settings=s, now=utcnow(), today=TODAY)
    session.execute(delete(OrgStats))
    session.commit()
    p = progress(session, world.county, settings=s, now=utcnow(), today=TODAY)
    assert [(numbers(r), r.exceptions) for r in p.rows] == [(numbers(r), r.exceptions) for r in before.rows]
    assert session.scalar(select(func.count()).select_from(OrgStats)) == \
        session.scalar(select(func.count()).select_from(Org).where(Org.dissolved_at.is_(None)))
    assert_current(session, s)
    # only the subtree asked for is rebuilt
    session.execute(delete(OrgStats))
    session.commit()
    progress(session, world.sibling, settings=s, now=utcnow(), today=TODAY)
    assert set(session.scalars(select(OrgStats.org_id))) == {world.sibling.id, world.sibling_branch.id}
    # without the check, missing rows simply do not count
    session.execute(delete(OrgStats).where(OrgStats.org_id == world.large.id))
    session.commit()
    p = progress(session, world.county, settings=s, now=utcnow(), today=TODAY, check_current=False)
    assert [r.org.id for r in p.rows] == [world.township.id, world.school.id, world.sibling.id]
    assert sum(r.tally.members for r in p.rows) == 0 + 0 + 2                  # only 高士 has rows


def test_rules_change_recomputes_rows(app, session, world):
    s = settings_of(app)
    later = replace(s, dev_number_required_from_year=2019)
    p = progress(session, world.county, settings=later, now=utcnow(), today=TODAY)
    assert set(session.scalars(select(OrgStats.rules))) == {stats.rules_tag(later)} == {"dev2019"}
    sc = p.rows[1]
    # 甲二 joined 2018 without a number: fine when numbers are required from 2019 only
    assert (sc.tally.complete_members, sc.exceptions["bad_dev_number"]) == (8, 0)
    assert [p.name for _, p in exception_members(session, world.county, "bad_dev_number", settings=later,
                                                 today=TODAY)] == ["乙错"]
    earlier = replace(s, dev_number_required_from_year=2016)
    p = progress(session, world.school, settings=earlier, now=utcnow(), today=TODAY)
    # 甲八 joined 2016-12 without a number: now missing
    assert (p.totals.tally.complete_members, p.totals.exceptions["bad_dev_number"]) == (6, 2)
    assert set(session.scalars(select(OrgStats.org_id).where(OrgStats.rules == "dev2016"))) == \
        {world.school.id, world.grade.id, world.klass.id, world.hollow.id}
    p = progress(session, world.county, settings=s, now=utcnow(), today=TODAY)
    assert (numbers(p.rows[1]), p.rows[1].exceptions) == (SCHOOL, SCHOOL_EXC)
    assert_current(session, s)


# ---------------------------------------------------------------- every write path keeps OrgStats current

def test_world_is_current(app, session, world):
    assert_current(session, settings_of(app))


def test_member_add_update_delete(app, session, tree):
    s = settings_of(app)
    actor = actor_for(tree.branch_admin, tree.village)
    now = utcnow()
    data = validate_member({"name": "新甲", "id_number": new_id(date(2003, 4, 1)), "ethnicity": "汉族",
                            "political_status": "共青团员", "join_date": "2019-05", "dev_number": "201900000001",
                            "is_cadre": "否", "has_application": "是"}, settings=s, today=TODAY)
    m, _ = members.add_member(session, actor, tree.village, data, now=now)
    session.commit()
    row = stats_row(session, tree.village)
    assert (row.members, row.complete_members, row.bad_dev_numbers, row.cadres) == (1, 1, 0, 1)
    assert_current(session, s)
    # the evidence withdrawn (a 2019 join with only a 团员证): 身份待确认 and no longer complete, then back
    m = session.get(Member, m.id)
    members.update_member(session, actor, m, member_data(m.person, m, has_application=False, has_card=True,
                                                         card_year=2020), now=now)
    session.commit()
    row = stats_row(session, tree.village)
    assert (row.members, row.complete_members, row.unconfirmed) == (1, 0, 1)
    assert_current(session, s)
    m = session.get(Member, m.id)
    members.update_member(session, actor, m, member_data(m.person, m, has_application=True), now=now)
    session.commit()
    assert (stats_row(session, tree.village).complete_members, stats_row(session, tree.village).unconfirmed) == (1, 0)
    # as a cadre: the branch gains a cadre
    m = session.get(Member, m.id)
    members.update_member(session, actor, m, member_data(m.person, m, is_cadre=True, position="组织委员"), now=now)
    session.commit()
    assert stats_row(session, tree.village).cadres == 2
    assert_current(session, s)
    # an update that leaves the record incomplete (as an old import could)
    m = session.get(Member, m.id)
    members.update_member(session, actor, m, member_data(m.person, m, dev_number=None), now=now)
    session.commit()
    row = stats_row(session, tree.village)
    assert (row.members, row.complete_members, row.bad_dev_numbers, row.cadres) == (1, 0, 1, 1)
    assert_current(session, s)
    m = session.get(Member, m.id)
    members.delete_member(session, actor, m, reason="转出本县", now=now)
    session.commit()
    row = stats_row(session, tree.village)
    assert (row.members, row.complete_members, row.bad_dev_numbers, row.cadres) == (0, 0, 0, 1)
    assert_current(session, s)
    # restored by entering it again
    members.add_member(session, actor, tree.village, data, now=now)
    session.commit()
    assert stats_row(session, tree.village).members == 1
    assert_current(session, s)


def test_person_fields_without_a_flush(app, session, tree):
    """A plain attribute change committed at once (no flush, no query in between) still updates the rows."""
    s = settings_of(app)
    sec = make_cadre(session, tree.grade, name="书记甲", position="书记").person
    sec.phone = None
    for f in ("staff_admin_quota", "staff_admin_actual", "staff_inst_quota", "staff_inst_actual"):
        setattr(tree.grade, f, 0)
    tree.grade.full_name, tree.grade.industry = "中国共产主义青年团望江中学高一年级总支部委员会", "普通高中"
    m = make_member(session, tree.klass, name="乙")
    session.commit()
    row = stats_row(session, tree.grade)
    assert (row.has_secretary, row.info_complete, row.cadres, row.complete_cadres) == (True, False, 1, 0)
    assert_current(session, s)
    sec = session.get(Person, sec.id)
    sec.phone = "13911112222"
    session.commit()
    row = stats_row(session, tree.grade)
    assert (row.info_complete, row.complete_cadres) == (True, 1)
    assert_current(session, s)
    person = session.get(Person, m.person_id)
    person.ethnicity = None
    session.commit()
    assert stats_row(session, tree.klass).complete_members == 0
    assert_current(session, s)
    member_row = session.get(Member, m.id)
    member_row.deleted_at = utcnow()
    session.commit()
    assert stats_row(session, tree.klass).members == 0
    assert_current(session, s)


def test_bulk_import_commit(app, session, tree):
    """New people go in by Core inserts (the ORM sees nothing): the import marks their branches itself."""
    s = settings_of(app)
    actor = actor_for(tree.township_admin, tree.township)
    east = orgs.create_child(session, actor, tree.township, short_name="东山村团支部", kind=OrgKind.BRANCH, settings=s)
    existing = make_member(session, tree.village, name="老甲")
    session.commit()
    head = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "所在团支部", "是否为团干部", "团内职务",
            "发展团员编号",
            "手机号码", "学历", "职业", "学习工作单位", "入团志愿书", "团员证", "团籍注册年度", "组织关系介绍信"]
    rows = [["新一", new_id(date(2003, 4, 1)), "汉族", "共青团员", "2018-05", "东山村团支部", "否", "", "201800000001",
             "13900000000", "", "", "", "是", "", "", ""],
            ["新二", new_id(date(2003, 4, 2)), "汉族", "共青团员", "2015-05", "东山村团支部", "是", "宣传委员", "",
             "13900000000", "", "", "", "否", "是", "2018", ""],              # before 2016: a registered 团员证
            ["新三", new_id(date(2003, 4, 3)), "汉族", "共青团员", "2016-05", "城东村团支部", "否", "", "",
             "", "", "", "", "否", "", "", "是"],                             # 2016: a letter is not enough
            ["老甲", existing.person.id_number, "汉族", "共青团员", "2015-05", "城东村团支部", "否", "", "",
             "13000000000", "", "", "", "", "", "", ""]]          # an update (the ORM path); blank evidence: kept
    data = text_workbook(head, rows, sheet="团员").getvalue()
    batch = member_imports.preview_members(session, actor, tree.township, data=data, filename="团员.xlsx",
                                           settings=s, now=utcnow())
    session.commit()
    before = session.scalar(select(func.count()).select_from(Member))
    written = member_imports.commit_members(session, actor, session.get(ImportBatch, batch.id), mode="all",
                                            settings=s, now=utcnow())
    session.commit()
    assert len(written) == 4
    assert session.scalar(select(func.count()).select_from(Member)) == before + 3
    row = stats_row(session, east)
    assert (row.members, row.complete_members, row.unconfirmed, row.cadres, row.complete_cadres) == (2, 2, 0, 1, 1)
    row = stats_row(session, tree.village)
    assert (row.members, row.complete_members, row.unconfirmed, row.cadres, row.complete_cadres) == (2, 1, 1, 1, 1)
    old = session.scalar(select(Member).where(Member.person_id == existing.person_id))
    assert old.has_application is True and old.person.phone == "13000000000"
    assert_current(session, s)


def test_transfer_accept_moves_counts(app, session, tree):
    s = settings_of(app)
    m = make_member(session, tree.sibling_branch, name="转甲")
    plain = make_member(session, tree.sibling_branch, name="转乙")
    session.add(CadrePost(person_id=m.person_id, org_id=tree.sibling_branch.id, position="组织委员"))
    session.commit()
    assert (stats_row(session, tree.sibling_branch).members, stats_row(session, tree.sibling_branch).cadres) == (2, 1)
    county = actor_for(tree.county_admin, tree.county)
    for member_, name, left in ((m, "转甲", 1), (plain, "转乙", 0)):       # with a post there, then without
        req = transfers.request_transfer(session, county, tree.village, id_number=member_.person.id_number, name=name,
                                         reason="工作调动", now=utcnow())
        session.commit()
        transfers.decide(session, county, req, accept=True, note="", now=utcnow())
        session.commit()
        src, dst = stats_row(session, tree.sibling_branch), stats_row(session, tree.village)
        assert (src.members, src.cadres, dst.members) == (left, 0, 2 - left)   # the post in the old branch ended
        assert_current(session, s)


def test_cadre_posts_and_admin_grants(app, session, tree):
    s = settings_of(app)
    township = actor_for(tree.township_admin, tree.township)
    empty = orgs.create_child(session, township, tree.township, short_name="东山村团支部", kind=OrgKind.BRANCH,
                              settings=s)
    session.commit()
    assert (stats_row(session, empty).cadres, stats_row(session, empty).admins) == (0, 0)
    data = {"name": "新干", "id_number": new_id(date(1998, 1, 1)), "gender": "男", "birth_date": "1998-01-01",
            "phone": "13600000000", "ethnicity": "汉族", "political_status": "共青团员", "join_date": "2012-05",
            "position": "书记", "title": None, "nature": "兼职", "start_month": None, "party_committee": None}
    post, _ = cadres.add_cadre(session, township, empty, data, now=utcnow())
    session.commit()
    row = stats_row(session, empty)
    assert (row.cadres, row.complete_cadres, row.has_secretary) == (1, 1, True)
    assert_current(session, s)
    grant = accounts.grant_admin(session, township, empty, session.get(CadrePost, post.id), settings=s, now=utcnow())
    session.commit()
    assert stats_row(session, empty).admins == 1
    assert_current(session, s)
    accounts.revoke_admin(session, township, session.get(AdminGrant, grant.id), now=utcnow())
    session.commit()
    assert stats_row(session, empty).admins == 0
    assert_current(session, s)
    yesterday = local_date(utcnow()) - timedelta(days=1)
    cadres.change_position(session, township, session.get(CadrePost, post.id), position="组织委员", title=None,
                           changed_on=yesterday, now=utcnow())
    session.commit()
    assert (stats_row(session, empty).has_secretary, stats_row(session, empty).cadres) == (False, 1)
    assert_current(session, s)
    cadres.end_post(session, township, session.get(CadrePost, post.id), ended_on=yesterday,
                    reason="调离", now=utcnow())
    session.commit()
    assert stats_row(session, empty).cadres == 0
    assert_current(session, s)


def test_org_info_save(app, session, tree):
    s = settings_of(app)
    county = actor_for(tree.county_admin, tree.county)
    assert stats_row(session, tree.school).info_complete is False
    orginfo.save_org_info(session, county, tree.school, {
        "kind": "committee", "short_name": "望江中学团委", "full_name": "中国共产主义青年团望江中学委员会",
        "industry": "普通高中", "staff_admin_quota": "0", "staff_admin_actual": "0", "staff_inst_quota": "0",
        "staff_inst_actual": "0", "secretary_name": "刘校", "secretary_id_number": tree.school_admin.id_number,
        "secretary_phone": "13700000001"}, settings=s, now=utcnow(), confirmed=True)
    session.commit()
    row = stats_row(session, tree.school)
    assert (row.info_complete, row.has_secretary, row.complete_cadres) == (True, True, 1)
    assert_current(session, s)
    # a new secretary who is not yet on record replaces the old one
    orginfo.save_org_info(session, county, tree.sibling, {
        "kind": "committee", "short_name": "高士镇团委", "full_name": "中国共产主义青年团测试县高士镇委员会",
        "industry": "农村", "staff_admin_quota": "0", "staff_admin_actual": "0", "staff_inst_quota": "0",
        "staff_inst_actual": "0", "secretary_name": "钱书记", "secretary_id_number": new_id(date(1994, 2, 2)),
        "secretary_phone": "13700000002"}, settings=s, now=utcnow(), confirmed=True)
    session.commit()
    row = stats_row(session, tree.sibling)
    assert (row.info_complete, row.has_secretary, row.cadres) == (True, True, 2)
    assert_current(session, s)


def test_move_merge_create_dissolve(app, session, tree):
    s = settings_of(app)
    county = actor_for(tree.county_admin, tree.county)
    hollow = orgs.create_child(session, SYSTEM, tree.school, short_name="高二年级团总支", kind=OrgKind.GENERAL_BRANCH,
                               settings=s)
    session.commit()
    below = lambda o: stats_row(session, o).branches_below  # noqa: E731
    assert (below(tree.county), below(tree.township), below(tree.school), below(hollow)) == (3, 1, 1, 0)
    assert_current(session, s)
    west = orgs.create_child(session, SYSTEM, tree.township, short_name="城西村团支部", kind=OrgKind.BRANCH, settings=s)
    make_member(session, west, name="西甲")
    session.commit()
    assert (below(tree.county), below(tree.township)) == (4, 2)
    assert_current(session, s)
    # move a branch with its member from 华阳镇 into the hollow 团总支 of 望江中学
    orgs.move_org(session, county, west, hollow, settings=s, now=utcnow())
    session.commit()
    assert (below(tree.county), below(tree.township), below(tree.school), below(hollow)) == (4, 1, 2, 1)
    assert stats_row(session, west).members == 1
    assert_current(session, s)
    # move a whole 团总支 subtree (团总支 + class branch) under 华阳镇
    orgs.move_org(session, county, tree.grade, tree.township, settings=s, now=utcnow())
    session.commit()
    assert (below(tree.county), below(tree.township), below(tree.school), below(tree.grade)) == (4, 2, 1, 1)
    assert_current(session, s)
    # merge: members move, the source is dissolved and loses its row
    east = orgs.create_child(session, SYSTEM, hollow, short_name="高二(2)班团支部", kind=OrgKind.BRANCH, settings=s)
    session.commit()
    assert below(hollow) == 2
    moved = orgs.merge_branches(session, county, west, east, now=utcnow())
    session.commit()
    assert moved == 1 and stats_row(session, west) is None
    assert (below(hollow), below(tree.school), below(tree.county)) == (1, 1, 4)
    assert stats_row(session, east).members == 1
    assert_current(session, s)
    # dissolve an empty branch: its row goes, its ancestors count one branch fewer
    orgs.dissolve(session, county, tree.village, reason="撤村并居", now=utcnow())
    session.commit()
    assert stats_row(session, tree.village) is None
    assert (below(tree.township), below(tree.county)) == (1, 3)
    assert_current(session, s)
    p = progress(session, tree.county, settings=s, now=utcnow(), today=TODAY)
    assert [(r.org.short_name, r.tally.orgs, r.tally.branches, r.tally.members) for r in p.rows] == [
        ("华阳镇团委", 3, 1, 0), ("望江中学团委", 3, 1, 1), ("高士镇团委", 2, 1, 0)]


def test_rollback_leaves_no_pending_marks(app, session, tree):
    s = settings_of(app)
    make_member(session, tree.village, name="回滚")
    assert tree.village.id in session.info[stats._KEY]["orgs"]
    session.rollback()
    assert stats._KEY not in session.info
    assert stats_row(session, tree.village).members == 0
    assert_current(session, s)
    # the next, unrelated commit does not carry anything over
    tree.school.youth_count = 10
    session.commit()
    assert stats._KEY not in session.info
    assert_current(session, s)


# ---------------------------------------------------------------- concurrent writers (PostgreSQL)

def test_concurrent_refreshes_of_one_org(app, session, tree, db_kind):
    """Two transactions that both recompute the same organisation: the second waits for the first and then
    counts its data too (no duplicate-key error, no lost update)."""
    s = settings_of(app)
    session.rollback()
    engine = db.engine
    a = Session(engine)
    first = a.get(Org, tree.village.id)
    make_member(a, first, name="并一")
    a.flush()
    stats._before_commit(a)               # A has recomputed the row and not committed yet
    outcome = {}

    def writer_b():
        b = Session(engine)
        try:
            make_member(b, b.get(Org, tree.village.id), name="并二")
            b.commit()
            outcome["ok"] = True
        except Exception as e:    # noqa: BLE001 - reported below
            outcome["error"] = repr(e)
            b.rollback()
        finally:
            b.close()

    if db_kind != "postgresql":           # SQLite admits one writer at a time: B writes after A has committed
        a.commit()
        a.close()
        writer_b()
        session.rollback()                # end this session's read snapshot, taken before A and B committed
        assert outcome == {"ok": True}
        assert stats_row(session, tree.village).members == 2
        assert_current(session, s)
        return
    thread = threading.Thread(target=writer_b)
    thread.start()
    with engine.connect() as probe:       # wait until B is blocked behind A's lock
        for _ in range(100):
            waiting = probe.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                         "AND wait_event_type = 'Lock'")).scalar()
            if waiting:
                break
            time.sleep(0.05)
    a.commit()
    a.close()
    thread.join(10)
    assert outcome == {"ok": True}
    assert stats_row(session, tree.village).members == 2
    assert_current(session, s)


def test_overage_counts_follow_the_calendar_without_any_write(app, session, tree):
    """超龄 changes with the date alone: counts stored on an earlier day are counted live for the day the page is
    asked for, and reading the page writes nothing (no commit, no changed row); `flask recount-overage` stores the
    day's counts, which the page then uses as they are."""
    s = settings_of(app)
    day = date(2030, 6, 15)
    make_member(session, tree.village, name="明天满龄", birth=date(2002, 6, 16), join_date="2016-05")
    make_member(session, tree.village, name="今天满龄", birth=date(2002, 6, 15), join_date="2016-05")
    make_member(session, tree.klass, name="早已满龄", birth=date(1990, 1, 1), join_date="2005-05")
    session.commit()

    def stored():
        session.expire_all()
        return {r.org_id: (r.overage, r.overage_on) for r in session.scalars(select(OrgStats))}
    before = stored()
    commits = []
    listener = lambda s_: commits.append(s_)                    # noqa: E731
    event.listen(Session, "after_commit", listener)
    try:
        first = progress(session, tree.township, settings=s, now=utcnow(), today=day)
        later = progress(session, tree.township, settings=s, now=utcnow(), today=day + timedelta(days=1))
        county = progress(session, tree.county, settings=s, now=utcnow(), today=day)
    finally:
        event.remove(Session, "after_commit", listener)
    assert (first.totals.exceptions["overage"], later.totals.exceptions["overage"]) == (1, 2)
    assert county.totals.exceptions["overage"] == 2 and county.totals.tally.exceptions >= 2
    assert commits == [] and not session.dirty and not session.new
    assert stored() == before
    names = {p.name for _, p in exception_members(session, tree.township, "overage", settings=s,
                                                  today=day + timedelta(days=1))}
    assert names == {"明天满龄", "今天满龄"}
    # the daily command stores today's counts (run here with the clock's today)
    session.rollback()
    result = app.test_cli_runner().invoke(args=["recount-overage"])
    assert result.exit_code == 0, result.output
    today = local_date(utcnow())
    assert {on for _, on in stored().values()} == {today}
    assert stored()[tree.klass.id][0] == 1
    now_counts = progress(session, tree.county, settings=s, now=utcnow(), today=today)
    assert now_counts.totals.exceptions["overage"] == 1


def test_the_progress_page_commits_nothing(app, session, client, login, tree):
    """GET /progress/org/<id> on a day after the counts were stored: the page counts 超龄 live and commits nothing."""
    make_member(session, tree.village, name="满龄", birth=date(1990, 1, 1), join_date="2005-05")
    session.commit()
    session.execute(OrgStats.__table__.update().values(overage=0, overage_on=date(2020, 1, 1)))
    session.commit()
    login(tree.county_admin)
    commits = []
    listener = lambda s_: commits.append(s_)                    # noqa: E731
    event.listen(Session, "after_commit", listener)
    try:
        resp = client.get(f"/progress/org/{tree.county.id}")
    finally:
        event.remove(Session, "after_commit", listener)
    assert resp.status_code == 200
    assert commits == []
    session.rollback()
    assert set(session.scalars(select(OrgStats.overage_on))) == {date(2020, 1, 1)}


def test_bulk_import_of_new_members_adds_counts_without_recomputing(app, session, tree, monkeypatch):
    """New non-cadre members of a branch whose row is current are added to its counts (no member-by-member
    recompute); the result equals a fresh compute, 超龄 and bad 发展团员编号 included."""
    s = settings_of(app)
    actor = actor_for(tree.township_admin, tree.township)
    make_member(session, tree.village, name="原有甲")
    session.commit()
    head = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "所在团支部", "是否为团干部", "发展团员编号"]
    rows = [["新一", new_id(date(2003, 4, 1)), "汉族", "共青团员", "2018-05", "城东村团支部", "否", "201800000011"],
            ["新二", new_id(date(1990, 4, 2)), "汉族", "共青团员", "2005-05", "城东村团支部", "否", ""],    # 超龄
            ["新三", new_id(date(2003, 4, 3)), "汉族", "共青团员", "2016-05", "城东村团支部", "否", "2016"]]  # 编号不足
    data = text_workbook(head, rows, sheet="团员").getvalue()
    batch = member_imports.preview_members(session, actor, tree.township, data=data, filename="团员.xlsx",
                                           settings=s, now=utcnow())
    session.commit()
    recomputed = []
    real_refresh = stats.refresh
    monkeypatch.setattr(stats, "refresh", lambda sess, ids, **kw: (recomputed.extend(ids),
                                                                   real_refresh(sess, ids, **kw)))
    written = member_imports.commit_members(session, actor, session.get(ImportBatch, batch.id), mode="valid",
                                            settings=s, now=utcnow())
    session.commit()
    assert len(written) >= 2
    assert tree.village.id not in recomputed
    row = stats_row(session, tree.village)
    assert row.members == 1 + len(written) and row.overage == 1
    assert_current(session, s)


def test_expected_rows_count_overage_for_the_day_each_stored_row_counts_it_for(app, session, tree):
    """A consistency check run just after midnight (Beijing) must not call the rows written before it wrong: a member
    who turns 28 today is 超龄 in a fresh compute for today, not in the row stored yesterday. expected_rows compares
    each row with a compute for its own day; a wrong count for that day is still a mismatch."""
    from tuanjian.clock import local_today
    s = settings_of(app)
    today = local_today()
    yesterday = today - timedelta(days=1)
    make_member(session, tree.village, name="今天满28", birth=today.replace(year=today.year - 28))
    session.commit()
    session.execute(OrgStats.__table__.update().where(OrgStats.org_id == tree.village.id)
                    .values(overage=0, overage_on=yesterday))          # as the row stood before midnight
    session.commit()
    live = [tree.village]
    for_today = {r["org_id"]: r for r in stats.compute(session, live, settings=s)}
    assert for_today[tree.village.id]["overage"] == 1 and for_today[tree.village.id]["overage_on"] == today
    expected = stats.expected_rows(session, live, settings=s)[tree.village.id]
    assert (expected["overage"], expected["overage_on"]) == (0, yesterday)
    session.execute(OrgStats.__table__.update().where(OrgStats.org_id == tree.village.id).values(overage=5))
    session.commit()
    assert stats_row(session, tree.village).overage != stats.expected_rows(session, live, settings=s)[
        tree.village.id]["overage"]
