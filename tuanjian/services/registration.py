"""Public admin registration with a 管理员注册码: one transaction creates person, post, account and grant."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from ..clock import local_date, to_local
from ..domain import policy
from ..domain.cadres import validate_cadre_person
from ..domain.codes import CodeStatus, looks_like_code, normalise_entered_code
from ..domain.errors import Collector, Conflict, ValidationFailed
from ..domain.passwords import check_password
from ..domain.people import validate_position
from ..domain.settings import Settings
from ..models import AdminGrant, CadrePost, Org, Person, RegistrationCode
from ..queries import admin_count, is_admin, place_codes
from . import audit
from .accounts import verify_password
from .actor import Actor
from .owners import accounts as accounts_owner
from .owners import grants, people
from .owners import posts as post_owner


class WrongCode(ValidationFailed):
    """The code does not exist or belongs to another org: counts towards the guessing limit."""

    def __init__(self, others: dict[str, list[str]] | None = None):
        super().__init__({**(others or {}), "code": ["管理员注册码错误：请核对字母大小写，并确认所选组织与注册码一致"]})


@dataclass
class RegistrationInput:
    org_id: int | None
    position: str
    code: str
    name: str
    id_number: str
    phone: str
    ethnicity: str
    political_status: str
    join_date: str
    password: str
    password_confirm: str


class WrongAccountPassword(ValidationFailed):
    """The ID number has an account and the password given is not its password (or the account is locked):
    the caller rolls back, then counts the failure towards that account's login lockout and commits it."""

    def __init__(self, account_id: int):
        super().__init__({"password": [EXISTING_ACCOUNT_MESSAGE]})
        self.account_id = account_id


UNCLAIMED_ACCOUNT_MESSAGE = ("该身份证号已有账号，但本人尚未启用（从未设置自己的密码），不能用于注册。"
                             "请向本组织或上级组织的管理员索取“首次登录验证码”，在登录页用初始密码"
                             "（身份证号后八位）和验证码登录并设置新密码，再用新密码注册")
EXISTING_ACCOUNT_MESSAGE = ("该身份证号已有账号：请填写该账号现在的登录密码（连续输错多次账号会被暂时锁定；"
                            "忘记密码请联系上级管理员生成重置密码验证码）")


def _check_code_status(c: Collector, code: RegistrationCode, now: datetime) -> None:
    status = code.status(now)
    if status is CodeStatus.USED:
        c.add("code", "该注册码已被使用（一个注册码只能注册一名管理员），请向上级组织申请新的注册码")
    elif status is CodeStatus.REVOKED:
        c.add("code", "该注册码已被上级组织撤销，请向上级组织申请新的注册码")
    elif status is CodeStatus.EXPIRED:
        c.add("code", f"该注册码已于 {to_local(code.expires_at):%Y-%m-%d} 过期，请联系上级组织管理员重新生成")


def register_admin(session, data: RegistrationInput, *, settings: Settings, now: datetime,
                   ip: str | None) -> AdminGrant:
    """In this order, so the page says nothing about who has an account to anyone without a valid code:
    1. the form's own shape (nothing looked up), 2. the code (a wrong one counts towards the address's
    guessing limit, see the view), 3. only then the person and account behind the ID number; a wrong password
    for an existing account counts towards that account's login lockout (``WrongAccountPassword``)."""
    from .accounts import is_locked
    today = local_date(now)
    c = Collector()
    org = session.get(Org, data.org_id) if data.org_id else None
    if org is None or org.is_dissolved:
        c.add("org_id", "请先查找并选择要注册的团组织" if org is None else f"“{org.short_name}”已撤销，不能注册")
    else:
        c.check(validate_position, data.position, is_leading=org.org_kind.is_leading)
    code_text = normalise_entered_code(data.code)
    if not code_text:
        c.add("code", "请填写管理员注册码")
    elif not looks_like_code(code_text):
        c.add("code", "管理员注册码是8位字母和数字，请核对")
    # an admin is a cadre: the same personal rules as every cadre entry (political status may be 群众)
    person_data = c.check(validate_cadre_person, {"name": data.name, "id_number": data.id_number,
                                                  "phone": data.phone, "ethnicity": data.ethnicity,
                                                  "political_status": data.political_status,
                                                  "join_date": data.join_date}, settings=settings, today=today)
    # 2. the code, checked with the form's own shape so that every error shows at once (issue 16.8); a wrong code
    # counts towards the address's guessing limit whatever else is wrong (see the view). Nothing about the person
    # or account behind the ID number is looked at before the code is good (issue 14, class 5).
    code = None
    if org is not None and not org.is_dissolved and looks_like_code(code_text):
        code = session.scalar(select(RegistrationCode).where(RegistrationCode.code == code_text))
        if code is None or code.org_id != org.id:
            raise WrongCode({k: v for k, v in c.errors.items() if k != "code"})
        _check_code_status(c, code, now)
    c.raise_if_any()

    # Serialise registrations of this org (row lock on PostgreSQL; SQLite writes are already serial).
    session.execute(select(Org.id).where(Org.id == org.id).with_for_update())
    session.refresh(code)                       # its state under the lock (another registration may just have used it)
    _check_code_status(c, code, now)
    c.raise_if_any()

    # 3. the person behind the ID number, now that the code is good
    existing_person = session.scalar(select(Person).where(Person.id_number == person_data["id_info"].number))
    existing_account = existing_person.account if existing_person is not None else None
    if existing_account is not None and not existing_account.is_claimed:
        # an unclaimed account (its holder never set a password) is claimed through the first-login code only: its
        # default password is no proof of identity, whatever was typed (issue 24, classes 3 and 4)
        raise ValidationFailed.single("id_number", UNCLAIMED_ACCOUNT_MESSAGE)
    if existing_account is None:
        c.check(check_password, data.password, min_length=settings.password_min_length,
                max_length=settings.password_max_length)
        if data.password and data.password != data.password_confirm:
            c.add("password_confirm", "两次输入的密码不一致")
    elif is_locked(existing_account, now) or not data.password or not verify_password(existing_account, data.password):
        raise WrongAccountPassword(existing_account.id)
    if existing_account is None and existing_person is not None and \
            not policy.in_reach(org.code, place_codes(session, [existing_person.id]).get(existing_person.id, [])):
        # a person recorded elsewhere without an account of their own: a code for this org must not make its holder
        # that person (their shared fields, an account, an admin grant); the one answer names nobody (issue 14)
        raise ValidationFailed.single("id_number", policy.HELD_ELSEWHERE_CADRE)
    if existing_person is not None and existing_person.name != person_data["name"]:
        c.add("name", policy.NAME_DIFFERS)
    c.raise_if_any()
    limit = settings.admin_limit(org.org_kind)
    if admin_count(session, org.id) >= limit:
        raise Conflict(f"{org.short_name}已有{limit}名管理员，达到上限，不能再注册")

    pd, info = person_data, person_data["id_info"]
    shared = {"phone": pd["phone"], "ethnicity": pd["ethnicity"], "political_status": pd["political_status"],
              "join_date": pd["join_date"]}
    # the code's org is the reach of whoever registers with it; a person proved by their own password is theirs
    owner_actor = Actor(person_id=None, name=pd["name"], ip=ip, org_id=org.id, scope_code=org.code)
    proven = existing_account is not None
    if existing_person is None:
        person = people.create(session, owner_actor, id_number=info.number, name=pd["name"], gender=info.gender,
                               birth_date=info.birth_date, **shared)
        before = None
    else:
        person = existing_person
        before = {"phone": person.phone, "ethnicity": person.ethnicity, "political_status": person.political_status,
                  "join_date": person.join_date}
        if proven:
            people.update_own(session, Actor(person.id, person.name, ip), person, shared)
        else:
            people.update(session, owner_actor, person, shared)
    if is_admin(session, org.id, person.id):
        raise Conflict(f"您已是{org.short_name}的管理员，请直接登录")
    if existing_account is None:
        accounts_owner.open_claimed_account(session, person, data.password, now=now)
    post = session.scalar(select(CadrePost).where(CadrePost.person_id == person.id, CadrePost.org_id == org.id,
                                                  CadrePost.position == data.position, CadrePost.ended_at.is_(None)))
    if post is None:
        post_owner.open_post(session, owner_actor, person, org, position=data.position, now=now,
                             proven_self=proven)
    # Mark the code used atomically: of many concurrent redemptions exactly one matches this row.
    result = session.execute(
        update(RegistrationCode)
        .where(RegistrationCode.id == code.id, RegistrationCode.used_at.is_(None),
               RegistrationCode.revoked_at.is_(None), RegistrationCode.expires_at > now)
        .values(used_at=now, used_by_id=person.id)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise ValidationFailed.single("code", "该注册码刚刚已被使用，请向上级组织申请新的注册码")
    grant = grants.grant(session, owner_actor, org, person, now=now, code_id=code.id, proven_self=proven,
                         field="id_number")
    actor = Actor(person_id=person.id, name=person.name, ip=ip, org_id=org.id, scope_code=org.code)
    audit.record(session, actor, "admin.register", object_type="admin_grant", object_id=grant.id, org_id=org.id,
                 summary=f"{person.name} 使用注册码注册为 {org.short_name}（{org.code}）管理员，职务：{data.position}",
                 before=before, after={"org": org.code, "position": data.position, "person": person.masked_id},
                 people=[person.id])
    return grant
