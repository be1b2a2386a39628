"""Issue 9 on real data (SQLite and PostgreSQL): the two school lists and 身份待确认 on the progress page and in
OrgStats (each state compared with a fresh compute()), the 学校标识码 uniqueness, self-service profile edits and
the upper admin's correction of a name or ID number."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tuanjian.domain.errors import Conflict, NotAllowed, ValidationFailed
from tuanjian.domain.orgtree import OrgKind
from tuanjian.domain.settings import DEFAULT_SETTINGS as _S
from tuanjian.models import AuditEntry, Member, OrgStats, utcnow
from tuanjian.services import orginfo, orgs, profile
from tuanjian.services.progress import exception_members, exception_orgs, progress

from ..factories import make_member, new_id
from .test_progress_stats import TODAY, actor_for, assert_current, settings_of

SCHOOL_INFO = {"kind": "committee", "short_name": "望江中学团委", "full_name": "中国共产主义青年团望江中学委员会",
               "industry": "普通高中", "staff_admin_quota": "0", "staff_admin_actual": "0", "staff_inst_quota": "0",
               "staff_inst_actual": "0", "secretary_name": "刘校"}


def save_school(session, tree, **change):
    county = actor_for(tree.county_admin, tree.county)
    data = {**SCHOOL_INFO, "secretary_id_number": tree.school_admin.id_number, "secretary_phone": "13800000000",
            **change}
    orginfo.save_org_info(session, county, tree.school, data, settings=_S, now=utcnow(), confirmed=True)
    session.commit()


def names(found):
    return sorted(o.short_name for o, _ in found)


def test_school_lists_follow_code_branches_and_category(app, session, tree):
    s = settings_of(app)
    county = tree.county
    tree.grade.industry = "普通高中"
    save_school(session, tree)                              # a school without its code
    assert names(exception_orgs(session, county, "no_school_code", settings=s)) == ["望江中学团委"]
    assert exception_orgs(session, county, "school_no_branch", settings=s) == []
    # the school's 团总支 shares the category but is not a school of its own
    grade = session.get(OrgStats, tree.grade.id)
    assert not grade.school_unit
    assert_current(session, s)

    save_school(session, tree, school_code="3134001234")
    assert exception_orgs(session, county, "no_school_code", settings=s) == []
    assert exception_orgs(session, county, "school_no_branch", settings=s) == []      # 高一(1)班团支部 is below
    # dissolving its only branch: a school with a code but no 团支部
    orgs.dissolve(session, actor_for(tree.county_admin, county), tree.klass, reason="合并班级", now=utcnow())
    session.commit()
    assert names(exception_orgs(session, county, "school_no_branch", settings=s)) == ["望江中学团委"]
    p = progress(session, county, settings=s, now=utcnow(), today=TODAY)
    school_row = next(r for r in p.rows if r.org.id == tree.school.id)
    assert (school_row.exceptions["school_no_branch"], school_row.exceptions["no_school_code"]) == (1, 0)
    assert p.totals.exceptions["school_no_branch"] == 1
    assert_current(session, s)

    # the parent leaves the school categories: its 团总支 (still 普通高中) now stands for a school, without a code
    save_school(session, tree, industry="事业单位（不含公立学校）", school_code="")
    session.expire_all()
    assert session.get(OrgStats, tree.grade.id).school_unit
    assert names(exception_orgs(session, county, "no_school_code", settings=s)) == ["高一年级团总支"]
    assert_current(session, s)


def test_school_code_is_unique_with_a_clear_message(app, session, tree):
    save_school(session, tree, school_code="3134001234")
    county = actor_for(tree.county_admin, tree.county)
    other = orgs.create_child(session, county, tree.county, short_name="实验学校团委", kind=OrgKind.COMMITTEE,
                              settings=_S)
    session.commit()
    data = {**SCHOOL_INFO, "short_name": "实验学校团委", "full_name": "中国共产主义青年团望江县实验学校委员会",
            "industry": "初中", "school_code": "3134 001234", "secretary_name": "王县",
            "secretary_id_number": tree.county_admin.id_number, "secretary_phone": "13800000001"}
    with pytest.raises(ValidationFailed) as exc:
        orginfo.save_org_info(session, county, other, data, settings=_S, now=utcnow(), confirmed=True)
    assert "已由“中国共产主义青年团望江中学委员会”使用" in exc.value.field_errors["school_code"][0]
    session.rollback()
    # the database refuses a duplicate too, whatever path writes it
    from sqlalchemy.exc import IntegrityError
    other = session.get(type(other), other.id)
    other.school_code = "3134001234"
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_unconfirmed_members_list_and_counts(app, session, tree):
    s = settings_of(app)
    ok = make_member(session, tree.village, name="有书", join_date="2018-05")
    ok.dev_number = "201800000001"
    card_old = make_member(session, tree.village, name="有证", join_date="2014-05", evidence=(False, True, 2018, None))
    card_stale = make_member(session, tree.village, name="旧证", join_date="2014-05",
                             evidence=(False, True, 2015, None))
    late = make_member(session, tree.klass, name="晚团", join_date="2017-05", evidence=(False, None, None, True))
    late.dev_number = "201700000009"
    unknown = make_member(session, tree.sibling_branch, name="未摸", evidence=(None, None, None, None))
    session.commit()
    assert_current(session, s)
    found = exception_members(session, tree.county, "unconfirmed", settings=s, today=TODAY)
    assert sorted(p.name for _, p in found) == ["旧证", "晚团", "未摸"]
    assert [p.name for _, p in exception_members(session, tree.township, "unconfirmed", settings=s,
                                                 today=TODAY)] == ["旧证"]           # scoped to the subtree
    p = progress(session, tree.county, settings=s, now=utcnow(), today=TODAY)
    assert p.totals.exceptions["unconfirmed"] == 3
    assert (p.totals.tally.members, p.totals.tally.complete_members) == (5, 2)
    # recording the 入团志愿书 confirms them
    for m in (card_stale, late, unknown):
        session.get(Member, m.id).has_application = True
    session.commit()
    assert exception_members(session, tree.county, "unconfirmed", settings=s, today=TODAY) == []
    assert session.get(OrgStats, tree.village.id).unconfirmed == 0
    assert_current(session, s)
    assert card_old.id and ok.id


def test_youth_ratio_uses_each_rows_own_count(app, session, tree):
    s = settings_of(app)
    for i in range(3):
        make_member(session, tree.village, name=f"镇{i}")
        make_member(session, tree.klass, name=f"校{i}")
    tree.township.youth_count = 12                # the township's youth
    tree.village.youth_count = 5                  # a village also recorded its own: not added to the township's
    session.commit()
    p = progress(session, tree.county, settings=s, now=utcnow(), today=TODAY)
    by = {r.org.short_name: r.tally for r in p.rows}
    assert (by["华阳镇团委"].youth, by["华阳镇团委"].youth_members) == (12, 3)
    assert by["望江中学团委"].youth is None
    assert (p.totals.tally.youth, p.totals.tally.youth_members) == (12, 3)       # the school's members left out
    tree.county.youth_count = 60                  # the county's own count covers every member
    session.commit()
    p = progress(session, tree.county, settings=s, now=utcnow(), today=TODAY)
    assert (p.totals.tally.youth, p.totals.tally.youth_members) == (60, 6)
    assert p.own.tally.youth is None              # 本级 alone has no ratio


# ---------------------------------------------------------------- self-service and correction

def test_own_profile_edit_refuses_name_and_id(app, session, tree):
    person = tree.township_admin
    actor = actor_for(person, tree.township)
    base = {"name": person.name, "id_number": person.id_number, "phone": "13911112222", "ethnicity": "回",
            "political_status": "中共预备党员", "join_date": "2012-05"}
    changed = profile.update_own_profile(session, actor, person, base, settings=_S, now=utcnow())
    session.commit()
    assert set(changed) == {"phone", "ethnicity", "political_status", "join_date"}
    assert (person.phone, person.ethnicity) == ("13911112222", "回族")
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "profile.update"))
    assert entry.after["phone"] == "13911112222" and entry.org_id == tree.township.id
    for key, value in (("name", "张改"), ("id_number", new_id(date(1990, 1, 1)))):
        with pytest.raises(ValidationFailed) as exc:
            profile.update_own_profile(session, actor, person, {**base, key: value}, settings=_S, now=utcnow())
        assert "上级组织管理员更正" in exc.value.field_errors[key][0]
        session.rollback()
    assert session.get(type(person), person.id).name == "张镇"
    with pytest.raises(NotAllowed):
        profile.update_own_profile(session, actor, tree.county_admin, base, settings=_S, now=utcnow())


def test_member_profile_keeps_join_date_for_the_branch(app, session, tree):
    m = make_member(session, tree.village, name="团干", join_date="2015-05")
    session.commit()
    person = m.person
    actor = actor_for(person, tree.village)
    data = {"name": person.name, "id_number": person.id_number, "phone": "13700001111", "ethnicity": "汉族",
            "political_status": "共青团员", "join_date": "2001-01", "education": "普通本科", "workplace": " 县医院 "}
    profile.update_own_profile(session, actor, person, data, settings=_S, now=utcnow())
    session.commit()
    assert person.join_date == "2015-05"                       # a member's join month is the branch's to set
    assert (m.education, m.workplace) == ("普通本科", "县医院")
    with pytest.raises(ValidationFailed) as exc:               # a member cannot be 群众
        profile.update_own_profile(session, actor, person, {**data, "political_status": "群众"}, settings=_S,
                                   now=utcnow())
    assert "political_status" in exc.value.field_errors
    session.rollback()


def test_upper_admin_corrects_name_and_id(app, session, tree):
    target = tree.branch_admin                                 # admin of 城东村团支部
    county = actor_for(tree.county_admin, tree.county)
    new_number = new_id(date(1999, 9, 9))
    profile.correct_identity(session, county, target, name="陈正", id_number=new_number, reason="户籍姓名为陈正",
                             now=utcnow())
    session.commit()
    assert (target.name, target.id_number, target.birth_date) == ("陈正", new_number, date(1999, 9, 9))
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "person.correct"))
    assert entry.before["name"] == "陈支" and entry.after["name"] == "陈正" and "户籍" in entry.after["reason"]
    assert new_number not in str(entry.after) and "*" in entry.after["id_number"]     # masked in the log
    # blank ID: only the name
    profile.correct_identity(session, county, target, name="陈支", id_number="", reason="改回", now=utcnow())
    session.commit()
    assert (target.name, target.id_number) == ("陈支", new_number)
    # the township admin is also above the branch; the branch's own admin and the person are not
    township = actor_for(tree.township_admin, tree.township)
    assert profile.correction_refused(session, township, target) is None
    assert "只有其上级组织管理员" in profile.correction_refused(session, actor_for(tree.school_admin, tree.school),
                                                           tree.township_admin)
    own = actor_for(target, tree.village)
    assert "不能更正本人" in profile.correction_refused(session, own, target)
    with pytest.raises(NotAllowed):
        profile.correct_identity(session, township, tree.township_admin, name="张改", id_number="", reason="x",
                                 now=utcnow())
    # a number another person holds, nothing to change, no reason
    with pytest.raises(Conflict):
        profile.correct_identity(session, county, target, name="陈支", id_number=tree.township_admin.id_number,
                                 reason="x", now=utcnow())
    with pytest.raises(Conflict):
        profile.correct_identity(session, county, target, name="陈支", id_number="", reason="x", now=utcnow())
    with pytest.raises(ValidationFailed) as exc:
        profile.correct_identity(session, county, target, name="陈", id_number="123", reason="", now=utcnow())
    assert {"id_number", "reason"} <= set(exc.value.field_errors)
    session.rollback()
