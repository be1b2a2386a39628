"""Login, lockout, passwords and admin grants."""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import object_session
from werkzeug.security import check_password_hash, generate_password_hash

from ..domain import policy
from ..domain.errors import Conflict, NotAllowed, ValidationFailed
from ..domain.firstlogin import needs_first_login_code
from ..domain.passwords import check_password
from ..domain.people import default_password, normalise_id_number
from ..domain.settings import Settings
from ..domain.throttle import format_wait
from ..models import Account, AdminGrant, CadrePost, Org, Person
from ..queries import admin_count, is_admin
from . import audit, throttle
from .actor import Actor
from .owners import accounts as owner
from .owners import grants
from .owners.accounts import home_org_id  # noqa: F401  (account events are filed under it; re-exported)

# One answer for every failed login (unknown ID, wrong password, locked account): the login form tells nobody
# whether an ID number has an account, whether a guess was right, or that an account is locked.
GENERIC_LOGIN_ERROR = ("身份证号码或密码错误（仍用初始密码的账号登录还须填写正确的首次登录验证码，"
                       "验证码由本组织或上级组织的管理员生成）。"
                       "连续输错多次的账号会被暂时锁定；忘记密码或无法登录时，请联系本组织或上级组织的管理员")

# A hash to compare against when the ID is unknown, so a wrong ID costs the same time as a wrong password. Made
# at the first such login, not at import (a scrypt hash costs ~0.1 s in every worker, CLI and child process).
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = generate_password_hash("not-a-real-password-0")
    return _DUMMY_HASH


@dataclass
class LoginResult:
    account: Account | None
    message: str | None = None
    first_code_id: int | None = None


def verify_password(account: Account, password: str) -> bool:
    """The one place a password is checked (unclaimed accounts have no hash: the default password, see
    models.accounts)."""
    if not account.is_claimed:
        expected = default_password(account.person.id_number)
        return hmac.compare_digest((password or "").upper().encode(), expected.encode())
    return account.password_hash is not None and check_password_hash(account.password_hash, password or "")


def find_account(session, id_number: str) -> Account | None:
    return session.scalar(select(Account).join(Person).where(Person.id_number == id_number))


def is_locked(account: Account, now: datetime) -> bool:
    return account.locked_until is not None and account.locked_until > now


def count_wrong_password(session, account: Account, *, settings: Settings, now: datetime, ip: str | None,
                         where: str) -> bool:
    """One wrong password for ``account`` (at login, on the registration page, on 修改密码): counts towards the
    account's lockout. Returns True when this failure locked the account. ``where`` names the page for the
    audit entry. The caller commits (the count must survive whatever else it rolls back)."""
    return owner.record_wrong_password(session, account, settings=settings, now=now, ip=ip, where=where)


def authenticate(session, id_number_raw: str, password: str, *, settings: Settings, now: datetime,
                 ip: str | None, first_code: str = "") -> LoginResult:
    """Check a login. Failure counters are written to the session: the caller commits in both outcomes.
    Every failure reads the same (GENERIC_LOGIN_ERROR); only the address throttle says to wait, which is
    about the address, not about any account. An unclaimed account also needs its 首次登录验证码, which is not
    spent here (``LoginResult.first_code_id``: the session keeps it until the new password is saved)."""
    ip_key = f"login:{ip}"
    wait = throttle.seconds_to_wait(session, ip_key, now)
    if wait:
        return LoginResult(None, f"登录失败次数过多，请{format_wait(wait)}后再试")
    try:
        id_number = normalise_id_number(id_number_raw)
    except ValidationFailed:
        id_number = ""
    if not id_number or not password:
        return LoginResult(None, "请填写身份证号码和密码")
    account = find_account(session, id_number)
    if account is None:
        check_password_hash(_dummy_hash(), password)
        throttle.fail(session, ip_key, throttle.login_ip_policy(settings), now)
        return LoginResult(None, GENERIC_LOGIN_ERROR)
    if is_locked(account, now):
        verify_password(account, password)          # the same work as any other attempt
        throttle.fail(session, ip_key, throttle.login_ip_policy(settings), now)
        return LoginResult(None, GENERIC_LOGIN_ERROR)
    if not verify_password(account, password):
        throttle.fail(session, ip_key, throttle.login_ip_policy(settings), now)
        count_wrong_password(session, account, settings=settings, now=now, ip=ip, where="登录")
        return LoginResult(None, GENERIC_LOGIN_ERROR)
    code = None
    if needs_first_login_code(is_claimed=account.is_claimed):
        # the default password is derivable from the ID number: an unclaimed account also needs the one-time code
        code = owner.first_code_for_login(session, account, first_code, now)
        if code is None:
            throttle.fail(session, ip_key, throttle.login_ip_policy(settings), now)
            count_wrong_password(session, account, settings=settings, now=now, ip=ip, where="首次登录验证码")
            return LoginResult(None, GENERIC_LOGIN_ERROR)
    owner.record_login(session, account, now=now, ip=ip, first_code=code)
    return LoginResult(account, first_code_id=code.id if code is not None else None)


class PasswordLocked(ValidationFailed):
    """Too many wrong current passwords on 修改密码: the account is now locked and its sessions ended."""

    def __init__(self, minutes: int):
        super().__init__({"current": [f"当前密码连续输错次数过多，账号已锁定{minutes}分钟，请稍后重新登录"]})


def change_password(session, account: Account, *, current: str, new: str, confirm: str, settings: Settings,
                    ip: str | None, now: datetime | None = None, first_code_id: int | None = None) -> None:
    """A wrong current password counts towards the account's lockout like a wrong login (the caller commits
    the count even when this raises); the one that locks the account also ends its sessions. For an unclaimed
    account this is the claim: the session's first-login code (``first_code_id``) must still be usable, and is
    spent now."""
    from ..models import utcnow
    now = now or utcnow()
    errors: dict[str, list[str]] = {}
    if not verify_password(account, current or ""):
        if count_wrong_password(session, account, settings=settings, now=now, ip=ip, where="修改密码"):
            owner.lock_sessions(session, account)
            raise PasswordLocked(settings.login_lock_minutes)
        errors["current"] = ["当前密码不正确（连续输错多次账号将被锁定）"]
    try:
        check_password(new, min_length=settings.password_min_length, max_length=settings.password_max_length,
                       id_number=account.person.id_number)
    except ValidationFailed as exc:
        errors["new"] = exc.field_errors["password"]
    if new and current and new == current:
        errors.setdefault("new", []).append("新密码不能与当前密码相同")
    if new != confirm:
        errors["confirm"] = ["两次输入的新密码不一致"]
    if errors:
        raise ValidationFailed(errors)
    if account.is_claimed:
        owner.change_own_password(session, account, new, now=now, ip=ip)
    else:
        owner.claim(session, account, code_id=first_code_id, password=new, now=now, ip=ip)


def end_sessions(account: Account) -> None:
    """Invalidate every session cookie of ``account`` (logout: a captured cookie stops working)."""
    owner.lock_sessions(object_session(account), account)


def ensure_account(session, person: Person) -> tuple[Account, bool]:
    """The person's account, opened unclaimed (default password, last 8 of the ID) when missing."""
    return owner.open_account(session, person)


# ---------------------------------------------------------------- admin grants

def check_may_manage_admins(actor: Actor, org: Org) -> None:
    """An org's own admins manage its admins; so do the admins of its direct parent."""
    policy.require("admin.manage", actor.scope_code, org.code)


def eligible_cadres(session, org: Org) -> list[CadrePost]:
    """Active cadre posts of ``org`` whose holder is not yet its admin."""
    admin_ids = select(AdminGrant.person_id).where(AdminGrant.org_id == org.id, AdminGrant.revoked_at.is_(None))
    return list(session.scalars(select(CadrePost).where(
        CadrePost.org_id == org.id, CadrePost.ended_at.is_(None), CadrePost.person_id.not_in(admin_ids))
        .order_by(CadrePost.id)))


def grant_admin(session, actor: Actor, org: Org, post: CadrePost, *, settings: Settings, now: datetime) -> AdminGrant:
    check_may_manage_admins(actor, org)
    if post.org_id != org.id or post.ended_at is not None:
        raise ValidationFailed.single("post_id", "管理员必须是本组织的现任团干部")
    session.execute(select(Org.id).where(Org.id == org.id).with_for_update())
    limit = settings.admin_limit(org.org_kind)
    if admin_count(session, org.id) >= limit:
        raise Conflict(f"{org.short_name}已有{limit}名管理员，达到上限")
    if is_admin(session, org.id, post.person_id):
        raise Conflict(f"{post.person.name}已是{org.short_name}的管理员")
    account, created = ensure_account(session, post.person)
    grant = grants.grant(session, actor, org, post.person, now=now)
    note = "；已为其开通账号，初始密码为身份证号后八位，首次登录须修改" if created else ""
    audit.record(session, actor, "admin.grant", object_type="admin_grant", object_id=grant.id, org_id=org.id,
                 summary=f"设定 {post.person.name}（{post.position}）为 {org.short_name} 管理员{note}",
                 after={"person": post.person.masked_id, "position": post.position}, people=[post.person_id])
    if not account.is_claimed and owner.first_code_refusal(session, actor, post.person) is None:
        # still unclaimed (the default password, which anyone who knows the ID number can work out): its first
        # login takes a one-time code; the granting admin gets it when their reach covers every place of the person
        owner.issue_first_login_code(session, actor, post.person, settings=settings, now=now, grant=grant)
    return grant


def revoke_admin(session, actor: Actor, grant: AdminGrant, *, now: datetime) -> None:
    org = grant.org
    check_may_manage_admins(actor, org)
    if grant.revoked_at is not None:
        raise Conflict("该管理员已被解除")
    if grant.person_id == actor.person_id and org.id == actor.org_id and admin_count(session, org.id) <= 1:
        raise NotAllowed("您是本组织唯一的管理员，不能解除自己；请先设定另一名管理员")
    grants.revoke(session, actor, grant, now=now)
    audit.record(session, actor, "admin.revoke", object_type="admin_grant", object_id=grant.id, org_id=org.id,
                 summary=f"解除 {grant.person.name} 的 {org.short_name} 管理员身份（团干部职务和账号保留）",
                 before={"person": grant.person.masked_id, "admin": True}, after={"admin": False},
                 people=[grant.person_id])
