"""Issue 14 class 8, issue 24 "Unclaimed accounts", issue 26 point 4: an account still on the default password
(last 8 of the ID number) is unclaimed and needs a one-time 首次登录验证码 as well, admin or not; the code works
again until the new password is saved."""
from datetime import timedelta

from sqlalchemy import func, select

from tuanjian.domain.firstlogin import needs_first_login_code
from tuanjian.models import Account, AdminGrant, AuditEntry, CadrePost, FirstLoginCode, utcnow
from tuanjian.services.accounts import GENERIC_LOGIN_ERROR, ensure_account

from ..factories import first_login_code, make_admin, make_cadre


def _grant(client, session, login, tree, name="新管"):
    """The township admin makes a cadre without an account its admin; returns (person, code text)."""
    post = make_cadre(session, tree.township, name=name)
    session.commit()
    login(tree.township_admin)
    resp = client.post(f"/orgs/{tree.township.id}/admins", data={"post_id": post.id})
    assert resp.status_code == 302
    page = client.get(f"/orgs/{tree.township.id}/admins").get_data(as_text=True)
    code = session.scalar(select(FirstLoginCode).where(FirstLoginCode.person_id == post.person_id))
    assert code is not None and code.code in page and "首次登录验证码" in page     # shown to the granting admin
    assert code.expires_at - code.issued_at == timedelta(hours=48)
    client.post("/auth/logout")
    return post.person, code.code


def _login(client, person, password=None, code=""):
    return client.post("/auth/login", data={"id_number": person.id_number,
                                            "password": password or person.id_number[-8:], "first_code": code})


def test_policy_table():
    assert needs_first_login_code(is_claimed=False)           # admin or not: every unclaimed account (issue 24)
    assert not needs_first_login_code(is_claimed=True)


def test_admin_without_own_password_needs_the_code_once(client, session, login, tree):
    person, code = _grant(client, session, login, tree)
    # the default password alone, which anyone knowing the ID can work out, no longer opens the admin account
    resp = _login(client, person)
    assert resp.status_code == 401 and GENERIC_LOGIN_ERROR in resp.get_data(as_text=True)
    assert _login(client, person, code="AAAA3333").status_code == 401
    assert _login(client, person, password="wrongpass1", code=code).status_code == 401    # code kept: not spent
    resp = _login(client, person, code=code)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/password")
    client.post("/auth/logout")
    # not spent at login (issue 26.4): closing the password page does not strand the new admin
    resp = _login(client, person, code=code)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/password")
    assert client.post("/auth/password", data={"current": person.id_number[-8:], "new": "ownpass2026",
                                               "confirm": "ownpass2026"}).status_code == 302
    client.post("/auth/logout")
    # spent once the password is saved: the code (with the default password) opens nothing any more
    assert _login(client, person, code=code).status_code == 401
    assert _login(client, person, password="ownpass2026").status_code == 302
    # the failures counted towards the account's lockout like wrong passwords
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "account.login_failed", AuditEntry.summary.contains("首次登录验证码"))) >= 2


def test_after_setting_a_password_no_code_is_needed(client, session, login, tree):
    person, code = _grant(client, session, login, tree)
    _login(client, person, code=code)
    resp = client.post("/auth/password", data={"current": person.id_number[-8:], "new": "ownpass2026",
                                               "confirm": "ownpass2026"})
    assert resp.status_code == 302
    client.post("/auth/logout")
    assert _login(client, person, password="ownpass2026").status_code == 302


def test_code_expires_after_48_hours_and_can_be_regenerated(client, session, login, tree):
    person, code = _grant(client, session, login, tree)
    row = session.scalar(select(FirstLoginCode).where(FirstLoginCode.code == code))
    row.issued_at -= timedelta(hours=49)
    row.expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    assert _login(client, person, code=code).status_code == 401
    login(tree.township_admin)
    page = client.get(f"/orgs/{tree.township.id}/admins").get_data(as_text=True)
    assert "无有效验证码" in page and code not in page
    grant = session.scalar(select(AdminGrant).where(AdminGrant.person_id == person.id))
    assert client.post(f"/orgs/admins/{grant.id}/first-login-code").status_code == 302
    new = session.scalar(select(FirstLoginCode).where(FirstLoginCode.person_id == person.id,
                                                      FirstLoginCode.used_at.is_(None),
                                                      FirstLoginCode.revoked_at.is_(None),
                                                      FirstLoginCode.expires_at > utcnow()))
    assert new is not None and new.code != code
    # regenerating again revokes the previous one
    assert client.post(f"/orgs/admins/{grant.id}/first-login-code").status_code == 302
    session.refresh(new)
    assert new.revoked_at is not None
    latest = session.scalar(select(FirstLoginCode).where(FirstLoginCode.person_id == person.id)
                            .order_by(FirstLoginCode.id.desc()))
    client.post("/auth/logout")
    assert _login(client, person, code=new.code).status_code == 401
    assert _login(client, person, code=latest.code).status_code == 302
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "firstlogin.issue")) == 3


def test_only_admins_who_may_manage_see_or_issue_the_code(client, session, login, tree):
    person, code = _grant(client, session, login, tree)
    grant = session.scalar(select(AdminGrant).where(AdminGrant.person_id == person.id))
    login(tree.county_admin)                 # direct parent, covering every place of the person: sees it
    assert code in client.get(f"/orgs/{tree.township.id}/admins").get_data(as_text=True)
    client.post("/auth/logout")
    login(tree.sibling_admin)                # outside: 404
    assert client.post(f"/orgs/admins/{grant.id}/first-login-code").status_code == 404
    client.post("/auth/logout")
    login(tree.branch_admin)
    assert client.get(f"/orgs/{tree.township.id}/admins").status_code == 404
    # an admin who already set a password needs no code
    client.post("/auth/logout")
    login(tree.township_admin)
    own = session.scalar(select(AdminGrant).where(AdminGrant.person_id == tree.township_admin.id))
    resp = client.post(f"/orgs/admins/{own.id}/first-login-code")
    assert resp.status_code == 403 and "不能为自己生成首次登录验证码" in resp.get_data(as_text=True)
    other = make_admin(session, tree.township, name="已设密码")
    session.commit()
    resp = client.post(f"/orgs/admins/{other_grant(session, other).id}/first-login-code")
    assert resp.status_code == 409 and "无需首次登录验证码" in resp.get_data(as_text=True)


def other_grant(session, person):
    return session.scalar(select(AdminGrant).where(AdminGrant.person_id == person.id))


def test_plain_cadre_accounts_need_a_code_too(client, session, tree):
    """Issue 24, class 4: an unused cadre account is not claimed by knowing the ID number."""
    post = make_cadre(session, tree.village, name="普干")
    account, _ = ensure_account(session, post.person)
    session.commit()
    assert account.password_hash is None and not account.is_claimed
    assert _login(client, post.person).status_code == 401
    code = first_login_code(session, post.person)
    session.commit()
    resp = _login(client, post.person, code=code)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/password")


def test_demo_admins_log_in_with_the_demo_password(client, session, app):
    from tuanjian.demo import seed_demo
    logins = seed_demo(session, app.extensions["tuanjian_settings"], utcnow())
    session.commit()
    for demo in logins:
        resp = client.post("/auth/login", data={"id_number": demo.id_number, "password": demo.password})
        assert resp.status_code == 302, demo
        client.post("/auth/logout")
    assert session.scalar(select(func.count()).select_from(Account).where(Account.password_hash.is_(None))) == 0


def test_a_person_under_two_townships_gets_the_code_from_their_nearest_common_parent(client, session, login, tree):
    """A person who is admin of a village branch (under the township) and cadre of a class branch (under the
    school) has no own org or direct parent covering both places: the county, the lowest org above both, issues
    the code; the township (one place outside its reach) may not, nor may anyone above the county's level."""
    post = make_cadre(session, tree.village, name="两地干部")
    person = post.person
    session.add(CadrePost(person_id=person.id, org_id=tree.klass.id, position="组织委员"))
    session.add(AdminGrant(org_id=tree.village.id, person_id=person.id))
    ensure_account(session, person)
    session.commit()
    grant = other_grant(session, person)
    login(tree.township_admin)
    resp = client.post(f"/orgs/admins/{grant.id}/first-login-code")
    assert resp.status_code == 403 and "管理其全部所在组织的管理员生成" in resp.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(FirstLoginCode)
                          .where(FirstLoginCode.person_id == person.id)) == 0
    client.post("/auth/logout")
    login(tree.county_admin)
    assert client.post(f"/orgs/admins/{grant.id}/first-login-code").status_code == 302
    code = session.scalar(select(FirstLoginCode).where(FirstLoginCode.person_id == person.id))
    assert code is not None
    assert code.code in client.get(f"/orgs/{tree.village.id}/admins").get_data(as_text=True)
    client.post("/auth/logout")
    resp = _login(client, person, code=code.code)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/password")
