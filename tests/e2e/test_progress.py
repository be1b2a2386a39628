"""Browser journey for 录入进度, with JavaScript on and off: the county admin logs in to the subordinates' summary,
closes it, sorts the table, drills down two levels, opens an exception list, and prints the 通报 to an A4 PDF."""
from __future__ import annotations

import os
import re
import shutil

import pytest
from playwright.sync_api import expect

from .conftest import DOC_SCREENSHOTS, WatchedPage, log_in

TIMEOUT_MS = 10_000
TOWNSHIP = "华阳镇团委"


def _names(page) -> list[str]:
    return page.locator("table.progress tbody th.name a").all_inner_texts()


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_progress_journey(browser, live_server, artifacts, js):
    base = live_server.url
    mode = "js" if js else "nojs"
    root_id = live_server.org_id("共青团望江县委员会")
    town_id = live_server.org_id(TOWNSHIP)
    county = live_server.login_for("县团委管理员")
    watched = WatchedPage(browser, base, js, timeout_ms=TIMEOUT_MS)
    page = watched.page

    def shot(name):
        path = artifacts / f"progress-{mode}-{name}.png"
        page.screenshot(path=str(path), full_page=True, caret="initial")
        return path

    try:
        # 1. log in: the summary of the direct subordinates comes first, as a dialog over the progress page
        log_in(page, base, county, wait=None)
        expect(page).to_have_url(f"{base}/progress/org/{root_id}")            # ?welcome=1 shown once (issue 26.6)
        dialog = page.locator("dialog.welcome")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("共有直属下级组织 36 个")
        welcome = shot("01-welcome")
        dialog.get_by_role("button", name="知道了").click()      # form method=dialog: no script needed
        expect(dialog).to_be_hidden()
        table = page.locator("table.progress")
        expect(table.locator("tbody tr")).to_have_count(36)
        expect(table.locator("tfoot")).to_contain_text("合计（含本级）")
        expect(page.locator("td.below").first).to_be_visible()

        # 2. sort by 团员数, most first; then the other way round
        page.locator("table.progress thead").get_by_role("link", name="团员数").click()
        expect(page).to_have_url(re.compile(r"sort=members&desc=1"))
        expect(page.locator("table.progress thead")).to_contain_text("团员数 ↓")
        most_first = _names(page)
        page.locator("table.progress thead").get_by_role("link", name="团员数 ↓").click()
        expect(page.locator("table.progress thead")).to_contain_text("团员数 ↑")
        assert _names(page)[0] != most_first[0]

        # 3. drill down: the county → 华阳镇团委 → one of its branches; the back button returns
        page.locator("table.progress tbody").get_by_role("link", name=TOWNSHIP).click()
        expect(page).to_have_url(f"{base}/progress/org/{town_id}")
        expect(page.locator("h1")).to_have_text(f"{TOWNSHIP} · 录入进度")
        town_rows = _names(page)
        assert town_rows and all("团支部" in n for n in town_rows)
        shot("02-township")
        page.locator("table.progress tbody").get_by_role("link", name=town_rows[0]).click()
        expect(page.locator("h1")).to_have_text(f"{town_rows[0]} · 录入进度")
        page.go_back()
        expect(page.locator("h1")).to_have_text(f"{TOWNSHIP} · 录入进度")

        # 4. an exception list of the township, with its Excel export
        page.get_by_role("link", name=re.compile("没有管理员的组织")).click()
        expect(page.locator("h1")).to_have_text("没有管理员的组织")
        expect(page.locator("table.list tbody tr").first).to_contain_text("团支部")
        with page.expect_download() as download:
            page.get_by_role("link", name="导出 Excel").click()
        assert download.value.suggested_filename.endswith(".xlsx")

        # 5. the printable 通报 renders to A4 landscape pages
        page.goto(f"{base}/progress/org/{root_id}/print")
        expect(page.locator("h1")).to_contain_text("智慧团建基础信息录入进度通报")
        expect(page.locator(".sign")).to_contain_text("审核人")
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        pages = re.findall(rb"/Type\s*/Page[^s]", pdf)
        assert len(pages) >= 2, "36 rows, notes and the appendix take more than one page"
        boxes = set(re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf))
        assert boxes and all(float(w) > float(h) and abs(float(w) - 841.9) < 2 for w, h in boxes), boxes
        (artifacts / f"progress-{mode}.pdf").write_bytes(pdf)

        assert watched.foreign == [] and watched.page_errors == [] and watched.console_errors == []
    finally:
        watched.context.close()
    if js and os.environ.get("TUANJIAN_UPDATE_SCREENSHOTS") == "1":     # refresh the README's picture on request
        DOC_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(welcome, DOC_SCREENSHOTS / "progress.png")
