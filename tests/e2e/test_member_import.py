"""A township admin imports the members of its branches from Excel, in a real browser, JS on and off.

张华 (华阳镇团委, 乡镇团委管理员) logs in → 团员（全部下级） → 用 Excel 导入下级团支部团员团干部 → downloads the
template (branch dropdown lists the township's branches) → uploads 10 rows of which 3 are bad in different ways →
imports the 7 good ones → fixes the 3 bad rows in the downloaded error workbook (extra columns left in) and imports
them → uploads the original file again: nothing new, the 7 are unchanged; cancels → checks the database and the list.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date

import openpyxl
import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from tuanjian.demo import make_id
from tuanjian.extensions import db
from tuanjian.models import Account, CadrePost, Member, Org, Person
from tuanjian.queries import within

from .conftest import WatchedPage, log_in, pass_welcome

pytestmark = pytest.mark.e2e

TOWNSHIP = "华阳镇团委"
TIMEOUT_MS = 10_000
HEADERS = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "所在团支部", "是否为团干部", "团内现任职务",
           "发展团员编号", "手机号码", "文化程度", "职业", "学习工作单位"]       # the 智慧团建 labels (issue 15)
TOWNSHIP_BRANCHES = ["华阳镇机关团支部", "华阳镇城东村团支部", "华阳镇城西村团支部", "华阳镇金塘村团支部"]
MISSING_BRANCH = "不存在团支部"


@dataclass
class Row:
    name: str
    birth: date
    seq: int
    male: bool
    join: str               # 入团年月
    branch: str             # the intended branch
    position: str = ""      # 团内职务 (a cadre when set)
    fault: str = ""         # check / dev / branch: how the original file gets this row wrong

    @property
    def id_number(self) -> str:
        return make_id(self.birth, self.seq, self.male)

    @property
    def dev_number(self) -> str:
        return self.join[:4] + f"{self.seq:08d}"

    @property
    def phone(self) -> str:
        return f"139000{self.seq:05d}"


# seq 9xx keeps clear of the demo people (their sequence numbers stop well below)
ROWS = [
    Row("柯晓峰", date(2003, 1, 5), 901, True, "2019-05", "华阳镇城东村团支部", position="组织委员"),
    Row("方雨桐", date(2003, 2, 11), 912, False, "2018-05", "华阳镇金塘村团支部"),
    Row("钟志远", date(2003, 3, 17), 923, True, "2019-05", "华阳镇金塘村团支部", fault="check"),
    Row("江晓雯", date(2003, 4, 2), 934, False, "2019-10", "华阳镇城西村团支部"),
    Row("石磊", date(2003, 5, 23), 945, True, "2020-05", "华阳镇机关团支部"),
    Row("骆思琪", date(2003, 6, 9), 956, False, "2019-05", "华阳镇城东村团支部", fault="dev"),
    Row("龚俊豪", date(2003, 7, 14), 967, True, "2018-12", "华阳镇金塘村团支部"),
    Row("贺佳宁", date(2003, 8, 28), 978, False, "2019-05", "华阳镇机关团支部"),
    Row("谭子墨", date(2003, 9, 3), 989, True, "2019-05", "华阳镇城西村团支部", fault="branch"),
    Row("白若溪", date(2003, 10, 19), 990, False, "2020-10", "华阳镇金塘村团支部"),
]
BAD = [r for r in ROWS if r.fault]
GOOD = [r for r in ROWS if not r.fault]
SHEET_ROW = {r.name: n for n, r in enumerate(ROWS, start=2)}       # the sheet's row number of each person
REASONS = {"check": "校验位", "dev": "须填写发展团员编号", "branch": "找不到团支部"}


def _wrong_check_digit(number: str) -> str:
    return number[:17] + ("1" if number[17] != "1" else "2")


def _original_values(r: Row) -> list[str]:
    id_number = _wrong_check_digit(r.id_number) if r.fault == "check" else r.id_number
    dev_number = "" if r.fault == "dev" else r.dev_number
    branch = MISSING_BRANCH if r.fault == "branch" else r.branch
    return [r.name, id_number, "汉族", "共青团员", r.join, branch, "是" if r.position else "否", r.position,
            dev_number, r.phone, "普通高中", "农民", ""]


def _set(cell, value) -> None:
    cell.value = value if value != "" else None
    if cell.value is not None:
        cell.data_type = "s"


def _check_template(path) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb["团员"]
    assert [ws.cell(row=1, column=i).value for i in range(1, len(HEADERS) + 1)] == HEADERS
    assert ws.cell(row=2, column=1).value in (None, ""), "the template starts empty"
    lists = wb["下拉列表"]
    assert lists.sheet_state == "hidden"
    listed = {c.value for col in lists.iter_cols() for c in col if c.value}
    assert set(TOWNSHIP_BRANCHES) <= listed, listed
    assert "高士镇高士村团支部" not in listed, "only branches within the township"
    wb.close()


def _fill_template(src, dest) -> None:
    wb = openpyxl.load_workbook(src)
    ws = wb["团员"]
    for r, row in enumerate(ROWS, start=2):
        for c, value in enumerate(_original_values(row), start=1):
            _set(ws.cell(row=r, column=c), value)
    wb.save(dest)
    wb.close()


def _fix_error_workbook(src, dest) -> None:
    """Correct the 3 rows in the downloaded error workbook; its 原行号/错误说明 columns stay in."""
    wb = openpyxl.load_workbook(src)
    ws = wb["团员"]
    headers = [c.value for c in ws[1]]
    col = {h: i + 1 for i, h in enumerate(headers)}
    by_name = {r.name: r for r in BAD}
    for n in range(2, ws.max_row + 1):
        row = by_name[ws.cell(row=n, column=col["姓名"]).value]
        if row.fault == "check":
            _set(ws.cell(row=n, column=col["身份证号码"]), row.id_number)
        elif row.fault == "dev":
            _set(ws.cell(row=n, column=col["发展团员编号"]), row.dev_number)
        elif row.fault == "branch":
            _set(ws.cell(row=n, column=col["所在团支部"]), row.branch)
    wb.save(dest)
    wb.close()


def _township_member_count(app, town_id: int) -> int:
    with app.app_context():
        town = db.session.get(Org, town_id)
        n = db.session.scalar(select(func.count(Member.id)).join(Org, Member.org_id == Org.id)
                              .where(within(Org.code, town.code), Member.deleted_at.is_(None)))
        db.session.remove()
    return n


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_township_admin_imports_members(browser, live_server, artifacts, tmp_path, js):
    started = time.monotonic()
    base = live_server.url
    mode = "js" if js else "nojs"
    app = live_server.app
    town_id = live_server.org_id(TOWNSHIP)
    admin = live_server.login_for("乡镇团委管理员")
    assert (admin.name, admin.org) == ("张华", TOWNSHIP)
    members_before = _township_member_count(app, town_id)

    watched = WatchedPage(browser, base, js, timeout_ms=TIMEOUT_MS)
    context, page = watched.context, watched.page
    foreign, page_errors, console_errors = watched.foreign, watched.page_errors, watched.console_errors
    flash = page.locator("#flash")
    main = page.locator("main")

    def shot(name):
        # caret="initial": see test_journey.py (hiding the caret trips the CSP once htmx settles a swap)
        page.screenshot(path=str(artifacts / f"{mode}-members-{name}.png"), full_page=True, caret="initial")

    def download(link_name, dest):
        with page.expect_download() as info:
            page.get_by_role("link", name=link_name).click()
        d = info.value
        assert d.suggested_filename.endswith(".xlsx"), d.suggested_filename
        d.save_as(dest)
        return d.suggested_filename

    import_url = f"{base}/members/org/{town_id}/import"

    def upload(path):
        expect(page).to_have_url(import_url)
        page.set_input_files("input[name=file]", str(path))
        page.get_by_role("button", name="上传并预览").click()
        expect(page).to_have_url(re.compile(r"/members/imports/\d+$"))
        expect(page.locator("h1")).to_have_text(f"导入预览：{path.name}")

    def row_of(name):
        return page.locator("table.list tbody tr").filter(has_text=name)

    try:
        # 1. log in → 华阳镇团委 → 团员（全部下级） → 用 Excel 导入下级团支部团员团干部 → template
        log_in(page, base, admin, wait=None)
        pass_welcome(page, base, town_id)
        expect(page).to_have_url(f"{base}/orgs/{town_id}")
        expect(page.locator("h1")).to_have_text(TOWNSHIP)
        page.locator("p.actions").get_by_role("link", name="团员（全部下级）").click()
        expect(page).to_have_url(f"{base}/members/org/{town_id}")
        expect(page.locator("h1")).to_contain_text(f"{TOWNSHIP} · 团员")
        expect(main).to_contain_text(f"共 {members_before} 名团员")
        page.get_by_role("link", name="用 Excel 导入下级团支部团员团干部").click()
        expect(page).to_have_url(import_url)
        expect(page.locator("h1")).to_have_text("导入团员团干部")
        shot("01-upload-page")
        template = tmp_path / "template.xlsx"
        download("下载 Excel 模板", template)
        _check_template(template)

        # 2. + 3. ten rows, three bad; preview, error workbook, import the seven good ones
        original = tmp_path / "华阳镇团员.xlsx"
        _fill_template(template, original)
        upload(original)
        expect(main).to_contain_text("共 10 行")
        expect(main).to_contain_text("7 行无误")
        expect(main).to_contain_text("新增 7")
        expect(main).to_contain_text("3 行有错误")
        errors = page.locator("tr.row-error")
        expect(errors).to_have_count(3)
        for r in BAD:
            bad_row = row_of(r.name)
            expect(bad_row).to_have_class(re.compile(r"\brow-error\b"))
            expect(bad_row.locator("td").first).to_have_text(str(SHEET_ROW[r.name]))
            expect(bad_row).to_contain_text(REASONS[r.fault])
        for r in GOOD:
            expect(row_of(r.name)).to_contain_text("新增")
        with app.app_context():
            assert db.session.scalar(select(func.count(Person.id)).where(
                Person.id_number.in_([r.id_number for r in ROWS]))) == 0, "the preview writes nothing"
            db.session.remove()
        shot("02-preview-errors")

        error_book = tmp_path / "errors.xlsx"
        error_name = download("下载错误表", error_book)
        wb = openpyxl.load_workbook(error_book)
        ws = wb["团员"]
        headers = [c.value for c in ws[1]]
        evidence = ["入团志愿书", "团员证", "团籍注册年度", "组织关系介绍信",     # template columns left blank
                    "任现职年月", "团干部性质", "是否同级党委（支部）成员"]
        assert headers == HEADERS + evidence + ["原行号", "错误说明"], headers
        assert ws.max_row == 4, "exactly the 3 bad rows"
        at_number, at_reason = headers.index("原行号") + 1, headers.index("错误说明") + 1
        got = {ws.cell(row=n, column=1).value: (ws.cell(row=n, column=at_number).value,
                                                ws.cell(row=n, column=at_reason).value) for n in range(2, 5)}
        assert set(got) == {r.name for r in BAD}, got
        for r in BAD:
            number, reason = got[r.name]
            assert int(number) == SHEET_ROW[r.name], (r.name, number)
            assert REASONS[r.fault] in reason, (r.name, reason)
        wb.close()

        page.locator("input[name=mode][value=valid]").check()
        page.get_by_role("button", name="确认导入").click()
        expect(page.locator("h1")).to_have_text("导入完成")
        expect(flash).to_contain_text("已导入 7 名团员")
        expect(main).to_contain_text("成功导入 7 条")
        expect(main).to_contain_text("3 行有错误未导入")
        result = page.locator("section.card").first.locator("table.list tbody tr")
        expect(result).to_have_count(7)
        for r in GOOD:
            expect(result.filter(has_text=r.name)).to_contain_text(r.branch)
        shot("03-result")

        # 4. the error workbook, corrected (原行号/错误说明 left in), uploaded and imported
        page.locator("nav.crumbs").get_by_role("link", name="导入团员团干部").click()
        fixed = tmp_path / error_name.replace(".xlsx", "_已改.xlsx")
        _fix_error_workbook(error_book, fixed)
        upload(fixed)
        expect(main).to_contain_text("共 3 行")
        expect(main).to_contain_text("3 行无误")
        expect(main).to_contain_text("新增 3")
        expect(main).to_contain_text("0 行有错误")
        expect(errors).to_have_count(0)
        page.get_by_role("button", name="确认导入").click()
        expect(page.locator("h1")).to_have_text("导入完成")
        expect(flash).to_contain_text("已导入 3 名团员")
        expect(main).to_contain_text("成功导入 3 条")

        # 5. the original file once more: nothing new, the 7 good rows unchanged, and the row whose 发展团员编号 was
        # left empty now keeps the number recorded in step 4 (a blank cell keeps what is stored, issue 25); cancel
        page.locator("nav.crumbs").get_by_role("link", name="导入团员团干部").click()
        upload(original)
        expect(main).to_contain_text("8 行无误（新增 0，更新 0，未变 8）")
        expect(main).to_contain_text("2 行有错误")
        expect(errors).to_have_count(2)
        for r in GOOD + [r for r in BAD if r.fault == "dev"]:
            expect(row_of(r.name)).to_contain_text("未变")
        shot("04-reupload-preview")
        page.get_by_role("button", name="取消这次导入").click()
        expect(page).to_have_url(import_url)
        expect(flash).to_contain_text("已取消这次导入")
        recent = page.locator("table.list tbody tr")
        expect(recent).to_have_count(3)
        expect(recent.nth(0)).to_contain_text("已取消")
        expect(recent.nth(1)).to_contain_text("已导入")
        expect(recent.nth(2)).to_contain_text("已导入")

        # 6. the database: each person once, in the intended branch; the 组织委员 has a post and an account
        with app.app_context():
            for r in ROWS:
                people = db.session.scalars(select(Person).where(Person.id_number == r.id_number)).all()
                assert len(people) == 1, (r.name, people)
                person = people[0]
                assert person.name == r.name
                members = db.session.execute(select(Member, Org).join(Org, Member.org_id == Org.id)
                                             .where(Member.person_id == person.id)).all()
                assert [(o.short_name, m.deleted_at) for m, o in members] == [(r.branch, None)], (r.name, members)
                assert members[0][0].dev_number == r.dev_number
                assert person.join_date == r.join
                posts = db.session.execute(select(CadrePost.position, Org.short_name)
                                           .join(Org, CadrePost.org_id == Org.id)
                                           .where(CadrePost.person_id == person.id,
                                                  CadrePost.ended_at.is_(None))).all()
                account = db.session.scalar(select(Account).where(Account.person_id == person.id))
                if r.position:
                    assert [tuple(p) for p in posts] == [(r.position, r.branch)], (r.name, posts)
                    assert account is not None, f"{r.name} is a cadre and should have an account"
                else:
                    assert posts == [] and account is None, (r.name, posts, account)
            for wrong in (_wrong_check_digit(r.id_number) for r in BAD if r.fault == "check"):
                assert db.session.scalar(select(Person.id).where(Person.id_number == wrong)) is None
            db.session.remove()
        assert _township_member_count(app, town_id) == members_before + 10

        # … and the member list: the total, masked ID numbers
        page.locator("header nav").get_by_role("link", name="组织树").click()
        expect(page).to_have_url(f"{base}/orgs/{town_id}")
        page.locator("p.actions").get_by_role("link", name="团员（全部下级）").click()
        expect(page).to_have_url(f"{base}/members/org/{town_id}")
        expect(main).to_contain_text(f"共 {members_before + 10} 名团员")
        listed = page.locator("#member-table table.list tbody tr")
        expect(listed).to_have_count(members_before + 10)
        for r in ROWS:
            line = listed.filter(has_text=r.name)
            expect(line).to_have_count(1)
            expect(line).to_contain_text(r.branch)
            id_cell = line.locator("td.code")
            expect(id_cell).to_have_text(r.id_number[:6] + "********" + r.id_number[-4:])
            expect(line).not_to_contain_text(r.id_number)
        expect(listed.filter(has_text=ROWS[0].name)).to_contain_text("组织委员")
        shot("05-member-list")

        assert not foreign, f"requests left 127.0.0.1: {foreign}"
        assert not page_errors, page_errors
        assert not console_errors, console_errors
    finally:
        context.close()
        print(f"\n[{mode}] member import journey: {time.monotonic() - started:.1f} s")
