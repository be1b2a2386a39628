from __future__ import annotations

from sqlalchemy import func, select

from ..domain.errors import Conflict, NotAllowed, ValidationFailed
from ..domain.orgtree import (OrgKind, check_placement, clean_name, is_within, next_child_code, validate_code,
                              validate_short_name)
from ..domain.settings import Settings
from ..models import Org
from . import audit
from .actor import Actor


def org_snapshot(org: Org) -> dict:
    return {"code": org.code, "kind": org.kind_label, "short_name": org.short_name, "full_name": org.full_name,
            "is_township": org.is_township, "parent_id": org.parent_id}


def create_root(session, actor: Actor, *, name: str, code: str, kind: OrgKind = OrgKind.LEADING,
                full_name: str | None = None) -> Org:
    """The county root (团县委). Its code is given at initialisation, e.g. 000.012.016.007."""
    code = validate_code(code)
    short_name = validate_short_name(name)
    if session.scalar(select(Org.id).where(Org.code == code)):
        raise Conflict(f"组织代码 {code} 已存在")
    org = Org(code=code, kind=kind.value, short_name=short_name, full_name=clean_name(full_name or name) or None,
              is_township=False, sort_order=0, parent_id=None)
    session.add(org)
    session.flush()
    audit.record(session, actor, "org.create_root", object_type="org", object_id=org.id, org_id=org.id,
                 summary=f"初始化根组织 {short_name}（{code}）", after=org_snapshot(org))
    return org


def create_child(session, actor: Actor, parent: Org, *, short_name: str, kind: OrgKind, settings: Settings,
                 is_township: bool = False) -> Org:
    """A direct child of ``parent``: name and category from the parent, code assigned by the system."""
    if actor.scope_code is not None and not is_within(parent.code, actor.scope_code):
        raise NotAllowed("不在您的管理范围内")
    name = validate_short_name(short_name)
    check_placement(parent.org_kind, kind, settings.placement)
    # Serialise code assignment under this parent (row lock on PostgreSQL; SQLite writes are serial).
    session.execute(select(Org.id).where(Org.id == parent.id).with_for_update())
    siblings = session.execute(select(Org.code, Org.short_name).where(Org.parent_id == parent.id)).all()
    if any(s.short_name == name for s in siblings):
        raise ValidationFailed.single("short_name", f"{parent.short_name}下已有名为“{name}”的组织")
    code = next_child_code(parent.code, (s.code for s in siblings))
    order = (session.scalar(select(func.max(Org.sort_order)).where(Org.parent_id == parent.id)) or 0) + 1
    org = Org(parent_id=parent.id, code=code, kind=kind.value, short_name=name, full_name=None,
              is_township=bool(is_township and kind.may_be_township), sort_order=order)
    session.add(org)
    session.flush()
    audit.record(session, actor, "org.create", object_type="org", object_id=org.id, org_id=org.id,
                 summary=f"在 {parent.short_name} 下创建{kind.label} {name}（{code}）", after=org_snapshot(org))
    return org
