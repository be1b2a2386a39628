from datetime import date

from sqlalchemy import select

from tuanjian.demo import make_id
from tuanjian.models import Account, AuditEntry, CadrePost, Org, Person, PostChange

SEC_ID = make_id(date(1993, 2, 3), 77, True)


def info_form(**over):
    data = {"kind": "committee", "short_name": "华阳镇团委", "full_name": "中国共产主义青年团望江县华阳镇委员会",
            "industry": "农村", "staff_admin_quota": "1", "staff_admin_actual": "1", "staff_inst_quota": "0",
            "staff_inst_actual": "0", "secretary_name": "黄书记", "secretary_id_number": SEC_ID,
            "secretary_phone": "13700000001", "phone": "", "email": ""}
    data.update(over)
    return data


def test_form_marks_required_fields(client, login, tree):
    login(tree.township_admin)
    page = client.get(f"/orgs/{tree.township.id}/info").get_data(as_text=True)
    assert "本级团组织行政编制数" in page and "单位所属行业类别" in page and 'class="required"' in page
    assert "信息未完善" in page
    page = client.get(f"/orgs/{tree.village.id}/info").get_data(as_text=True)
    assert "本级团组织行政编制数" not in page


def test_first_save_asks_for_confirmation_then_locks(client, session, login, tree):
    login(tree.township_admin)
    resp = client.post(f"/orgs/{tree.township.id}/info", data=info_form())
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "请确认" in body and "确认并保存" in body
    session.expire_all()
    assert session.get(Org, tree.township.id).info_locked_at is None            # nothing saved yet
    resp = client.post(f"/orgs/{tree.township.id}/info", data=info_form(confirmed="1"))
    assert resp.status_code == 302
    session.expire_all()
    org = session.get(Org, tree.township.id)
    assert org.info_locked_at is not None and org.full_name == "中国共产主义青年团望江县华阳镇委员会"
    assert org.industry == "农村" and org.staff_admin_actual == 1 and org.staff_inst_quota == 0
    sec = session.scalar(select(Person).where(Person.id_number == SEC_ID))
    assert sec.name == "黄书记" and sec.phone == "13700000001"
    post = session.scalar(select(CadrePost).where(CadrePost.person_id == sec.id))
    assert post.org_id == org.id and post.position == "书记"
    account = session.scalar(select(Account).where(Account.person_id == sec.id))
    assert not account.is_claimed
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "信息已完善" in page and "已锁定" in page and "初始密码" in page
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "org.info"))
    assert entry.after["industry"] == "农村" and SEC_ID not in str(entry.after)


def test_own_admin_cannot_change_locked_fields_but_parent_can(client, session, login, tree):
    login(tree.township_admin)
    client.post(f"/orgs/{tree.township.id}/info", data=info_form(confirmed="1"))
    resp = client.post(f"/orgs/{tree.township.id}/info", data=info_form(full_name="中国共产主义青年团改名委员会"))
    assert resp.status_code == 422 and "已锁定" in resp.get_data(as_text=True)
    # fields that are not locked stay editable, and locked ones not posted keep their values
    data = info_form(staff_admin_actual="0")
    for key in ("short_name", "full_name", "kind", "industry"):
        data.pop(key)
    assert client.post(f"/orgs/{tree.township.id}/info", data=data).status_code == 302
    session.expire_all()
    assert session.get(Org, tree.township.id).staff_admin_actual == 0
    client.post("/auth/logout")
    login(tree.county_admin)
    resp = client.post(f"/orgs/{tree.township.id}/info",
                       data=info_form(full_name="中国共产主义青年团望江县华阳镇委员会（更正）"))
    assert resp.status_code == 302
    session.expire_all()
    assert session.get(Org, tree.township.id).full_name.endswith("(更正)")   # stored in canonical form (issue 15)
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "org.info")
                            .order_by(AuditEntry.id.desc())).first()
    assert "上级组织更正" in entry.summary and entry.before["full_name"] == "中国共产主义青年团望江县华阳镇委员会"


def test_kind_change_must_fit_parent_and_children(client, login, tree):
    login(tree.county_admin)
    # county → 团总支 → 团支部 fits
    resp = client.post(f"/orgs/{tree.township.id}/info", data=info_form(kind="general"))
    assert resp.status_code == 302
    resp = client.post(f"/orgs/{tree.school.id}/info", data=info_form(kind="general", short_name="望江中学团委"))
    assert resp.status_code == 422 and "团总支下不能建立团总支" in resp.get_data(as_text=True)


def test_secretary_name_must_match_existing_person(client, login, tree):
    login(tree.township_admin)
    resp = client.post(f"/orgs/{tree.township.id}/info",
                       data=info_form(secretary_id_number=tree.township_admin.id_number, confirmed="1"))
    assert resp.status_code == 422 and "与填写的书记姓名不一致" in resp.get_data(as_text=True)


def test_admin_as_secretary_keeps_account_and_switches_post(client, session, login, tree):
    login(tree.township_admin)
    resp = client.post(f"/orgs/{tree.township.id}/info",
                       data=info_form(secretary_id_number=tree.township_admin.id_number, secretary_name="张镇",
                                      confirmed="1"))
    assert resp.status_code == 302
    posts = session.scalars(select(CadrePost).where(CadrePost.person_id == tree.township_admin.id)).all()
    assert [p.position for p in posts] == ["书记"]


def test_replacing_secretary_ends_old_post_with_history(client, session, login, tree):
    login(tree.township_admin)
    client.post(f"/orgs/{tree.township.id}/info", data=info_form(confirmed="1"))
    new_id = make_id(date(1994, 4, 4), 88, False)
    resp = client.post(f"/orgs/{tree.township.id}/info",
                       data=info_form(secretary_id_number=new_id, secretary_name="林新书记"))
    assert resp.status_code == 302
    old = session.scalar(select(CadrePost).join(Person).where(Person.id_number == SEC_ID))
    assert old.ended_at is not None and old.end_reason == "书记变更"
    change = session.scalar(select(PostChange).where(PostChange.post_id == old.id))
    assert change.from_position == "书记" and change.to_position is None


def test_secretary_who_is_admin_cannot_be_replaced_silently(client, session, login, tree):
    login(tree.township_admin)
    client.post(f"/orgs/{tree.township.id}/info",
                data=info_form(secretary_id_number=tree.township_admin.id_number, secretary_name="张镇", confirmed="1"))
    resp = client.post(f"/orgs/{tree.township.id}/info", data=info_form())
    assert resp.status_code == 422 and "是本组织管理员" in resp.get_data(as_text=True)


def test_bad_input_saves_nothing(client, session, login, tree):
    login(tree.township_admin)
    resp = client.post(f"/orgs/{tree.township.id}/info",
                       data=info_form(staff_admin_quota="", secretary_id_number="123", secretary_phone="1",
                                      confirmed="1"))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "没有请填 0" in body and "18位" in body and "11位" in body
    session.expire_all()
    assert session.get(Org, tree.township.id).info_locked_at is None


def test_info_page_out_of_scope(client, login, tree):
    login(tree.township_admin)
    assert client.get(f"/orgs/{tree.sibling.id}/info").status_code == 404
    assert client.post(f"/orgs/{tree.county.id}/info", data=info_form()).status_code == 404
