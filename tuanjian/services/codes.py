"""Issuing and revoking 管理员注册码 for direct child organisations."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..clock import to_local
from ..domain import policy
from ..domain.codes import CodeStatus, expiry, generate_code
from ..domain.errors import Conflict, NotAllowed
from ..domain.settings import Settings
from ..models import Org, RegistrationCode
from ..queries import admin_count, admin_counts, children_of, live_children
from . import audit
from .actor import Actor


def check_may_issue(actor: Actor, org: Org) -> None:
    """Codes are issued by the admins of the direct parent only (seed 001: 直属下级团组织)."""
    policy.require("code.issue", actor.scope_code, org.code)
    if org.is_dissolved:
        raise Conflict(f"“{org.short_name}”已撤销，不能生成注册码")


def usable_code(session, org_id: int, now: datetime) -> RegistrationCode | None:
    return session.scalar(select(RegistrationCode).where(
        RegistrationCode.org_id == org_id, RegistrationCode.used_at.is_(None),
        RegistrationCode.revoked_at.is_(None), RegistrationCode.expires_at > now)
        .order_by(RegistrationCode.id.desc()).limit(1))


def _new_code(session, org: Org, actor: Actor, settings: Settings, now: datetime) -> RegistrationCode:
    for _ in range(10):
        text = generate_code()
        if session.scalar(select(RegistrationCode.id).where(RegistrationCode.code == text)):
            continue
        code = RegistrationCode(org_id=org.id, code=text, issued_at=now, issued_by_id=actor.person_id,
                                expires_at=expiry(now, settings.code_valid_days))
        try:
            with session.begin_nested():
                session.add(code)
                session.flush()
        except IntegrityError:  # pragma: no cover - 48^8 space; a collision is astronomically rare
            continue
        return code
    raise Conflict("生成注册码失败，请重试")  # pragma: no cover


def issue_code(session, actor: Actor, org: Org, settings: Settings, now: datetime) -> RegistrationCode:
    """A fresh code for ``org``. An earlier unused code of the same org is revoked (only the newest is valid)."""
    check_may_issue(actor, org)
    limit = settings.admin_limit(org.org_kind)
    if admin_count(session, org.id) >= limit:
        raise Conflict(f"{org.short_name}已有{limit}名管理员，达到上限，不能再生成注册码")
    previous = usable_code(session, org.id, now)
    if previous is not None:
        previous.revoked_at, previous.revoked_by_id = now, actor.person_id
        audit.record(session, actor, "code.revoke", object_type="registration_code", object_id=previous.id,
                     org_id=org.id, summary=f"重新生成注册码，原注册码作废（{org.short_name}）",
                     before={"status": CodeStatus.UNUSED.label}, after={"status": CodeStatus.REVOKED.label})
    code = _new_code(session, org, actor, settings, now)
    audit.record(session, actor, "code.issue", object_type="registration_code", object_id=code.id, org_id=org.id,
                 summary=f"为 {org.short_name}（{org.code}）生成注册码，有效期至 "
                         f"{to_local(code.expires_at):%Y-%m-%d %H:%M}",
                 after={"org": org.code, "expires_at": code.expires_at.isoformat(timespec="minutes")})
    return code


@dataclass(frozen=True)
class BatchRow:
    org: Org
    code: RegistrationCode | None
    note: str
    admins: int = 0            # admins the org already has (issue 26.6: a code for one of them is said so)


def issue_batch(session, actor: Actor, parent: Org, settings: Settings, now: datetime) -> list[BatchRow]:
    """Codes for every direct child: a still-valid unused code is kept (it may already be handed out),
    children without one get a new code, children at their admin limit get none."""
    policy.require("code.issue_batch", actor.scope_code, parent.code)
    rows: list[BatchRow] = []
    children = live_children(session, parent.id)
    for child in children:
        limit = settings.admin_limit(child.org_kind)
        admins = admin_count(session, child.id)
        if admins >= limit:
            rows.append(BatchRow(child, None, f"管理员已满{limit}名，无需注册码", admins))
            continue
        existing = usable_code(session, child.id, now)
        if existing is not None:
            rows.append(BatchRow(child, existing, "沿用尚未使用的注册码", admins))
            continue
        code = _new_code(session, child, actor, settings, now)
        audit.record(session, actor, "code.issue", object_type="registration_code", object_id=code.id,
                     org_id=child.id, summary=f"批量生成注册码：{child.short_name}（{child.code}）",
                     after={"org": child.code, "expires_at": code.expires_at.isoformat(timespec="minutes")})
        rows.append(BatchRow(child, code, "新生成", admins))
    return rows


@dataclass(frozen=True)
class Slip:
    org: Org
    code: RegistrationCode
    admins: int = 0            # admins the org already has: the slip says so (issue 26.6)


def slips(session, actor: Actor, parent: Org, settings: Settings,
          now: datetime) -> tuple[list[Slip], list[Org], list[Org]]:
    """The 注册码条 of ``parent``'s direct children (nothing is issued): (slips for children with a usable code,
    children still needing one, children whose admins are complete)."""
    policy.require("code.print_slips", actor.scope_code, parent.code)
    children = list(session.scalars(children_of(parent.id)))
    admins = admin_counts(session, [c.id for c in children])
    out, missing, full = [], [], []
    for child in children:
        code = usable_code(session, child.id, now)
        if code is not None:
            out.append(Slip(child, code, admins.get(child.id, 0)))
        elif admins.get(child.id, 0) >= settings.admin_limit(child.org_kind):
            full.append(child)
        else:
            missing.append(child)
    return out, missing, full


def revoke_code(session, actor: Actor, code: RegistrationCode, now: datetime) -> None:
    check_may_issue(actor, code.org)
    status = code.status(now)
    if status is not CodeStatus.UNUSED:
        raise Conflict(f"该注册码{status.label}，无需撤销")
    code.revoked_at, code.revoked_by_id = now, actor.person_id
    audit.record(session, actor, "code.revoke", object_type="registration_code", object_id=code.id,
                 org_id=code.org_id, summary=f"撤销 {code.org.short_name} 的注册码",
                 before={"status": status.label}, after={"status": CodeStatus.REVOKED.label})


def issue_root_code(session, actor: Actor, org: Org, settings: Settings, now: datetime) -> RegistrationCode:
    """From the command line only: a code for a root organisation, which has no parent to issue one."""
    if org.parent_id is not None:
        raise NotAllowed("命令行只为根组织生成注册码；下级组织的注册码由其上级组织管理员在系统中生成")
    previous = usable_code(session, org.id, now)
    if previous is not None:
        previous.revoked_at = now
    code = _new_code(session, org, actor, settings, now)
    audit.record(session, actor, "code.issue", object_type="registration_code", object_id=code.id, org_id=org.id,
                 summary=f"命令行为根组织 {org.short_name}（{org.code}）生成注册码",
                 after={"org": org.code, "expires_at": code.expires_at.isoformat(timespec="minutes")})
    return code
