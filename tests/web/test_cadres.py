from datetime import date
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import func, select

from tuanjian.demo import make_id
from tuanjian.models import Account, AuditEntry, CadrePost, Person, PostChange

from ..factories import text_workbook

NEW = make_id(date(1990, 10, 10), 401, True)


def cadre(**over):
    data = {"name": "吴委员", "id_number": NEW, "phone": "13600000000", "ethnicity": "汉族",
            "political_status": "中共党员", "join_date": "2004-05", "position": "组织委员", "title": "",
            "nature": "兼职", "start_month": "2023-09", "party_committee": "否"}
    data.update(over)
    return data


def posts(session, org):
    session.expire_all()
    return session.scalars(select(CadrePost).where(CadrePost.org_id == org.id, CadrePost.ended_at.is_(None))
                           .order_by(CadrePost.id)).all()


def test_add_cadre_creates_person_post_and_account(client, session, login, tree):
    login(tree.school_admin)
    page = client.get(f"/cadres/org/{tree.school.id}").get_data(as_text=True)
    assert "录入团干部" in page and "组织委员" in page and "常委" not in page
    resp = client.post(f"/cadres/org/{tree.school.id}", data=cadre())
    assert resp.status_code == 302
    person = session.scalar(select(Person).where(Person.id_number == NEW))
    post = session.scalar(select(CadrePost).where(CadrePost.person_id == person.id))
    assert ((post.position, post.nature, post.start_month, post.party_committee)
            == ("组织委员", "兼职", "2023-09", False))
    account = session.scalar(select(Account).where(Account.person_id == person.id))
    assert not account.is_claimed
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "吴委员" in page and "初始密码" in page and NEW not in page
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "cadre.add")) is not None


def test_one_person_posts_in_several_orgs(client, session, login, tree):
    login(tree.county_admin)
    client.post(f"/cadres/org/{tree.county.id}", data=cadre(position="委员"))
    client.post(f"/cadres/org/{tree.school.id}", data=cadre(position="副书记"))    # a direct child
    person = session.scalar(select(Person).where(Person.id_number == NEW))
    assert {(p.org_id, p.position) for p in session.scalars(select(CadrePost)
                                                            .where(CadrePost.person_id == person.id))} \
        == {(tree.county.id, "委员"), (tree.school.id, "副书记")}
    assert session.scalar(select(func.count()).select_from(Account).where(Account.person_id == person.id)) == 1


def test_add_cadre_refusals(client, session, login, tree):
    login(tree.school_admin)
    n = len(posts(session, tree.school))
    cases = [({"position": "常委"}, "团内职务只能是"), ({"position": "其他"}, "具体职务名称"),
             ({"nature": ""}, "团干部性质"),
             ({"id_number": "123"}, "18位"), ({"political_status": "无党派"}, "政治面貌"),
             ({"start_month": "2099-01"}, "不能晚于"), ({"join_date": "", "political_status": "共青团员"}, "入团年月")]
    for over, fragment in cases:
        resp = client.post(f"/cadres/org/{tree.school.id}", data=cadre(**over))
        assert resp.status_code == 422 and fragment in resp.get_data(as_text=True), fragment
    assert len(posts(session, tree.school)) == n
    client.post(f"/cadres/org/{tree.school.id}", data=cadre())
    resp = client.post(f"/cadres/org/{tree.school.id}", data=cadre())
    assert resp.status_code == 422 and "已是望江中学团委的组织委员" in resp.get_data(as_text=True)
    resp = client.post(f"/cadres/org/{tree.school.id}", data=cadre(name="别人", position="宣传委员"))
    assert resp.status_code == 422 and "姓名不一致" in resp.get_data(as_text=True)
    # 群众 may leave 入团年月 empty
    other = make_id(date(1988, 1, 1), 402, False)
    assert client.post(f"/cadres/org/{tree.school.id}", data=cadre(id_number=other, name="郑群众",
                       political_status="群众", join_date="", position="其他", title="工作人员")).status_code == 302


def test_grandchild_and_outside_orgs(client, login, tree):
    login(tree.county_admin)
    resp = client.post(f"/cadres/org/{tree.grade.id}", data=cadre())
    assert resp.status_code == 403
    client.post("/auth/logout")
    login(tree.township_admin)
    assert client.get(f"/cadres/org/{tree.school.id}").status_code == 404


def test_change_position_keeps_history(client, session, login, tree):
    login(tree.school_admin)
    client.post(f"/cadres/org/{tree.school.id}", data=cadre())
    post = posts(session, tree.school)[-1]
    resp = client.post(f"/cadres/{post.id}/change", data={"position": "副书记", "changed_on": "2026-03-01"})
    assert resp.status_code == 302
    session.refresh(post)
    assert post.position == "副书记" and post.start_month == "2026-03"
    change = session.scalar(select(PostChange).where(PostChange.post_id == post.id))
    assert (change.from_position, change.to_position, str(change.changed_on)) == ("组织委员", "副书记", "2026-03-01")
    assert change.by_person_id == tree.school_admin.id
    page = client.get(f"/cadres/{post.id}").get_data(as_text=True)
    assert "组织委员" in page and "副书记" in page and "刘校" in page
    assert "组织委员" in client.get(f"/cadres/org/{tree.school.id}").get_data(as_text=True)   # history table
    for data, fragment in [({"position": "副书记", "changed_on": "2026-03-01"}, "相同"),
                           ({"position": "宣传委员", "changed_on": "明天"}, "格式"),
                           ({"position": "宣传委员", "changed_on": "2099-01-01"}, "不能晚于"),
                           ({"position": "常委", "changed_on": "2026-03-01"}, "只能是")]:
        resp = client.post(f"/cadres/{post.id}/change", data=data)
        assert resp.status_code == 422 and fragment in resp.get_data(as_text=True), fragment


def test_end_post_and_admin_refusal(client, session, login, tree):
    login(tree.school_admin)
    client.post(f"/cadres/org/{tree.school.id}", data=cadre())
    post = posts(session, tree.school)[-1]
    resp = client.post(f"/cadres/{post.id}/end", data={"ended_on": "2026-06-30", "reason": "工作调动"})
    assert resp.status_code == 302
    session.refresh(post)
    assert post.ended_at is not None and post.end_reason == "工作调动"
    assert client.post(f"/cadres/{post.id}/end", data={"ended_on": "2026-06-30"}).status_code == 409
    admin_post = session.scalar(select(CadrePost).where(CadrePost.person_id == tree.school_admin.id))
    resp = client.post(f"/cadres/{admin_post.id}/end", data={"ended_on": "2026-06-30"})
    assert resp.status_code == 409 and "是望江中学团委的管理员" in resp.get_data(as_text=True)
    session.refresh(admin_post)
    assert admin_post.ended_at is None


def _cadre_book(rows):
    return text_workbook(["姓名", "身份证号码", "手机号码", "民族", "政治面貌", "入团年月", "职务", "职务名称",
                          "团干部性质", "任现职年月", "是否同级党委成员"], rows, sheet="团干部")

def test_cadre_import(client, session, login, tree):
    login(tree.school_admin)
    resp = client.get(f"/cadres/org/{tree.school.id}/template.xlsx")
    wb = load_workbook(BytesIO(resp.data))
    assert wb["团干部"].column_dimensions["B"].number_format == "@" and "下拉列表" in wb.sheetnames
    ids = [make_id(date(1995, 5, 5), 501 + 2 * i, True) for i in range(3)]
    assert len(set(ids)) == 3
    rows = [("孙一", ids[0], "13500000001", "汉", "共青团员", "2010-05", "副书记", "", "专职", "2024-01", "是"),
            ("孙二", ids[1], "13500000002", "回族", "中共党员", "2010-05", "宣传委员", "", "兼职", "", ""),
            ("孙三", int(ids[2][:17]) * 10, "13500000003", "汉族", "共青团员",
             "2010-05", "组织委员", "", "兼职", "", ""),
            ("孙一", ids[0], "13500000001", "汉族", "共青团员", "2010-05", "副书记", "", "专职", "", "")]
    resp = client.post(f"/cadres/org/{tree.school.id}/import", data={"file": (_cadre_book(rows), "干部.xlsx")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "2 行无误" in page and "被存成了数字" in page and "与第2行重复" in page
    clash = [("周一", ids[0], "13500000001", "汉族", "共青团员", "2010-05", "副书记", "", "专职", "", ""),
             ("周二", ids[0], "13500000001", "汉族", "共青团员", "2010-05", "宣传委员", "", "专职", "", "")]
    resp2 = client.post(f"/cadres/org/{tree.school.id}/import", data={"file": (_cadre_book(clash), "同号.xlsx")},
                        content_type="multipart/form-data")
    assert "身份证号相同，但姓名不同" in client.get(resp2.headers["Location"]).get_data(as_text=True)
    batch_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/cadres/imports/{batch_id}/commit", data={"mode": "all"}).status_code == 409
    assert session.scalar(select(Person).where(Person.name == "孙一")) is None
    resp = client.post(f"/cadres/imports/{batch_id}/commit", data={"mode": "valid"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[-3000:]
    names = {p.person.name: p for p in posts(session, tree.school)}
    assert names["孙一"].nature == "专职" and names["孙一"].party_committee is True
    assert names["孙二"].person.ethnicity == "回族" and "孙三" not in names
    # the same file again creates nothing
    resp = client.post(f"/cadres/org/{tree.school.id}/import", data={"file": (_cadre_book(rows[:2]), "干部.xlsx")},
                       content_type="multipart/form-data")
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "0 行无误" in page
    errors = client.get(f"/cadres/imports/{batch_id}/errors.xlsx")
    ws = load_workbook(BytesIO(errors.data)).active
    assert ws.max_row == 3 and "错误说明" in [c.value for c in ws[1]]


def test_today_is_the_countys_day_not_the_servers_utc_day(client, session, login, tree, monkeypatch):
    """At 03:45 北京时间 the server's UTC date is still yesterday; the rules must use the local day."""
    from datetime import datetime

    import tuanjian.cadres.views as views
    import tuanjian.clock as clock
    from tuanjian.clock import local_date
    fake_now = datetime(2026, 11, 23, 19, 45)          # UTC → 2026-11-24 03:45 in UTC+8
    assert local_date(fake_now).isoformat() == "2026-11-24"
    monkeypatch.setattr(views, "utcnow", lambda: fake_now)
    monkeypatch.setattr(clock, "utcnow", lambda: fake_now)
    login(tree.school_admin)
    client.post(f"/cadres/org/{tree.school.id}", data=cadre())
    post = posts(session, tree.school)[-1]
    assert 'value="2026-11-24"' in client.get(f"/cadres/{post.id}").get_data(as_text=True)
    resp = client.post(f"/cadres/{post.id}/change", data={"position": "副书记", "changed_on": "2026-11-24"})
    assert resp.status_code == 302
    resp = client.post(f"/cadres/{post.id}/end", data={"ended_on": "2026-11-25"})
    assert resp.status_code == 422 and "不能晚于今天" in resp.get_data(as_text=True)
