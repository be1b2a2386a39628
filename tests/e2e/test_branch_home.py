"""Issue 16.2 in a real browser (JavaScript on and off): a 团支部 admin lands on the branch home; a 县团委 admin
keeps the progress landing."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import WatchedPage, log_in

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_branch_admin_lands_on_branch_home(browser, live_server, js):
    base = live_server.url
    branch = live_server.login_for("团支部管理员")
    branch_id = live_server.org_id(branch.org)
    watched = WatchedPage(browser, base, js)
    page = watched.page
    try:
        log_in(page, base, branch, wait=f"{base}/members/org/{branch_id}")
        todo = page.locator("section.todo")
        expect(todo.locator("h2")).to_contain_text("录入完成")
        cards = page.locator("section.card")
        list_card = cards.filter(has=page.locator("table.list"))
        expect(list_card.get_by_role("link", name="录入团员")).to_be_visible()
        expect(list_card.get_by_role("link", name=re.compile("导入"))).to_be_visible()
        # the to-do list comes first, then the buttons, then the list
        boxes = [todo.bounding_box()["y"], list_card.get_by_role("link", name="录入团员").bounding_box()["y"],
                 page.locator("table.list").bounding_box()["y"]]
        assert boxes == sorted(boxes)
        # the demo branch has one member whose membership is not confirmed: the item links to the field
        item = todo.locator("li[data-todo=unconfirmed]")
        expect(item).to_contain_text("1 名团员身份待确认")
        item.locator("ul a").first.click()
        expect(page.locator("h1")).to_contain_text("修改团员信息")
        assert page.url.endswith("#evidence")
        expect(page.locator("fieldset#evidence")).to_be_visible()
        assert watched.foreign == [] and watched.page_errors == []
    finally:
        watched.context.close()


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_county_admin_keeps_the_progress_landing(browser, live_server, js):
    base = live_server.url
    county = live_server.login_for("县团委管理员")
    watched = WatchedPage(browser, base, js)
    page = watched.page
    try:
        log_in(page, base, county, wait=re.compile(r"/progress/org/\d+"))
        expect(page.locator("section.todo")).to_have_count(0)
    finally:
        watched.context.close()
