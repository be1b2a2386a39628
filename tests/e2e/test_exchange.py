"""Browser journey for 数据交换, with JavaScript on and off: the county admin sets the township's 交换密钥, exports
the township's 上报文件, uploads it on the county's page, reads the preview and confirms; then downloads the
智慧团建-format workbook."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import WatchedPage, log_in

TOWNSHIP = "华阳镇团委"


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_exchange_journey(browser, live_server, artifacts, tmp_path, js):
    base = live_server.url
    mode = "js" if js else "nojs"
    root_id = live_server.org_id("共青团望江县委员会")
    town_id = live_server.org_id(TOWNSHIP)
    county = live_server.login_for("县团委管理员")
    watched = WatchedPage(browser, base, js)
    page = watched.page

    def shot(name):
        page.screenshot(path=str(artifacts / f"exchange-{mode}-{name}.png"), full_page=True, caret="initial")

    try:
        log_in(page, base, county, wait=re.compile(r"/progress/org/|/orgs/"))
        page.goto(f"{base}/orgs/{root_id}")
        page.get_by_role("navigation", name="主菜单").get_by_role("link", name="数据交换").click()
        expect(page).to_have_url(f"{base}/exchange/org/{root_id}")
        # the township's key: generated on its page
        page.goto(f"{base}/exchange/org/{town_id}")
        expect(page.locator("h1")).to_have_text(f"{TOWNSHIP} · 数据交换")
        page.get_by_role("button", name="生成新密钥").click()
        expect(page.locator("#key .flash-success")).to_contain_text("交换密钥：")
        key = re.search(r"[A-Z0-9]{5}(-[A-Z0-9]{5}){4}", page.locator("#key .flash-success").inner_text()).group(0)
        shot("01-key")
        with page.expect_download() as dl:
            page.get_by_role("button", name="导出上报文件").click()
        path = tmp_path / dl.value.suggested_filename
        dl.value.save_as(path)
        assert path.name.startswith(f"上报文件_{TOWNSHIP}_") and path.stat().st_size > 1000
        # upload it at the county's page
        page.goto(f"{base}/exchange/org/{root_id}")
        page.set_input_files("input[name=file]", str(path))
        page.get_by_role("button", name="上传并预览").click()
        expect(page.locator("h1")).to_contain_text("上报文件预览")
        expect(page.locator("main")).to_contain_text("签名核验通过")
        expect(page.locator("main")).to_contain_text("完全一致")        # the same data as here
        shot("02-preview")
        page.get_by_role("button", name="确认导入").click()
        expect(page.locator("h1")).to_have_text("上报文件已导入")
        expect(page.locator("#flash")).to_contain_text("上报文件已导入。")     # first time: remembered as applied
        shot("03-done")
        page.goto(f"{base}/exchange/org/{root_id}")
        expect(page.locator("main")).to_contain_text("已导入的上报文件")
        with page.expect_download() as dl:
            page.get_by_role("link", name="导出为智慧团建导入格式").click()
        assert dl.value.suggested_filename.endswith(".xlsx")
        shot("04-page")
        assert key and not watched.foreign and not watched.page_errors and not watched.console_errors
    finally:
        watched.context.close()
