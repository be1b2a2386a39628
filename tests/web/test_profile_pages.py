"""Issue 9 through the web: 学校标识码 in the org info form and the two school lists, 团员身份摸底 in the member
form, import template and 身份待确认 list, 团青比例 on the progress page, report and export, the self-service
profile (/me) and the upper admin's correction of a name or ID number."""
from __future__ import annotations

from datetime import date
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import func, select

from tuanjian.demo import make_id
from tuanjian.models import AuditEntry, Member, Org, Person

from ..factories import give_account, make_member, make_person, new_id

SEC_ID = make_id(date(1993, 2, 3), 77, True)


def school_form(**over):
    data = {"kind": "committee", "short_name": "望江中学团委", "full_name": "中国共产主义青年团望江中学委员会",
            "industry": "普通高中", "staff_admin_quota": "0", "staff_admin_actual": "0", "staff_inst_quota": "0",
            "staff_inst_actual": "0", "secretary_name": "黄书记", "secretary_id_number": SEC_ID,
            "secretary_phone": "13700000001", "confirmed": "1"}
    data.update(over)
    return data


def workbook_values(resp) -> list:
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(BytesIO(resp.data))
    return [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row]


# ---------------------------------------------------------------- 学校标识码

def test_school_code_entered_validated_and_unique(client, session, login, tree):
    login(tree.county_admin)
    page = client.get(f"/orgs/{tree.school.id}/info").get_data(as_text=True)
    assert "学校标识码" in page and "10位学校标识码" in page
    resp = client.post(f"/orgs/{tree.school.id}/info", data=school_form(school_code="31340012"))
    assert resp.status_code == 422 and "学校标识码应为10位数字，现为8位" in resp.get_data(as_text=True)
    resp = client.post(f"/orgs/{tree.school.id}/info", data=school_form(school_code="3134001234"))
    assert resp.status_code == 302
    session.expire_all()
    assert session.get(Org, tree.school.id).school_code == "3134001234"
    # the same code for another organisation: refused, naming the holder
    resp = client.post(f"/orgs/{tree.sibling.id}/info", data=school_form(
        short_name="高士镇团委", full_name="中国共产主义青年团望江县高士镇委员会", industry="初中",
        school_code="3134001234"))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "已由“中国共产主义青年团望江中学委员会”使用" in body
    session.expire_all()
    assert session.get(Org, tree.sibling.id).school_code is None
    # not a school: no code
    resp = client.post(f"/orgs/{tree.sibling.id}/info", data=school_form(
        short_name="高士镇团委", full_name="中国共产主义青年团望江县高士镇委员会", industry="农村",
        school_code="3134009999"))
    assert resp.status_code == 422 and "只有行业类别为学校" in resp.get_data(as_text=True)


def test_school_lists_on_progress_page_and_export(client, session, login, tree):
    login(tree.county_admin)
    assert client.post(f"/orgs/{tree.school.id}/info", data=school_form()).status_code == 302
    tree.grade.industry = "普通高中"                               # inside the school: not listed itself
    session.commit()
    page = client.get(f"/progress/org/{tree.county.id}").get_data(as_text=True)
    assert "未录入学校标识码的学校" in page and "已录入学校标识码但下无团支部的学校" in page
    listing = client.get(f"/progress/org/{tree.county.id}/exceptions/no_school_code").get_data(as_text=True)
    assert "中国共产主义青年团望江中学委员会" in listing and "共 1 条" in listing and "高一年级团总支" not in listing
    # with a code and its only branch dissolved: the other list
    assert client.post(f"/orgs/{tree.school.id}/info", data=school_form(school_code="1234567890")).status_code == 302
    resp = client.post(f"/orgs/{tree.klass.id}/dissolve", data={"reason": "班级合并"})
    assert resp.status_code in (302, 200)
    session.expire_all()
    assert session.get(Org, tree.klass.id).dissolved_at is not None
    empty = client.get(f"/progress/org/{tree.county.id}/exceptions/no_school_code").get_data(as_text=True)
    assert "没有这类异常" in empty
    values = workbook_values(client.get(f"/progress/org/{tree.county.id}/exceptions/school_no_branch/export.xlsx"))
    assert "中国共产主义青年团望江中学委员会" in values and "1234567890" in values and "学校标识码" in values
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "export.exceptions")) == 1
    report = client.get(f"/progress/org/{tree.county.id}/print").get_data(as_text=True)
    assert "已录入学校标识码但下无团支部的学校" in report                # the report's appendix


def test_school_list_export_is_formula_safe(client, session, login, tree):
    tree.school.industry, tree.school.full_name = "初中", "=HYPERLINK(\"http://x\")望江中学"
    session.commit()
    login(tree.county_admin)
    resp = client.get(f"/progress/org/{tree.county.id}/exceptions/no_school_code/export.xlsx")
    ws = load_workbook(BytesIO(resp.data)).active
    cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("=")]
    assert cells and all(c.data_type == "s" and c.quotePrefix for c in cells)


# ---------------------------------------------------------------- 团员身份摸底

def member_form(**over):
    data = {"name": "王小明", "id_number": make_id(date(2004, 3, 15), 801, True), "ethnicity": "汉族",
            "political_status": "共青团员", "join_date": "2019-05", "dev_number": "201912345678", "is_cadre": "否",
            "position": ""}
    data.update(over)
    return data


def test_member_form_records_evidence_and_shows_status(client, session, login, tree):
    login(tree.township_admin)
    page = client.get(f"/members/org/{tree.village.id}/new").get_data(as_text=True)
    assert "团员身份摸底" in page and "组织关系介绍信" in page and "团籍注册年度" in page
    resp = client.post(f"/members/org/{tree.village.id}/new", data=member_form(has_card="是", card_year="2020"))
    assert resp.status_code == 302
    assert ("身份待确认（2016年及以后入团，须有入团志愿书）"
            in client.get(resp.headers["Location"]).get_data(as_text=True))
    m = session.scalar(select(Member).order_by(Member.id.desc()))
    assert (m.has_application, m.has_card, m.card_year, m.has_letter) == (None, True, 2020, None)
    page = client.get(f"/members/{m.id}").get_data(as_text=True)
    assert "身份待确认" in page and 'value="2020"' in page
    listing = client.get(f"/progress/org/{tree.township.id}/exceptions/unconfirmed").get_data(as_text=True)
    assert "王小明" in listing and "须有入团志愿书" in listing and m.person.id_number not in listing
    resp = client.post(f"/members/{m.id}", data=member_form(has_application="是", has_card="是", card_year="2020"))
    assert resp.status_code == 302
    session.expire_all()
    assert session.get(Member, m.id).has_application is True
    assert "团员身份已确认" in client.get(f"/members/{m.id}").get_data(as_text=True)
    assert "没有这类异常" in client.get(
        f"/progress/org/{tree.township.id}/exceptions/unconfirmed").get_data(as_text=True)
    # bad evidence input: 422 with the reason, nothing saved
    resp = client.post(f"/members/{m.id}", data=member_form(has_application="大概", has_card="否", card_year="2019"))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "只能填“是”或“否”" in body and "没有团员证时不要填写团籍注册年度" in body


def test_import_template_and_upload_carry_evidence(client, session, login, tree):
    from ..factories import text_workbook
    login(tree.township_admin)
    values = workbook_values(client.get(f"/members/org/{tree.township.id}/template.xlsx"))
    for header in ("入团志愿书", "团员证", "团籍注册年度", "组织关系介绍信"):
        assert header in values
    head = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "所在团支部", "是否为团干部", "入团志愿书", "团员证",
            "团籍注册年度", "组织关系介绍信"]
    rows = [["证明甲", new_id(date(2001, 1, 1)), "汉族", "共青团员", "2014-05",
             "城东村团支部", "否", "否", "是", "2018", ""],
            ["证明乙", new_id(date(2001, 1, 2)), "汉族", "共青团员", "2014-05",
             "城东村团支部", "否", "", "是", "18", ""]]
    resp = client.post(f"/members/org/{tree.township.id}/import",
                       data={"file": (text_workbook(head, rows, sheet="团员"), "团员.xlsx")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302
    batch = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "团籍注册年度应为4位年份" in batch and "证明甲" in batch


def test_import_commits_evidence(client, session, login, tree):
    from tuanjian.models import ImportBatch

    from ..factories import text_workbook
    login(tree.township_admin)
    head = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "所在团支部", "是否为团干部", "入团志愿书", "团员证",
            "团籍注册年度", "组织关系介绍信"]
    rows = [["证明甲", new_id(date(2001, 1, 1)), "汉族", "共青团员", "2014-05",
             "城东村团支部", "否", "否", "是", 2018, ""]]
    resp = client.post(f"/members/org/{tree.township.id}/import",
                       data={"file": (text_workbook(head, rows, sheet="团员"), "团员.xlsx")},
                       content_type="multipart/form-data")
    batch_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert session.get(ImportBatch, batch_id) is not None
    from flask import url_for
    with client.application.test_request_context():
        url = url_for("members.commit_batch", batch_id=batch_id)
    assert client.post(url, data={"mode": "all"}).status_code == 302
    person = session.scalar(select(Person).where(Person.name == "证明甲"))
    m = session.scalar(select(Member).where(Member.person_id == person.id))
    assert (m.has_application, m.has_card, m.card_year, m.has_letter) == (False, True, 2018, None)


# ---------------------------------------------------------------- 团青比例

def test_youth_ratio_on_page_report_and_export(client, session, login, tree):
    for i in range(3):
        make_member(session, tree.village, name=f"镇{i}")
    session.commit()
    login(tree.township_admin)
    form = {"kind": "committee", "short_name": "华阳镇团委", "full_name": "中国共产主义青年团望江县华阳镇委员会",
            "industry": "农村", "staff_admin_quota": "0", "staff_admin_actual": "0", "staff_inst_quota": "0",
            "staff_inst_actual": "0", "secretary_name": "黄书记", "secretary_id_number": SEC_ID,
            "secretary_phone": "13700000001", "youth_count": "12", "confirmed": "1"}
    page = client.get(f"/orgs/{tree.township.id}/info").get_data(as_text=True)
    assert "14–28周岁青年数" in page and "团青比例" in page
    assert client.post(f"/orgs/{tree.township.id}/info", data=form).status_code == 302
    login(tree.county_admin)
    page = client.get(f"/progress/org/{tree.county.id}").get_data(as_text=True)
    assert '<th scope="col">团青比例</th>' in page and "25.0%" in page    # 3 members ÷ 12 youth
    report = client.get(f"/progress/org/{tree.county.id}/print").get_data(as_text=True)
    assert "团青比例" in report and "25.0%" in report and "14–28周岁青年数" in report
    values = workbook_values(client.get(f"/progress/org/{tree.county.id}/export.xlsx"))
    assert "团青比例" in values and values.count(0.25) == 2             # the township's row and the totals (a number)
    # without any youth count the column is not shown
    session.get(Org, tree.township.id).youth_count = None
    session.commit()
    assert '<th scope="col">团青比例</th>' not in client.get(f"/progress/org/{tree.county.id}").get_data(as_text=True)


# ---------------------------------------------------------------- 本人信息

def test_profile_shows_posts_and_saves_own_fields(client, session, login, tree):
    login(tree.township_admin)
    page = client.get("/me").get_data(as_text=True)
    assert "个人信息 · 张镇" in page and "华阳镇团委" in page and "副书记" in page and "管理员" in page
    assert tree.township_admin.id_number not in page and tree.township_admin.masked_id in page
    data = {"name": "张镇", "id_number": tree.township_admin.id_number, "phone": "13911112222", "ethnicity": "汉族",
            "political_status": "中共党员", "join_date": "2009-05"}
    resp = client.post("/me", data=data)
    assert resp.status_code == 302
    session.expire_all()
    assert session.get(Person, tree.township_admin.id).phone == "13911112222"
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "profile.update")) is not None
    for key, value in (("name", "张改名"), ("id_number", new_id(date(1990, 1, 1)))):
        resp = client.post("/me", data={**data, key: value})
        assert resp.status_code == 422 and "上级组织管理员更正" in resp.get_data(as_text=True)
    session.expire_all()
    assert session.get(Person, tree.township_admin.id).name == "张镇"
    resp = client.post("/me", data={**data, "phone": "123"})
    assert resp.status_code == 422


def test_profile_for_a_cadre_who_is_not_an_admin(client, session, login, tree):
    person = make_person(session, name="普通干部", phone=None)
    from tuanjian.models import CadrePost
    session.add(CadrePost(person_id=person.id, org_id=tree.sibling.id, position="宣传委员"))
    give_account(session, person)
    session.commit()
    login(person)
    assert "个人信息" in client.get("/").get_data(as_text=True)            # the not-admin page points here
    page = client.get("/me").get_data(as_text=True)
    assert "高士镇团委" in page and "宣传委员" in page and "本人资料待完善" in page
    resp = client.post("/me", data={"name": "普通干部", "id_number": person.id_number, "phone": "13600001111",
                                    "ethnicity": "汉族", "political_status": "群众", "join_date": ""})
    assert resp.status_code == 302
    assert "本人资料已完整" in client.get("/me").get_data(as_text=True)


def test_profile_needs_login(client):
    resp = client.get("/me")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]


def test_upper_admin_corrects_identity(client, session, login, tree):
    target = tree.branch_admin
    login(tree.branch_admin)                       # the person's own branch admin (themself): refused
    assert client.get(f"/people/{target.id}").status_code == 200
    resp = client.post(f"/people/{target.id}/correct", data={"name": "陈正", "id_number": "", "reason": "录错"})
    assert resp.status_code == 403 and "不能更正本人" in resp.get_data(as_text=True)
    login(tree.county_admin)
    page = client.get(f"/people/{target.id}").get_data(as_text=True)
    assert "更正姓名和身份证号码" in page and "更正原因" in page
    resp = client.post(f"/people/{target.id}/correct", data={"name": "陈正", "id_number": "", "reason": ""})
    assert resp.status_code == 422 and "请填写更正原因" in resp.get_data(as_text=True)
    number = new_id(date(1996, 6, 6))
    resp = client.post(f"/people/{target.id}/correct", data={"name": "陈正", "id_number": number,
                                                             "reason": "户籍为陈正"})
    assert resp.status_code == 302
    session.expire_all()
    person = session.get(Person, target.id)
    assert (person.name, person.id_number, person.birth_date) == ("陈正", number, date(1996, 6, 6))
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "person.correct"))
    assert entry is not None and number not in str(entry.after)
    # the new ID number is the login name from now on
    client.post("/auth/logout")
    from ..factories import PASSWORD
    assert client.post("/auth/login", data={"id_number": number, "password": PASSWORD}).status_code == 302
