"""Issue 14, classes 1-4 and the audit point, each reproduced as the issue's attacker tried it."""
from __future__ import annotations

import io
import re
from datetime import date

from sqlalchemy import func, select

from tuanjian.demo import make_id
from tuanjian.domain import exchange as fmt
from tuanjian.models import AuditEntry, CadrePost, ExchangeLink, Person, ResetCode, utcnow
from tuanjian.services import exchange
from tuanjian.services.actor import Actor

from ..factories import give_account, make_cadre, make_member, text_workbook
from .test_person_matrix import CADRE_HEAD, MEMBER_HEAD

KEY = "ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2"


def _cadre(name, id_number, phone="13600000009", ethnicity="汉族"):
    return {"name": name, "id_number": id_number, "phone": phone, "ethnicity": ethnicity,
            "political_status": "中共党员", "join_date": "2015-05", "position": "组织委员", "title": "",
            "nature": "兼职", "start_month": "2023-09", "party_committee": "否"}


def _person(session, person_id):
    session.expire_all()
    p = session.get(Person, person_id)
    return p.name, p.phone, p.ethnicity, p.political_status


# ---------------------------------------------------------------- class 1: name oracle

def test_class1_an_import_of_many_generated_ids_names_nobody(client, session, login, tree):
    """A branch admin uploads generated ID numbers, among them people of a sibling township and of the county."""
    sibling = make_member(session, tree.sibling_branch, name="邻镇甲").person
    county = make_cadre(session, tree.county, name="县委乙").person
    session.commit()
    generated = [make_id(date(2003, 1 + i % 12, 1 + i % 27), 101 + 2 * i, True) for i in range(60)]
    numbers = generated[:30] + [sibling.id_number] + generated[30:] + [county.id_number]
    rows = [["某人", n, "汉族", "共青团员", "2016-10", "", "否", "", "", "13900000000", "", "", ""] for n in numbers]
    login(tree.branch_admin)
    resp = client.post(f"/members/org/{tree.village.id}/import",
                       data={"file": (text_workbook(MEMBER_HEAD, rows, sheet="团员"), "名单.xlsx")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302
    batch = resp.headers["Location"]
    pages = client.get(batch).get_data(as_text=True)
    errors = client.get(batch + "/errors.xlsx")
    from openpyxl import load_workbook
    workbook = "\n".join(str(v) for r in load_workbook(io.BytesIO(errors.data)).active.iter_rows(values_only=True)
                         for v in r if v is not None)
    for text in (pages, workbook):
        assert "邻镇甲" not in text and "县委乙" not in text
        assert "高士" not in text and "共青团测试县委员会" not in text
    assert workbook.count("该身份证号已在其他组织登记") == 2


def test_class1_single_entries_answer_one_message_whatever_the_name(client, session, login, tree):
    victim = make_member(session, tree.sibling_branch, name="邻镇甲").person
    session.commit()
    login(tree.township_admin)
    for name in ("邻镇甲", "张三"):
        page = client.post(f"/cadres/org/{tree.township.id}",
                           data=_cadre(name, victim.id_number)).get_data(as_text=True)
        assert "该身份证号已在其他组织登记" in page and "高士" not in page
        assert "邻镇甲" not in page or name == "邻镇甲"


# ---------------------------------------------------------------- class 2: cross-scope overwrite

def test_class2_no_entry_overwrites_a_person_outside_reach(client, session, login, tree):
    """A sibling township's admin enters the county 副书记 (correct name, new phone and 民族) by cadre entry,
    member entry and cadre import: nothing changes, and the person never shows in the attacker's search."""
    victim = make_cadre(session, tree.county, name="县副书记").person
    victim.phone = "13811110000"
    session.commit()
    before = _person(session, victim.id)
    login(tree.sibling_admin)
    client.post(f"/cadres/org/{tree.sibling.id}", data=_cadre("县副书记", victim.id_number, "13000000000", "回族"))
    client.post(f"/members/org/{tree.sibling_branch.id}/new",
                data={"name": "县副书记", "id_number": victim.id_number, "ethnicity": "回族",
                      "political_status": "共青团员",
                      "join_date": "2015-05", "dev_number": "", "is_cadre": "否", "position": "",
                      "phone": "13000000000", "education": "", "occupation": "", "workplace": ""})
    book = text_workbook(CADRE_HEAD, [["县副书记", victim.id_number, "13000000000", "回族", "中共党员", "2015-05",
                                       "组织委员", "", "兼职", "2023-09", "否"]], sheet="团干部")
    resp = client.post(f"/cadres/org/{tree.sibling.id}/import", data={"file": (book, "干部.xlsx")},
                       content_type="multipart/form-data")
    client.post(resp.headers["Location"] + "/commit", data={"mode": "valid"})
    assert _person(session, victim.id) == before
    assert not session.scalars(select(CadrePost).where(CadrePost.person_id == victim.id,
                                                       CadrePost.org_id != tree.county.id)).all()
    page = client.get("/people/", query_string={"q": victim.id_number}).get_data(as_text=True)
    assert "县副书记" not in page
    assert client.get(f"/people/{victim.id}").status_code == 404


def test_class2_member_edit_keeps_shared_fields_of_a_person_also_held_outside(client, session, login, tree):
    """A member of the township's branch who is also a cadre of the sibling township: the township may edit the
    membership, not the person's phone."""
    member = make_member(session, tree.village, name="两边人")
    member.person.phone = "13800001111"
    session.add(CadrePost(person_id=member.person_id, org_id=tree.sibling.id, position="委员"))
    session.commit()
    login(tree.township_admin)
    form = {"ethnicity": member.person.ethnicity or "汉族", "political_status": member.person.political_status,
            "join_date": "2015-05", "dev_number": "", "is_cadre": "否", "position": "", "phone": "13000000000",
            "education": "普通高中在读", "occupation": "学生", "workplace": "", "name": "两边人",
            "id_number": member.person.id_number}
    resp = client.post(f"/members/{member.id}", data=form)
    assert resp.status_code == 422 and "共同上级组织" in resp.get_data(as_text=True)
    assert _person(session, member.person_id)[1] == "13800001111"


# ---------------------------------------------------------------- class 3: account takeover

def test_class3_entering_a_siblings_cadre_does_not_lead_to_a_reset_code(client, session, login, tree):
    victim = make_cadre(session, tree.sibling, name="邻镇书记", position="书记").person
    give_account(session, victim)
    session.commit()
    login(tree.township_admin)
    # step 1 of the attack: enter the sibling's cadre in the own org by ID number
    resp = client.post(f"/cadres/org/{tree.township.id}", data=_cadre("邻镇书记", victim.id_number))
    assert resp.status_code in (409, 422)
    assert client.get(f"/people/{victim.id}").status_code == 404
    assert client.post(f"/people/{victim.id}/reset-code").status_code == 404
    # even when the person does hold a post here (entered by the county, say), the outside place keeps the
    # township from handing out a reset code
    session.add(CadrePost(person_id=victim.id, org_id=tree.township.id, position="委员"))
    session.commit()
    page = client.get(f"/people/{victim.id}").get_data(as_text=True)
    assert "管理范围以外" in page and "生成重置密码验证码</button>" not in page
    assert client.post(f"/people/{victim.id}/reset-code").status_code == 403
    assert session.scalar(select(func.count()).select_from(ResetCode).where(ResetCode.person_id == victim.id)) == 0
    # the county, whose reach covers both places, may
    other = client.application.test_client()
    login(tree.county_admin, c=other)
    assert other.post(f"/people/{victim.id}/reset-code").status_code == 302


# ---------------------------------------------------------------- class 4: 上报文件

def test_class4_a_township_cannot_set_its_own_key_in_the_county_instance(client, session, login, tree):
    login(tree.township_admin)
    page = client.get(f"/exchange/org/{tree.township.id}").get_data(as_text=True)
    assert "交换密钥只能由上级组织的管理员设置" in page and 'name="key"' not in page
    assert client.post(f"/exchange/org/{tree.township.id}/key", data={"key": KEY}).status_code == 403
    assert client.post(f"/exchange/org/{tree.village.id}/key", data={"key": KEY}).status_code == 200
    assert session.scalar(select(ExchangeLink).where(ExchangeLink.root_code == tree.township.code)) is None


def test_class4_the_root_admin_sets_the_roots_key_in_its_own_instance(client, session, login, tree):
    login(tree.county_admin)
    assert client.post(f"/exchange/org/{tree.county.id}/key", data={"key": KEY}).status_code == 200


def test_class4_a_resigned_package_cannot_overwrite_a_person_outside_its_subtree(client, session, login, tree):
    """The township holds its branch's key and re-signs a package of the branch that lists the county admin (with
    a post in the branch) under a new name and phone. Nothing is applied, and no org outside the importer's scope
    is named."""
    victim = tree.county_admin
    before = _person(session, victim.id)
    login(tree.township_admin)
    client.post(f"/exchange/org/{tree.village.id}/key", data={"key": KEY})
    session.add(CadrePost(person_id=victim.id, org_id=tree.village.id, position="委员"))
    victim.name, victim.phone = "被改名", "13999999999"
    session.flush()
    data, _ = exchange.export_package(session, Actor.system(), tree.village, now=utcnow(), key=KEY)
    session.rollback()
    assert _person(session, victim.id) == before
    entries = session.scalar(select(func.count()).select_from(AuditEntry))
    resp = client.post(f"/exchange/org/{tree.township.id}/upload", data={"file": (io.BytesIO(data), "上报文件.zip")},
                       content_type="multipart/form-data")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "没有导入任何数据" in body and "不能修改其个人信息" in body
    assert "被改名" not in body and "王县" not in body
    assert not re.search(re.escape(tree.county.code) + r"(?![.\d])", body) and "共青团测试县委员会" not in body
    assert _person(session, victim.id) == before
    assert not session.scalars(select(CadrePost).where(CadrePost.person_id == victim.id,
                                                       CadrePost.org_id == tree.village.id)).all()
    assert fmt.within(tree.village.code, tree.township.code)
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == entries


def test_class4_a_member_held_outside_the_package_is_refused_without_naming_the_branch(client, session, login, tree):
    outsider = make_member(session, tree.sibling_branch, name="邻镇团员")
    session.commit()
    login(tree.county_admin)
    client.post(f"/exchange/org/{tree.village.id}/key", data={"key": KEY})
    from tuanjian.models import Member
    session.execute(Member.__table__.update().where(Member.id == outsider.id).values(org_id=tree.village.id))
    session.flush()
    data, _ = exchange.export_package(session, Actor.system(), tree.village, now=utcnow(), key=KEY)
    session.rollback()
    login(tree.township_admin)
    resp = client.post(f"/exchange/org/{tree.township.id}/upload", data={"file": (io.BytesIO(data), "上报文件.zip")},
                       content_type="multipart/form-data")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "上报单位以外的团支部的团员" in body
    assert tree.sibling_branch.code not in body and "高士" not in body and "邻镇团员" not in body


# ---------------------------------------------------------------- audit

def test_audit_a_write_is_seen_by_every_org_where_the_person_holds_a_place(client, session, login, tree):
    """The county edits a member of the township's branch who is also a cadre of the sibling township: the
    sibling township's admins see the entry, without the township's org named in its 组织 column."""
    member = make_member(session, tree.village, name="两边人")
    session.add(CadrePost(person_id=member.person_id, org_id=tree.sibling.id, position="委员"))
    session.commit()
    login(tree.county_admin)
    form = {"ethnicity": "汉族", "political_status": member.person.political_status, "join_date": "2015-05",
            "dev_number": "", "is_cadre": "否", "position": "", "phone": "13000000000",
            "education": "普通高中在读", "occupation": "学生", "workplace": "", "name": "两边人",
            "id_number": member.person.id_number}
    assert client.post(f"/members/{member.id}", data=form).status_code == 302
    other = client.application.test_client()
    login(tree.sibling_admin, c=other)
    page = other.get("/audit/", query_string={"action": "member.update"}).get_data(as_text=True)
    assert "修改团员信息：两边人" in page and "（其他组织）" in page
    # an admin where the person holds no place does not see it
    third = client.application.test_client()
    login(tree.school_admin, c=third)
    assert "两边人" not in third.get("/audit/", query_string={"action": "member.update"}).get_data(as_text=True)


def test_class4_the_command_line_operator_may_set_any_key(session, tree):
    from tuanjian.domain.errors import NotAllowed
    exchange.set_key(session, Actor.system("命令行"), tree.township, KEY, now=utcnow())
    township_admin = Actor(person_id=tree.township_admin.id, name="张镇", org_id=tree.township.id,
                           scope_code=tree.township.code)
    import pytest
    with pytest.raises(NotAllowed):
        exchange.set_key(session, township_admin, tree.township, KEY, now=utcnow())


def test_transfer_list_and_log_name_no_org_outside_the_viewers_scope(client, session, login, tree):
    """The transfer flow keeps working across subtrees; the requesting branch sees neither the holder's branch nor
    who decided."""
    held = make_member(session, tree.sibling_branch, name="流动青年")
    session.commit()
    login(tree.branch_admin)
    resp = client.post(f"/members/org/{tree.village.id}/transfer",
                       data={"id_number": held.person.id_number, "name": "流动青年", "reason": "就业"})
    assert resp.status_code == 302
    other = client.application.test_client()
    login(tree.sibling_admin, c=other)
    page = other.get("/members/transfers").get_data(as_text=True)
    assert "流动青年" in page and "高士村团支部" in page and "（其他组织）" in page and "城东村团支部" not in page
    from tuanjian.models import TransferRequest
    req = session.scalar(select(TransferRequest))
    assert other.post(f"/members/transfers/{req.id}/accept").status_code == 302
    page = client.get("/members/transfers").get_data(as_text=True)
    assert "流动青年" in page and "高士" not in page and "赵邻" not in page
    page = client.get("/audit/").get_data(as_text=True)      # who acted stays visible in the log: accountability
    assert "流动青年" in page and "高士" not in page
    session.expire_all()
    assert session.get(type(held), held.id).org_id == tree.village.id


def test_issue24_a_grant_for_a_person_held_elsewhere_is_refused_on_the_admins_page(client, session, login, tree):
    """Places follow the person rule (issue 24): 设为管理员 of a township cadre who is also a member of a sibling
    township's branch is refused with the one answer (4xx, nothing written, the other branch not named)."""
    from tuanjian.domain import policy
    from tuanjian.models import AdminGrant
    member = make_member(session, tree.sibling_branch, name="两处人")
    post = CadrePost(person_id=member.person_id, org_id=tree.township.id, position="委员")
    session.add(post)
    session.commit()
    login(tree.township_admin)
    resp = client.post(f"/orgs/{tree.township.id}/admins", data={"post_id": str(post.id)})
    body = resp.get_data(as_text=True)
    assert 400 <= resp.status_code < 500
    assert policy.HELD_ELSEWHERE_ADMIN in body
    assert tree.sibling_branch.short_name not in body
    session.rollback()
    assert session.scalar(select(func.count()).select_from(AdminGrant).where(
        AdminGrant.person_id == member.person_id)) == 0
