"""特殊情况录入 (issue 18) through the web, without JavaScript: the offer on the member form, the request with a scan,
the queue and the decision at the county, the member with its exception, the list and its export, the import
preview's row-by-row request, the 智慧团建 remarks, 资料完整率, and bad uploads."""
from __future__ import annotations

import re
from datetime import date
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import func, select

from tuanjian.demo import make_id
from tuanjian.models import AuditEntry, ExceptionRequest, Member, OrgStats, Person

from ..factories import make_admin, text_workbook

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"
YOUNG = make_id(date(2004, 3, 15), 611, True)          # joined 2017-01: 12, where 13 is required


def member(**over):
    return {"name": "李例外", "id_number": YOUNG, "ethnicity": "汉族", "political_status": "共青团员",
            "join_date": "2017-01", "dev_number": "201712345678", "is_cadre": "否", "phone": "13912345678", **over}


def requests_count(session):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(ExceptionRequest))


def request_from_form(client, tree, **extra):
    data = {**member(), "reason": "2017年按当地规定12岁入团，有入团志愿书", "voucher": "华阳镇团委", **extra}
    return client.post(f"/members/org/{tree.village.id}/exception", data=data, content_type="multipart/form-data")


def test_form_offers_the_exception_only_when_only_exceptable_rules_fail(client, login, tree):
    login(tree.branch_admin)
    resp = client.post(f"/members/org/{tree.village.id}/new", data=member())
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "申请特殊情况录入" in page and "入团年龄" in page
    assert 'enctype="multipart/form-data"' in page and 'formaction="/members/org/' in page
    resp = client.post(f"/members/org/{tree.village.id}/new", data=member(ethnicity="火星"))
    assert resp.status_code == 422 and 'id="exception-offer"' not in resp.get_data(as_text=True)
    bad_id = YOUNG[:-1] + ("1" if YOUNG[-1] != "1" else "2")
    resp = client.post(f"/members/org/{tree.village.id}/new", data=member(id_number=bad_id))
    assert resp.status_code == 422 and 'id="exception-offer"' not in resp.get_data(as_text=True)


def test_request_approve_member_list_export_journey(client, session, login, tree):
    login(tree.branch_admin)
    resp = request_from_form(client, tree, scan=(BytesIO(PDF), "说明.pdf"))
    assert resp.status_code == 302, resp.get_data(as_text=True)[-2000:]
    req = session.scalar(select(ExceptionRequest))
    assert req.status == "pending" and req.scan_type == "application/pdf" and req.approver_org_id == tree.county.id
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "待审批" in page and "入团年龄" in page and "批准并录入" not in page          # the branch cannot approve
    assert client.post(f"/members/exceptions/{req.id}/approve", data={"note": ""}).status_code == 403
    assert "李例外" in client.get("/members/exceptions").get_data(as_text=True)         # 我的申请: the status
    assert session.scalar(select(func.count()).select_from(Member)) == 0

    county = login(tree.county_admin)
    queue = county.get("/members/exceptions").get_data(as_text=True)
    assert "待本组织" in queue and "李例外" in queue and YOUNG not in queue
    assert "李例外" not in county.get("/members/exceptions?q=张三&status=").get_data(as_text=True)
    scan = county.get(f"/members/exceptions/{req.id}/scan")
    assert scan.status_code == 200 and scan.data == PDF and scan.mimetype == "application/pdf"
    assert "attachment" in scan.headers["Content-Disposition"] and scan.headers["X-Content-Type-Options"] == "nosniff"
    resp = county.post(f"/members/exceptions/{req.id}/approve", data={"note": "情况属实"})
    assert resp.status_code == 302
    session.expire_all()
    m = session.scalar(select(Member).join(Person, Member.person_id == Person.id).where(Person.id_number == YOUNG))
    assert m.org_id == tree.village.id and m.exception.status == "approved"
    assert m.exception.decided_by_id == tree.county_admin.id
    edit = county.get(f"/members/{m.id}").get_data(as_text=True)
    assert "特殊情况录入：入团年龄" in edit and "王县" in edit
    listing = county.get(f"/progress/org/{tree.county.id}/excepted").get_data(as_text=True)
    assert "李例外" in listing and "2017年按当地规定12岁入团" in listing and YOUNG not in listing
    xlsx = county.get(f"/progress/org/{tree.county.id}/excepted.xlsx")
    ws = load_workbook(BytesIO(xlsx.data)).active
    cells = [str(c.value or "") for r in ws.iter_rows() for c in r]
    assert "李例外" in cells and YOUNG not in cells and any(re.fullmatch(r"\d{6}\*+\d{3}[\dX]", c) for c in cells)
    actions = set(session.scalars(select(AuditEntry.action)))
    assert {"exception.request", "exception.approve", "exception.scan", "export.exceptions_excepted"} <= actions
    # the 智慧团建 export marks the member in its remarks column
    with county.application.test_request_context():
        from flask import url_for
        zhtj_url = url_for("exchange.zhtj", org_id=tree.county.id)
    zhtj = county.get(zhtj_url)
    assert zhtj.status_code == 200
    ws = load_workbook(BytesIO(zhtj.data))["城东村团支部"]
    head = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] == "李例外")
    assert "特殊情况录入（入团年龄）" in row[head.index("备注")] and "王县" in row[head.index("备注")]
    # the branch still edits the member (the excepted rule stays waived), and the edit is audited
    branch = login(tree.branch_admin)
    resp = branch.post(f"/members/{m.id}", data=member(join_date="2016-12", dev_number=""))
    assert resp.status_code == 302, resp.get_data(as_text=True)[-1500:]
    assert session.scalar(select(AuditEntry.summary).where(AuditEntry.action == "exception.edit"))


def test_refusal_is_shown_to_both_sides(client, session, login, tree):
    login(tree.branch_admin)
    request_from_form(client, tree)
    req = session.scalar(select(ExceptionRequest))
    county = login(tree.county_admin)
    assert county.post(f"/members/exceptions/{req.id}/refuse", data={"note": ""}).status_code == 422
    assert county.post(f"/members/exceptions/{req.id}/refuse", data={"note": "请补充说明材料"}).status_code == 302
    branch = login(tree.branch_admin)
    page = branch.get("/members/exceptions?status=refused").get_data(as_text=True)
    assert "已退回" in page and "请补充说明材料" in page


def test_own_request_cannot_be_approved_by_its_requester(client, session, login, tree):
    county = login(tree.county_admin)
    resp = county.post(f"/members/org/{tree.village.id}/exception",
                       data={**member(), "reason": "说明", "voucher": "县团委"}, content_type="multipart/form-data")
    assert resp.status_code == 302
    req = session.scalar(select(ExceptionRequest))
    assert "不能审批自己提交的申请" in county.get(f"/members/exceptions/{req.id}").get_data(as_text=True)
    assert county.post(f"/members/exceptions/{req.id}/approve").status_code == 403
    other = make_admin(session, tree.county, name="李县")
    session.commit()
    second = login(other)
    assert second.post(f"/members/exceptions/{req.id}/approve").status_code == 302


def test_bad_and_oversized_scans_store_nothing(app, client, session, login, tree):
    login(tree.branch_admin)
    for name, data in (("说明.pdf", b"MZ\x90\x00not a pdf"), ("x.png", b"<svg onload=alert(1)>"), ("e.pdf", b"")):
        resp = request_from_form(client, tree, scan=(BytesIO(data), name))
        assert resp.status_code == 422 and "扫描件" in resp.get_data(as_text=True), name
    limit = app.extensions["tuanjian_settings"].exception_scan_max_kb * 1024
    resp = request_from_form(client, tree, scan=(BytesIO(PDF + b"0" * limit), "big.pdf"))
    resp.request.environ["wsgi.input"].close()              # the test client's spooled body
    assert resp.status_code == 422 and "不能超过" in resp.get_data(as_text=True)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    for huge in (PDF + b"0" * 100_000, PDF + b"0" * (5 * 1024 * 1024)):
        resp = request_from_form(client, tree, scan=(BytesIO(huge), "huge.pdf"))
        resp.request.environ["wsgi.input"].close()          # the test client's spooled body, never read
        assert resp.status_code == 413 and "上传的文件太大" in resp.get_data(as_text=True)
    assert requests_count(session) == 0
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "exception.request")) == 0


BAD_SCANS = {
    "windows program": b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64,
    "html": b"<!doctype html><script>alert(1)</script>",
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    "zip / xlsx": b"PK\x03\x04" + b"\x00" * 100,
    "gif": b"GIF89a" + b"\x00" * 20,
    "text renamed .pdf": "这是说明".encode(),
    "truncated png magic": b"\x89PN",
    "empty": b"",
    "random bytes": bytes(range(256)) * 4,
}


def test_malformed_scans_get_a_chinese_4xx_and_store_nothing(client, session, login, tree):
    """Every bad scan, on both request routes (the member form and an import row): 4xx, a Chinese message naming
    the 扫描件, no request, no audit entry."""
    login(tree.branch_admin)
    missing_id = make_id(date(2003, 4, 1), 713, True)
    resp = client.post(f"/members/org/{tree.village.id}/import", data={"file": (text_workbook(
        HEAD, [["乙缺号", missing_id, "汉族", "共青团员", "2019-05", "", "否", "", ""]], sheet="团员"), "团员.xlsx")},
        content_type="multipart/form-data")
    batch_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    for label, data in BAD_SCANS.items():
        for url, form in ((f"/members/org/{tree.village.id}/exception", member()),
                          (f"/members/imports/{batch_id}/row/2/exception", {})):
            resp = client.post(url, data={**form, "reason": "说明", "voucher": "县团委",
                                          "scan": (BytesIO(data), "说明.pdf")},
                               content_type="multipart/form-data")
            assert 400 <= resp.status_code < 500, (label, url, resp.status_code)
            assert "扫描件" in resp.get_data(as_text=True), (label, url)
    assert requests_count(session) == 0
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "exception.request")) == 0


HEAD = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "所在团支部", "是否为团干部", "团内职务", "发展团员编号"]


def test_import_preview_offers_the_exception_row_by_row(client, session, login, tree):
    ok_id, missing_id, bad_id = (make_id(date(2003, 4, 1), n, True) for n in (701, 703, 705))
    rows = [["甲正常", ok_id, "汉族", "共青团员", "2018-05", "", "否", "", "201812345678"],
            ["乙缺号", missing_id, "汉族", "共青团员", "2019-05", "", "否", "", ""],
            ["丙民族", bad_id, "火星", "共青团员", "2019-05", "", "否", "", ""]]
    client = login(tree.branch_admin)
    resp = client.post(f"/members/org/{tree.village.id}/import",
                       data={"file": (text_workbook(HEAD, rows, sheet="团员"), "团员.xlsx")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302
    batch_url = resp.headers["Location"]
    batch_id = int(batch_url.rsplit("/", 1)[1])
    page = client.get(batch_url).get_data(as_text=True)
    assert page.count('/exception"') == 1 and "可申请特殊情况录入：缺少发展团员编号" in page
    assert f"/members/imports/{batch_id}/row/3/exception" in page and "/row/4/exception" not in page
    form = client.get(f"/members/imports/{batch_id}/row/3/exception").get_data(as_text=True)
    assert "缺少发展团员编号" in form and missing_id not in form
    assert client.get(f"/members/imports/{batch_id}/row/4/exception").status_code == 200     # explained, no form
    assert client.post(f"/members/imports/{batch_id}/row/4/exception",
                       data={"reason": "x", "voucher": "y"}, content_type="multipart/form-data").status_code == 422
    resp = client.post(f"/members/imports/{batch_id}/row/3/exception",
                       data={"reason": "2019年支部未发放编号", "voucher": "华阳镇团委",
                             "scan": (BytesIO(b"\x89PNG\r\n\x1a\n" + b"0" * 50), "scan.png")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[-2000:]
    req = session.scalar(select(ExceptionRequest))
    assert req.import_batch_id == batch_id and req.import_row == 3 and req.scan_type == "image/png"
    # the other rows are not held up
    assert client.post(f"/members/imports/{batch_id}/commit", data={"mode": "valid"}).status_code in (200, 302)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Member)) == 1
    county = login(tree.county_admin)
    assert county.post(f"/members/exceptions/{req.id}/approve", data={"note": ""}).status_code == 302
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Member)) == 2
    stats = session.get(OrgStats, tree.village.id)
    assert stats.members == 2 and stats.bad_dev_numbers == 0    # the excepted rule does not count against 完整率
    # the same file again: the excepted member is 未变 (the approved rule stays waived), not an error row
    client = login(tree.branch_admin)
    resp = client.post(f"/members/org/{tree.village.id}/import",
                       data={"file": (text_workbook(HEAD, rows, sheet="团员"), "团员.xlsx")},
                       content_type="multipart/form-data")
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "/row/3/exception" not in page and "2 行无误" in page and "1 行有错误" in page
