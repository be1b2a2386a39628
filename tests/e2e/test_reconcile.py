"""Browser journey for 与智慧团建对账 (issue 28), with JavaScript on and off: the county admin takes a township's list
as 智慧团建 would hold it (one phone number changed, one member missing), uploads it, reads the differences,
downloads what to correct in 智慧团建, marks the phone number explained, and compares again: only what is new is
listed."""
from __future__ import annotations

import os
import re
from io import BytesIO

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from .conftest import DOC_SCREENSHOTS, WatchedPage, log_in

pytestmark = pytest.mark.e2e
TOWNSHIP = "华阳镇团委"


def _zhtj_list(page, base: str, town_id: int, path) -> tuple[str, str]:
    """The township's 智慧团建-format export, edited as 智慧团建 would differ: (changed name, missing name)."""
    data = page.context.request.get(f"{base}/exchange/org/{town_id}/zhtj.xlsx").body()
    wb = load_workbook(BytesIO(data))
    ws = next(ws for ws in wb.worksheets[1:] if ws.max_row >= 4 and not ws.title.endswith("本级团干部"))
    head = [c.value for c in ws[1]]
    name, phone = head.index("姓名") + 1, head.index("手机号码") + 1
    changed = ws.cell(row=2, column=name).value
    ws.cell(row=2, column=phone).value = "13912345678"
    missing = ws.cell(row=3, column=name).value
    ws.delete_rows(3)
    wb.save(path)
    return changed, missing


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_reconcile_journey(browser, live_server, artifacts, tmp_path, js):
    base = live_server.url
    mode = "js" if js else "nojs"
    root_id = live_server.org_id("共青团望江县委员会")
    town_id = live_server.org_id(TOWNSHIP)
    county = live_server.login_for("县团委管理员")
    watched = WatchedPage(browser, base, js)
    page = watched.page

    def shot(name):
        page.screenshot(path=str(artifacts / f"reconcile-{mode}-{name}.png"), full_page=True, caret="initial")

    try:
        log_in(page, base, county, wait=re.compile(r"/progress/org/|/orgs/"))
        page.goto(f"{base}/orgs/{root_id}")
        page.get_by_role("navigation", name="主菜单").get_by_role("link", name="智慧团建对账").click()
        expect(page).to_have_url(f"{base}/reconcile/org/{root_id}")
        listed = tmp_path / "智慧团建导出.xlsx"
        changed, missing = _zhtj_list(page, base, town_id, listed)
        page.goto(f"{base}/reconcile/org/{town_id}")
        expect(page.locator("h1")).to_have_text(f"{TOWNSHIP} · 与智慧团建对账")
        page.set_input_files("input[name=file]", str(listed))
        page.get_by_role("button", name="上传并对账").click()
        expect(page.locator("#flash")).to_contain_text("对账完成")
        expect(page.locator("#summary")).to_contain_text("信息不一致 1 人")
        expect(page.locator("#summary")).to_contain_text("本系统有、智慧团建没有 1 人")
        result = page.locator("#result-list")
        expect(result).to_contain_text(changed)
        expect(result).to_contain_text("13912345678")
        expect(result.locator("td.code").first).to_contain_text("********")      # masked
        shot("01-differences")
        if js and os.environ.get("TUANJIAN_UPDATE_SCREENSHOTS") == "1":     # the README's picture, on request
            from .pngpalette import compress
            box = page.locator("#summary").bounding_box()
            end = page.locator("#result").bounding_box()
            target = DOC_SCREENSHOTS / "reconcile.png"
            clip = {"x": box["x"] - 8, "y": box["y"] - 8, "width": box["width"] + 16,
                    "height": end["y"] + end["height"] - box["y"] + 16}
            page.screenshot(path=str(target), full_page=True, clip=clip)
            target.write_bytes(compress(target.read_bytes(), 16))
        page.get_by_role("link", name=re.compile(r"本系统有、智慧团建没有（1）")).click()
        expect(page).to_have_url(re.compile(r"kind=only_here"))
        expect(page.locator("#result-list")).to_contain_text(missing)
        with page.expect_download() as dl:
            page.get_by_role("link", name=re.compile("导出需在智慧团建补录")).click()
        wb = load_workbook(BytesIO(dl.value.path().read_bytes()))
        names = {r[0] for ws in wb.worksheets[1:] for r in ws.iter_rows(min_row=2, values_only=True)}
        assert names == {changed, missing}
        # mark the phone number explained, then compare again: only the missing member is left
        page.get_by_role("link", name=re.compile(r"信息不一致（1）")).click()
        expect(page).to_have_url(re.compile(r"kind=differs"))
        expect(page.locator("#result-list")).to_contain_text(changed)
        form = page.locator("#result-list form.explain").first
        form.locator("input[name=note]").fill("智慧团建中的号码已停用，待本人更新")
        form.get_by_role("button", name="标记为已说明").click()
        expect(page.locator("#flash")).to_contain_text(f"已标记为已说明：{changed}")
        shot("02-explained")
        page.set_input_files("input[name=file]", str(listed))
        page.get_by_role("button", name="上传并对账").click()
        expect(page.locator("#flash")).to_contain_text("对账完成")
        expect(page.locator("#summary")).to_contain_text("信息不一致 0 人")
        expect(page.locator("#summary")).to_contain_text("已说明的差异 1 项")
        expect(page.get_by_role("link", name=re.compile(r"信息不一致（0）"))).to_be_visible()
        shot("03-again")
        assert not watched.foreign and not watched.page_errors and not watched.console_errors
    finally:
        watched.context.close()
