"""The claim matrix (issue 24, "Unclaimed accounts", classes 2, 3, 4): account state (unclaimed, claimed, locked;
admin or not) × route (login with the password alone, 管理员注册, 首次登录验证码, 重置密码验证码) → only the rightful
route opens the account, and a route that does not open it changes nothing and shows no code."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tuanjian.domain import policy
from tuanjian.models import (
    Account,
    AdminGrant,
    AuditEntry,
    CadrePost,
    FirstLoginCode,
    Member,
    Person,
    ResetCode,
    utcnow,
)
from tuanjian.services.owners import accounts as owner

from ..factories import PASSWORD, first_login_code, give_account, make_admin, make_cadre, make_code

NEW_PASSWORD = "claimed2026x"
STATES = ["unclaimed", "unclaimed_admin", "claimed", "claimed_admin", "locked", "locked_admin", "locked_unclaimed"]
ROUTES = ["login", "registration", "first_login_code", "reset_code"]
RIGHTFUL = {
    ("unclaimed", "first_login_code"), ("unclaimed_admin", "first_login_code"),
    ("claimed", "login"), ("claimed", "registration"), ("claimed", "reset_code"),
    ("claimed_admin", "login"), ("claimed_admin", "registration"), ("claimed_admin", "reset_code"),
    ("locked", "reset_code"), ("locked_admin", "reset_code"),
}


def _holder(session, tree, state: str) -> Person:
    """A cadre of the village branch (under the township) with an account in ``state``."""
    person = make_cadre(session, tree.village, name="持有人").person
    if "unclaimed" in state:
        owner.open_account(session, person)
    else:
        give_account(session, person, password=PASSWORD)
    if state.endswith("admin"):
        session.add(AdminGrant(org_id=tree.village.id, person_id=person.id))
    if state.startswith("locked"):
        person.account.locked_until = utcnow() + timedelta(minutes=10)
    session.commit()
    return person


def _snapshot(session, person: Person):
    session.expire_all()
    account = session.scalar(select(Account).where(Account.person_id == person.id))
    grants = sorted(session.scalars(select(AdminGrant.org_id).where(AdminGrant.person_id == person.id,
                                                                     AdminGrant.revoked_at.is_(None))))
    fresh = session.get(Person, person.id)
    return (account.password_hash, account.claimed_at, grants, fresh.phone, fresh.name,
            session.scalar(select(func.count()).select_from(Member).where(Member.person_id == person.id)))


def _password_of(state: str, person: Person) -> str:
    return person.id_number[-8:] if "unclaimed" in state else PASSWORD


def _try_login(client, person, password, code=""):
    return client.post("/auth/login", data={"id_number": person.id_number, "password": password,
                                            "first_code": code})


def _route_login(app, session, login, tree, person, state) -> bool:
    c = app.test_client()
    resp = _try_login(c, person, _password_of(state, person))
    return resp.status_code == 302


def _route_registration(app, session, login, tree, person, state) -> bool:
    code = make_code(session, tree.sibling_branch)
    session.commit()
    c = app.test_client()
    resp = c.post("/register/", data={
        "org_id": tree.sibling_branch.id, "position": "组织委员", "code": code.code, "name": person.name,
        "id_number": person.id_number, "phone": "13999999999", "ethnicity": "汉族", "political_status": "共青团员",
        "join_date": "2010-05", "password": _password_of(state, person),
        "password_confirm": _password_of(state, person)})
    page = resp.get_data(as_text=True)
    # whatever happened, no first-login code of the person appears on the registration page
    for fc in session.scalars(select(FirstLoginCode).where(FirstLoginCode.person_id == person.id)):
        assert fc.code not in page
    if "unclaimed" in state:
        assert resp.status_code == 422 and "首次登录验证码" in page and "尚未启用" in page
    return resp.status_code == 200 and "注册成功" in page


def _route_first_login_code(app, session, login, tree, person, state) -> bool:
    admin = login(tree.township_admin, c=app.test_client())       # the direct parent: covers every place
    resp = admin.post(f"/people/{person.id}/first-login-code")
    session.expire_all()
    issued = owner.current_first_codes(session, [person.id], utcnow()).get(person.id)
    if "unclaimed" not in state:
        assert resp.status_code == 409 and issued is None           # never issued for a claimed account
        code = first_login_code(session, person)                    # a planted one opens nothing either
        session.commit()
    else:
        assert resp.status_code == 302 and issued is not None
        assert issued.code in admin.get(f"/people/{person.id}").get_data(as_text=True)
        code = issued.code
    c = app.test_client()
    resp = _try_login(c, person, person.id_number[-8:], code)
    if resp.status_code != 302:
        return False
    assert resp.headers["Location"].endswith("/auth/password")
    resp = c.post("/auth/password", data={"current": person.id_number[-8:], "new": NEW_PASSWORD,
                                          "confirm": NEW_PASSWORD})
    assert resp.status_code == 302
    return _try_login(app.test_client(), person, NEW_PASSWORD).status_code == 302


def _route_reset_code(app, session, login, tree, person, state) -> bool:
    admin = login(tree.township_admin, c=app.test_client())
    resp = admin.post(f"/people/{person.id}/reset-code")
    session.expire_all()
    code = session.scalar(select(ResetCode).where(ResetCode.person_id == person.id))
    if "unclaimed" in state:
        assert resp.status_code == 409 and code is None and "首次登录验证码" in resp.get_data(as_text=True)
        now = utcnow()
        code = ResetCode(person_id=person.id, code="P-Ab3dEf7h", issued_at=now, expires_at=now + timedelta(hours=2))
        session.add(code)                                            # planted: it opens nothing either
        session.commit()
    else:
        assert resp.status_code == 302 and code is not None
    resp = app.test_client().post("/auth/forgot", data={"id_number": person.id_number, "code": code.code,
                                                        "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    if resp.status_code != 302:
        return False
    return _try_login(app.test_client(), person, NEW_PASSWORD).status_code == 302


ROUTE_FUNCS = {"login": _route_login, "registration": _route_registration,
               "first_login_code": _route_first_login_code, "reset_code": _route_reset_code}


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("state", STATES)
def test_only_the_rightful_route_opens_the_account(app, session, login, tree, state, route):
    person = _holder(session, tree, state)
    before = _snapshot(session, person)
    opened = ROUTE_FUNCS[route](app, session, login, tree, person, state)
    assert opened is ((state, route) in RIGHTFUL), (state, route)
    after = _snapshot(session, person)
    if not opened:
        assert after == before, (state, route)       # nothing changed: password, claim, grants, fields, places
    elif route in ("first_login_code", "reset_code"):
        assert after[1] is not None                  # claimed (or still claimed) with the new password


# ---------------------------------------------------------------- class 2: codes follow the person rule

def _held_in_two_subtrees(session, tree, *, admin: bool = True) -> Person:
    """An unclaimed admin of the village branch who is also a cadre of the sibling township's branch."""
    person = make_cadre(session, tree.village, name="两处任职").person
    session.add(CadrePost(person_id=person.id, org_id=tree.sibling_branch.id, position="组织委员"))
    owner.open_account(session, person)
    if admin:
        session.add(AdminGrant(org_id=tree.village.id, person_id=person.id))
    session.flush()
    session.commit()
    return person


def test_an_admin_not_covering_every_place_sees_no_code_and_cannot_issue_one(app, session, login, tree):
    person = _held_in_two_subtrees(session, tree)
    code = first_login_code(session, person)         # issued earlier by someone entitled
    session.commit()
    grant = session.scalar(select(AdminGrant).where(AdminGrant.person_id == person.id))
    for admin in (tree.township_admin, tree.branch_admin):
        c = login(admin, c=app.test_client())
        for url in (f"/orgs/{tree.village.id}/admins", f"/people/{person.id}", "/people/?q=两处任职"):
            resp = c.get(url)
            page = resp.get_data(as_text=True)
            assert resp.status_code == 200 and code not in page, (admin.name, url)
            # no button to regenerate it either, and no word on whether it was used
            assert f"/people/{person.id}/first-login-code" not in page, (admin.name, url)
            assert f"/orgs/admins/{grant.id}/first-login-code" not in page, (admin.name, url)
            assert "首次登录验证码尚未使用" not in page and "生成首次登录验证码" not in page, (admin.name, url)
        assert "管理范围以外" in c.get(f"/orgs/{tree.village.id}/admins").get_data(as_text=True)
        for url in (f"/orgs/admins/{grant.id}/first-login-code", f"/people/{person.id}/first-login-code"):
            resp = c.post(url)
            assert resp.status_code == 403 and "管理范围以外" in resp.get_data(as_text=True), (admin.name, url)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(FirstLoginCode)
                          .where(FirstLoginCode.person_id == person.id)) == 1
    assert session.scalar(select(func.count()).select_from(AuditEntry)
                          .where(AuditEntry.action == "firstlogin.issue")) == 0


def test_granting_admin_rights_issues_no_code_to_an_admin_not_covering_every_place(app, session, login, tree):
    person = _held_in_two_subtrees(session, tree, admin=False)
    post = session.scalar(select(CadrePost).where(CadrePost.person_id == person.id,
                                                  CadrePost.org_id == tree.village.id))
    c = login(tree.township_admin, c=app.test_client())
    resp = c.post(f"/orgs/{tree.village.id}/admins", data={"post_id": post.id})
    # places follow the person rule: the grant itself is refused with the one held-elsewhere answer
    assert resp.status_code == 409
    assert policy.HELD_ELSEWHERE["admin"] in resp.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(AdminGrant).where(AdminGrant.person_id == person.id)) is None
    assert session.scalar(select(FirstLoginCode).where(FirstLoginCode.person_id == person.id)) is None


def test_a_code_is_void_once_the_person_gains_or_loses_a_place(app, session, login, tree):
    person = make_cadre(session, tree.village, name="换岗").person
    membership = Member(person_id=person.id, org_id=tree.village.id)
    session.add(membership)
    owner.open_account(session, person)
    session.commit()
    admin = login(tree.township_admin, c=app.test_client())

    def issue() -> str:
        assert admin.post(f"/people/{person.id}/first-login-code").status_code == 302
        session.expire_all()
        return owner.current_first_codes(session, [person.id], utcnow())[person.id].code

    # loses a place: the code no longer opens the account, nor shows
    code = issue()
    membership.deleted_at = utcnow()
    session.commit()
    assert _try_login(app.test_client(), person, person.id_number[-8:], code).status_code == 401
    page = admin.get(f"/people/{person.id}").get_data(as_text=True)
    assert code not in page and "生成首次登录验证码" in page
    # gains a place between logging in and saving the password: nothing saved, logged out, code void
    code = issue()
    c = app.test_client()
    assert _try_login(c, person, person.id_number[-8:], code).status_code == 302
    session.add(CadrePost(person_id=person.id, org_id=tree.township.id, position="组织委员"))
    session.commit()
    resp = c.post("/auth/password", data={"current": person.id_number[-8:], "new": NEW_PASSWORD,
                                          "confirm": NEW_PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/login")
    assert "首次登录验证码已失效" in c.get("/auth/login").get_data(as_text=True)
    session.expire_all()
    assert not session.get(Person, person.id).account.is_claimed
    assert _try_login(app.test_client(), person, person.id_number[-8:], code).status_code == 401


# ---------------------------------------------------------------- class 3 and 4

def test_registration_with_someone_elses_id_and_default_password_fails(app, session, tree):
    """Class 3: a valid registration code for one's own child org, another person's ID, name and default password."""
    victim = make_cadre(session, tree.sibling_branch, name="被冒用").person
    owner.open_account(session, victim)
    session.add(AdminGrant(org_id=tree.sibling_branch.id, person_id=victim.id))
    code = make_code(session, tree.village)
    session.commit()
    real = first_login_code(session, victim)
    session.commit()
    before = _snapshot(session, victim)
    resp = app.test_client().post("/register/", data={
        "org_id": tree.village.id, "position": "组织委员", "code": code.code, "name": victim.name,
        "id_number": victim.id_number, "phone": "13911112222", "ethnicity": "汉族", "political_status": "共青团员",
        "join_date": "2010-05", "password": victim.id_number[-8:], "password_confirm": victim.id_number[-8:]})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "尚未启用" in page and real not in page
    assert _snapshot(session, victim) == before
    session.refresh(code)
    assert code.used_at is None


def test_unused_cadre_account_then_made_admin_still_needs_the_code(app, session, login, tree):
    """Class 4: knowing the ID number opens nothing, before or after the cadre becomes an admin."""
    post = make_cadre(session, tree.village, name="后任管理员")
    owner.open_account(session, post.person)
    session.commit()
    person = post.person
    assert _try_login(app.test_client(), person, person.id_number[-8:]).status_code == 401
    admin = login(tree.township_admin, c=app.test_client())
    assert admin.post(f"/orgs/{tree.village.id}/admins", data={"post_id": post.id}).status_code == 302
    assert _try_login(app.test_client(), person, person.id_number[-8:]).status_code == 401
    session.expire_all()
    code = owner.current_first_codes(session, [person.id], utcnow())[person.id]
    page = admin.get(f"/orgs/{tree.village.id}/admins").get_data(as_text=True)
    assert code.code in page and "首次登录验证码尚未使用" in page
    assert _try_login(app.test_client(), person, person.id_number[-8:], code.code).status_code == 302
    page = admin.get(f"/orgs/{tree.village.id}/admins").get_data(as_text=True)
    assert "已凭首次登录验证码登录，尚未设置新密码" in page


def test_a_locked_admin_with_a_claimed_account_is_refused_even_with_the_right_password(app, session, tree):
    person = make_admin(session, tree.village, name="已锁")
    person.account.locked_until = utcnow() + timedelta(minutes=5)
    session.commit()
    assert _try_login(app.test_client(), person, PASSWORD).status_code == 401
