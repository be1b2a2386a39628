from __future__ import annotations

from sqlalchemy import func, select

from ..domain import policy
from ..domain.canonical import canonical_org_name
from ..domain.errors import Conflict, ValidationFailed
from ..domain.orgtree import (
    OrgKind,
    check_placement,
    clean_name,
    is_within,
    next_child_code,
    validate_code,
    validate_short_name,
)
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
    org = Org(code=code, kind=kind.value, short_name=short_name,
              full_name=canonical_org_name(full_name or name) or None,
              is_township=False, sort_order=0, parent_id=None)
    session.add(org)
    session.flush()
    audit.record(session, actor, "org.create_root", object_type="org", object_id=org.id, org_id=org.id,
                 summary=f"初始化根组织 {short_name}（{code}）", after=org_snapshot(org))
    return org


def check_may_create_child(actor: Actor, parent: Org) -> None:
    """Admins create direct children of their own org only (policy org.create_child: the form, the import and this
    service alike); the command line (no scope) anywhere. Never under a dissolved org."""
    if actor.scope_code is not None:
        policy.require("org.create_child", actor.scope_code, parent.code)
    if parent.is_dissolved:
        raise Conflict(f"“{parent.short_name}”已撤销，不能在其下创建组织")


def create_child(session, actor: Actor, parent: Org, *, short_name: str, kind: OrgKind, settings: Settings,
                 is_township: bool = False) -> Org:
    """A direct child of ``parent``: name and category from the parent, code assigned by the system."""
    check_may_create_child(actor, parent)
    return add_org(session, actor, parent, short_name=short_name, kind=kind, settings=settings,
                   is_township=is_township)


def add_org(session, actor: Actor, parent: Org, *, short_name: str, kind: OrgKind, settings: Settings,
            is_township: bool = False) -> Org:
    """create_child without the authority check, for a caller that made it on the org the creation is made from
    (an import of the own org nests rows under orgs below it)."""
    name = validate_short_name(short_name)
    check_placement(parent.org_kind, kind, settings.placement)
    # Serialise code assignment under this parent (row lock on PostgreSQL; SQLite writes are serial).
    session.execute(select(Org.id).where(Org.id == parent.id).with_for_update())
    siblings = session.execute(select(Org.code, Org.short_name, Org.dissolved_at)
                               .where(Org.parent_id == parent.id)).all()
    if any(s.short_name == name and s.dissolved_at is None for s in siblings):
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


# ---------------------------------------------------------------- ordering, moving, merging, dissolving

def _live_children(session, parent_id: int) -> list[Org]:
    from ..queries import live_children
    return live_children(session, parent_id)


def reorder(session, actor: Actor, org: Org, direction: str) -> None:
    """Move a direct child one place up or down among its live siblings (the parent's admins only)."""
    policy.require("org.reorder", actor.scope_code, org.code)
    if direction not in ("up", "down"):
        raise ValidationFailed.single("direction", "调整方向只能是上移或下移")
    siblings = _live_children(session, org.parent_id)
    for i, s in enumerate(siblings, start=1):       # normalise: 1..n, no ties
        s.sort_order = i
    i = next(i for i, s in enumerate(siblings) if s.id == org.id)
    j = i - 1 if direction == "up" else i + 1
    if j < 0 or j >= len(siblings):
        raise Conflict(f"“{org.short_name}”已在{'最前' if direction == 'up' else '最后'}")
    siblings[i].sort_order, siblings[j].sort_order = siblings[j].sort_order, siblings[i].sort_order
    audit.record(session, actor, "org.reorder", object_type="org", object_id=org.id, org_id=org.id,
                 summary=f"调整顺序：{org.short_name} {'上移' if direction == 'up' else '下移'}，与 "
                         f"{siblings[j].short_name} 交换",
                 before={"sort_order": j + 1}, after={"sort_order": i + 1})


def move_targets(session, actor: Actor, org: Org, settings: Settings) -> list[Org]:
    """Organisations in the actor's scope that may receive ``org`` (dropdown options come from here)."""
    from ..queries import orgs_in
    candidates = session.scalars(orgs_in(actor.scope_code).where(Org.dissolved_at.is_(None)).order_by(Org.code))
    return [o for o in candidates if o.id != org.parent_id and not is_within(o.code, org.code)
            and org.org_kind in settings.placement.get(o.org_kind, frozenset())]


def check_may_move(actor: Actor, org: Org, new_parent: Org) -> None:
    """Orgs below the own org move, to a new parent anywhere in the actor's scope."""
    policy.require("org.move", actor.scope_code, org.code)
    policy.require("org.receive", actor.scope_code, new_parent.code)


def move_org(session, actor: Actor, org: Org, new_parent: Org, *, settings: Settings, now) -> dict[str, str]:
    """Move ``org`` with its whole subtree under ``new_parent``; re-code the subtree in this transaction.

    Returns the old → new code map (also stored in org_code_changes)."""
    from ..domain.orgtree import recode
    from ..models import OrgCodeChange
    check_may_move(actor, org, new_parent)
    if org.is_dissolved or new_parent.is_dissolved:
        raise Conflict("已撤销的组织不能移动，也不能接收下级组织")
    if is_within(new_parent.code, org.code):
        raise ValidationFailed.single("new_parent_id", "不能把组织移到它自己或它的下级组织之下")
    if new_parent.id == org.parent_id:
        raise ValidationFailed.single("new_parent_id", f"“{org.short_name}”已经在“{new_parent.short_name}”之下")
    check_placement(new_parent.org_kind, org.org_kind, settings.placement)
    session.execute(select(Org.id).where(Org.id.in_([new_parent.id, org.parent_id])).with_for_update())
    siblings = session.scalars(select(Org.code).where(Org.parent_id == new_parent.id)).all()
    if any(s.short_name == org.short_name for s in _live_children(session, new_parent.id)):
        raise ValidationFailed.single("new_parent_id", f"“{new_parent.short_name}”下已有同名组织“{org.short_name}”")
    old_prefix = org.code
    new_prefix = next_child_code(new_parent.code, siblings)
    from ..queries import within
    subtree = list(session.scalars(select(Org).where(within(Org.code, old_prefix)).order_by(Org.code)))
    if any(len(recode(o.code, old_prefix, new_prefix).split(".")) > 10 for o in subtree):
        raise ValidationFailed.single("new_parent_id", "移动后组织层级将超过10层，不能移动到这里")
    changes = {}
    for o in subtree:
        new_code = recode(o.code, old_prefix, new_prefix)
        changes[o.code] = new_code
        session.add(OrgCodeChange(org_id=o.id, old_code=o.code, new_code=new_code, reason="move", changed_at=now,
                                  changed_by_id=actor.person_id))
        o.code = new_code
    old_parent = org.parent
    org.parent_id = new_parent.id
    org.sort_order = (session.scalar(select(func.max(Org.sort_order)).where(Org.parent_id == new_parent.id)) or 0) + 1
    session.flush()
    audit.record(session, actor, "org.move", object_type="org", object_id=org.id, org_id=org.id,
                 summary=f"移动组织：{org.short_name} 从 {old_parent.short_name} 移到 {new_parent.short_name}，"
                         f"代码 {old_prefix} → {new_prefix}（连同下级共 {len(subtree)} 个组织重新编码）",
                 before={"parent": old_parent.code, "code": old_prefix},
                 after={"parent": new_parent.code, "code": new_prefix, "recoded": len(subtree)})
    return changes


def _close_org(session, actor: Actor, org: Org, *, now, reason: str) -> None:
    """Shared end of dissolve and merge: revoke admins and unused codes, end posts, mark dissolved."""
    from ..models import CadrePost, RegistrationCode
    from .cadres import close_post
    from .owners import grants
    grants.revoke_all(session, actor, org, now=now)
    for code in session.scalars(select(RegistrationCode).where(RegistrationCode.org_id == org.id,
                                                               RegistrationCode.used_at.is_(None),
                                                               RegistrationCode.revoked_at.is_(None))):
        code.revoked_at, code.revoked_by_id = now, actor.person_id
    for post in session.scalars(select(CadrePost).where(CadrePost.org_id == org.id, CadrePost.ended_at.is_(None))):
        close_post(session, actor, post, now=now, reason=reason[:100])
    org.dissolved_at, org.dissolved_reason = now, reason[:200]


def check_may_close(actor: Actor, org: Org) -> None:
    policy.require("org.close", actor.scope_code, org.code)
    if org.is_dissolved:
        raise Conflict(f"“{org.short_name}”已于此前撤销")


def dissolve(session, actor: Actor, org: Org, *, reason: str, now) -> None:
    """撤销 an organisation that holds no members and has no live children. History is kept."""
    from ..models import Member
    check_may_close(actor, org)
    reason = clean_name(reason)
    if not reason:
        raise ValidationFailed.single("reason", "请填写撤销原因")
    if _live_children(session, org.id):
        raise Conflict(f"“{org.short_name}”还有下级组织，请先撤销或移走下级组织")
    members = session.scalar(select(func.count()).select_from(Member).where(Member.org_id == org.id,
                                                                           Member.deleted_at.is_(None)))
    if members:
        raise Conflict(f"“{org.short_name}”还有{members}名团员，请先转出团员或与其他团支部合并")
    _close_org(session, actor, org, now=now, reason=f"组织撤销：{reason}")
    org.dissolved_reason = reason[:200]
    audit.record(session, actor, "org.dissolve", object_type="org", object_id=org.id, org_id=org.id,
                 summary=f"撤销组织：{org.short_name}（{org.code}），原因：{reason}",
                 before={"dissolved": False}, after={"dissolved": True, "reason": reason})


def merge_branches(session, actor: Actor, source: Org, target: Org, *, now) -> int:
    """Merge branch ``source`` into ``target`` (same parent): members and cadres move, ``source`` is dissolved."""
    from ..models import CadrePost
    check_may_close(actor, source)
    if source.id == target.id:
        raise ValidationFailed.single("target_id", "不能与自身合并")
    if source.org_kind is not OrgKind.BRANCH or target.org_kind is not OrgKind.BRANCH:
        raise ValidationFailed.single("target_id", "只有团支部之间可以合并")
    if source.parent_id != target.parent_id:
        raise ValidationFailed.single("target_id", "只能与同一上级组织下的团支部合并")
    if target.is_dissolved:
        raise Conflict(f"“{target.short_name}”已撤销")
    from .owners import memberships
    from .owners import posts as post_owner
    moved = memberships.move_all(session, actor, source, target, now=now)
    for post in session.scalars(select(CadrePost).where(CadrePost.org_id == source.id, CadrePost.ended_at.is_(None))):
        clash = session.scalar(select(CadrePost.id).where(CadrePost.org_id == target.id, CadrePost.ended_at.is_(None),
                                                          CadrePost.person_id == post.person_id,
                                                          CadrePost.position == post.position))
        if clash is None:
            post_owner.move(session, actor, post, target)
    session.flush()
    _close_org(session, actor, source, now=now, reason=f"并入{target.short_name}")
    source.merged_into_id = target.id
    audit.record(session, actor, "org.merge", object_type="org", object_id=source.id, org_id=target.id,
                 summary=f"合并团支部：{source.short_name}（{source.code}）并入 {target.short_name}（{target.code}），"
                         f"转入团员 {moved} 名",
                 before={"source": source.code, "members": moved}, after={"target": target.code})
    return moved
