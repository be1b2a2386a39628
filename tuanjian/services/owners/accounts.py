"""The accounts owner: the only code that creates or changes ``Account``, ``FirstLoginCode`` and ``ResetCode`` rows
(issue 24, "One way in"; ``tests/test_account_owner.py`` fails when any other module does).

An account is *unclaimed* until its holder saves a password of their own (``Account.claimed_at``). An unclaimed
account — cadre, member or admin — opens only with the default password (last 8 of the ID number) AND a
首次登录验证码, which only an admin whose reach covers every place of the person may issue and see
(``domain.policy`` "person.first_login_code"). The code is tied to the person's places when it was issued (a
fingerprint of the set of (kind, org id)): once the person gains or loses a place it is void. It may be used to
log in again and again until the new password is saved; saving spends it and claims the account. Registration
never takes the default password or an unclaimed account as proof of identity. A claimed account that forgot its
password gets a 重置密码验证码 (same rule); a first-login code is never issued for it.

Nothing here commits; every write is audited in the caller's transaction, and every public writer ends with a
flush, so its rows are written while it runs (ready for the owner guard of ``tests/test_owners.py``).
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import select, update
from werkzeug.security import generate_password_hash

from ...clock import to_local
from ...dbsetup import insert_many
from ...domain import firstlogin as first_rules
from ...domain import policy
from ...domain import resetcodes as reset_rules
from ...domain.errors import Conflict, NotAllowed, ValidationFailed
from ...domain.settings import Settings
from ...models import Account, AdminGrant, CadrePost, FirstLoginCode, Member, Person, ResetCode
from ...queries import place_codes
from .. import audit
from ..actor import Actor
from ._mark import owner_of

TABLES = ("accounts", "first_login_codes", "reset_codes")

UNCLAIMED_NO_RESET = ("该账号尚未启用（本人从未设置自己的密码），不需要重置密码验证码：请生成首次登录验证码，"
                      "本人用初始密码和首次登录验证码登录后设置新密码")
NO_ACCOUNT = "该人员尚未开通登录账号"
ALREADY_CLAIMED = "本人已设置了自己的密码，无需首次登录验证码；忘记密码请生成重置密码验证码"
FIRST_CODE_VOID = ("您登录时使用的首次登录验证码已失效（管理员已重新生成、已过期，或您的任职情况有变化），"
                   "新密码未保存。请向本组织或上级组织的管理员索取新的首次登录验证码后重新登录")


# ---------------------------------------------------------------- places fingerprint

def places_fingerprints(session, person_ids) -> dict[int, str]:
    """For each person, a digest of the set of (kind, org id) of their active places (membership, cadre post,
    admin grant). A first-login code issued under one fingerprint is void under another."""
    ids = sorted(set(person_ids))
    places: dict[int, set[str]] = {pid: set() for pid in ids}
    if not ids:
        return {}
    for kind, model, active in (("member", Member, Member.deleted_at.is_(None)),
                                ("cadre", CadrePost, CadrePost.ended_at.is_(None)),
                                ("admin", AdminGrant, AdminGrant.revoked_at.is_(None))):
        for pid, org_id in session.execute(select(model.person_id, model.org_id)
                                           .where(model.person_id.in_(ids), active)):
            places[pid].add(f"{kind}:{org_id}")
    return {pid: hashlib.sha256(",".join(sorted(p)).encode()).hexdigest() for pid, p in places.items()}


# ---------------------------------------------------------------- opening accounts

@owner_of(*TABLES)
def open_account(session, person: Person) -> tuple[Account, bool]:
    """The person's account, opened unclaimed (default password) when missing. Returns (account, opened)."""
    if person.account is not None:
        return person.account, False
    account = Account(person=person, password_hash=None, claimed_at=None)
    session.add(account)
    session.flush()
    return account, True


@owner_of(*TABLES)
def open_accounts(session, person_ids, *, now: datetime) -> None:
    """Set-at-a-time ``open_account`` for new people (imports): unclaimed accounts, one insert."""
    insert_many(session, Account.__table__, [{"person_id": pid} for pid in person_ids],
                {"password_hash": None, "claimed_at": None, "failed_logins": 0, "session_version": 1,
                 "created_at": now})


@owner_of(*TABLES)
def open_claimed_account(session, person: Person, password: str, *, now: datetime,
                         hashed: str | None = None) -> Account:
    """An account whose holder chose ``password`` right now (管理员注册; the demo's logins pass ``hashed``)."""
    if person.account is not None:
        raise Conflict("该人员已有账号")
    account = Account(person=person, password_hash=hashed or generate_password_hash(password), claimed_at=now,
                      created_at=now)
    session.add(account)
    session.flush()
    return account


# ---------------------------------------------------------------- login bookkeeping

def home_org_id(session, person_id: int) -> int | None:
    """The highest organisation the person administers: account events are filed under it for the audit page."""
    from ...models import Org
    return session.scalar(select(AdminGrant.org_id).join(Org, AdminGrant.org_id == Org.id).where(
        AdminGrant.person_id == person_id, AdminGrant.revoked_at.is_(None)).order_by(Org.code).limit(1))


@owner_of(*TABLES)
def record_wrong_password(session, account: Account, *, settings: Settings, now: datetime, ip: str | None,
                          where: str) -> bool:
    """One wrong password (or first-login code) for ``account``: counts towards its lockout. True when this failure
    locked the account. The caller commits (the count must survive whatever else it rolls back)."""
    actor = Actor(person_id=account.person_id, name=account.person.name, ip=ip)
    account.failed_logins = (account.failed_logins or 0) + 1
    if account.failed_logins >= settings.login_max_failures:
        account.locked_until = now + timedelta(minutes=settings.login_lock_minutes)
        account.failed_logins = 0
        audit.record(session, actor, "account.locked", object_type="account", object_id=account.id,
                     org_id=home_org_id(session, account.person_id),
                     summary=f"{account.person.name} 的账号因连续{settings.login_max_failures}次密码错误"
                             f"（{where}）被锁定{settings.login_lock_minutes}分钟")
        session.flush()
        return True
    audit.record(session, actor, "account.login_failed", object_type="account", object_id=account.id,
                 org_id=home_org_id(session, account.person_id),
                 summary=f"{account.person.name} 的账号密码错误（{where}，第{account.failed_logins}次）")
    session.flush()
    return False


@owner_of(*TABLES)
def record_login(session, account: Account, *, now: datetime, ip: str | None,
                 first_code: FirstLoginCode | None = None) -> None:
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = now
    note = ""
    if first_code is not None:
        note = "（使用首次登录验证码，尚待设置新密码）"
        if first_code.logged_in_at is None:
            first_code.logged_in_at = now
    audit.record(session, Actor(account.person_id, account.person.name, ip), "account.login", object_type="account",
                 object_id=account.id, org_id=home_org_id(session, account.person_id),
                 summary=f"{account.person.name} 登录{note}")
    session.flush()


@owner_of(*TABLES)
def lock_sessions(session, account: Account) -> None:
    """Invalidate every session cookie of ``account`` (logout, a lock on 修改密码)."""
    account.session_version = (account.session_version or 1) + 1
    session.flush()


def _set_password(account: Account, password: str, now: datetime) -> None:
    account.password_hash = generate_password_hash(password)
    if account.claimed_at is None:
        account.claimed_at = now
    account.failed_logins = 0
    account.locked_until = None
    account.session_version = (account.session_version or 1) + 1       # ends every other session


# ---------------------------------------------------------------- first-login codes

def first_code_refusal(session, actor: Actor, person: Person, places: list[str] | None = None) -> str | None:
    """None when ``actor`` may issue and see a first-login code for ``person``, else the Chinese reason."""
    if actor.scope_code is None:
        return policy.NO_SCOPE
    if person.id == actor.person_id:
        return "不能为自己生成首次登录验证码"
    if places is None:
        places = place_codes(session, [person.id]).get(person.id, [])
    reason = policy.person_refusal("person.first_login_code", actor.scope_code, places)
    if reason is not None:
        return reason
    if person.account is None:
        return NO_ACCOUNT
    if person.account.is_claimed:
        return ALREADY_CLAIMED
    return None


def first_code_refusals(session, actor: Actor, people: list[Person]) -> dict[int, str | None]:
    places = place_codes(session, [p.id for p in people])
    return {p.id: first_code_refusal(session, actor, p, places.get(p.id, [])) for p in people}


def current_first_codes(session, person_ids, now: datetime) -> dict[int, FirstLoginCode]:
    """Each person's usable first-login code: unused, unrevoked, unexpired and issued for their present places."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    prints = places_fingerprints(session, ids)
    rows = session.scalars(select(FirstLoginCode).where(
        FirstLoginCode.person_id.in_(ids), FirstLoginCode.used_at.is_(None), FirstLoginCode.revoked_at.is_(None),
        FirstLoginCode.expires_at > now).order_by(FirstLoginCode.id))
    return {c.person_id: c for c in rows if c.places_fingerprint == prints.get(c.person_id)}


def latest_first_codes(session, person_ids) -> dict[int, FirstLoginCode]:
    """Each person's most recently issued first-login code, whatever its state (the admins page's 状态)."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    rows = session.scalars(select(FirstLoginCode).where(FirstLoginCode.person_id.in_(ids))
                           .order_by(FirstLoginCode.id))
    return {c.person_id: c for c in rows}


def _revoke_and_draw(session, model, person_id: int, now: datetime, generate) -> tuple[int, str]:
    """Revoke the person's earlier unused codes of ``model`` (FirstLoginCode or ResetCode) and draw a new code text
    not used before. Returns (how many were revoked, the text)."""
    revoked = session.execute(
        update(model).where(model.person_id == person_id, model.used_at.is_(None), model.revoked_at.is_(None),
                            model.expires_at > now)
        .values(revoked_at=now).execution_options(synchronize_session=False)).rowcount
    while True:    # 48^8 codes: a clash is astronomically rare, but the column is unique
        text = generate()
        if session.scalar(select(model.id).where(model.code == text)) is None:
            return revoked, text


@owner_of(*TABLES)
def issue_first_login_code(session, actor: Actor, person: Person, *, settings: Settings, now: datetime,
                           grant: AdminGrant | None = None) -> FirstLoginCode:
    """A fresh code for ``person`` (loaded through the scope); an earlier unused code is revoked."""
    reason = first_code_refusal(session, actor, person)
    if reason is not None:
        raise (Conflict if reason in (NO_ACCOUNT, ALREADY_CLAIMED) else NotAllowed)(reason)
    revoked, text = _revoke_and_draw(session, FirstLoginCode, person.id, now, first_rules.generate_first_login_code)
    code = FirstLoginCode(person_id=person.id, grant_id=grant.id if grant else None, code=text, issued_at=now,
                          issued_by_id=actor.person_id,
                          places_fingerprint=places_fingerprints(session, [person.id])[person.id],
                          expires_at=first_rules.first_login_code_expiry(now, settings.first_login_code_valid_hours))
    session.add(code)
    session.flush()
    note = "，原未使用的验证码同时作废" if revoked else ""
    org_id = grant.org_id if grant is not None else actor.org_id
    audit.record(session, actor, "firstlogin.issue", object_type="person", object_id=person.id, org_id=org_id,
                 summary=f"为 {person.name}（{person.masked_id}）生成首次登录验证码，"
                         f"有效期至 {to_local(code.expires_at):%Y-%m-%d %H:%M}{note}",
                 after={"person": person.masked_id, "expires_at": code.expires_at.isoformat(timespec="minutes")},
                 people=[person.id])
    return code


def first_code_for_login(session, account: Account, entered: str, now: datetime) -> FirstLoginCode | None:
    """The person's usable code when ``entered`` is it (not spent here: it is spent when the new password is
    saved, ``claim``), else None."""
    text = first_rules.normalise_first_login_code(entered)
    if not first_rules.looks_like_first_login_code(text):
        return None
    code = current_first_codes(session, [account.person_id], now).get(account.person_id)
    return code if code is not None and code.code == text else None


@owner_of(*TABLES)
def claim(session, account: Account, *, code_id: int | None, password: str, now: datetime, ip: str | None) -> None:
    """Save the first password of an unclaimed account: the first-login code the session was opened with must
    still be usable; it is spent (atomically: of two concurrent saves one wins) and the account becomes claimed."""
    code = session.get(FirstLoginCode, code_id) if code_id else None
    usable = current_first_codes(session, [account.person_id], now).get(account.person_id)
    if code is None or usable is None or usable.id != code.id:
        raise NotAllowed(FIRST_CODE_VOID)
    done = session.execute(
        update(FirstLoginCode).where(FirstLoginCode.id == code.id, FirstLoginCode.used_at.is_(None),
                                     FirstLoginCode.revoked_at.is_(None), FirstLoginCode.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise NotAllowed(FIRST_CODE_VOID)
    _set_password(account, password, now)
    audit.record(session, Actor(account.person_id, account.person.name, ip), "account.claimed",
                 object_type="account", object_id=account.id, org_id=home_org_id(session, account.person_id),
                 summary=f"{account.person.name} 凭首次登录验证码设置了自己的密码，账号启用",
                 people=[account.person_id])
    session.flush()


@owner_of(*TABLES)
def change_own_password(session, account: Account, password: str, *, now: datetime, ip: str | None) -> None:
    """修改密码 of a claimed account (the caller checked the current password and the new one)."""
    if not account.is_claimed:
        raise NotAllowed(FIRST_CODE_VOID)
    _set_password(account, password, now)
    audit.record(session, Actor(account.person_id, account.person.name, ip), "account.password_changed",
                 object_type="account", object_id=account.id, org_id=home_org_id(session, account.person_id),
                 summary=f"{account.person.name} 修改了密码", people=[account.person_id])
    session.flush()


# ---------------------------------------------------------------- reset codes

@owner_of(*TABLES)
def issue_reset_code(session, actor: Actor, person: Person, *, org_id: int | None, settings: Settings,
                     now: datetime) -> tuple[ResetCode, int]:
    """A fresh reset code for a claimed account (the caller checked the person rule); an earlier unused one is
    revoked. Returns (code, how many were revoked)."""
    if person.account is not None and not person.account.is_claimed:
        raise Conflict(UNCLAIMED_NO_RESET)
    revoked, text = _revoke_and_draw(session, ResetCode, person.id, now, reset_rules.generate_reset_code)
    code = ResetCode(person_id=person.id, code=text, issued_at=now, issued_by_id=actor.person_id,
                     expires_at=reset_rules.reset_code_expiry(now, settings.reset_code_valid_hours))
    session.add(code)
    session.flush()
    return code, revoked


@owner_of(*TABLES)
def spend_reset_code(session, reset: ResetCode, account: Account, password: str, *, now: datetime) -> bool:
    """Mark the code used atomically (of concurrent redemptions exactly one matches) and set the password, which
    also lifts a lock. False when the code was spent meanwhile. Refused for an unclaimed account."""
    if not account.is_claimed:
        raise ValidationFailed.single("code", UNCLAIMED_NO_RESET)
    done = session.execute(
        update(ResetCode).where(ResetCode.id == reset.id, ResetCode.used_at.is_(None),
                                ResetCode.revoked_at.is_(None), ResetCode.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        return False
    _set_password(account, password, now)
    session.flush()
    return True
