"""Issue 14, class 7: the smaller auth holes (open redirect, logout, X-Forwarded-For, 修改密码 guessing, login
messages, 提交确认 on a subordinate's behalf, posts outside the viewer's scope)."""
import re
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tuanjian.models import Account, AuditEntry, CadrePost, Campaign, CampaignConfirmation, Throttle, utcnow
from tuanjian.services.accounts import GENERIC_LOGIN_ERROR

from ..conftest import make_app
from ..factories import PASSWORD, make_member


def _login_post(client, number, password, **extra):
    return client.post("/auth/login", data={"id_number": number, "password": password, **extra})


@pytest.mark.parametrize("bad_next", [
    "/%09/evil.example", "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "/x\r\nSet-Cookie: a=b",
    "//evil.example", "/\\evil.example", "\\\\evil.example", "https://evil.example/", "javascript:alert(1)",
    "/ /evil.example", "/\u3000/evil.example", "http:/evil.example", "///evil.example", "evil.example",
])
def test_bad_next_goes_home_never_off_site_never_500(client, tree, bad_next):
    """``next=/%09/evil.example`` used to redirect off-site (browsers drop the tab: //evil.example), a newline
    gave a 500. Whatever ``next`` is, the login lands on a plain local path."""
    resp = _login_post(client, tree.branch_admin.id_number, PASSWORD, next=bad_next)
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith("/") and not location.startswith("//")
    assert "evil" not in location and "\t" not in location and "\n" not in location and "\\" not in location
    # the same with the decoded form a query string carries to the login page
    page = client.get("/auth/login", query_string={"next": bad_next})
    assert page.status_code in (200, 302)


def test_good_next_is_followed(client, tree):
    target = f"/orgs/{tree.village.id}?x=1"
    resp = _login_post(client, tree.branch_admin.id_number, PASSWORD, next=target)
    assert resp.status_code == 302 and resp.headers["Location"] == target


def test_logout_invalidates_a_captured_cookie(app, client, login, tree):
    """A copy of the session cookie taken before logout no longer works after it: logout ends the session on
    the server (session_version), not just in the browser that clicked 退出."""
    login(tree.county_admin)
    assert client.get(f"/orgs/{tree.county.id}").status_code == 200
    with client.session_transaction() as s:
        captured = dict(s)
    thief = app.test_client()
    with thief.session_transaction() as s:
        s.update(captured)
    assert thief.get(f"/orgs/{tree.county.id}").status_code == 200     # the stolen cookie works while logged in
    assert client.post("/auth/logout").status_code == 302
    resp = thief.get(f"/orgs/{tree.county.id}")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]


@pytest.mark.parametrize("setting,expected", [(True, 1), ("true", 1), (1, 1), ("2", 2), (False, 0), ("false", 0),
                                              ("0", 0), (None, 0), ("junk", 0)])
def test_trust_proxy_setting_is_a_count(setting, expected):
    from tuanjian.web.net import trusted_proxy_count
    assert trusted_proxy_count(setting) == expected


def test_rotating_the_leftmost_forwarded_for_entry_does_not_skip_throttles(db_kind, tmp_path, tree, monkeypatch):
    """With one trusted proxy the address is the rightmost X-Forwarded-For entry (what our nginx appended);
    a client that sends its own, ever-changing leftmost entries stays one address for the throttle."""
    from tuanjian.auth import views as auth_views
    from tuanjian.extensions import db
    from tuanjian.models import utcnow
    instant = utcnow()
    # one instant for every attempt: the address's 2-second slowdown must not run out while a loaded machine
    # is still sending the attempts (it once did, and the last attempt was let through)
    monkeypatch.setattr(auth_views, "utcnow", lambda: instant)
    app = make_app(db_kind, tmp_path, TRUST_PROXY=1)
    with app.app_context():
        client = app.test_client()
        for i in range(12):
            client.post("/auth/login", data={"id_number": "110105194912310021", "password": "wrong1234"},
                        headers={"X-Forwarded-For": f"10.9.{i}.{i}, 203.0.113.7"})
        keys = set(db.session.scalars(select(Throttle.key)))
        assert keys == {"login:203.0.113.7"}
        resp = client.post("/auth/login", data={"id_number": "110105194912310021", "password": "wrong1234"},
                           headers={"X-Forwarded-For": "10.99.99.99, 203.0.113.7"})
        assert "登录失败次数过多" in resp.get_data(as_text=True)
        db.session.remove()
        db.engine.dispose()         # this app's own pool: no connection left for the garbage collector


def test_trust_proxy_two_takes_the_second_from_the_right(db_kind, tmp_path):
    app = make_app(db_kind, tmp_path, TRUST_PROXY=2)
    from tuanjian.web.net import client_ip
    with app.test_request_context("/", headers={"X-Forwarded-For": "1.1.1.1, 198.51.100.4, 10.0.0.2"},
                                  environ_base={"REMOTE_ADDR": "10.0.0.3"}):
        assert client_ip() == "198.51.100.4"
    with app.test_request_context("/", headers={"X-Forwarded-For": "198.51.100.4"},
                                  environ_base={"REMOTE_ADDR": "10.0.0.3"}):
        assert client_ip() == "10.0.0.3"          # fewer entries than proxies: the header is not believed
    untrusting = make_app(db_kind, tmp_path)
    with untrusting.test_request_context("/", headers={"X-Forwarded-For": "198.51.100.4"},
                                         environ_base={"REMOTE_ADDR": "10.0.0.3"}):
        assert client_ip() == "10.0.0.3"
    from tuanjian.extensions import db
    for each in (app, untrusting):      # these apps' own pools: no connection left for the garbage collector
        with each.app_context():
            db.engine.dispose()


def test_one_login_failure_message_for_every_cause(client, session, tree):
    """Unknown ID, wrong password and locked account answer the same text and status."""
    unknown = _login_post(client, "110105194912310021", "wrong1234")
    wrong = _login_post(client, tree.county_admin.id_number, "wrong1234")
    for _ in range(5):
        _login_post(client, tree.school_admin.id_number, "wrong1234")
    locked_right = _login_post(client, tree.school_admin.id_number, PASSWORD)
    bodies = []
    for resp in (unknown, wrong, locked_right):
        assert resp.status_code == 401
        body = resp.get_data(as_text=True)
        assert GENERIC_LOGIN_ERROR in body
        # the CSRF token carries a timestamp
        body = re.sub(r"hx-headers='[^']*'|name=\"csrf_token\" value=\"[^\"]*\"", "", body)
        bodies.append(body.replace(tree.county_admin.id_number, "").replace(tree.school_admin.id_number, "")
                      .replace("110105194912310021", ""))
        assert "锁定" not in body.replace(GENERIC_LOGIN_ERROR, "") and "再错" not in body
    assert bodies[0] == bodies[1] == bodies[2]
    account = session.scalar(select(Account).where(Account.person_id == tree.school_admin.id))
    session.refresh(account)
    assert account.locked_until is not None and account.locked_until > utcnow()


def test_wrong_current_passwords_on_change_password_count_and_lock(client, session, login, tree):
    login(tree.township_admin)
    for i in range(4):
        resp = client.post("/auth/password", data={"current": f"guess{i}xx9", "new": "another2026",
                                                   "confirm": "another2026"})
        assert resp.status_code == 422 and "当前密码不正确" in resp.get_data(as_text=True)
    account = session.scalar(select(Account).where(Account.person_id == tree.township_admin.id))
    session.refresh(account)
    assert account.failed_logins == 4
    resp = client.post("/auth/password", data={"current": "guess9xx9", "new": "another2026", "confirm": "another2026"})
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    session.refresh(account)
    assert account.locked_until is not None and account.locked_until > utcnow()
    assert client.get(f"/orgs/{tree.township.id}").status_code == 302        # this session has ended
    assert _login_post(client, tree.township_admin.id_number, PASSWORD).status_code == 401   # and it is locked
    assert session.scalar(select(func.count()).select_from(AuditEntry)
                          .where(AuditEntry.action == "account.locked")) == 1


def test_publisher_cannot_confirm_on_a_subordinates_behalf(client, session, login, tree):
    login(tree.county_admin)
    client.post(f"/progress/org/{tree.county.id}/campaigns",
                data={"name": "年底录入", "deadline": "2099-12-31", "target_branches_done": "100"})
    campaign = session.scalar(select(Campaign))
    for i in range(3):
        make_member(session, tree.village, name=f"达标{'甲乙丙'[i]}")
    session.commit()
    page = client.get(f"/progress/org/{tree.township.id}/campaigns").get_data(as_text=True)
    assert "不能代为确认" in page and "<button type=\"submit\" class=\"primary\">提交确认" not in page
    resp = client.post(f"/progress/org/{tree.township.id}/campaigns/{campaign.id}/confirm")
    assert resp.status_code == 403 and "自己的管理员才能提交确认" in resp.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(CampaignConfirmation)) == 0
    client.post("/auth/logout")
    login(tree.township_admin)
    assert client.post(f"/progress/org/{tree.township.id}/campaigns/{campaign.id}/confirm").status_code == 302
    assert session.scalar(select(func.count()).select_from(CampaignConfirmation)) == 1


def test_member_lists_and_exports_show_only_posts_inside_the_viewers_scope(client, session, login, tree):
    member = make_member(session, tree.village, name="兼职甲")
    session.add(CadrePost(person_id=member.person_id, org_id=tree.village.id, position="组织委员"))
    session.add(CadrePost(person_id=member.person_id, org_id=tree.sibling_branch.id, position="宣传委员"))
    session.commit()
    login(tree.township_admin)
    page = client.get(f"/members/org/{tree.township.id}").get_data(as_text=True)
    assert "兼职甲" in page and "组织委员" in page and "宣传委员" not in page
    printed = client.get(f"/members/org/{tree.township.id}/print").get_data(as_text=True)
    assert "组织委员" in printed and "宣传委员" not in printed
    ws = load_workbook(BytesIO(client.get(f"/members/org/{tree.township.id}/export.xlsx").data)).active
    values = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
    assert "组织委员" in values and not any("宣传委员" in v for v in values)
    client.post("/auth/logout")
    login(tree.county_admin)                     # the county sees both posts
    page = client.get(f"/members/org/{tree.county.id}").get_data(as_text=True)
    assert "组织委员" in page and "宣传委员" in page
