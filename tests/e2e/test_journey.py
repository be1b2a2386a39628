"""The first journey through a real browser, with JavaScript on (htmx) and off (plain forms and links).

县团委管理员 issues a 管理员注册码 for 华阳镇团委 → a new cadre registers with it (after one wrong code) →
logs in and sees only 华阳镇团委's subtree.
"""
from __future__ import annotations

import os
import re
import shutil
from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from tuanjian.demo import ROOT_NAME, make_id
from tuanjian.extensions import db
from tuanjian.models import Account, AdminGrant, Person, RegistrationCode

from .conftest import DOC_SCREENSHOTS, WatchedPage, log_in, pass_welcome

pytestmark = pytest.mark.e2e

TOWNSHIP = "华阳镇团委"
ROOT_FULL_NAME = "中国共产主义青年团望江县委员会"
SIBLING = "高士镇团委"
BRANCH = "华阳镇机关团支部"
NEW_NAME = "周新"
NEW_ID = make_id(date(1998, 7, 1), 321, True)
NEW_PASSWORD = "newpass2026"
WRONG_CODE = "AAAA3333"
TIMEOUT_MS = 10_000

# Screenshots of the JS-on run that the README shows: artifact name -> docs/screenshots name.
DOC_SHOTS = {"02-org-tree": "org-tree.png", "03-register-error": "register.png",
             "05-township-admin": "township-admin.png"}


def _counts(app):
    with app.app_context():
        people = db.session.scalar(select(func.count(Person.id)))
        accounts = db.session.scalar(select(func.count(Account.id)))
        grants = db.session.scalar(select(func.count(AdminGrant.id)))
        db.session.remove()
    return people, accounts, grants


def _person(app, id_number):
    with app.app_context():
        person = db.session.scalar(select(Person).where(Person.id_number == id_number))
        found = None if person is None else (person.name, person.account is not None)
        db.session.remove()
    return found


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_code_registration_journey(browser, live_server, artifacts, js):
    base = live_server.url
    mode = "js" if js else "nojs"
    root_id = live_server.org_id(ROOT_NAME)
    town_id = live_server.org_id(TOWNSHIP)
    sibling_id = live_server.org_id(SIBLING)
    county = live_server.login_for("县团委管理员")
    assert county.name == "王青"

    watched = WatchedPage(browser, base, js, timeout_ms=TIMEOUT_MS)
    context, page = watched.context, watched.page
    foreign, page_errors, console_errors = watched.foreign, watched.page_errors, watched.console_errors
    shots = {}

    def shot(name):
        path = artifacts / f"{mode}-{name}.png"
        # caret="initial": Playwright's default caret hiding leaves style="" on inputs, which htmx later
        # copies while settling a swap, and the CSP (style-src 'self') reports that as a violation.
        page.screenshot(path=str(path), full_page=True, caret="initial")
        shots[name] = path

    def mark_document():
        """Tag the current document so we can tell afterwards that no page load replaced it."""
        page.evaluate("window.__e2eMark = 'same-document'")

    def same_document() -> bool:
        return page.evaluate("window.__e2eMark === 'same-document'")

    try:
        # a. the county admin logs in
        page.goto(f"{base}/auth/login")
        expect(page.locator("h1")).to_have_text("登录")
        shot("01-login")
        log_in(page, base, county, wait=None, open_form=False)
        pass_welcome(page, base, root_id, shot=shot)
        expect(page.locator("h1")).to_have_text(ROOT_FULL_NAME)
        expect(page).to_have_url(f"{base}/orgs/{root_id}")
        expect(page.locator(".user")).to_contain_text("王青")

        # b. issue a registration code for 华阳镇团委 from its node in the tree
        node = page.locator(f"li.node#org-{town_id}")
        row = node.locator(":scope > .row")
        expect(row.locator("a.name")).to_have_text(TOWNSHIP)
        expect(row.locator("code.regcode")).to_have_count(0)
        row.locator("form").get_by_role("button", name="生成注册码").click()
        regcode = row.locator("code.regcode")
        expect(regcode).to_have_text(re.compile(r"^[A-Za-z0-9]{8}$"))
        code = regcode.inner_text()
        expect(page.locator("#flash")).to_contain_text(f"已为“{TOWNSHIP}”生成管理员注册码 {code}")
        with live_server.app.app_context():
            issued = db.session.scalar(select(RegistrationCode).where(RegistrationCode.code == code))
            assert issued is not None and issued.org_id == town_id and issued.used_at is None
            db.session.remove()
        # the button now offers to issue a new one
        expect(row.locator("form").get_by_role("button", name="重新生成")).to_be_visible()

        # e. the tree toggle: inline expansion with JS, a plain link without
        toggle = row.locator("a.toggle")
        kids = page.locator(f"#kids-{town_id} li.node")
        expect(kids).to_have_count(0)
        if js:
            mark_document()
            url_before = page.url
            toggle.click()
            expect(kids).to_have_count(4)
            expect(kids.first).to_contain_text(BRANCH)
            expect(toggle).to_have_attribute("aria-expanded", "true")
            assert same_document() and page.url == url_before, "expanding a node must not load a page"
            # folding again needs no request: the loaded children are only hidden, then shown again
            toggle.click()
            expect(page.locator(f"#kids-{town_id}")).to_be_hidden()
            expect(toggle).to_have_attribute("aria-expanded", "false")
            toggle.click()
            expect(kids.first).to_be_visible()
            assert same_document()
            shot("02-org-tree")
        else:
            shot("02-org-tree")
            toggle.click()
            expect(page).to_have_url(f"{base}/orgs/{town_id}")
            expect(page.locator("h1")).to_have_text(TOWNSHIP)
            expect(page.locator(f"#kids-{town_id} > li.node")).to_have_count(4)
            expect(page.locator(f"#kids-{town_id}")).to_contain_text(BRANCH)

        # c. log out, then register with the code
        page.locator("header").get_by_role("button", name="退出").click()
        expect(page.locator("h1")).to_have_text("登录")
        expect(page.locator("#flash")).to_contain_text("您已安全退出")
        expect(page.locator("header")).not_to_contain_text("王青")

        page.goto(f"{base}/register/")
        expect(page.locator("h1")).to_have_text("管理员注册")
        results = page.locator("#org-results ul.pick li").filter(
            has=page.locator("strong", has_text=re.compile(f"^{TOWNSHIP}$")))
        if js:
            # live search: the results appear while typing, without pressing 查找 or loading a page
            mark_document()
            page.fill("input[name=q]", TOWNSHIP)
            expect(results).to_have_count(1)
            assert same_document(), "the live search must not reload the page"
        else:
            page.fill("input[name=q]", TOWNSHIP)
            page.get_by_role("button", name="查找").click()
            expect(page).to_have_url(re.compile(r"/register/\?q="))
            expect(results).to_have_count(1)
        expect(results).to_contain_text(f"上级：{ROOT_NAME}")
        results.get_by_role("link").click()
        expect(page.locator("p.selected")).to_contain_text(TOWNSHIP)

        counts_before = _counts(live_server.app)
        form = page.locator("form[method=post]").filter(has=page.locator("input[name=code]"))

        def fill_form(code_text):
            form.locator("select[name=position]").select_option("副书记")
            form.locator("input[name=code]").fill(code_text)
            form.locator("input[name=name]").fill(NEW_NAME)
            form.locator("input[name=id_number]").fill(NEW_ID)
            form.locator("input[name=phone]").fill("13912345678")
            form.locator("select[name=ethnicity]").select_option("汉族")
            form.locator("select[name=political_status]").select_option("共青团员")
            form.locator("input[name=join_date]").fill("2013-05")
            form.locator("input[name=password]").fill(NEW_PASSWORD)
            form.locator("input[name=password_confirm]").fill(NEW_PASSWORD)

        # f. a wrong code first: a Chinese error at the code field, nothing created
        fill_form(WRONG_CODE)
        form.get_by_role("button", name="注册").click()
        code_error = page.locator("#code-error")
        expect(code_error).to_contain_text("管理员注册码错误")
        expect(page.locator(".field.has-error")).to_have_count(1)
        expect(page.locator("p.selected")).to_contain_text(TOWNSHIP)   # still registering for the same org
        # what was typed is kept (except the passwords), so only the code needs retyping
        expect(form.locator("input[name=name]")).to_have_value(NEW_NAME)
        expect(form.locator("input[name=id_number]")).to_have_value(NEW_ID)
        expect(form.locator("select[name=position]")).to_have_value("副书记")
        expect(form.locator("select[name=ethnicity]")).to_have_value("汉族")
        assert _counts(live_server.app) == counts_before
        assert _person(live_server.app, NEW_ID) is None
        shot("03-register-error")

        fill_form(code)
        form.get_by_role("button", name="注册").click()
        expect(page.locator("h1")).to_have_text("注册成功")
        expect(page.locator("main")).to_contain_text(f"您已成为 {TOWNSHIP}")
        expect(page.locator("main")).to_contain_text("团内职务：副书记")
        assert NEW_ID not in page.locator("main").inner_text(), "the id number is shown masked"
        assert _person(live_server.app, NEW_ID) == (NEW_NAME, True)
        shot("04-register-done")

        # d. the new admin logs in and sees only 华阳镇团委's subtree
        page.get_by_role("link", name="去登录").click()
        expect(page.locator("h1")).to_have_text("登录")
        page.fill("input[name=id_number]", NEW_ID)
        page.fill("input[name=password]", NEW_PASSWORD)
        page.get_by_role("button", name="登录").click()
        pass_welcome(page, base, town_id)
        expect(page.locator("h1")).to_have_text(TOWNSHIP)
        expect(page).to_have_url(f"{base}/orgs/{town_id}")
        expect(page.locator(".user")).to_contain_text(f"{NEW_NAME} · {TOWNSHIP}管理员")
        tree = page.locator(f"#kids-{town_id}")
        expect(tree.locator(":scope > li.node")).to_have_count(4)
        expect(tree).to_contain_text(BRANCH)
        body = page.locator("body")
        expect(body).not_to_contain_text(SIBLING)
        expect(body).not_to_contain_text(ROOT_NAME)
        expect(body).not_to_contain_text("望江县委员会")
        expect(page.locator(f"#org-{root_id}, #org-{sibling_id}")).to_have_count(0)
        # the admin of a township manages its branches' codes, not its own
        expect(tree.locator("li.node").first.get_by_role("button", name="生成注册码")).to_be_visible()
        shot("05-township-admin")

        for outside in (root_id, sibling_id):
            response = page.goto(f"{base}/orgs/{outside}")
            assert response is not None and response.status == 404
            expect(page.locator("h1")).to_contain_text("页面不存在")
            expect(page.locator("body")).not_to_contain_text(SIBLING)

        assert not foreign, f"requests left 127.0.0.1: {foreign}"
        assert not page_errors, page_errors
        assert not console_errors, console_errors
    finally:
        context.close()

    if js and os.environ.get("TUANJIAN_UPDATE_SCREENSHOTS") == "1":     # refresh the README's pictures on request
        DOC_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for name, doc_name in DOC_SHOTS.items():
            shutil.copyfile(shots[name], DOC_SCREENSHOTS / doc_name)
