"""首次登录验证码 (issue 14, class 8): issued for admin accounts still on the default password, checked at login.

Issuing reuses the reset-code pattern (services/resetcodes.py): a fresh code revokes the earlier unused one,
is shown to the issuing admin on the org's 管理员 page, and is audited. Redeeming is atomic, so a code works once.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from ..clock import to_local
from ..domain import firstlogin as rules
from ..domain.errors import Conflict
from ..domain.settings import Settings
from ..models import Account, AdminGrant, FirstLoginCode
from . import audit
from .actor import Actor


def is_admin(session, person_id: int) -> bool:
    return session.scalar(select(AdminGrant.id).where(AdminGrant.person_id == person_id,
                                                      AdminGrant.revoked_at.is_(None)).limit(1)) is not None


def needs_code(session, account: Account) -> bool:
    """True when ``account`` holds admin rights and has never set a password of its own."""
    return rules.needs_first_login_code(has_own_password=account.password_hash is not None,
                                        is_admin=is_admin(session, account.person_id))


def usable_codes(session, person_ids, now: datetime) -> dict[int, FirstLoginCode]:
    """The unused, unexpired, unrevoked code of each person (at most one: issuing revokes the earlier one)."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    rows = session.scalars(select(FirstLoginCode).where(
        FirstLoginCode.person_id.in_(ids), FirstLoginCode.used_at.is_(None), FirstLoginCode.revoked_at.is_(None),
        FirstLoginCode.expires_at > now).order_by(FirstLoginCode.id))
    return {code.person_id: code for code in rows}


def issue(session, actor: Actor, grant: AdminGrant, *, settings: Settings, now: datetime) -> FirstLoginCode:
    """A fresh code for the holder of ``grant``. The caller has checked that ``actor`` may manage the admins
    of ``grant.org`` (accounts.check_may_manage_admins). Refused once the holder has a password of their own."""
    from .accounts import check_may_manage_admins
    check_may_manage_admins(actor, grant.org)
    account = session.scalar(select(Account).where(Account.person_id == grant.person_id))
    if grant.revoked_at is not None:
        raise Conflict("该管理员已被解除，无需首次登录验证码")
    if account is None or account.password_hash is not None:
        raise Conflict(f"{grant.person.name} 已设置了自己的密码，无需首次登录验证码；忘记密码请生成重置密码验证码")
    revoked = session.execute(
        update(FirstLoginCode).where(FirstLoginCode.person_id == grant.person_id, FirstLoginCode.used_at.is_(None),
                                     FirstLoginCode.revoked_at.is_(None), FirstLoginCode.expires_at > now)
        .values(revoked_at=now).execution_options(synchronize_session=False)).rowcount
    while True:    # 48^8 codes: a clash is astronomically rare, but the column is unique
        text = rules.generate_first_login_code()
        if session.scalar(select(FirstLoginCode.id).where(FirstLoginCode.code == text)) is None:
            break
    code = FirstLoginCode(person_id=grant.person_id, grant_id=grant.id, code=text, issued_at=now,
                          issued_by_id=actor.person_id,
                          expires_at=rules.first_login_code_expiry(now, settings.first_login_code_valid_hours))
    session.add(code)
    session.flush()
    note = "，原未使用的验证码同时作废" if revoked else ""
    audit.record(session, actor, "firstlogin.issue", object_type="person", object_id=grant.person_id,
                 org_id=grant.org_id,
                 summary=f"为 {grant.org.short_name} 管理员 {grant.person.name} 生成首次登录验证码，"
                         f"有效期至 {to_local(code.expires_at):%Y-%m-%d %H:%M}{note}",
                 after={"person": grant.person.masked_id, "expires_at": code.expires_at.isoformat(timespec="minutes")},
                 people=[grant.person_id])
    return code


def redeem(session, account: Account, entered: str, now: datetime) -> bool:
    """Use ``entered`` as ``account``'s first-login code: True (and the code is spent) when it is the person's
    current code, unused and unexpired. Atomic: of two concurrent logins with one code, one succeeds."""
    text = rules.normalise_first_login_code(entered)
    if not rules.looks_like_first_login_code(text):
        return False
    done = session.execute(
        update(FirstLoginCode).where(FirstLoginCode.person_id == account.person_id, FirstLoginCode.code == text,
                                     FirstLoginCode.used_at.is_(None), FirstLoginCode.revoked_at.is_(None),
                                     FirstLoginCode.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False))
    return done.rowcount == 1
