"""特殊情况录入 (issue 18) in a real browser, JavaScript on and off: a 团支部 admin uploads a member file, asks for an
exception on the one row that lacks its 发展团员编号 (with a scanned 说明) and imports the other row; the 县团委
admin approves it from the queue; the member shows with the exception; the 特殊情况录入 list exports with masked IDs."""
from __future__ import annotations

import re
from datetime import date

import openpyxl
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tuanjian.demo import make_id
from tuanjian.extensions import db
from tuanjian.models import ExceptionRequest, Member, Person

from ..conftest import DB_KINDS, PG_URL
from .conftest import LiveServer, WatchedPage, log_in

pytestmark = pytest.mark.e2e

HEADERS = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "是否为团干部", "发展团员编号"]
GOOD_ID, EXCEPTED_ID = make_id(date(2003, 4, 9), 971, True), make_id(date(2003, 5, 21), 982, False)
ROWS = [["柯正常", GOOD_ID, "汉族", "共青团员", "2018-05", "否", "201800000971"],
        ["罗例外", EXCEPTED_ID, "汉族", "共青团员", "2019-05", "否", ""]]
REASON = "2019年入团时所在支部未发放发展团员编号，有入团志愿书为证"


@pytest.fixture(params=DB_KINDS)
def server(request, tmp_path):
    """The e2e live server (tests/e2e/conftest.py) on SQLite, and on PostgreSQL when TUANJIAN_TEST_DATABASE_URL is set
    (the schema is rebuilt there, as the suite's first PostgreSQL test does)."""
    import threading

    from sqlalchemy import text
    from werkzeug.serving import make_server

    from tuanjian import create_app
    from tuanjian.config import normalise_database_url
    from tuanjian.demo import seed_demo
    from tuanjian.models import utcnow

    from .. import conftest as root_conftest
    uri = (f"sqlite:///{tmp_path}/e2e.sqlite3" if request.param == "sqlite" else normalise_database_url(PG_URL))
    app = create_app({"TESTING": True, "SECRET_KEY": "e2e-secret-key", "SQLALCHEMY_DATABASE_URI": uri})
    with app.app_context():
        if request.param != "sqlite":
            db.drop_all()
            with db.engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
            root_conftest._pg_schema_ready = False          # the next PostgreSQL test rebuilds the schema again
        db.create_all()
        logins = seed_demo(db.session, app.extensions["tuanjian_settings"], utcnow())
        db.session.commit()
        db.session.remove()
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, name="e2e-exception-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{srv.server_port}", app=app, logins=logins)
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_exception_from_import_preview_to_export(browser, server, tmp_path, js):
    live_server = server
    base, app = live_server.url, live_server.app
    branch_admin, county_admin = live_server.login_for("团支部管理员"), live_server.login_for("县团委管理员")
    branch_id, county_id = live_server.org_id(branch_admin.org), live_server.org_id(county_admin.org)
    book = tmp_path / "团员名单.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "团员"
    ws.append(HEADERS)
    for row in ROWS:
        ws.append(row)
    wb.save(book)
    scan = tmp_path / "说明.pdf"
    scan.write_bytes(b"%PDF-1.4\n% scanned explanation\n%%EOF\n")

    watched = WatchedPage(browser, base, js)
    page = watched.page
    try:
        log_in(page, base, branch_admin, wait=f"{base}/members/org/{branch_id}")
        page.goto(f"{base}/members/org/{branch_id}/import")
        page.set_input_files("input[name=file]", str(book))
        page.get_by_role("button", name="上传并预览").click()
        expect(page.locator("h1")).to_have_text(f"导入预览：{book.name}")
        row = page.locator("table.list tbody tr").filter(has_text="罗例外")
        expect(row).to_contain_text("可申请特殊情况录入：缺少发展团员编号")
        row.get_by_role("link", name="申请特殊情况录入").click()
        expect(page.locator("h1")).to_contain_text("申请特殊情况录入")
        expect(page.locator("main")).not_to_contain_text(EXCEPTED_ID)          # the ID number is masked
        page.fill("textarea[name=reason]", REASON)
        page.fill("input[name=voucher]", "华阳镇团委")
        page.set_input_files("input[name=scan]", str(scan))
        page.get_by_role("button", name="提交申请").click()
        expect(page.locator("#flash")).to_contain_text("已提交第3行 罗例外 的特殊情况录入申请")
        # the other row is not held up
        page.get_by_role("button", name="确认导入").click()
        expect(page.locator("h1")).to_have_text("导入完成")
        page.goto(f"{base}/members/exceptions")
        expect(page.locator("#exception-table")).to_contain_text("待审批")
    finally:
        watched.context.close()

    watched = WatchedPage(browser, base, js)
    page = watched.page
    try:
        log_in(page, base, county_admin, wait=re.compile(r"/progress/org/\d+"))
        page.goto(f"{base}/members/exceptions")
        expect(page.locator("main")).to_contain_text("待本组织")
        page.locator("#exception-table tr").filter(has_text="罗例外").get_by_role("link", name="审批").click()
        expect(page.locator("main")).to_contain_text(REASON)
        page.fill("input#approve-note", "情况属实")
        page.get_by_role("button", name="批准并录入").click()
        expect(page.locator("#flash")).to_contain_text("已批准，罗例外 已录入")
        page.goto(f"{base}/progress/org/{county_id}")
        page.locator("ul.exceptions").get_by_role("link", name="特殊情况录入").click()
        table = page.locator("#excepted-table")
        expect(table).to_contain_text("罗例外")
        expect(table).to_contain_text(REASON)
        expect(table).not_to_contain_text(EXCEPTED_ID)
        with page.expect_download() as info:
            page.get_by_role("link", name="导出 Excel").click()
        path = tmp_path / "excepted.xlsx"
        info.value.save_as(path)
        cells = [str(c) for r in openpyxl.load_workbook(path).active.iter_rows(values_only=True) for c in r if c]
        assert "罗例外" in cells and REASON in cells and EXCEPTED_ID not in cells
        table.get_by_role("link", name="罗例外").click()
        expect(page.locator("main")).to_contain_text("特殊情况录入：缺少发展团员编号")
        assert watched.foreign == [] and watched.page_errors == []
    finally:
        watched.context.close()

    with app.app_context():
        member = db.session.scalar(select(Member).join(Person, Member.person_id == Person.id)
                                   .where(Person.id_number == EXCEPTED_ID))
        assert member is not None and member.org_id == branch_id and member.dev_number is None
        req = db.session.get(ExceptionRequest, member.exception_id)
        assert req.status == "approved" and req.import_row == 3 and req.scan_type == "application/pdf"
        assert db.session.scalar(select(Member.id).join(Person, Member.person_id == Person.id)
                                 .where(Person.id_number == GOOD_ID)) is not None
        db.session.remove()


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_exception_from_the_member_form(browser, server, tmp_path, js):
    """Single entry: the form refuses a member who joined at 12 after the cutoff, offers 申请特殊情况录入, and the
    request (with a scan) lands on its page, 待审批."""
    base = server.url
    branch_admin = server.login_for("团支部管理员")
    branch_id = server.org_id(branch_admin.org)
    scan = tmp_path / "说明.png"
    scan.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    young = make_id(date(2004, 3, 15), 997, True)
    watched = WatchedPage(browser, base, js)
    page = watched.page
    try:
        log_in(page, base, branch_admin, wait=f"{base}/members/org/{branch_id}")
        page.goto(f"{base}/members/org/{branch_id}/new")
        page.fill("input[name=name]", "单例外")
        page.fill("input[name=id_number]", young)
        page.select_option("select[name=ethnicity]", "汉族")
        page.select_option("select[name=political_status]", "共青团员")
        page.fill("input[name=join_date]", "2017-01")
        page.fill("input[name=dev_number]", "201712345678")
        page.get_by_role("button", name="保存").click()
        offer = page.locator("fieldset#exception-offer")
        expect(offer).to_contain_text("入团年龄")
        page.fill("textarea[name=reason]", "按当时当地规定12岁入团")
        page.fill("input[name=voucher]", "华阳镇团委")
        page.set_input_files("input[name=scan]", str(scan))
        offer.get_by_role("button", name="申请特殊情况录入").click()
        expect(page.locator("h1")).to_have_text("特殊情况录入申请：单例外")
        expect(page.locator("main")).to_contain_text("待审批")
        expect(page.locator("main")).to_contain_text("PNG")
        assert watched.foreign == [] and watched.page_errors == []
    finally:
        watched.context.close()
