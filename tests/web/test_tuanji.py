"""The 超龄 queue and its batch 超龄离团 (issue 27), and the roll as of a date."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from tuanjian.clock import local_today
from tuanjian.domain import register
from tuanjian.domain.members import validate_member
from tuanjian.domain.settings import DEFAULT_SETTINGS as S
from tuanjian.models import Member, MembershipEvent, utcnow
from tuanjian.services import members
from tuanjian.services.actor import Actor

from ..factories import make_cadre, new_id


def _add(session, branch, admin, name, birth, political="共青团员"):
    actor = Actor(person_id=admin.id, name=admin.name, ip="10.0.0.1", org_id=branch.id, scope_code=branch.code)
    data = validate_member({"name": name, "id_number": new_id(birth), "ethnicity": "汉族",
                            "political_status": political, "join_date": f"{birth.year + 14}-05",
                            "dev_number": "", "is_cadre": "否", "has_application": "是"},
                           settings=S, today=local_today())
    return members.add_member(session, actor, branch, data, now=utcnow() - timedelta(days=400))[0]


def _born(years_ago_days: int) -> date:
    """Born so that the 28th birthday is ``years_ago_days`` days before today (negative: in the future)."""
    today = local_today()
    turns = today - timedelta(days=years_ago_days)
    try:
        return turns.replace(year=turns.year - 28)
    except ValueError:
        return date(turns.year - 28, 3, 1)


def test_queue_lists_overdue_due_and_exempt(client, session, login, tree):
    old = _add(session, tree.village, tree.branch_admin, "超甲", _born(30))
    party = _add(session, tree.village, tree.branch_admin, "党乙", _born(10), political="中共党员")
    soon = _add(session, tree.village, tree.branch_admin, "近丙", _born(-60))
    _add(session, tree.village, tree.branch_admin, "远丁", _born(-200))
    cadre = _add(session, tree.village, tree.branch_admin, "干戊", _born(100))
    post = make_cadre(session, tree.village, name="干戊x")
    post.person_id = cadre.person_id
    session.commit()
    login(tree.township_admin)
    page = client.get(f"/tuanji/org/{tree.township.id}/overage").get_data(as_text=True)
    for name in ("超甲", "党乙", "近丙", "干戊"):
        assert name in page
    assert "远丁" not in page and "已超龄应离团 <strong>2</strong>" in page
    assert "入党后年满28周岁离团" in page and old.person.id_number not in page
    # the township page has no batch form; the branch page has
    assert 'name="member"' not in page
    page = client.get(f"/tuanji/org/{tree.village.id}/overage").get_data(as_text=True)
    assert f'value="{old.id}"' in page and f'value="{party.id}"' in page and f'value="{soon.id}"' not in page
    # one date for both: before the younger one's birthday is refused, naming them
    too_early = (local_today() - timedelta(days=20)).isoformat()
    resp = client.post(f"/tuanji/org/{tree.village.id}/overage", data={"member": [old.id, party.id], "on": too_early})
    assert resp.status_code == 422 and "党乙" in resp.get_data(as_text=True) and "还未满28周岁" in resp.get_data(
        as_text=True)
    resp = client.post(f"/tuanji/org/{tree.village.id}/overage", data={"member": [old.id, soon.id],
                                                                       "on": local_today().isoformat()})
    assert resp.status_code == 422 and "近丙" in resp.get_data(as_text=True)
    resp = client.post(f"/tuanji/org/{tree.village.id}/overage", data={"member": [], "on": "x"})
    assert resp.status_code == 422
    day = (local_today() - timedelta(days=5)).isoformat()
    resp = client.post(f"/tuanji/org/{tree.village.id}/overage", data={"member": [old.id, party.id], "on": day})
    assert resp.status_code == 302
    session.expire_all()
    kinds = dict(session.execute(select(MembershipEvent.person_id, MembershipEvent.kind).where(
        MembershipEvent.kind.in_((register.OVERAGE, register.PARTY_OVERAGE)))).all())
    assert kinds == {old.person_id: register.OVERAGE, party.person_id: register.PARTY_OVERAGE}
    assert session.get(Member, old.id).deleted_at is not None
    page = client.get(f"/tuanji/org/{tree.village.id}/overage").get_data(as_text=True)
    assert "超甲" not in page and "已超龄应离团 <strong>0</strong>" in page
    # the roll: on the day before the leaving both were members, after it not
    before = (local_today() - timedelta(days=6)).isoformat()
    page = client.get(f"/tuanji/org/{tree.village.id}?on={before}").get_data(as_text=True)
    assert "超甲" in page and "共有团员 <strong>5</strong>" in page
    page = client.get(f"/tuanji/org/{tree.village.id}?on={day}").get_data(as_text=True)
    assert "超甲" not in page and "共有团员 <strong>3</strong>" in page
    page = client.get(f"/tuanji/org/{tree.township.id}?on={day}").get_data(as_text=True)
    assert "共有团员 <strong>3</strong>" in page and tree.village.short_name in page and "超甲" not in page
    assert client.get(f"/tuanji/org/{tree.county.id}?on={day}").status_code == 404
    assert client.get(f"/tuanji/org/{tree.township.id}?on=2025-02-30").status_code == 400
    # the roll as a workbook, as of the day before the leaving: masked, audited
    from io import BytesIO

    from openpyxl import load_workbook

    from tuanjian.models import AuditEntry
    resp = client.get(f"/tuanji/org/{tree.township.id}/roll.xlsx?on={before}")
    sheet = load_workbook(BytesIO(resp.data))["团籍名册"]
    names = [row[1] for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert sorted(names) == sorted(["超甲", "党乙", "近丙", "远丁", "干戊"])
    assert old.person.masked_id in [row[3] for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert session.scalar(select(AuditEntry.id).where(AuditEntry.action == "export.register_roll"))
    assert client.get(f"/tuanji/org/{tree.township.id}/roll.xlsx?on=x").status_code == 400


def test_queue_is_scope_checked(client, session, login, tree):
    _add(session, tree.sibling_branch, tree.sibling_admin, "邻超", _born(30))
    session.commit()
    login(tree.township_admin)
    assert client.get(f"/tuanji/org/{tree.sibling_branch.id}/overage").status_code == 404
    assert "邻超" not in client.get(f"/tuanji/org/{tree.township.id}/overage").get_data(as_text=True)


def test_progress_page_counts_the_overdue_and_links_the_queue(client, session, login, tree):
    _add(session, tree.village, tree.branch_admin, "超甲", _born(30))
    session.commit()
    login(tree.township_admin)
    page = client.get(f"/progress/org/{tree.township.id}").get_data(as_text=True)
    assert f'href="/tuanji/org/{tree.township.id}/overage"' in page
    assert "超龄未离团" in page


def test_statistics_page(client, session, login, tree):
    old = _add(session, tree.village, tree.branch_admin, "超甲", _born(30))
    _add(session, tree.village, tree.branch_admin, "党乙", _born(10), political="中共党员")
    session.commit()
    login(tree.township_admin)
    today = local_today()
    page = client.get(f"/tuanji/org/{tree.township.id}/stats?on={today.isoformat()}").get_data(as_text=True)
    assert "对比表" in page and "汇总表" in page and "相符" in page and "不符" not in page
    assert "保留团籍的党员" in page and tree.village.short_name in page
    # a member changed directly in the record (no event) is listed by name, masked
    session.get(Member, old.id).org_id = tree.klass.id
    session.commit()
    login(tree.county_admin)
    page = client.get(f"/tuanji/org/{tree.county.id}/stats?on={today.isoformat()}").get_data(as_text=True)
    assert "超甲" in page and old.person.masked_id in page and old.person.id_number not in page
    # a record the events say has left (a departure written without ending the record) is listed too
    from tuanjian.services.owners import memberships
    third = _add(session, tree.klass, tree.branch_admin, "记丙", _born(-300))
    memberships.record(session, Actor(person_id=None, name="系统", ip="x", org_id=tree.county.id,
                                      scope_code=tree.county.code), third.person_id, tree.klass.id, today,
                       register.WITHDRAWN)
    session.commit()
    page = client.get(f"/tuanji/org/{tree.county.id}/stats?on={today.isoformat()}").get_data(as_text=True)
    assert "记丙" in page and "超甲" in page
    assert client.get(f"/tuanji/org/{tree.county.id}/stats?on=2025-13-01").status_code == 400
    assert client.get(f"/tuanji/org/{tree.county.id}/stats?on=2999-01-01").status_code == 400
    assert client.get(f"/tuanji/org/{tree.county.id}/stats").status_code == 200


def test_freeze_keeps_the_figures_and_lists_later_corrections(client, session, login, tree):
    from io import BytesIO

    from openpyxl import load_workbook

    from tuanjian.models import AuditEntry, RegisterSnapshot
    old = _add(session, tree.village, tree.branch_admin, "超甲", _born(30))
    _add(session, tree.village, tree.branch_admin, "员乙", _born(-1000))
    session.commit()
    day = (local_today() - timedelta(days=10)).isoformat()
    login(tree.branch_admin)
    page = client.get(f"/tuanji/org/{tree.village.id}/stats?on={day}").get_data(as_text=True)
    assert f'action="/tuanji/org/{tree.village.id}/stats/freeze"' in page
    # a township admin may not freeze the branch's figures (only its own)
    login(tree.township_admin)
    page = client.get(f"/tuanji/org/{tree.village.id}/stats?on={day}").get_data(as_text=True)
    assert "/stats/freeze" not in page
    assert client.post(f"/tuanji/org/{tree.village.id}/stats/freeze", data={"on": day}).status_code == 302
    assert session.scalar(select(RegisterSnapshot.id)) is None
    login(tree.branch_admin)
    # today is not over: refused
    resp = client.post(f"/tuanji/org/{tree.village.id}/stats/freeze", data={"on": local_today().isoformat()})
    assert resp.status_code == 302 and session.scalar(select(RegisterSnapshot.id)) is None
    assert client.post(f"/tuanji/org/{tree.village.id}/stats/freeze", data={"on": day}).status_code == 302
    snap = session.scalar(select(RegisterSnapshot))
    assert snap.data["total"][3] == 2
    # a later correction dated before the frozen day: the frozen figure stays, the correction is listed beside it
    members.leave_member(session, Actor(person_id=tree.branch_admin.id, name="陈支", ip="x", org_id=tree.village.id,
                                        scope_code=tree.village.code), session.get(Member, old.id),
                         kind=register.ERROR, on=day, note="重复录入", now=utcnow() + timedelta(seconds=1))
    session.commit()
    page = client.get(f"/tuanji/org/{tree.village.id}/stats?on={day}").get_data(as_text=True)
    assert "已冻结" in page and "冻结后的补录和更正（1 条）" in page and "超甲" in page
    assert old.person.id_number not in page and old.person.masked_id in page
    assert "<td class=\"num\">2</td>" in page
    live = client.get(f"/tuanji/org/{tree.village.id}/stats?on={day}&live=1").get_data(as_text=True)
    assert "这里是按现有记录重新计算的数字" in live
    assert client.post(f"/tuanji/org/{tree.village.id}/stats/freeze", data={"on": day}).status_code == 302
    assert len(session.scalars(select(RegisterSnapshot)).all()) == 1
    # print and workbook carry the frozen figures, with the signature lines; both audited
    printed = client.get(f"/tuanji/org/{tree.village.id}/stats/print?on={day}").get_data(as_text=True)
    assert "制表人" in printed and "审核人" in printed and "单位负责人" in printed and "对比表" in printed
    resp = client.get(f"/tuanji/org/{tree.village.id}/stats/export.xlsx?on={day}")
    wb = load_workbook(BytesIO(resp.data))
    assert wb.sheetnames[0] == "对比表" and "团员性别" in wb.sheetnames
    assert [c.value for c in wb["对比表"][3]] == ["合计", 2, 0, 0, 2]
    actions = session.scalars(select(AuditEntry.action)).all()
    assert {"register.freeze", "register.print", "export.register_stats"} <= set(actions)
    assert client.get(f"/tuanji/org/{tree.village.id}/stats/print?on=bad").status_code == 400


def test_statistics_show_youth_ratio_and_net_transfers_between_subordinates(client, session, login, tree):
    """团青比例 per row (the row org's own 14–28周岁青年数) and in total (progress page rule); a transfer between two
    subordinates stays in both rows but is taken off the total and the 汇总表, with the note — on the page, the
    print, the workbook and the frozen figures."""
    from io import BytesIO

    from openpyxl import load_workbook

    from tuanjian.services import transfers
    county = Actor(person_id=tree.county_admin.id, name="王县", ip="10.0.0.1", org_id=tree.county.id,
                   scope_code=tree.county.code)
    mover = _add(session, tree.village, tree.branch_admin, "转甲", _born(-300))
    _add(session, tree.village, tree.branch_admin, "留乙", _born(-300))
    _add(session, tree.sibling_branch, tree.branch_admin, "邻丙", _born(-300))
    tree.township.youth_count = 8
    session.flush()
    req = transfers.request_transfer(session, county, tree.klass, id_number=mover.person.id_number, name="转甲",
                                     reason="升学", now=utcnow())
    transfers.decide(session, county, req, accept=True, note="", now=utcnow())
    session.commit()
    login(tree.county_admin)
    day = local_today().isoformat()
    page = client.get(f"/tuanji/org/{tree.county.id}/stats?on={day}").get_data(as_text=True)
    # the rows (members entered 400 days ago): 华阳镇 lost one, 望江中学 gained one; 华阳镇 1 member ÷ 8 = 12.5%
    assert "团青比例" in page and "12.5%" in page
    assert "其中下级之间转接 1 人，已在合计中相互抵消" in page
    rows = {}
    for tr in page.split("<tr>")[1:]:
        cells = [c.split(">")[-1] for c in tr.replace("</a>", "").split("</td>")[:-1]]
        if cells:
            rows[cells[0].split(">")[-1] if "合计" not in tr else "合计"] = cells
    assert rows[tree.township.short_name][1:6] == ["2", "0", "1", "1", "12.5%"]
    assert rows[tree.school.short_name][1:6] == ["0", "1", "0", "1", "—"]
    # the total: the transfer is no movement of the county (0 and 0, not 1 and 1); its 团青比例 by the rule: the
    # county recorded none, so only 华阳镇's members against its youth
    assert rows["合计"][:5] == ["3", "0", "0", "3", "12.5%"]
    summary = page.split("<h2>汇总表</h2>")[1]
    assert "<td>转入（县内）</td><td class=\"num\">0</td>" in summary
    assert "<td>转出（县内）</td><td class=\"num\">0</td>" in summary
    # the township's own page: the transfer left its subtree, nothing is netted there
    page = client.get(f"/tuanji/org/{tree.township.id}/stats?on={day}").get_data(as_text=True)
    assert "下级之间转接" not in page and "<td>转出（县内）</td><td class=\"num\">1</td>" in page
    # the county's own youth, when recorded, is the denominator of the whole total: 3 ÷ 12 = 25.0%
    tree.county.youth_count = 12
    session.commit()
    page = client.get(f"/tuanji/org/{tree.county.id}/stats?on={day}").get_data(as_text=True)
    assert "25.0%" in page and "团员 3 人 ÷ 14–28周岁青年 12 人" in page
    printed = client.get(f"/tuanji/org/{tree.county.id}/stats/print?on={day}").get_data(as_text=True)
    assert "25.0%" in printed and "12.5%" in printed and "其中下级之间转接 1 人" in printed
    wb = load_workbook(BytesIO(client.get(f"/tuanji/org/{tree.county.id}/stats/export.xlsx?on={day}").data))
    sheet = [[c.value for c in r] for r in wb["对比表"].iter_rows(min_row=2)]
    assert sheet[0][-1] == "团青比例" and ["合计", 3, 0, 0, 3, "25.0%"] in sheet
    assert any(r[0] and str(r[0]).startswith("说明：其中下级之间转接 1 人") for r in sheet)
    assert [[c.value for c in r] for r in wb["团青比例"].iter_rows(min_row=3)] == [
        ["团员数", 3], ["14–28周岁青年数", 12], ["团青比例", "25.0%"]]
    # frozen (a day that is over): the ratio and the note are kept with the figures
    from datetime import timedelta as td

    from tuanjian.models import RegisterSnapshot
    from tuanjian.services import tuanji as service
    from tuanjian.tuanji import queries
    report = queries.statistics(session, tree.county, local_today(), age_bounds=S.register_age_bounds, small=3)
    service.freeze(session, county, tree.county, report, now=utcnow() + td(days=1))
    session.commit()
    snap = session.scalar(select(RegisterSnapshot))
    assert snap.data["internal"] == 1 and snap.data["total_youth"] == [12, 3]
    tree.county.youth_count = None
    session.commit()
    frozen = client.get(f"/tuanji/org/{tree.county.id}/stats?on={day}").get_data(as_text=True)
    assert "已冻结" in frozen and "25.0%" in frozen and "12.5%" in frozen and "其中下级之间转接 1 人" in frozen
    from tuanjian.domain import register_stats as rs
    cells = rs.youth_cells(snap.data)
    assert cells.total == "25.0%" and cells.rows[0] == "12.5%"
    assert "其中下级之间转接 1 人" in rs.internal_note(snap.data["internal"])
