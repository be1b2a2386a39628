"""Issue 16.1: a POST after the session idled out (or with a stale CSRF token) never loses the typed form."""
from __future__ import annotations

import json
import re
import time
from datetime import date

import pytest
from sqlalchemy import select

from tuanjian.demo import make_id
from tuanjian.models import Person
from tuanjian.web.stash import Stash, fill_form

from ..conftest import make_app
from ..factories import PASSWORD, make_tree

NEW = make_id(date(2004, 3, 15), 802, True)
HOST = "http://localhost"


@pytest.fixture
def csrf_app(db_kind, tmp_path):
    app = make_app(db_kind, tmp_path, WTF_CSRF_ENABLED=True)
    with app.app_context():
        yield app
        from tuanjian.extensions import db
        db.session.remove()
        db.engine.dispose()


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def _login(client, who, *, next_url=""):
    token = _token(client.get("/auth/login").get_data(as_text=True))
    return client.post("/auth/login", data={"id_number": who.id_number, "password": PASSWORD, "csrf_token": token,
                                            "next": next_url})


def _member_form(**over):
    data = {"name": "王小明", "id_number": NEW, "ethnicity": "汉族", "political_status": "共青团员",
            "join_date": "2019-05",
            "dev_number": "201912345678", "is_cadre": "否", "position": "", "phone": "13912345678",
            "education": "普通本科在读", "occupation": "学生", "workplace": "安庆师范大学（东校区）"}
    data.update(over)
    return data


def _value(page: str, name: str) -> str | None:
    m = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    if not m:
        return None
    v = re.search(r'value="([^"]*)"', m.group(0))
    return v.group(1) if v else ""


def test_expired_session_keeps_the_member_form_through_a_relogin(csrf_app):
    from tuanjian.extensions import db
    tree = make_tree(db.session)
    db.session.commit()
    client = csrf_app.test_client()
    assert _login(client, tree.branch_admin).status_code == 302
    form_url = f"/members/org/{tree.village.id}/new"
    page = client.get(form_url).get_data(as_text=True)
    stale = _token(page)
    # 30 idle minutes later the browser has dropped the session cookie
    client.delete_cookie("tuanjian_session")
    resp = client.post(form_url, data={**_member_form(), "csrf_token": stale},
                       headers={"Origin": HOST, "Referer": HOST + form_url})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 401
    assert "您已 30 分钟未操作，已自动退出，请重新登录" in body
    assert "没有丢失" in body and 'action="/auth/login"' in body
    assert db.session.scalar(select(Person).where(Person.id_number == NEW)) is None    # nothing was saved
    next_url = re.search(r'name="next" type="hidden" value="([^"]+)"', body).group(1).replace("&amp;", "&")
    assert next_url.startswith(form_url + "?restore_form=")
    # the same page's login form: a new token, the normal login view
    resp = client.post("/auth/login", data={"id_number": tree.branch_admin.id_number, "password": PASSWORD,
                                            "csrf_token": _token(body), "next": next_url})
    assert resp.status_code == 302 and resp.headers["Location"] == next_url
    page = client.get(next_url).get_data(as_text=True)
    assert "已填回您退出前填写的内容" in page
    assert _value(page, "name") == "王小明" and _value(page, "id_number") == NEW
    assert _value(page, "workplace") == "安庆师范大学（东校区）" and _value(page, "phone") == "13912345678"
    assert re.search(r'<option value="普通本科在读" selected>', page) or re.search(
        r'<option[^>]*value="普通本科在读"[^>]*selected', page)
    # submitting the filled form saves the member
    resp = client.post(form_url, data={**_member_form(), "csrf_token": _token(page)}, headers={"Origin": HOST})
    assert resp.status_code == 302
    assert db.session.scalar(select(Person).where(Person.id_number == NEW)) is not None
    # the stash is used once
    again = client.get(next_url).get_data(as_text=True)
    assert "已填回" not in again and _value(again, "name") in ("", None)


def test_server_side_idle_timeout_on_post_offers_login_and_keeps_data(client, login, tree, app):
    login(tree.branch_admin)
    form_url = f"/members/org/{tree.village.id}/new"
    client.get(form_url)
    with client.session_transaction() as s:
        s["seen"] = time.time() - 31 * 60
    resp = client.post(form_url, data=_member_form(), headers={"Origin": HOST, "Referer": HOST + form_url})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 401 and "已自动退出" in body and "没有丢失" in body


def test_passwords_and_files_are_not_kept_and_the_page_says_which(client, login, tree, app, session):
    import io
    login(tree.county_admin)
    with client.session_transaction() as s:
        s["seen"] = time.time() - 31 * 60
    url = f"/members/org/{tree.village.id}/import"
    resp = client.post(url, data={"note": "x", "file": (io.BytesIO(b"PK"), "团员名单.xlsx")},
                       content_type="multipart/form-data", headers={"Origin": HOST, "Referer": HOST + url})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 401 and "上传的文件（团员名单.xlsx）没有保存，请重新选择" in body
    from tuanjian.web import stash as stashes
    with app.test_request_context("/auth/password", method="POST", headers={"Origin": HOST},
                                  data={"current": "secret-old", "new": "secret-new", "confirm": "secret-new",
                                        "name": "x"}):
        kept = stashes.save_from_request(tree.county_admin.account.id)
        assert kept is not None and kept.secrets_dropped and "密码没有保存" in kept.reenter_note()
        assert all(n not in ("current", "new", "confirm") for n, _ in kept.fields)
        from tuanjian.models import FormStash
        row = session.scalar(select(FormStash).where(FormStash.token == kept.token))
        raw = json.dumps(row.payload, ensure_ascii=False) + row.page + row.action
        assert "secret-old" not in raw and "secret-new" not in raw and "x" in raw


def test_a_cross_site_post_is_never_stashed(client, login, tree):
    login(tree.branch_admin)
    with client.session_transaction() as s:
        s["seen"] = time.time() - 31 * 60
    form_url = f"/members/org/{tree.village.id}/new"
    resp = client.post(form_url, data=_member_form(), headers={"Origin": "http://evil.example"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 401 and "已自动退出" in body and "没有丢失" not in body
    assert "restore_form" not in body


def test_stale_token_while_still_logged_in_returns_to_the_filled_page(csrf_app):
    from tuanjian.extensions import db
    tree = make_tree(db.session)
    db.session.commit()
    client = csrf_app.test_client()
    _login(client, tree.branch_admin)
    form_url = f"/members/org/{tree.village.id}/new"
    client.get(form_url)
    resp = client.post(form_url, data={**_member_form(), "csrf_token": "stale-token-from-an-older-session"},
                       headers={"Origin": HOST, "Referer": HOST + form_url})
    assert resp.status_code == 302 and "restore_form=" in resp.headers["Location"]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "页面停留太久已过期" in page and _value(page, "name") == "王小明"


def test_stale_login_page_keeps_the_id_number(csrf_app):
    client = csrf_app.test_client()
    resp = client.post("/auth/login", data={"id_number": NEW, "password": "x", "csrf_token": "old"},
                       headers={"Origin": HOST})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "登录页面停留太久已过期" in body and _value(body, "id_number") == NEW


def test_ping_keeps_the_session_alive(client, login, tree):
    assert client.post("/auth/ping").status_code == 401
    login(tree.branch_admin)
    with client.session_transaction() as s:
        s["seen"] = time.time() - 29 * 60
    assert client.post("/auth/ping").status_code == 204
    with client.session_transaction() as s:
        assert time.time() - s["seen"] < 5
    page = client.get(f"/members/org/{tree.village.id}").get_data(as_text=True)
    assert re.search(r'<main id="main"[^>]*data-idle-seconds="1800" data-ping="/auth/ping"', page)


def test_fill_form_fills_only_the_posted_form():
    html = ('<form action="/a"><input name="q" value=""></form>'
            '<form method="post" action="/x/new"><input type="hidden" name="csrf_token" value="T">'
            '<input name="name"><input type="password" name="password" value="">'
            '<input type="checkbox" name="ok" value="1" checked><input type="radio" name="r" value="b">'
            '<select name="s"><option value="">-</option><option value="b">B</option></select>'
            '<textarea name="t">old</textarea></form>')
    stash = Stash(token="t" * 32, action="/x/new", page="/x/new",
                  fields=[("q", "NO"), ("name", 'A "B" <c>'), ("r", "b"), ("s", "b"), ("t", "new & <text>")])
    out, found = fill_form(html, stash, "/x/new")
    assert found
    assert '<input name="q" value="">' in out                        # the other form is untouched
    assert 'value="A &quot;B&quot; &lt;c&gt;"' in out
    assert 'name="csrf_token" value="T"' in out and 'type="password" name="password" value=""' in out
    assert '<input type="checkbox" name="ok" value="1">' in out      # not posted = unticked
    assert '<input type="radio" name="r" value="b" checked>' in out
    assert '<option value="b" selected>' in out and '<option value="">' in out
    assert "<textarea name=\"t\">new &amp; &lt;text&gt;</textarea>" in out


def test_stale_registration_page_comes_back_filled_without_passwords(csrf_app):
    from tuanjian.extensions import db
    tree = make_tree(db.session)
    db.session.commit()
    client = csrf_app.test_client()
    url = f"/register/?org_id={tree.township.id}"
    client.get(url)
    client.delete_cookie("tuanjian_session")                  # the page stood open too long
    resp = client.post("/register/", data={"org_id": tree.township.id, "position": "副书记", "code": "AbCd2345",
                                           "name": "周新", "id_number": NEW, "phone": "13912345678",
                                           "password": "secret-pass-1", "password_confirm": "secret-pass-1",
                                           "csrf_token": "old"},
                       headers={"Origin": HOST, "Referer": HOST + url})
    assert resp.status_code == 302 and "restore_form=" in resp.headers["Location"]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "页面停留太久已过期" in page and "密码没有保存，请重新输入" in page
    assert _value(page, "name") == "周新" and _value(page, "code") == "AbCd2345"
    assert "secret-pass-1" not in page
