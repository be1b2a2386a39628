"""“As of date D” on the progress page (团员数 per subordinate at the end of D; the rates stay current) and on the
whole member list export (who was a member at the end of D, in the branch they were in then), issue 27."""
from __future__ import annotations

import re
from datetime import timedelta
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import select

from tuanjian.clock import local_today
from tuanjian.domain import register
from tuanjian.models import AuditEntry, Member, utcnow
from tuanjian.services import members
from tuanjian.services.actor import Actor

from .test_tuanji import _add, _born


def _history(session, tree):
    """Village: 甲 (all along), 乙 left 5 days ago; class: 丙 entered today. Entered 400 days ago by ``_add``."""
    a = _add(session, tree.village, tree.branch_admin, "员甲", _born(-100))
    b = _add(session, tree.village, tree.branch_admin, "员乙", _born(-300))
    actor = Actor(person_id=tree.branch_admin.id, name="陈支", ip="x", org_id=tree.village.id,
                  scope_code=tree.village.code)
    members.leave_member(session, actor, session.get(Member, b.id), kind=register.WITHDRAWN,
                         on=local_today() - timedelta(days=5), note="", now=utcnow())
    c = _add(session, tree.klass, tree.school_admin, "员丙", _born(-500))
    session.get(Member, c.id)
    from tuanjian.models import MembershipEvent
    ev = session.scalar(select(MembershipEvent).where(MembershipEvent.person_id == c.person_id))
    ev.on_date = local_today()                  # the class member arrived today
    session.commit()
    return a, b, c


def _as_of_cells(page):
    return re.findall(r'<td class="num" data-as-of>(\d+)</td>', page)


def test_progress_page_counts_members_as_of_a_day(client, session, login, tree):
    _history(session, tree)
    login(tree.county_admin)
    page = client.get(f"/progress/org/{tree.county.id}").get_data(as_text=True)
    assert "data-as-of" not in page and 'name="on"' in page
    ten = (local_today() - timedelta(days=10)).isoformat()
    page = client.get(f"/progress/org/{tree.county.id}?on={ten}").get_data(as_text=True)
    assert f"团员数（截至 {ten}）" in page and "其余各列（完成率、团员数等）仍是当前的数字" in page
    # rows in order township, school, sibling; then 本级 and 合计: ten days ago 甲 and 乙 in the township
    cells = _as_of_cells(page)
    rows = {name: int(n) for name, n in zip(("华阳镇团委", "望江中学团委", "高士镇团委", "本级", "合计"), cells)}
    assert rows == {"华阳镇团委": 2, "望江中学团委": 0, "高士镇团委": 0, "本级": 0, "合计": 2}, rows
    # today: 乙 has left, 丙 arrived; the sort links keep the date
    today = local_today().isoformat()
    page = client.get(f"/progress/org/{tree.county.id}?on={today}").get_data(as_text=True)
    assert [int(n) for n in _as_of_cells(page)] == [1, 1, 0, 0, 2]
    assert f"on={today}" in page
    # htmx fragment (a sort) carries the column too
    frag = client.get(f"/progress/org/{tree.county.id}?on={ten}&sort=name", headers={"HX-Request": "true"})
    assert frag.status_code == 200 and f"团员数（截至 {ten}）" in frag.get_data(as_text=True)
    for bad in ("2026-13-01", "明天", "2999-01-01"):
        resp = client.get(f"/progress/org/{tree.county.id}?on={bad}")
        assert resp.status_code == 400 and ("日期格式不对" in resp.get_data(as_text=True)
                                            or "日期不能晚于今天" in resp.get_data(as_text=True))
    # only within scope
    login(tree.township_admin)
    assert client.get(f"/progress/org/{tree.school.id}?on={ten}").status_code == 404


def test_member_export_as_of_a_day(client, session, login, tree):
    a, b, c = _history(session, tree)
    login(tree.county_admin)
    ten = (local_today() - timedelta(days=10)).isoformat()
    resp = client.get(f"/members/org/{tree.county.id}/export.xlsx?on={ten}")
    assert resp.status_code == 200
    ws = load_workbook(BytesIO(resp.data)).active
    text = "\n".join(" ".join(str(v) for v in row if v is not None) for row in ws.iter_rows(values_only=True))
    assert "员甲" in text and "员乙" in text and "员丙" not in text and f"截至 {ten} 终了" in text
    assert a.person.id_number not in text and a.person.masked_id in text and "城东村团支部" in text
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "export.members")
                           .order_by(AuditEntry.id.desc()))
    assert f"截至 {ten}" in entry.summary and "2 人" in entry.summary
    # revealed: full numbers, audited as such
    resp = client.get(f"/members/org/{tree.county.id}/export.xlsx?on={ten}&reveal=1")
    ws = load_workbook(BytesIO(resp.data)).active
    assert any(a.person.id_number in str(v) for row in ws.iter_rows(values_only=True) for v in row)
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "export.members_full")) is not None
    # today: 乙 has left, 丙 is in the class
    resp = client.get(f"/members/org/{tree.county.id}/export.xlsx?on={local_today().isoformat()}")
    ws = load_workbook(BytesIO(resp.data)).active
    text = "\n".join(" ".join(str(v) for v in row if v is not None) for row in ws.iter_rows(values_only=True))
    assert "员甲" in text and "员乙" not in text and "员丙" in text and "高一(1)班团支部" in text
    for bad in ("bad", "2999-01-01"):
        resp = client.get(f"/members/org/{tree.county.id}/export.xlsx?on={bad}")
        assert resp.status_code == 400 and "日期" in resp.get_data(as_text=True)
    # the township sees only its own subtree as of the day
    login(tree.township_admin)
    resp = client.get(f"/members/org/{tree.township.id}/export.xlsx?on={local_today().isoformat()}")
    ws = load_workbook(BytesIO(resp.data)).active
    text = "\n".join(" ".join(str(v) for v in row if v is not None) for row in ws.iter_rows(values_only=True))
    assert "员甲" in text and "员丙" not in text
    assert client.get(f"/members/org/{tree.school.id}/export.xlsx?on={ten}").status_code == 404
    page = client.get(f"/members/org/{tree.township.id}").get_data(as_text=True)
    assert f'action="/members/org/{tree.township.id}/export.xlsx"' in page


def test_member_export_as_of_a_day_shows_the_posts_held_then(client, session, login, tree):
    """团内职务 in the as-of export are the posts held at the end of D (entered before, not ended by then), the
    same rule as 团内统计's cadres; today's export shows today's posts."""
    from tuanjian.models import CadrePost
    a, _, _ = _history(session, tree)
    now = utcnow()
    session.add_all([
        CadrePost(person_id=a.person_id, org_id=tree.village.id, position="组织委员",
                  created_at=now - timedelta(days=30), ended_at=now - timedelta(days=5),
                  ended_on=local_today() - timedelta(days=5), end_reason="换届"),
        CadrePost(person_id=a.person_id, org_id=tree.village.id, position="宣传委员", created_at=now)])
    session.commit()
    login(tree.county_admin)

    def posts_of_jia(on):
        resp = client.get(f"/members/org/{tree.county.id}/export.xlsx?on={on}")
        assert resp.status_code == 200
        ws = load_workbook(BytesIO(resp.data)).active
        rows = list(ws.iter_rows(values_only=True))
        header = next(r for r in rows if r and "团内职务" in r)
        row = next(r for r in rows if r and "员甲" in r)
        return row[header.index("团内职务")] or ""

    assert posts_of_jia((local_today() - timedelta(days=10)).isoformat()) == "组织委员"
    assert posts_of_jia(local_today().isoformat()) == "宣传委员"


def test_progress_print_and_excel_carry_the_as_of_column(client, session, login, tree):
    """The page's 打印通报 and 导出 Excel keep ``?on=D``: the same 团员数（截至 D） per subordinate, 本级 and 合计."""
    _history(session, tree)
    login(tree.county_admin)
    ten = (local_today() - timedelta(days=10)).isoformat()
    page = client.get(f"/progress/org/{tree.county.id}?on={ten}").get_data(as_text=True)
    assert f"/progress/org/{tree.county.id}/print?on={ten}" in page
    assert f"/progress/org/{tree.county.id}/export.xlsx?on={ten}" in page
    report = client.get(f"/progress/org/{tree.county.id}/print?on={ten}").get_data(as_text=True)
    assert f"团员数<br>（截至<br>{ten}）" in report and "该日终了时该组织" in report
    assert [int(n) for n in re.findall(r'<td class="num" data-as-of>(\d+)</td>', report)] == [2, 0, 0, 0, 2]
    resp = client.get(f"/progress/org/{tree.county.id}/export.xlsx?on={ten}")
    assert resp.status_code == 200
    rows = list(load_workbook(BytesIO(resp.data)).active.iter_rows(values_only=True))
    header = next(r for r in rows if r and "排名" in r)
    col = header.index(f"团员数（截至 {ten}）")
    body = {r[1]: r[col] for r in rows[rows.index(header) + 1:]}
    assert body == {"华阳镇团委": 2, "望江中学团委": 0, "高士镇团委": 0, "本级": 0, "合计（含本级）": 2}, body
    assert f"截至 {ten}" in session.scalar(select(AuditEntry.summary).where(AuditEntry.action == "export.progress")
                                          .order_by(AuditEntry.id.desc()))
    # without a date: no such column; a bad date: a plain 400 in Chinese, nothing exported
    plain = list(load_workbook(BytesIO(client.get(f"/progress/org/{tree.county.id}/export.xlsx").data))
                 .active.iter_rows(values_only=True))
    assert not any("截至 " in str(v) for r in plain[1:] for v in r if v)
    for bad in ("2026-13-01", "2999-01-01"):
        for what in ("print", "export.xlsx"):
            resp = client.get(f"/progress/org/{tree.county.id}/{what}?on={bad}")
            assert resp.status_code == 400 and "日期" in resp.get_data(as_text=True)
