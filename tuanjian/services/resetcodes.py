"""重置密码验证码: issued by an admin for one person in scope, redeemed under 忘记密码 by the person."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ..clock import local_date, to_local
from ..domain import resetcodes as rules
from ..domain.errors import Collector, Conflict, DomainError, ValidationFailed
from ..domain.passwords import check_password
from ..domain.people import parse_id_number
from ..domain.settings import Settings
from ..models import Account, CadrePost, Member, Org, Person, ResetCode
from ..queries import PersonLink, person_links, place_codes
from . import audit
from .accounts import home_org_id
from .actor import Actor
from .owners import accounts as owner

# One message for an unknown ID number and for a wrong code, so the form does not tell who has an account.
WRONG_CODE_MESSAGE = "身份证号码或重置密码验证码错误：请核对（验证码区分大小写），或请管理员重新生成"


class WrongResetCode(ValidationFailed):
    """No such code for that ID number: counts towards the guessing limit of the address."""

    def __init__(self, other_errors: dict[str, list[str]] | None = None):
        super().__init__({**(other_errors or {}), "code": [WRONG_CODE_MESSAGE]})


# ---------------------------------------------------------------- issuing (admins)

def _check(actor: Actor, person: Person, places: list[str]) -> None:
    rules.check_may_issue(actor_person_id=actor.person_id, scope_code=actor.scope_code, person_id=person.id,
                          place_codes=places, has_account=person.account is not None)
    if person.account is not None and not person.account.is_claimed:
        raise Conflict(owner.UNCLAIMED_NO_RESET)


def refusals(session, actor: Actor, people: list[Person],
             links: dict[int, list[PersonLink]] | None = None) -> dict[int, str | None]:
    """For each person: None when ``actor`` may issue a code, else the Chinese reason (for lists and pages).
    ``links`` is accepted for the callers' convenience; the rule needs every place, in scope or not."""
    places = place_codes(session, [p.id for p in people])
    out: dict[int, str | None] = {}
    for person in people:
        try:
            _check(actor, person, places.get(person.id, []))
            out[person.id] = None
        except DomainError as exc:
            out[person.id] = exc.message
    return out


def usable_codes(session, person_ids, now: datetime) -> dict[int, ResetCode]:
    """The unused, unexpired, unrevoked code of each person (at most one: issuing revokes the earlier one)."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    rows = session.scalars(select(ResetCode).where(
        ResetCode.person_id.in_(ids), ResetCode.used_at.is_(None), ResetCode.revoked_at.is_(None),
        ResetCode.expires_at > now).order_by(ResetCode.id))
    return {code.person_id: code for code in rows}


def issue_reset_code(session, actor: Actor, person: Person, *, settings: Settings, now: datetime) -> ResetCode:
    """A fresh code for ``person`` (already loaded through the scope). An earlier unused code is revoked."""
    links = person_links(session, [person.id], actor.scope_code)[person.id]
    _check(actor, person, place_codes(session, [person.id]).get(person.id, []))
    # File the entry under the organisation that entitles the actor (the person's own org when it is a child),
    # so the audit pages of both the actor's org and the person's org show it.
    entitling = [link.org for link in links if link.org.id == actor.org_id or link.org.parent_id == actor.org_id]
    org = max(entitling, key=lambda o: o.code)
    code, revoked = owner.issue_reset_code(session, actor, person, org_id=org.id, settings=settings, now=now)
    note = "，原未使用的验证码同时作废" if revoked else ""
    audit.record(session, actor, "resetcode.issue", object_type="person", object_id=person.id, org_id=org.id,
                 summary=f"为 {person.name}（{person.masked_id}，{org.short_name}）生成重置密码验证码，"
                         f"有效期至 {to_local(code.expires_at):%Y-%m-%d %H:%M}{note}",
                 after={"person": person.masked_id, "expires_at": code.expires_at.isoformat(timespec="minutes")},
                 people=[person.id])
    return code


# ---------------------------------------------------------------- redeeming (忘记密码, anonymous)

def _person_org_id(session, person_id: int) -> int | None:
    """Where the person's account events are filed: the org they administer, else where they hold a post or
    membership."""
    org_id = home_org_id(session, person_id)
    if org_id is None:
        org_id = session.scalar(select(CadrePost.org_id).join(Org, CadrePost.org_id == Org.id).where(
            CadrePost.person_id == person_id, CadrePost.ended_at.is_(None)).order_by(Org.code).limit(1))
    if org_id is None:
        org_id = session.scalar(select(Member.org_id).where(Member.person_id == person_id,
                                                            Member.deleted_at.is_(None)).limit(1))
    return org_id


def redeem_reset_code(session, *, id_number: str, code: str, password: str, confirm: str, settings: Settings,
                      now: datetime, ip: str | None) -> Account:
    """Set a new password with a reset code. Every problem is a ``ValidationFailed`` (``WrongResetCode`` when
    the ID number and code do not match: unknown ID and wrong code read the same). Never commits."""
    c = Collector()
    info = c.check(parse_id_number, id_number, local_date(now))
    code_text = rules.normalise_reset_code(code)
    if not code_text:
        c.add("code", "请填写重置密码验证码")
    elif not rules.looks_like_reset_code(code_text):
        c.add("code", "重置密码验证码是“P-”加8位字母和数字（区分大小写），请核对；注意不要填成管理员注册码")
    number = info.number if info else ""
    c.check(check_password, password, min_length=settings.password_min_length,
            max_length=settings.password_max_length, id_number=number)
    if password and password != confirm:
        c.add("confirm", "两次输入的新密码不一致")
    if "id_number" in c.errors or "code" in c.errors:
        c.raise_if_any()
    password_errors = dict(c.errors)

    row = session.execute(select(ResetCode, Person).join(Person, ResetCode.person_id == Person.id)
                          .where(ResetCode.code == code_text)).first()
    if row is None or row.Person.id_number != number or row.Person.account is None:
        raise WrongResetCode(password_errors)
    reset, person = row.ResetCode, row.Person
    status = rules.reset_code_status(now=now, expires_at=reset.expires_at, used_at=reset.used_at,
                                     revoked_at=reset.revoked_at)
    if status is rules.CodeStatus.USED:
        c.add("code", "该验证码已经使用过（每个验证码只能用一次）。如仍需重置，请管理员重新生成")
    elif status is rules.CodeStatus.REVOKED:
        c.add("code", "该验证码已作废（管理员已重新生成），请使用最新的验证码")
    elif status is rules.CodeStatus.EXPIRED:
        c.add("code", f"该验证码已过期（有效期{settings.reset_code_valid_hours}小时），请管理员重新生成")
    c.raise_if_any()

    account = person.account
    was_locked = account.locked_until is not None and account.locked_until > now
    # spent atomically (of concurrent redemptions exactly one wins); the password is set and a lock lifted
    if not owner.spend_reset_code(session, reset, account, password, now=now):
        raise ValidationFailed.single("code", "该验证码刚刚已被使用，请管理员重新生成")
    audit.record(session, Actor(person.id, person.name, ip), "account.password_reset", object_type="account",
                 object_id=account.id, org_id=_person_org_id(session, person.id),
                 summary=f"{person.name} 使用重置密码验证码重置了密码" + ("，账号锁定同时解除" if was_locked else ""),
                 after={"person": person.masked_id}, people=[person.id])
    return account
