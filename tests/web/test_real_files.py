"""Real files in (issue 15): 智慧团建 and provincial labels, value synonyms, .xls from provincial front ends,
multi-sheet workbooks with a 目录, mixed files, unknown columns named, dates as Excel leaves them, identity strings in
full-width forms, Shandong numbers, TUANJIAN_PROVINCE."""
from __future__ import annotations

import json
from datetime import date
from io import BytesIO

from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from tuanjian.demo import make_id
from tuanjian.domain.imports import ImportReport
from tuanjian.models import CadrePost, ImportBatch, Member, Person

from ..factories import append_text_rows, saved
from .test_malformed_uploads import xls

FULL = str.maketrans("0123456789X", "０１２３４５６７８９ｘ")


def ids(n, start=700):
    return [make_id(date(2000, 5, 1 + i % 27), start + 2 * i + 1, True) for i in range(n)]


def workbook(sheets) -> BytesIO:
    """``sheets``: [(name, header, rows)] with strings as text cells, numbers and dates as typed."""
    wb = Workbook()
    wb.remove(wb.active)
    for name, header, rows in sheets:
        ws = wb.create_sheet(name)
        if header is not None:
            ws.append(list(header))
        append_text_rows(ws, rows)
    return saved(wb)


def upload(client, org_id, data, name="团员.xlsx"):
    if isinstance(data, bytes):
        data = BytesIO(data)
    return client.post(f"/members/org/{org_id}/import", data={"file": (data, name)}, content_type="multipart/form-data")


def batch_of(session, resp) -> tuple[ImportBatch, ImportReport]:
    assert resp.status_code == 302, resp.get_data(as_text=True)[-2000:]
    batch = session.get(ImportBatch, int(resp.headers["Location"].rsplit("/", 1)[1]))
    return batch, ImportReport.from_json(batch.report)


# the labels of the national and provincial front ends (DOMAIN.md 3.6), not ours
PROVINCIAL = ["姓名", "身份证号", "民族", "政治面貌", "入团时间", "是否团干部", "现任团内职务", "任现职时间",
              "团干部性质",
              "是否同级党委（支部）成员", "文化程度", "发展团员编号", "手机号", "工作单位", "籍贯", "最高学历"]


def test_provincial_labels_synonyms_and_cadre_columns(client, session, login, tree):
    a, b, c = ids(3)
    rows = [["王　芳", a.translate(FULL), "汉", "团员", "2019-05", "是", "团支部书记", "2023-09", "兼职团干", "是",
             "普通本科", "２０１９ ０００１２３４５", "13900000001", "望江县（城关）小学", "安徽", "硕士"],
            ["阿依古丽•买买提", b, "维吾尔族", "中国共产主义青年团团员", "2016.10", "√", "组织委员", "", "专职", "N",
             "普通高中", "", "", "", "", ""],
            ["李明", c, "汉族", "中国共产党预备党员", "2015-06-01 00:00:00",
             "否", "", "", "", "", "", "", "", "", "", ""]]
    login(tree.branch_admin)
    batch, report = batch_of(session, upload(client, tree.village.id, workbook([("Sheet1", PROVINCIAL, rows)])))
    assert [r.kind for r in report.rows] == ["new", "new", "new"], [r.errors for r in report.rows]
    assert report.meta["unused_columns"] == ["籍贯", "最高学历"]
    page = client.get(f"/members/imports/{batch.id}").get_data(as_text=True)
    assert "以下列未导入：籍贯、最高学历" in page
    assert client.post(f"/members/imports/{batch.id}/commit", data={"mode": "all"}).status_code == 302
    session.expire_all()
    wang = session.scalar(select(Person).where(Person.id_number == a))
    assert wang.name == "王芳" and wang.ethnicity == "汉族" and wang.political_status == "共青团员"
    member = session.scalar(select(Member).where(Member.person_id == wang.id))
    assert member.dev_number == "201900012345" and member.education == "普通本科"
    assert member.workplace == "望江县（城关）小学"          # free text, not an identity string: as typed
    post = session.scalar(select(CadrePost).where(CadrePost.person_id == wang.id))
    assert (post.position, post.start_month, post.nature, post.party_committee) == ("书记", "2023-09", "兼职", True)
    ayi = session.scalar(select(Person).where(Person.id_number == b))
    assert ayi.name == "阿依古丽·买买提" and ayi.join_date == "2016-10"
    post = session.scalar(select(CadrePost).where(CadrePost.person_id == ayi.id))
    assert (post.position, post.nature, post.party_committee) == ("组织委员", "专职", False)
    assert session.scalar(select(Person).where(Person.id_number == c)).political_status == "中共预备党员"
    # the same person typed in ASCII now is the same person: unchanged, not a second person
    login(tree.branch_admin)
    _, again = batch_of(session, upload(client, tree.village.id, workbook([("Sheet1", PROVINCIAL, rows[:1])])))
    assert [r.kind for r in again.rows] == ["unchanged"]


def test_xls_from_a_provincial_front_end_with_numbers_where_excel_put_them(client, session, login, tree):
    """A legacy .xls: 身份证号 as text, 入团年月 as numbers (2016.1 is ambiguous), a date serial left as text."""
    a, b, c, d = ids(4, start=800)
    head = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "是否为团干部", "发展团员编号", "学历"]
    rows = [head,
            ["甲", a, "汉族", "共青团员", 2016.1, "否", "", ""],          # 2016.10 or 2016.01: refused
            ["乙", b, "汉族", "共青团员", 2016.11, "否", "", "初中"],     # unambiguous
            ["丙", c, "汉族", "共青团员", "42156", "否", "", ""],          # 2015-06-01 as a serial in a text cell
            ["丁", d, "汉族", "共青团员", 201509, "否", "", ""]]
    login(tree.branch_admin)
    _, report = batch_of(session, upload(client, tree.village.id, xls(rows, sheet="团员信息"), name="省平台导出.xls"))
    first = report.rows[0]
    assert (first.kind == "error" and "月份不明确" in first.errors["join_date"][0]
            and "2016-10" in first.errors["join_date"][0])
    assert [r.kind for r in report.rows[1:]] == ["new", "new", "new"]
    assert [r.data["join_date"] for r in report.rows[1:]] == ["2016-11", "2015-06", "2015-09"]


def test_every_sheet_is_read_and_errors_keep_their_sheet(client, session, login, tree):
    """Our own export's layout: a 目录, one sheet per branch (所在团支部 may be left empty there), 本级团干部 sheets."""
    a, b, c, d, e = ids(5, start=900)
    head = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "所在团支部", "是否为团干部", "团内现任职务",
            "发展团员编号"]
    index = [["望江 团员团干部"], [], ["工作表", "组织代码", "组织全称", "组织类别", "上级组织"],
             ["城东村", tree.village.code, "城东村团支部", "团支部", "华阳镇团委"],
             ["一班", tree.klass.code, "高一（1）班团支部", "团支部", "高一年级团总支"],
             ["华阳镇团委本级团干部", tree.township.code, "华阳镇团委", "团委", "县团委"]]
    sheets = [("目录", None, index),
              ("城东村", head, [["甲", a, "汉族", "共青团员", "2015-05", "", "否", "", ""],
                               ["乙", b, "汉族", "共青团员", "2015-05", "", "否", "", ""]]),
              ("一班", head, [["丙", c, "汉族", "共青团员", "2015-05", "", "否", "", ""],
                             ["丁", d, "汉族", "群众", "2015-05", "", "否", "", ""],
                             ["乙", b, "汉族", "共青团员", "2015-05", "", "否", "", ""]]),
              ("华阳镇团委本级团干部", head, [["戊", e, "汉族", "中共党员", "2010-05", "", "是", "书记", ""]]),
              ("填写说明", None, [["本表由系统导出"]])]
    login(tree.county_admin)
    batch, report = batch_of(session, upload(client, tree.county.id, workbook(sheets)))
    by = {(r.sheet, r.number): r for r in report.rows}
    assert set(by) == {("城东村", 2), ("城东村", 3), ("一班", 2), ("一班", 3), ("一班", 4)}
    assert by[("城东村", 2)].data["branch_id"] == tree.village.id and by[("一班", 2)].data["branch_id"] == tree.klass.id
    assert "political_status" in by[("一班", 3)].errors
    dup = by[("一班", 4)].errors["id_number"][0]
    assert "工作表“城东村”第3行" in dup and "工作表“一班”第4行" in dup
    assert [n for n, _ in report.meta["skipped_sheets"]] == ["华阳镇团委本级团干部"]
    page = client.get(f"/members/imports/{batch.id}").get_data(as_text=True)
    assert "工作表“华阳镇团委本级团干部”未导入" in page and "团干部" in page
    # the error workbook keeps the sheets
    wb = load_workbook(BytesIO(client.get(f"/members/imports/{batch.id}/errors.xlsx").data))
    assert [n for n in wb.sheetnames if n != "下拉列表"] == ["城东村", "一班"]
    assert [r[0] for r in wb["一班"].iter_rows(min_row=2, values_only=True)] == ["丁", "乙"]


def test_a_mixed_file_is_refused_with_the_sheets_named(client, login, tree):
    a, b = ids(2, start=950)
    member_head = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "是否为团干部"]
    cadre_head = ["姓名", "身份证号码", "手机号码", "民族", "政治面貌", "入团年月", "职务", "职务名称", "团干部性质"]
    data = workbook([("下级团支部团员团干部", member_head, [["甲", a, "汉族", "共青团员", "2015-05", "否"]]),
                     ("本级团干部", cadre_head, [["乙", b, "13900000000", "汉族", "中共党员", "2010-05", "书记", "",
                                                  "兼职"]])])
    login(tree.branch_admin)
    resp = upload(client, tree.village.id, data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "混合了不同类型的表格" in page
    assert "工作表“下级团支部团员团干部”是团员团干部表" in page and "工作表“本级团干部”是本级团干部表" in page
    # the cadre page refuses a member file, naming it
    resp = client.post(f"/cadres/org/{tree.village.id}/import",
                       data={"file": (workbook([("团员", member_head,
                                                 [["甲", a, "汉族", "共青团员", "2015-05", "否"]])]),
                                      "a.xlsx")}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "不是本级团干部表" in resp.get_data(as_text=True)


def test_cli_names_unused_columns_and_sheets(app, tree, tmp_path, session):
    a, b = ids(2, start=600)
    head = ["姓名", "身份证号", "民族", "政治面貌", "入团年月", "是否团干部", "QQ"]
    path = tmp_path / "团员.xlsx"
    path.write_bytes(workbook([("一", head, [["甲", a, "汉族", "共青团员", "2015-05", "否", "12345"]]),
                               ("二", head, [["乙", b, "汉族", "共青团员", 2016.1, "否", ""]])]).getvalue())
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import-members", str(path), "--org", tree.village.code])
    assert result.exit_code == 1 and "以下列未导入：QQ" in result.output
    assert "工作表“二”第2行 [入团年月]" in result.output
    result = runner.invoke(args=["import-members", str(path), "--org", tree.village.code, "--json"])
    doc = json.loads(result.output)
    assert doc["unused_columns"] == ["QQ"] and doc["notices"] == ["以下列未导入：QQ"]
    assert doc["errors"][0]["sheet"] == "二" and doc["errors"][0]["row"] == 2


def test_identity_strings_are_canonical_at_the_forms_login_and_search(client, session, login, tree):
    from ..factories import PASSWORD
    person = tree.branch_admin
    client.post("/auth/logout")
    resp = client.post("/auth/login", data={"id_number": " " + person.id_number.translate(FULL)[:6] + "\u00a0"
                                            + person.id_number.translate(FULL)[6:], "password": PASSWORD})
    assert resp.status_code == 302
    login(tree.county_admin)
    page = client.get("/people/", query_string={"q": person.id_number[-4:].translate(FULL)}).get_data(as_text=True)
    assert person.name in page
    # an org name typed with full-width brackets finds the branch stored with ASCII ones
    page = client.get(f"/orgs/{tree.county.id}", query_string={"q": "高一（1）班"}).get_data(as_text=True)
    assert "高一(1)班团支部" in page


def test_shandong_numbers_and_the_province_setting(app):
    from tuanjian.domain.errors import ValidationFailed
    from tuanjian.domain.members import check_dev_number
    from tuanjian.domain.people import YearMonth
    from tuanjian.domain.settings import Settings
    assert check_dev_number("2015160000000123", YearMonth(2015, 9), required_from_year=2017) == "2015160000000123"
    assert check_dev_number("2016170000000123", YearMonth(2019, 9), required_from_year=2017) == "2016170000000123"
    for bad in ("2015170000000123", "201516000000012"):
        try:
            check_dev_number(bad, YearMonth(2019, 9), required_from_year=2017)
        except ValidationFailed:
            continue
        raise AssertionError(bad)
    xinjiang = Settings.from_mapping({"PROVINCE": "Xinjiang"})
    assert (xinjiang.province, xinjiang.dev_number_required_from_year, xinjiang.join_age_min_before_cutoff) == (
        "xinjiang", 2016, 13)
    assert Settings.from_mapping({"PROVINCE": "xinjiang", "DEV_NUMBER_REQUIRED_FROM_YEAR": "2018"}) \
        .dev_number_required_from_year == 2018
    assert Settings.from_mapping({}).dev_number_required_from_year == 2017
    try:
        Settings.from_mapping({"PROVINCE": "atlantis"})
    except ValueError as exc:
        assert "xinjiang" in str(exc)
    else:
        raise AssertionError("unknown province accepted")


def test_single_sheet_imports_refuse_data_in_two_sheets(client, login, tree):
    """The cadre and org imports read one sheet: two sheets with data are refused, not half read."""
    a, b = ids(2, start=500)
    head = ["姓名", "身份证号码", "手机号码", "民族", "政治面貌", "入团年月", "职务", "职务名称", "团干部性质"]
    data = workbook([("一", head, [["甲", a, "13900000000", "汉族", "中共党员", "2010-05", "书记", "", "兼职"]]),
                     ("二", head, [["乙", b, "13900000001", "汉族", "中共党员", "2010-05", "副书记", "", "兼职"]])])
    login(tree.township_admin)
    resp = client.post(f"/cadres/org/{tree.township.id}/import", data={"file": (data, "a.xlsx")},
                       content_type="multipart/form-data")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "一次只导入一张工作表" in page and "“一”“二”" in page


def test_several_posts_in_one_branch_import_and_update(client, session, login, tree):
    """团内现任职务 "副书记、组织委员" (how our 智慧团建 export writes a person holding two posts in one branch)
    makes two posts; importing it again is unchanged; naming one more adds it, with its history."""
    a, = ids(1, start=900)
    head = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "是否为团干部", "团内现任职务", "任现职年月",
            "团干部性质"]
    row = ["赵一", a, "汉族", "共青团员", "2015-05", "是", "副书记、组织委员", "2024-09", "兼职"]
    login(tree.branch_admin)
    batch, report = batch_of(session, upload(client, tree.village.id, workbook([("Sheet1", head, [row])])))
    assert [r.kind for r in report.rows] == ["new"], [r.errors for r in report.rows]
    assert client.post(f"/members/imports/{batch.id}/commit", data={"mode": "all"}).status_code == 302
    session.expire_all()
    person = session.scalar(select(Person).where(Person.id_number == a))

    def posts():
        return sorted((p.position, p.start_month, p.nature) for p in session.scalars(
            select(CadrePost).where(CadrePost.person_id == person.id, CadrePost.ended_at.is_(None))))
    assert posts() == [("副书记", "2024-09", "兼职"), ("组织委员", "2024-09", "兼职")]
    _, again = batch_of(session, upload(client, tree.village.id, workbook([("Sheet1", head, [row])])))
    assert [r.kind for r in again.rows] == ["unchanged"]
    more = row[:6] + ["副书记、组织委员、宣传委员"] + row[7:]
    batch, third = batch_of(session, upload(client, tree.village.id, workbook([("Sheet1", head, [more])])))
    assert [r.kind for r in third.rows] == ["update"] and "团内" in third.rows[0].note
    assert client.post(f"/members/imports/{batch.id}/commit", data={"mode": "all"}).status_code == 302
    session.expire_all()
    assert {p[0] for p in posts()} == {"副书记", "组织委员", "宣传委员"}
