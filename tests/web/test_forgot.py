"""忘记密码: ID number + 重置密码验证码 → a new password (issue 3)."""
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from tuanjian.demo import make_id
from tuanjian.models import Account, AuditEntry, ResetCode, Throttle, utcnow
from tuanjian.services.resetcodes import WRONG_CODE_MESSAGE

from ..factories import PASSWORD, make_reset_code

NEW_PASSWORD = "fresh2026pw"


def form(person, code, **over):
    data = {"id_number": person.id_number, "code": code, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    data.update(over)
    return data


def snapshot(session):
    """Everything a refused attempt must leave alone."""
    session.expire_all()
    accounts = tuple(session.execute(select(Account.id, Account.password_hash, Account.claimed_at,
                                            Account.failed_logins, Account.locked_until, Account.session_version)
                                     .order_by(Account.id)))
    codes = tuple(session.execute(select(ResetCode.id, ResetCode.used_at, ResetCode.revoked_at).order_by(ResetCode.id)))
    audits = session.scalar(select(func.count()).select_from(AuditEntry))
    return accounts, codes, audits


def test_login_page_links_to_forgot_password(client):
    page = client.get("/auth/login").get_data(as_text=True)
    assert 'href="/auth/forgot">忘记密码？</a>' in page
    page = client.get("/auth/forgot").get_data(as_text=True)
    assert "<h1>忘记密码</h1>" in page and 'name="code"' in page and 'name="confirm"' in page
    assert "<script>" not in page and ' style="' not in page and 'method="post"' in page


def test_full_flow_issue_then_reset_then_login(app, client, session, login, tree):
    person = tree.branch_admin
    # the person is still logged in somewhere else, and the account is locked after wrong passwords
    elsewhere = login(person, c=app.test_client())
    assert elsewhere.get(f"/orgs/{tree.village.id}").status_code == 200
    account = session.get(Account, person.account.id)
    account.locked_until, account.failed_logins = utcnow() + timedelta(minutes=9), 3
    version = account.session_version
    session.commit()
    # the township admin (direct parent) issues a code from the person's page
    admin = login(tree.township_admin, c=app.test_client())
    assert admin.post(f"/people/{person.id}/reset-code").status_code == 302
    code = session.scalar(select(ResetCode).where(ResetCode.person_id == person.id))
    # the person types it with spaces, without the prefix, and a lower-case x in the ID number is fine too
    typed = " " + code.code[2:6] + " " + code.code[6:] + " "
    resp = client.post("/auth/forgot", data=form(person, typed, id_number=person.id_number.lower()))
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/login")
    assert "密码已重置" in client.get("/auth/login").get_data(as_text=True)
    session.expire_all()
    account = session.get(Account, person.account.id)
    assert check_password_hash(account.password_hash, NEW_PASSWORD)
    assert account.is_claimed and account.failed_logins == 0 and account.locked_until is None
    assert account.session_version == version + 1
    code = session.get(ResetCode, code.id)
    assert code.used_at is not None
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "account.password_reset"))
    text = f"{entry.summary} {entry.before} {entry.after}"
    assert entry.actor_person_id == person.id and entry.org_id == tree.village.id and entry.ip == "127.0.0.1"
    assert "锁定同时解除" in entry.summary
    assert code.code not in text and code.code[2:] not in text and NEW_PASSWORD not in text
    assert person.id_number not in text and person.masked_id in text
    # the other session is over; the new password works, the old one does not
    resp = elsewhere.get(f"/orgs/{tree.village.id}")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    assert client.post("/auth/login", data={"id_number": person.id_number, "password": PASSWORD}).status_code == 401
    login(person, password=NEW_PASSWORD)
    assert client.get(f"/orgs/{tree.village.id}").status_code == 200
    # the code is single use
    resp = app.test_client().post("/auth/forgot", data=form(person, code.code, password="another2026",
                                                            confirm="another2026"))
    assert resp.status_code == 422 and "已经使用过" in resp.get_data(as_text=True)


def _refused(client, session, data, status, fragment):
    before = snapshot(session)
    resp = client.post("/auth/forgot", data=data)
    body = resp.get_data(as_text=True)
    assert resp.status_code == status, body[:3000]
    assert fragment in body, body[:3000]
    assert "Traceback" not in body
    assert snapshot(session) == before
    return body


OTHER_ID = make_id(date(1990, 1, 1), 777, True)        # a valid ID number nobody has
# A valid ID number ending in X: its last eight (the initial password) mix letters and digits.
X_ID = next(i for i in (make_id(date(1995, 3, 3), n, True) for n in range(1, 999, 2)) if i.endswith("X"))


@pytest.mark.parametrize("case,fragment", [
    ("wrong code", WRONG_CODE_MESSAGE),
    ("unknown id", WRONG_CODE_MESSAGE),
    ("code of another person", WRONG_CODE_MESSAGE),
    ("registration code typed", WRONG_CODE_MESSAGE),
    ("expired", "已过期"),
    ("used", "已经使用过"),
    ("revoked", "已作废"),
    ("short password", "密码长度应为8～32位"),
    ("password without digits", "须同时包含字母和数字"),
    ("initial password", "不能使用身份证号后八位"),
    ("mismatch", "两次输入的新密码不一致"),
    ("no code", "请填写重置密码验证码"),
    ("malformed code", "“P-”加8位字母和数字"),
    ("no id", "请填写身份证号码"),
    ("bad id", "身份证号码应为18位"),
    ("bad check digit", "校验位"),
])
def test_bad_input_is_refused_without_changes(client, session, tree, case, fragment):
    person = tree.branch_admin
    person.id_number = X_ID
    good = make_reset_code(session, person)
    other = make_reset_code(session, tree.township_admin)
    expired = make_reset_code(session, person, expired=True, text="P-Ecc4Ecc4")
    used = make_reset_code(session, person, used=True, text="P-Ucc4Ucc4")
    revoked = make_reset_code(session, person, revoked=True, text="P-Rcc4Rcc4")
    session.commit()
    wrong_check = person.id_number[:17] + ("1" if person.id_number[17] != "1" else "2")
    data = {
        "wrong code": form(person, "P-abcd3467"),
        "unknown id": form(person, good.code, id_number=OTHER_ID),
        "code of another person": form(person, other.code),
        "registration code typed": form(person, "AbCd4679"),
        "expired": form(person, expired.code),
        "used": form(person, used.code),
        "revoked": form(person, revoked.code),
        "short password": form(person, good.code, password="ab12", confirm="ab12"),
        "password without digits": form(person, good.code, password="abcdefghij", confirm="abcdefghij"),
        "initial password": form(person, good.code, password=person.id_number[-8:], confirm=person.id_number[-8:]),
        "mismatch": form(person, good.code, confirm="fresh2026px"),
        "no code": form(person, ""),
        "malformed code": form(person, "P-abc"),
        "no id": form(person, good.code, id_number=""),
        "bad id": form(person, good.code, id_number="12345"),
        "bad check digit": form(person, good.code, id_number=wrong_check),
    }[case]
    body = _refused(client, session, data, 422, fragment)
    assert 'class="field has-error"' in body                 # the message sits next to its field


def test_unknown_id_and_wrong_code_read_the_same(client, session, tree):
    code = make_reset_code(session, tree.branch_admin)
    session.commit()
    a = client.post("/auth/forgot", data=form(tree.branch_admin, "P-abcd3467")).get_data(as_text=True)
    b = client.post("/auth/forgot", data=form(tree.branch_admin, code.code, id_number=OTHER_ID)).get_data(as_text=True)
    error = 'class="error" id="code-error">' + WRONG_CODE_MESSAGE
    assert error in a and error in b
    assert 'id="id_number-error"' not in a and 'id="id_number-error"' not in b


def test_all_problems_are_reported_at_once(client, session, tree):
    before = snapshot(session)
    body = client.post("/auth/forgot", data=form(tree.branch_admin, "P-abcd3467", password="short",
                                                 confirm="other")).get_data(as_text=True)
    assert WRONG_CODE_MESSAGE in body and "密码长度" in body and "不一致" in body
    assert snapshot(session) == before


def test_wrong_codes_are_throttled_per_address(app, client, session, tree):
    person = tree.branch_admin
    good = make_reset_code(session, person)
    session.commit()
    before = snapshot(session)
    for i in range(3):
        body = client.post("/auth/forgot", data=form(person, f"P-abcd346{i + 3}")).get_data(as_text=True)
    assert "错误次数过多，请5秒后再试" in body
    row = session.get(Throttle, "resetcode:127.0.0.1")
    assert row is not None and row.failures == 3
    # while throttled even the right code is refused, with 429, and nothing changes
    _refused(client, session, form(person, good.code), 429, "验证码错误次数过多")
    assert snapshot(session)[:2] == before[:2]
    # the registration form counts its own codes separately
    assert session.get(Throttle, "regcode:127.0.0.1") is None
    # another address is not affected
    other = app.test_client()
    resp = other.post("/auth/forgot", data=form(person, "P-abcd3467"),
                      environ_overrides={"REMOTE_ADDR": "10.0.0.9"})
    assert resp.status_code == 422
    # after the wait, the right code works and clears the counter
    session.expire_all()
    row = session.get(Throttle, "resetcode:127.0.0.1")
    row.next_allowed_at = utcnow() - timedelta(seconds=1)
    session.commit()
    assert client.post("/auth/forgot", data=form(person, good.code)).status_code == 302
    session.expire_all()
    assert session.get(Throttle, "resetcode:127.0.0.1") is None


def test_repeated_failures_lock_the_address(client, session, tree):
    settings = client.application.extensions["tuanjian_settings"]
    for _ in range(settings.code_attempts_before_lockout):
        session.expire_all()
        row = session.get(Throttle, "resetcode:127.0.0.1")
        if row is not None:                      # skip the growing waits between attempts
            row.next_allowed_at = None
            session.commit()
        resp = client.post("/auth/forgot", data=form(tree.branch_admin, "P-abcd3467"))
        assert resp.status_code == 422
    assert f"{settings.code_lockout_minutes}分钟" in resp.get_data(as_text=True)
    _refused(client, session, form(tree.branch_admin, "P-abcd3467"), 429, "验证码错误次数过多")


def test_format_errors_do_not_count_as_guesses(client, session, tree):
    for _ in range(5):
        assert client.post("/auth/forgot", data=form(tree.branch_admin, "P-abc")).status_code == 422
    assert session.get(Throttle, "resetcode:127.0.0.1") is None
