"""Issue 26 point 4 in a real browser (JavaScript on and off): a new admin's 首次登录验证码 is not spent at login, so
closing the password page strands nobody; the login page says where codes come from; the admins page shows whether
the code was used."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tuanjian.extensions import db
from tuanjian.models import Person

from .conftest import WatchedPage, log_in, pass_welcome

pytestmark = pytest.mark.e2e

COUNTY = "共青团望江县委员会"
NEW_PASSWORD = "liming2026a"


def _id_number(live_server, name: str) -> str:
    with live_server.app.app_context():
        number = db.session.scalar(select(Person.id_number).where(Person.name == name))
        db.session.remove()
    assert number
    return number


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_first_login_code_survives_until_the_password_is_saved(browser, live_server, artifacts, js):
    base = live_server.url
    county_id = live_server.org_id(COUNTY)
    boss = live_server.login_for("县团委管理员")
    number = _id_number(live_server, "李明")        # the county's 副书记: a cadre with no account yet
    default = number[-8:]
    admin = WatchedPage(browser, base, js)
    newcomer = None
    try:
        # the county admin makes 李明 an admin: the code shows on the admins page, to this admin
        page = admin.page
        log_in(page, base, boss, wait=None)
        pass_welcome(page, base, county_id)
        page.goto(f"{base}/orgs/{county_id}/admins")
        page.locator("tr", has_text="李明").get_by_role("button", name="设为管理员").click()
        expect(page.locator("#flash")).to_contain_text("首次登录验证码")
        section = page.locator("#first-login")
        code = section.locator("code.regcode").inner_text().strip()
        assert re.fullmatch(r"[A-Za-z0-9]{8}", code)
        expect(page.locator("tr", has_text="李明").first).to_contain_text("首次登录验证码尚未使用")
        # the person's page shows the same code to this admin, with the way to regenerate it
        with live_server.app.app_context():
            person_id = db.session.scalar(select(Person.id).where(Person.name == "李明"))
            db.session.remove()
        page.goto(f"{base}/people/{person_id}")
        expect(page.locator("#reset-code")).to_contain_text(code)
        expect(page.locator("#reset-code")).to_contain_text("尚未使用")
        expect(page.get_by_role("button", name="重新生成首次登录验证码")).to_be_visible()
        page.screenshot(path=str(artifacts / f"first-login-person-{'js' if js else 'nojs'}.png"), full_page=True)
        page.goto(f"{base}/orgs/{county_id}/admins")

        # 李明 logs in with the default password and the code, then closes the password page without saving
        newcomer = WatchedPage(browser, base, js)
        p = newcomer.page
        p.goto(f"{base}/auth/login")
        hint = p.locator("form").inner_text()
        assert "本组织或上级组织的管理员" in hint and "同一个验证码可以再次使用" in hint
        assert "上级管理员当面告知" not in hint
        log_in(p, base, (number, default), code=code, wait=re.compile(r"/auth/password"), open_form=False)
        expect(p.locator(".notice")).to_contain_text("仍可用同一个验证码再次登录")
        newcomer.context.close()

        # the admins page says the code was used to log in, and the password is not set yet
        page.reload()
        expect(page.locator("tr", has_text="李明").first).to_contain_text("已凭首次登录验证码登录，尚未设置新密码")
        expect(section).to_contain_text(code)
        page.screenshot(path=str(artifacts / f"first-login-admins-{'js' if js else 'nojs'}.png"), full_page=True)

        # a second login with the same code works; saving the new password spends it
        newcomer = WatchedPage(browser, base, js)
        p = newcomer.page
        log_in(p, base, (number, default), code=code, wait=re.compile(r"/auth/password"))
        p.fill("input[name=current]", default)
        p.fill("input[name=new]", NEW_PASSWORD)
        p.fill("input[name=confirm]", NEW_PASSWORD)
        p.get_by_role("button", name="保存新密码").click()
        expect(p.locator("#flash")).to_contain_text("密码已修改")
        assert newcomer.foreign == [] and newcomer.page_errors == []
        newcomer.context.close()

        # the code is spent: with the default password it opens nothing; the own password does
        newcomer = WatchedPage(browser, base, js)
        p = newcomer.page
        log_in(p, base, (number, default), code=code, wait=None)
        expect(p.locator("form")).to_contain_text("身份证号码或密码错误")
        log_in(p, base, (number, NEW_PASSWORD), code="", wait=re.compile(rf"^{re.escape(base)}/(?!auth/)"))

        page.reload()
        row = page.locator("tr", has_text="李明").first
        expect(row).to_contain_text("已启用")
        expect(row).to_contain_text("凭首次登录验证码设置了密码")
        expect(page.locator("#first-login")).to_have_count(0)
        assert admin.foreign == [] and admin.page_errors == []
    finally:
        admin.context.close()
        if newcomer is not None:
            try:
                newcomer.context.close()
            except Exception:      # noqa: BLE001 - already closed
                pass
