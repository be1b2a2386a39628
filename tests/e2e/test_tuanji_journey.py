"""Issue 27 in a real browser, JavaScript on and off: a branch admin opens the 超龄 queue, ticks the overdue
members, leaves them with one date (批量超龄离团), the 团籍名册 shows the branch before and after that day, the 团内统计
balances, a past day is frozen and printed."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from .conftest import WatchedPage, log_in

pytestmark = pytest.mark.e2e


def _add_overage(app, branch_name: str, names: list[str]) -> None:
    from sqlalchemy import select

    from tuanjian import settings_of
    from tuanjian.clock import local_today
    from tuanjian.domain.members import validate_member
    from tuanjian.extensions import db
    from tuanjian.models import Org, utcnow
    from tuanjian.services import members
    from tuanjian.services.actor import Actor

    from ..factories import new_id
    with app.app_context():
        branch = db.session.scalar(select(Org).where(Org.short_name == branch_name))
        actor = Actor(person_id=None, name="测试", ip="127.0.0.1", org_id=branch.id, scope_code=branch.code)
        for i, name in enumerate(names):
            birth = date(1996, 3, 1 + i)
            data = validate_member({"name": name, "id_number": new_id(birth), "ethnicity": "汉族",
                                    "political_status": "共青团员", "join_date": "2011-05", "dev_number": "",
                                    "is_cadre": "否", "has_application": "是"}, settings=settings_of(app),
                                   today=local_today())
            members.add_member(db.session, actor, branch, data, now=utcnow() - timedelta(days=30))
        db.session.commit()
        db.session.remove()


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_overage_queue_batch_leave_and_roll(browser, live_server, artifacts, js):
    base = live_server.url
    admin = live_server.login_for("团支部管理员")
    branch_id = live_server.org_id(admin.org)
    _add_overage(live_server.app, admin.org, ["超龄甲", "超龄乙"])
    watched = WatchedPage(browser, base, js)
    page = watched.page
    mode = "js" if js else "nojs"
    try:
        log_in(page, base, admin, wait=f"{base}/members/org/{branch_id}")
        page.goto(f"{base}/tuanji/org/{branch_id}/overage")
        expect(page.locator("h1")).to_contain_text("超龄团员")
        page.screenshot(path=str(artifacts / f"tuanji-{mode}-queue.png"), full_page=True)
        # the member page shows the 团籍变动 and the leaving form with the reasons from the list
        page.get_by_role("link", name="超龄甲").click()
        expect(page.locator("#leave h2")).to_have_text("离团或删除")
        expect(page.locator("#leave-kind option")).to_have_count(10)
        expect(page.locator("table.list").last).to_contain_text("首次录入")
        page.screenshot(path=str(artifacts / f"tuanji-{mode}-member.png"), full_page=True)
        page.goto(f"{base}/tuanji/org/{branch_id}/overage")
        # nothing ticked: a clear message, nothing changes
        page.get_by_role("button", name="办理超龄离团").click()
        expect(page.locator(".error-text").first).to_contain_text("请勾选")
        page.get_by_label("选择超龄甲").check()
        page.get_by_label("选择超龄乙").check()
        page.get_by_role("button", name="办理超龄离团").click()
        expect(page.locator(".flash").first).to_contain_text("已为 2 名团员办理超龄离团")
        expect(page.locator("table.list")).not_to_contain_text("超龄甲")
        page.get_by_role("link", name="团籍名册（按日期查询）").click()
        expect(page.locator("h1")).to_contain_text("团籍名册")
        expect(page.locator("table.list")).not_to_contain_text("超龄甲")
        yesterday = (date.today() - timedelta(days=2)).isoformat()
        page.fill("input[name=on]", yesterday)
        page.get_by_role("button", name="查询").click()
        expect(page.locator("table.list")).to_contain_text("超龄甲")
        page.screenshot(path=str(artifacts / f"tuanji-{mode}-roll.png"), full_page=True)
        page.goto(f"{base}/tuanji/org/{branch_id}/stats")
        expect(page.locator("h1")).to_contain_text("团内统计")
        expect(page.locator("section.card").nth(1)).to_contain_text("相符")
        expect(page.locator("section.card").nth(1)).not_to_contain_text("不符")
        expect(page.locator("caption", has_text="团员减少")).to_be_visible()
        page.screenshot(path=str(artifacts / f"tuanji-{mode}-stats.png"), full_page=True)
        # freeze a day that is over, then print the frozen figures
        page.fill("input[name=on]", yesterday)
        page.get_by_role("button", name="统计", exact=True).click()
        page.get_by_role("button", name=f"冻结截至 {yesterday} 的统计").click()
        expect(page.locator("h1")).to_contain_text("已冻结")
        expect(page.locator("section.card").nth(1)).to_contain_text("冻结后的补录和更正（0 条）")
        page.screenshot(path=str(artifacts / f"tuanji-{mode}-frozen.png"), full_page=True)
        page.get_by_role("link", name="打印（A4）").click()
        expect(page.locator("h1").first).to_contain_text("团内统计汇总表")
        expect(page.locator("p.sign").first).to_contain_text("单位负责人")
        page.screenshot(path=str(artifacts / f"tuanji-{mode}-print.png"), full_page=True)
        assert watched.foreign == [] and watched.page_errors == [] and watched.console_errors == []
    finally:
        watched.context.close()


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_year_end_confirmation(browser, live_server, artifacts, js):
    """The county freezes a past day and publishes 团内统计确认; the township opens its figures of that day and
    confirms with a note; the county sees who has confirmed."""
    base = live_server.url
    county = live_server.login_for("县团委管理员")
    township = live_server.login_for("乡镇团委管理员")
    county_id, township_id = live_server.org_id(county.org), live_server.org_id(township.org)
    day = (date.today() - timedelta(days=2)).isoformat()
    mode = "js" if js else "nojs"
    upper, lower = WatchedPage(browser, base, js), WatchedPage(browser, base, js)
    try:
        page = upper.page
        log_in(page, base, county, wait=f"{base}/progress/org/**")
        page.goto(f"{base}/tuanji/org/{county_id}/stats?on={day}")
        page.get_by_role("button", name=f"冻结截至 {day} 的统计").click()
        expect(page.locator("h1")).to_contain_text("已冻结")
        page.fill("input[name=deadline]", (date.today() + timedelta(days=10)).isoformat())
        page.get_by_role("button", name="发布确认任务").click()
        expect(page.locator("h1")).to_contain_text(f"团内统计确认（截至 {day}）")
        expect(page.locator("table.list")).to_contain_text(township.org)
        expect(page.locator("table.list")).to_contain_text("未确认")
        page.screenshot(path=str(artifacts / f"tuanji-{mode}-confirm-task.png"), full_page=True)
        page = lower.page
        log_in(page, base, township, wait=f"{base}/progress/org/**")
        page.goto(f"{base}/progress/org/{township_id}/campaigns")
        expect(page.locator(".campaign").first).to_contain_text(f"截至 {day}")
        page.screenshot(path=str(artifacts / f"tuanji-{mode}-confirm-lower.png"), full_page=True)
        page.get_by_label("说明（可不填）").fill("已与智慧团建核对")
        page.get_by_role("button", name="提交确认").click()
        expect(page.locator(".flash").first).to_contain_text("已对阶段任务")
        expect(page.locator(".campaign").first).to_contain_text("已与智慧团建核对")
        page = upper.page
        page.reload()
        expect(page.locator("table.list")).to_contain_text("已确认")
        expect(page.locator("table.list")).to_contain_text("已与智慧团建核对")
        page.screenshot(path=str(artifacts / f"tuanji-{mode}-confirmed.png"), full_page=True)
        for w in (upper, lower):
            assert w.foreign == [] and w.page_errors == [] and w.console_errors == []
    finally:
        upper.context.close()
        lower.context.close()
