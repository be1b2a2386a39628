"""团内统计确认 (issue 27): a county that froze a date's figures asks its direct subordinates to confirm theirs through
a 阶段任务 of its own kind; each confirms its own figures (frozen if it froze them, else as computed now), refused
while its comparison does not balance or people are unexplained; the county follows who has confirmed."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tuanjian.clock import local_today
from tuanjian.models import AuditEntry, Campaign, CampaignConfirmation, Member

from .test_tuanji import _add, _born


def _frozen_county(client, session, login, tree):
    """Two members in the village, one in the class; the county froze ten days ago's figures."""
    _add(session, tree.village, tree.branch_admin, "员甲", _born(-100))
    _add(session, tree.village, tree.branch_admin, "员乙", _born(-300))
    klass = _add(session, tree.klass, tree.school_admin, "员丙", _born(-500))
    session.commit()
    day = (local_today() - timedelta(days=10)).isoformat()
    login(tree.county_admin)
    assert client.post(f"/tuanji/org/{tree.county.id}/stats/freeze", data={"on": day}).status_code == 302
    return day, klass


def test_publish_confirm_and_follow(client, session, login, tree):
    day, _ = _frozen_county(client, session, login, tree)
    page = client.get(f"/tuanji/org/{tree.county.id}/stats?on={day}").get_data(as_text=True)
    assert "发布确认任务" in page and f'action="/tuanji/org/{tree.county.id}/stats/confirm-task"' in page
    # a deadline in the past or not a date: refused on the page, nothing published
    for bad in ("", "2020-01-01", "明天"):
        resp = client.post(f"/tuanji/org/{tree.county.id}/stats/confirm-task", data={"on": day, "deadline": bad})
        assert resp.status_code == 422 and "截止日期" in resp.get_data(as_text=True)
    assert session.scalar(select(Campaign.id)) is None
    deadline = (local_today() + timedelta(days=7)).isoformat()
    resp = client.post(f"/tuanji/org/{tree.county.id}/stats/confirm-task", data={"on": day, "deadline": deadline})
    assert resp.status_code == 302
    task = session.scalar(select(Campaign))
    assert task.kind == "register" and task.on_date.isoformat() == day and task.name == f"团内统计确认（截至 {day}）"
    # once per date: the frozen page now links the task instead of the form, and a second publish is refused
    page = client.get(f"/tuanji/org/{tree.county.id}/stats?on={day}").get_data(as_text=True)
    assert "发布确认任务" not in page and f"/progress/campaigns/{task.id}" in page
    resp = client.post(f"/tuanji/org/{tree.county.id}/stats/confirm-task", data={"on": day, "deadline": deadline})
    assert resp.status_code == 409 and "已经发布过" in resp.get_data(as_text=True)
    # the county's follow-up page: every direct subordinate, with its frozen 本年数, none confirmed yet
    page = client.get(f"/progress/campaigns/{task.id}").get_data(as_text=True)
    for o in (tree.township, tree.school, tree.sibling):
        assert o.short_name in page
    assert page.count("未确认") >= 3 and "本年数（冻结）" in page
    # the county cannot confirm on behalf of the township
    resp = client.post(f"/progress/org/{tree.township.id}/campaigns/{task.id}/confirm", data={})
    assert resp.status_code == 403 and "不能代为确认" in resp.get_data(as_text=True)
    # the township sees the task, its live figures (it froze nothing) and confirms with a note
    login(tree.township_admin)
    page = client.get(f"/progress/org/{tree.township.id}/campaigns").get_data(as_text=True)
    assert task.name in page and "按现有团籍变动算出的数字" in page and "本年数 <strong>2</strong>" in page
    assert "提交确认" in page and 'name="note"' in page
    resp = client.post(f"/progress/org/{tree.township.id}/campaigns/{task.id}/confirm", data={"note": "x" * 201})
    assert resp.status_code == 422 and "说明不能超过" in resp.get_data(as_text=True)
    resp = client.post(f"/progress/org/{tree.township.id}/campaigns/{task.id}/confirm",
                       data={"note": "  已与智慧团建核对  "})
    assert resp.status_code == 302
    c = session.scalar(select(CampaignConfirmation))
    assert c.org_id == tree.township.id and c.note == "已与智慧团建核对"
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "campaign.confirm"))
    assert "华阳镇团委" in entry.summary and "本年数 2 人" in entry.summary and "已与智慧团建核对" in entry.summary
    resp = client.post(f"/progress/org/{tree.township.id}/campaigns/{task.id}/confirm", data={})
    assert resp.status_code == 409 and "已经提交过确认" in resp.get_data(as_text=True)
    # the county sees it, with the note; after the deadline the others are overdue
    login(tree.county_admin)
    page = client.get(f"/progress/campaigns/{task.id}").get_data(as_text=True)
    assert "已确认" in page and "已与智慧团建核对" in page and "已逾期未确认" not in page
    task.deadline = local_today() - timedelta(days=1)
    session.commit()
    page = client.get(f"/progress/campaigns/{task.id}").get_data(as_text=True)
    assert page.count("已逾期未确认") == 2
    reminders = client.get(f"/progress/campaigns/{task.id}/reminders").get_data(as_text=True)
    assert reminders.count("<td>已逾期</td>") == 2 and "请核对截至" in reminders


def test_confirm_is_refused_while_someone_is_unexplained(client, session, login, tree):
    day, klass = _frozen_county(client, session, login, tree)
    deadline = (local_today() + timedelta(days=7)).isoformat()
    client.post(f"/tuanji/org/{tree.county.id}/stats/confirm-task", data={"on": day, "deadline": deadline})
    task = session.scalar(select(Campaign))
    # a member moved in the record to another township without a 团籍变动 (a direct edit): the school may not confirm
    session.get(Member, klass.id).org_id = tree.sibling_branch.id
    session.commit()
    login(tree.school_admin)
    page = client.get(f"/progress/org/{tree.school.id}/campaigns").get_data(as_text=True)
    assert "还不能提交确认" in page and "1 人在团员名单中的位置与团籍变动记录不一致" in page
    assert f"/campaigns/{task.id}/confirm" not in page
    resp = client.post(f"/progress/org/{tree.school.id}/campaigns/{task.id}/confirm", data={"note": "请通过"})
    assert resp.status_code == 409 and "不一致" in resp.get_data(as_text=True)
    assert session.scalar(select(CampaignConfirmation.id)) is None
    # put right: it confirms; a school that froze its own figures confirms those
    session.get(Member, klass.id).org_id = tree.klass.id
    session.commit()
    assert client.post(f"/tuanji/org/{tree.school.id}/stats/freeze", data={"on": day}).status_code == 302
    page = client.get(f"/progress/org/{tree.school.id}/campaigns").get_data(as_text=True)
    assert "确认的是冻结的数字" in page and "本年数 <strong>1</strong>" in page
    assert client.post(f"/progress/org/{tree.school.id}/campaigns/{task.id}/confirm").status_code == 302
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "campaign.confirm"))
    assert "冻结的本年数 1 人" in entry.summary


def test_publish_needs_a_frozen_date_and_the_scope(client, session, login, tree):
    day = (local_today() - timedelta(days=10)).isoformat()
    deadline = (local_today() + timedelta(days=7)).isoformat()
    login(tree.county_admin)
    resp = client.post(f"/tuanji/org/{tree.county.id}/stats/confirm-task", data={"on": day, "deadline": deadline})
    assert resp.status_code == 302
    assert session.scalar(select(Campaign.id)) is None
    flashed = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "请先冻结" in flashed
    resp = client.post(f"/tuanji/org/{tree.county.id}/stats/confirm-task", data={"on": "bad", "deadline": deadline})
    assert resp.status_code == 302 and session.scalar(select(Campaign.id)) is None
    login(tree.township_admin)
    assert client.post(f"/tuanji/org/{tree.sibling.id}/stats/confirm-task",
                       data={"on": day, "deadline": deadline}).status_code == 404


def test_a_frozen_comparison_that_does_not_balance_blocks(client, session, login, tree):
    from tuanjian.domain.settings import DEFAULT_SETTINGS
    from tuanjian.models import RegisterSnapshot
    from tuanjian.services import campaigns
    day = local_today() - timedelta(days=10)
    snap = RegisterSnapshot(org_id=tree.school.id, on_date=day, data={
        "comparison": [[tree.grade.id, "高一年级团总支", 5, 1, 0, 4]], "total": [5, 1, 0, 6]})
    session.add(snap)
    session.commit()
    check = campaigns.register_check(session, tree.school, day, settings=DEFAULT_SETTINGS, today=local_today())
    assert check.frozen and check.total == [5, 1, 0, 6]
    assert check.blockers == ["对比表中“高一年级团总支”不符（上年数 + 增加 − 减少 ≠ 本年数），请先补办相应的团籍变动"]
    snap.data = {"comparison": [[tree.grade.id, "高一年级团总支", 5, 1, 0, 6]], "total": [5, 1, 0, 6]}
    session.commit()
    assert campaigns.register_check(session, tree.school, day, settings=DEFAULT_SETTINGS,
                                    today=local_today()).passed
