"""A county school's 团委 admin builds and maintains its own organisation, in a real browser, JS on and off.

刘洋 (望江中学团委, 学校团委管理员) logs in → batch-creates 3 团总支 + 12 团支部 from one Excel file (and the same
file uploaded again creates nothing) → fills in the school 团委's own info (first save asks for confirmation and
locks the names) → adds two 本级团干部 and changes one's 职务 → moves a 团支部 to another 团总支 (new code, recorded).
"""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tuanjian.demo import make_id
from tuanjian.extensions import db
from tuanjian.models import Org, OrgCodeChange

from .conftest import WatchedPage, log_in, pass_welcome

pytestmark = pytest.mark.e2e

SCHOOL = "望江中学团委"
SCHOOL_FULL_NAME = "中国共产主义青年团望江中学委员会"
ADMIN_PHONE = "13800000013"
TIMEOUT_MS = 10_000

GRADES = ["初一年级团总支", "初二年级团总支", "初三年级团总支"]
BRANCHES = {g: [f"{g[:2]}({n})班团支部" for n in range(1, 5)] for g in GRADES}   # 初一(1)班团支部 …
NEW_ORGS = GRADES + [b for g in GRADES for b in BRANCHES[g]]
MOVED = "初一(4)班团支部"
OLD_PARENT, NEW_PARENT = "初一年级团总支", "初二年级团总支"

# Two cadres: (姓名, 身份证号码, 手机号码, 职务); born early enough to have joined (入团) in 2005-05
CADRES = [("孙志强", make_id(date(1990, 4, 12), 611, True), "13900000611", "组织委员"),
          ("周海燕", make_id(date(1991, 9, 3), 622, False), "13900000622", "宣传委员")]
OUTSIDER = ("赵一鸣", make_id(date(1993, 2, 14), 633, True))     # someone else as 书记: refused


def _beijing_today() -> str:
    return (datetime.now(UTC) + timedelta(hours=8)).date().isoformat()


def _orgs(app, names):
    """short name -> (id, code, parent id) for the given names (only live orgs)."""
    with app.app_context():
        rows = db.session.execute(select(Org.short_name, Org.id, Org.code, Org.parent_id)
                                  .where(Org.short_name.in_(names), Org.dissolved_at.is_(None))).all()
        db.session.remove()
    return {name: (id_, code, parent) for name, id_, code, parent in rows}


def _fill_template(src, dest):
    wb = openpyxl.load_workbook(src)
    ws = wb["下级组织"]
    headers = [ws.cell(row=1, column=i).value for i in range(1, 5)]
    assert headers == ["组织简称", "组织类别", "上级组织", "是否为乡镇（街道）团委（团工委）"], headers
    assert ws.cell(row=2, column=1).value in (None, ""), "the template starts empty"
    rows = [(g, "团总支", None) for g in GRADES] + [(b, "团支部", g) for g in GRADES for b in BRANCHES[g]]
    for r, (name, kind, parent) in enumerate(rows, start=2):
        ws.cell(row=r, column=1, value=name)
        ws.cell(row=r, column=2, value=kind)
        ws.cell(row=r, column=3, value=parent)
    wb.save(dest)
    wb.close()


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_school_admin_manages_its_orgs(browser, live_server, artifacts, tmp_path, js):
    base = live_server.url
    mode = "js" if js else "nojs"
    app = live_server.app
    school_id = live_server.org_id(SCHOOL)
    admin = live_server.login_for("学校团委管理员")
    assert (admin.name, admin.org) == ("刘洋", SCHOOL)

    watched = WatchedPage(browser, base, js, timeout_ms=TIMEOUT_MS)
    context, page = watched.context, watched.page
    foreign, page_errors, console_errors = watched.foreign, watched.page_errors, watched.console_errors
    flash = page.locator("#flash")

    def shot(name):
        # caret="initial": see test_journey.py (hiding the caret trips the CSP once htmx settles a swap)
        page.screenshot(path=str(artifacts / f"{mode}-org-{name}.png"), full_page=True, caret="initial")

    def to_school_page():
        page.locator("header nav").get_by_role("link", name="组织树").click()
        expect(page).to_have_url(f"{base}/orgs/{school_id}")

    try:
        # 1. log in → the school 团委's own page
        log_in(page, base, admin, wait=None)
        pass_welcome(page, base, school_id)
        expect(page).to_have_url(f"{base}/orgs/{school_id}")
        expect(page.locator("h1")).to_have_text(SCHOOL)
        expect(page.locator(".user")).to_contain_text(f"刘洋 · {SCHOOL}管理员")

        # 2. batch-create 3 团总支 and 12 团支部 from one Excel file
        page.locator("#create-child").get_by_role("link", name="用 Excel 批量创建").click()
        expect(page).to_have_url(f"{base}/orgs/{school_id}/children/import")
        expect(page.locator("h1")).to_have_text("批量创建下级组织")
        with page.expect_download() as download_info:
            page.get_by_role("link", name="下载 Excel 模板").click()
        download = download_info.value
        assert download.suggested_filename.endswith(".xlsx"), download.suggested_filename
        template = tmp_path / "template.xlsx"
        download.save_as(template)
        filled = tmp_path / "初中部团组织.xlsx"
        _fill_template(template, filled)

        def upload():
            page.set_input_files("input[name=file]", str(filled))
            page.get_by_role("button", name="上传并预览").click()
            expect(page).to_have_url(re.compile(r"/orgs/imports/\d+$"))
            expect(page.locator("h1")).to_have_text(f"导入预览：{filled.name}")

        upload()
        expect(page.locator("main")).to_contain_text("共 15 行")
        expect(page.locator("main")).to_contain_text("15 行无误")
        expect(page.locator("main")).to_contain_text("0 行有错误")
        expect(page.locator("tr.row-error")).to_have_count(0)
        assert not _orgs(app, NEW_ORGS), "the preview writes nothing"
        shot("01-import-preview")
        page.locator("input[name=mode][value=all]").check()
        page.get_by_role("button", name="确认导入").click()
        expect(page.locator("h1")).to_have_text("导入完成")
        expect(flash).to_contain_text("已创建 15 个组织")
        expect(page.locator("main")).to_contain_text("成功导入 15 条")

        created = _orgs(app, NEW_ORGS)
        assert set(created) == set(NEW_ORGS)
        school_code = _orgs(app, [SCHOOL])[SCHOOL][1]
        for g in GRADES:
            assert created[g][2] == school_id and created[g][1].startswith(school_code + ".")
            for b in BRANCHES[g]:
                assert created[b][2] == created[g][0] and created[b][1].startswith(created[g][1] + ".")
        result_table = page.locator("section.card").first.locator("table.list")
        codes = result_table.locator("tbody td.code")
        expect(codes).to_have_count(15)
        assert sorted(codes.all_inner_texts()) == sorted(c for _, c, _ in created.values())
        expect(result_table.locator("tbody tr").filter(has_text=MOVED)).to_contain_text(created[MOVED][1])
        shot("02-import-result")

        # the same file once more: nothing would be created twice; cancel it
        page.locator("nav.crumbs").get_by_role("link", name="批量创建下级组织").click()
        expect(page).to_have_url(f"{base}/orgs/{school_id}/children/import")
        upload()
        expect(page.locator("main")).to_contain_text("0 行无误")
        expect(page.locator("main")).to_contain_text("15 行有错误")
        expect(page.locator("tr.row-error")).to_have_count(15)
        expect(page.get_by_role("button", name="确认导入")).to_be_disabled()
        shot("03-import-again")
        page.get_by_role("button", name="取消这次导入").click()
        expect(page).to_have_url(f"{base}/orgs/{school_id}/children/import")
        expect(flash).to_contain_text("已取消这次导入")
        recent = page.locator("table.list tbody tr")
        expect(recent).to_have_count(2)
        expect(recent.first).to_contain_text("已取消")
        expect(recent.nth(1)).to_contain_text("已导入")
        assert len(_orgs(app, NEW_ORGS)) == 15

        # 3. the school 团委's own info; the first save asks for confirmation, then locks the names
        to_school_page()
        expect(page.locator(f"#kids-{school_id} > li.node")).to_have_count(6)
        page.get_by_role("link", name="组织信息").click()
        expect(page).to_have_url(f"{base}/orgs/{school_id}/info")
        expect(page.locator(".head .tag")).to_have_text("信息未完善")
        expect(page.locator("input[name=secretary_name]")).to_have_value("刘洋")   # the current 书记, prefilled
        page.fill("input[name=full_name]", SCHOOL_FULL_NAME)
        page.select_option("select[name=industry]", "普通高中")
        for name, value in (("staff_admin_quota", "1"), ("staff_admin_actual", "1"),
                            ("staff_inst_quota", "0"), ("staff_inst_actual", "0")):
            page.fill(f"input[name={name}]", value)

        def fill_secretary(name, id_number):
            page.fill("input[name=secretary_name]", name)
            page.fill("input[name=secretary_id_number]", id_number)
            page.fill("input[name=secretary_phone]", ADMIN_PHONE)

        # someone else as 书记 is refused: 刘洋 is the 书记 and an admin
        fill_secretary(*OUTSIDER)
        page.get_by_role("button", name="保存", exact=True).click()
        expect(page.locator("#secretary_id_number-error")).to_contain_text("是本组织管理员")
        expect(page.locator(".confirm")).to_have_count(0)
        expect(page.locator("input[name=full_name]")).to_have_value(SCHOOL_FULL_NAME)   # what was typed is kept

        fill_secretary("刘洋", admin.id_number)
        page.get_by_role("button", name="保存", exact=True).click()
        confirm = page.locator(".confirm")
        expect(confirm).to_contain_text("请确认")
        for text in ("组织简称", SCHOOL, "组织全称", SCHOOL_FULL_NAME, "单位所属行业类别", "普通高中"):
            expect(confirm).to_contain_text(text)
        shot("04-info-confirm")
        page.get_by_role("button", name="确认并保存").click()
        expect(flash).to_contain_text("已保存")
        expect(page.locator(".head .tag")).to_have_text("信息已完善")
        short_name_field = page.locator(".field").filter(has=page.locator("span.label", has_text="组织简称"))
        expect(short_name_field).to_contain_text("已锁定")
        expect(page.locator("input[name=short_name]")).to_have_count(0)
        expect(page.locator("input[name=secretary_phone]")).to_have_value(ADMIN_PHONE)
        shot("05-info-saved")

        # 4. two 本级团干部, then one changes 职务
        to_school_page()
        page.locator("p.actions").get_by_role("link", name="本级团干部").click()
        expect(page).to_have_url(f"{base}/cadres/org/{school_id}")
        form = page.locator("#add-cadre form")
        for name, id_number, phone, position in CADRES:
            form.locator("input[name=name]").fill(name)
            form.locator("input[name=id_number]").fill(id_number)
            form.locator("input[name=phone]").fill(phone)
            form.locator("select[name=ethnicity]").select_option("汉族")
            form.locator("select[name=political_status]").select_option("中共党员")
            form.locator("input[name=join_date]").fill("2005-05")
            form.locator("select[name=position]").select_option(position)
            form.locator("select[name=nature]").select_option("兼职")
            form.get_by_role("button", name="录入").click()
            expect(flash).to_contain_text(f"已录入团干部 {name}（{position}）")
            expect(page.locator(".field.has-error")).to_have_count(0)
            expect(form.locator("input[name=name]")).to_have_value("")        # a fresh form for the next one
        rows = page.locator("section.card").first.locator("table.list tbody tr")
        expect(rows).to_have_count(3)                                            # 刘洋 (书记) + the two
        for name, _, phone, position in CADRES:
            expect(rows.filter(has_text=name)).to_contain_text(position)
            expect(rows.filter(has_text=name)).to_contain_text(phone)
        shot("06-cadres")

        name, _, _, position = CADRES[0]
        rows.filter(has_text=name).get_by_role("link", name="职务变更 / 卸任").click()
        expect(page).to_have_url(re.compile(r"/cadres/\d+$"))
        expect(page.locator("h1")).to_have_text(f"{name} · {SCHOOL} {position}")
        change = page.locator("form").filter(has=page.get_by_role("button", name="保存变更"))
        # the default is today in 北京时间 (not the server's UTC date); the day read before and after, for midnight
        before = _beijing_today()
        changed_on = change.locator("input[name=changed_on]").input_value()
        assert changed_on in {before, _beijing_today()}, changed_on
        change.locator("select[name=position]").select_option("副书记")
        change.get_by_role("button", name="保存变更").click()
        expect(flash).to_contain_text(f"已将 {name} 的职务变更为 副书记")
        expect(page.locator("h1")).to_have_text(f"{name} · {SCHOOL} 副书记")
        history = page.locator("section.card").filter(has=page.locator("h2", has_text="变更记录")).locator("tbody tr")
        expect(history).to_have_count(1)
        expect(history.locator("td").nth(1)).to_have_text("组织委员")
        expect(history.locator("td").nth(2)).to_have_text("副书记")
        expect(history.locator("td").first).to_have_text(changed_on)
        shot("07-cadre-changed")

        # 5. move 初一(4)班团支部 from 初一年级团总支 to 初二年级团总支
        to_school_page()
        grade_id = created[OLD_PARENT][0]
        grade_row = page.locator(f"li.node#org-{grade_id} > .row")
        branch_link = page.locator(f"#kids-{grade_id}").get_by_role("link", name=MOVED, exact=True)
        if js:
            grade_row.locator("a.toggle").click()
            expect(page.locator(f"#kids-{grade_id} > li.node")).to_have_count(4)
            expect(page).to_have_url(f"{base}/orgs/{school_id}")         # expanded in place
        else:
            grade_row.get_by_role("link", name=OLD_PARENT, exact=True).click()
            expect(page).to_have_url(f"{base}/orgs/{grade_id}")
            expect(page.locator(f"#kids-{grade_id} > li.node")).to_have_count(4)
        branch_link.click()
        moved_id, old_code, _ = created[MOVED]
        expect(page).to_have_url(f"{base}/orgs/{moved_id}")
        expect(page.locator("h1")).to_have_text(MOVED)
        page.get_by_role("link", name="迁移、合并、撤销").click()
        expect(page).to_have_url(f"{base}/orgs/{moved_id}/structure")
        expect(page.locator("main")).to_contain_text("组织代码从未变更")
        target_id, target_code, _ = created[NEW_PARENT]
        target_select = page.locator("select[name=new_parent_id]")
        expect(target_select.locator(f"option[value='{target_id}']")).to_contain_text(NEW_PARENT)
        target_select.select_option(str(target_id))
        page.get_by_role("button", name="迁移", exact=True).click()
        expect(page).to_have_url(f"{base}/orgs/{moved_id}/structure")
        expect(flash).to_contain_text(f"已将“{MOVED}”移到“{NEW_PARENT}”之下")
        flash_text = flash.inner_text()
        found = re.search(r"组织代码 (\S+) → ([0-9.]+)", flash_text)
        assert found, flash_text
        assert found.group(1) == old_code
        new_code = found.group(2)
        assert new_code.startswith(target_code + ".") and new_code != old_code
        log = page.locator("section.card").filter(has=page.locator("h2", has_text="代码变更记录")).locator("tbody tr")
        expect(log).to_have_count(1)
        expect(log.locator("td.code").nth(0)).to_have_text(old_code)
        expect(log.locator("td.code").nth(1)).to_have_text(new_code)
        expect(log).to_contain_text("迁移")
        expect(page.locator("nav.crumbs")).to_contain_text(NEW_PARENT)
        shot("08-move-result")

        with app.app_context():
            moved = db.session.get(Org, moved_id)
            assert (moved.parent_id, moved.code) == (target_id, new_code)
            changes = db.session.execute(select(OrgCodeChange.old_code, OrgCodeChange.new_code, OrgCodeChange.reason)
                                         .where(OrgCodeChange.org_id == moved_id)).all()
            assert [tuple(c) for c in changes] == [(old_code, new_code, "move")]
            db.session.remove()

        assert not foreign, f"requests left 127.0.0.1: {foreign}"
        assert not page_errors, page_errors
        assert not console_errors, console_errors
    finally:
        context.close()
