"""团籍变动 (issue 27): every path that adds or ends a membership records its event through the owner, and the
as-of-date queries read them."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from tuanjian.clock import local_date
from tuanjian.domain import register
from tuanjian.domain.errors import Conflict, ValidationFailed
from tuanjian.domain.members import validate_member
from tuanjian.domain.orgtree import OrgKind
from tuanjian.domain.settings import DEFAULT_SETTINGS as S
from tuanjian.domain.settings import Settings
from tuanjian.models import Member, MembershipEvent
from tuanjian.services import members, orgs, transfers
from tuanjian.services.actor import Actor
from tuanjian.tuanji.queries import counts_on, members_on

from ..factories import new_id

T0 = datetime(2025, 3, 1, 2, 0)          # UTC: 2025-03-01 10:00 Beijing time
TODAY = date(2026, 11, 23)


def actor_for(person, org):
    return Actor(person_id=person.id, name=person.name, ip="10.0.0.1", org_id=org.id, scope_code=org.code)


def events(session, person_id):
    return [(e.org_id, e.on_date, e.kind, e.erased) for e in session.scalars(
        select(MembershipEvent).where(MembershipEvent.person_id == person_id).order_by(MembershipEvent.id))]


def add(session, actor, branch, *, name="甲", join="2015-05", dev="", birth=date(1999, 4, 1), now=T0):
    data = validate_member({"name": name, "id_number": new_id(birth), "ethnicity": "汉族",
                            "political_status": "共青团员", "join_date": join, "dev_number": dev, "is_cadre": "否",
                            "has_application": "是"}, settings=S, today=TODAY)
    return members.add_member(session, actor, branch, data, now=now)[0]


def test_entry_leave_restore_and_as_of(session, tree):
    actor = actor_for(tree.township_admin, tree.township)
    old = add(session, actor, tree.village, name="老甲", join="2013-05")
    new = add(session, actor, tree.village, name="新乙", join="2024-09", dev="202400000001")
    assert events(session, old.person_id) == [(tree.village.id, date(2025, 3, 1), register.FIRST_ENTRY, False)]
    assert events(session, new.person_id) == [(tree.village.id, date(2025, 3, 1), register.NEW, False)]
    assert session.scalar(select(MembershipEvent.dev_number).where(
        MembershipEvent.person_id == new.person_id)) == "202400000001"
    later = T0 + timedelta(days=200)
    members.leave_member(session, actor, old, kind=register.WITHDRAWN, on="2025-06-30", note="", now=later)
    assert events(session, old.person_id)[-1] == (tree.village.id, date(2025, 6, 30), register.WITHDRAWN, False)
    assert old.deleted_at == later and old.deleted_reason == "自愿退团"
    assert members_on(session, date(2025, 2, 28)) == {}
    assert members_on(session, date(2025, 3, 1)) == {old.person_id: tree.village.id, new.person_id: tree.village.id}
    assert members_on(session, date(2025, 6, 30)) == {new.person_id: tree.village.id}
    assert counts_on(session, date(2025, 12, 31), tree.township.code) == {tree.village.id: 1}
    assert counts_on(session, date(2025, 12, 31), tree.sibling.code) == {}
    # entered again: 恢复团籍
    data = validate_member({"name": "老甲", "id_number": old.person.id_number, "ethnicity": "汉族",
                            "political_status": "共青团员", "join_date": "2013-05", "dev_number": "",
                            "is_cadre": "否", "has_application": "是"}, settings=S, today=TODAY)
    members.add_member(session, actor, tree.village, data, now=T0 + timedelta(days=300))
    assert events(session, old.person_id)[-1][2] == register.RESTORED
    assert old.person_id in members_on(session, date(2026, 1, 1))


def test_leave_is_checked(session, tree):
    actor = actor_for(tree.township_admin, tree.township)
    m = add(session, actor, tree.village)
    now = T0 + timedelta(days=10)
    for kind, on, note, field in [("new", "2025-03-05", "", "kind"), ("nonsense", "2025-03-05", "", "kind"),
                                  ("withdrawn", "2025-02-01", "", "on"), ("withdrawn", "2025-03-20", "", "on"),
                                  ("withdrawn", "明天", "", "on"), ("expelled", "2025-03-05", " ", "note"),
                                  ("error", "2025-03-05", "", "note")]:
        with pytest.raises(ValidationFailed) as exc:
            members.leave_member(session, actor, m, kind=kind, on=on, note=note, now=now)
        assert field in exc.value.field_errors, (kind, on)
    # a reason the county switched off is refused; 录入错误 always stays
    narrow = Settings(leave_reasons=register.parse_leave_reasons("超龄离团"))
    assert narrow.leave_reasons == (register.OVERAGE, register.ERROR)
    with pytest.raises(ValidationFailed):
        members.leave_member(session, actor, m, kind=register.WITHDRAWN, on="2025-03-05", note="", now=now,
                             settings=narrow)
    members.leave_member(session, actor, m, kind=register.OVERAGE, on="2025年3月5日", note="", now=now, settings=narrow)
    with pytest.raises(Conflict):
        members.leave_member(session, actor, m, kind=register.OVERAGE, on="2025-03-05", note="", now=now)


def test_entry_error_erases_the_span_from_every_date(session, tree):
    actor = actor_for(tree.township_admin, tree.township)
    m = add(session, actor, tree.village)
    members.leave_member(session, actor, m, kind=register.ERROR, on="2025-03-02", note="身份证号码录错",
                         now=T0 + timedelta(days=2))
    assert [e[2:] for e in events(session, m.person_id)] == [(register.FIRST_ENTRY, True), (register.ERROR, True)]
    assert members_on(session, date(2025, 3, 1)) == {}
    # an earlier span that ended for a real reason stays counted
    m2 = add(session, actor, tree.village, name="丙")
    members.leave_member(session, actor, m2, kind=register.DIED, on="2025-04-01", note="", now=T0 + timedelta(days=40))
    again = validate_member({"name": "丙", "id_number": m2.person.id_number, "ethnicity": "汉族",
                             "political_status": "共青团员", "join_date": "2015-05", "dev_number": "",
                             "is_cadre": "否", "has_application": "是"}, settings=S, today=TODAY)
    members.add_member(session, actor, tree.village, again, now=T0 + timedelta(days=60))
    members.leave_member(session, actor, m2, kind=register.ERROR, on="2025-05-01", note="误恢复",
                         now=T0 + timedelta(days=61))
    assert [e[2:] for e in events(session, m2.person_id)] == [
        (register.FIRST_ENTRY, False), (register.DIED, False), (register.RESTORED, True), (register.ERROR, True)]
    assert members_on(session, date(2025, 3, 15)) == {m2.person_id: tree.village.id}
    assert members_on(session, date(2025, 4, 30)) == {}


def test_transfer_and_merge_write_pairs(session, tree):
    county = actor_for(tree.county_admin, tree.county)
    m = add(session, county, tree.village)
    req = transfers.request_transfer(session, county, tree.sibling_branch, id_number=m.person.id_number,
                                     name=m.person.name, reason="就业", now=T0 + timedelta(days=5))
    transfers.decide(session, county, req, accept=True, note="", now=T0 + timedelta(days=6))
    day = date(2025, 3, 7)
    assert events(session, m.person_id)[1:] == [(tree.village.id, day, register.OUT_COUNTY, False),
                                                 (tree.sibling_branch.id, day, register.IN_COUNTY, False)]
    assert members_on(session, date(2025, 3, 6)) == {m.person_id: tree.village.id}
    assert members_on(session, day) == {m.person_id: tree.sibling_branch.id}
    other = orgs.create_child(session, actor_for(tree.sibling_admin, tree.sibling), tree.sibling,
                              short_name="高士二村团支部", kind=OrgKind.BRANCH, settings=S)
    orgs.merge_branches(session, county, tree.sibling_branch, other, now=T0 + timedelta(days=9))
    assert events(session, m.person_id)[-1] == (other.id, date(2025, 3, 10), register.IN_COUNTY, False)
    assert members_on(session, date(2025, 3, 10)) == {m.person_id: other.id}


def test_kind_from_old_reasons_and_arrivals():
    assert register.kind_from_reason("重复录入") == register.ERROR
    assert register.kind_from_reason("超龄离团") == register.OVERAGE
    assert register.kind_from_reason("入党后年满28周岁") == register.PARTY_OVERAGE
    assert register.kind_from_reason("迁出外省") == register.OUT_OUTSIDE
    assert register.kind_from_reason("转出本县") == register.OUT_OUTSIDE
    assert register.kind_from_reason("病故") == register.DIED
    assert register.kind_from_reason("不知道") == register.UNSTATED
    assert register.kind_from_reason(None) == register.UNSTATED
    assert register.arrival_kind("2024-09", date(2025, 3, 1)) == register.NEW
    assert register.arrival_kind("2023-12", date(2025, 3, 1)) == register.FIRST_ENTRY
    assert register.arrival_kind(None, date(2025, 3, 1)) == register.FIRST_ENTRY
    assert register.arrival_kind("2025-01", date(2025, 3, 1), restored=True) == register.RESTORED
    assert register.parse_day("20251231") == date(2025, 12, 31)
    assert register.parse_day("2025/2/30") is None
    with pytest.raises(ValueError):
        register.parse_leave_reasons("首次录入")
    assert Settings.from_mapping({"LEAVE_REASONS": "超龄离团，死亡"}).leave_reasons == (
        register.OVERAGE, register.DIED, register.ERROR)


def test_place_on_matches_the_sql(session, tree):
    """The pure rule and the SQL agree on ties (same day: the later event wins) and erased events."""
    actor = actor_for(tree.county_admin, tree.county)
    m = add(session, actor, tree.village)
    rows = list(session.scalars(select(MembershipEvent).where(MembershipEvent.person_id == m.person_id)))
    pure = [register.Event(r.id, r.person_id, r.org_id, r.on_date, r.kind, r.erased) for r in rows]
    for day in (date(2025, 2, 28), date(2025, 3, 1)):
        assert register.place_on(pure, day) == members_on(session, day).get(m.person_id)
    assert local_date(T0) == date(2025, 3, 1)
    assert session.get(Member, m.id).deleted_at is None


def test_bulk_import_writes_arrivals(session, tree):
    from tuanjian.models import ImportBatch, utcnow
    from tuanjian.services import member_imports

    from ..factories import text_workbook
    actor = actor_for(tree.township_admin, tree.township)
    head = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "所在团支部", "是否为团干部", "团内职务",
            "发展团员编号", "手机号码", "学历", "职业", "学习工作单位", "入团志愿书", "团员证", "团籍注册年度",
            "组织关系介绍信"]
    now = utcnow()
    this_year = local_date(now).year
    rows = [["新一", new_id(date(2003, 4, 1)), "汉族", "共青团员", f"{this_year}-01", "城东村团支部", "否", "",
             f"{this_year}00000001", "13900000000", "", "", "", "是", "", "", ""],
            ["新二", new_id(date(2003, 4, 2)), "汉族", "共青团员", "2015-05", "城东村团支部", "否", "", "",
             "13900000000", "", "", "", "是", "", "", ""]]
    data = text_workbook(head, rows, sheet="团员").getvalue()
    batch = member_imports.preview_members(session, actor, tree.township, data=data, filename="团员.xlsx",
                                           settings=S, now=now)
    member_imports.commit_members(session, actor, session.get(ImportBatch, batch.id), mode="all", settings=S, now=now)
    got = sorted((kind, dev) for kind, dev in session.execute(
        select(MembershipEvent.kind, MembershipEvent.dev_number).where(MembershipEvent.org_id == tree.village.id)))
    assert got == sorted([(register.NEW, f"{this_year}00000001"), (register.FIRST_ENTRY, None)])
    assert len(members_on(session, local_date(now), tree.village.code)) == 2
