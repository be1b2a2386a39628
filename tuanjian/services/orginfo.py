"""录入组织信息: save an org's info and its 书记 (creates/links person, post and account)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ..clock import local_date
from ..domain import policy
from ..domain.errors import Collector, ValidationFailed
from ..domain.orginfo import (
    DEFAULT_INDUSTRIES,
    FIELD_LABELS,
    LOCKED_FIELDS,
    changed_locked_fields,
    info_complete,
    validate_org_info,
)
from ..domain.orgtree import OrgKind, check_placement
from ..domain.people import parse_id_number, validate_person_name, validate_phone
from ..domain.settings import Settings
from ..models import AdminGrant, CadrePost, Member, Org, Person
from ..queries import children_of, live_children
from . import audit, ownership
from .accounts import ensure_account
from .actor import Actor
from .cadres import close_post
from .owners import people
from .owners import posts as post_owner

SECRETARY = "书记"


class NeedsConfirmation(Exception):
    """The first save locks the names and categories: the user must see and confirm them first."""

    def __init__(self, locked: dict[str, str]):
        super().__init__("confirmation needed")
        self.locked = locked


@dataclass
class SavedInfo:
    org: Org
    hints: list[str]
    secretary_created: bool


def current_secretary(session, org: Org) -> CadrePost | None:
    return session.scalar(select(CadrePost).where(CadrePost.org_id == org.id, CadrePost.position == SECRETARY,
                                                  CadrePost.ended_at.is_(None)).order_by(CadrePost.id.desc()))


def info_values(org: Org) -> dict:
    return {"kind": org.kind, "short_name": org.short_name, "full_name": org.full_name, "industry": org.industry,
            "staff_admin_quota": org.staff_admin_quota, "staff_admin_actual": org.staff_admin_actual,
            "staff_inst_quota": org.staff_inst_quota, "staff_inst_actual": org.staff_inst_actual,
            "phone": org.phone, "email": org.email, "wechat": org.wechat, "weibo": org.weibo,
            "youth_count": org.youth_count, "party_recommended": org.party_recommended, "founded_on": org.founded_on,
            "school_code": org.school_code}


def is_info_complete(session, org: Org) -> bool:
    post = current_secretary(session, org)
    return info_complete(info_values(org), org.org_kind, secretary_has_phone=bool(post and post.person.phone))


def check_school_code_free(session, code: str, org: Org) -> None:
    """学校标识码 is unique: one school, one organisation standing for it (the database enforces it too)."""
    holder = session.scalar(select(Org).where(Org.school_code == code, Org.id != org.id))
    if holder is not None:
        where = "（已撤销）" if holder.dissolved_at is not None else ""
        raise ValidationFailed.single(
            "school_code", f"学校标识码 {code} 已由“{holder.full_name or holder.short_name}”{where}使用，"
                           "一所学校只能对应一个团组织，请核对")


def check_may_edit(actor: Actor, org: Org) -> None:
    policy.require("org.edit_info", actor.scope_code, org.code)


def _lock_refusal(actor: Actor, org: Org) -> str | None:
    """Why the actor may not change the locked naming/category fields once saved (None: an admin above)."""
    return policy.refusal("org.info_correct", actor.scope_code, org.code)


def locked_for(actor: Actor, org: Org) -> bool:
    """The naming/category fields are locked for the org's own admin once saved."""
    return org.info_locked_at is not None and _lock_refusal(actor, org) is not None


def confirms_first_save(actor: Actor, org: Org) -> bool:
    """The first save locks those fields: the org's own admin sees and confirms them first."""
    return org.info_locked_at is None and _lock_refusal(actor, org) is not None


def _check_kind_change(session, org: Org, new_kind: OrgKind, settings: Settings) -> None:
    if org.parent is not None:
        check_placement(org.parent.org_kind, new_kind, settings.placement)
    for child in live_children(session, org.id):
        check_placement(new_kind, child.org_kind, settings.placement)
    if not new_kind.holds_members and session.scalar(
            select(func.count()).select_from(Member).where(Member.org_id == org.id, Member.deleted_at.is_(None))):
        raise ValidationFailed.single("kind", "该团支部还有团员，不能改为其他类别；请先把团员转到其他团支部")


def _check_info_changes(session, actor: Actor, org: Org, info, before: dict, after: dict, settings: Settings,
                        c: Collector) -> None:
    """Record on ``c`` the problems with changing ``org``'s info from ``before`` to ``after``."""
    if locked_for(actor, org):
        for f in changed_locked_fields(before, after):
            c.add(f, FIELD_LABELS[f] + _lock_refusal(actor, org))
    if info.kind.value != org.kind:
        if org.parent_id is None:
            c.add("kind", "根组织的类别不能修改")
        else:
            c.check(_check_kind_change, session, org, info.kind, settings)
    if info.short_name != org.short_name and org.parent_id is not None and session.scalar(
            children_of(org.parent_id).with_only_columns(Org.id).where(Org.short_name == info.short_name,
                                                                       Org.id != org.id).limit(1)):
        c.add("short_name", f"上级组织下已有名为“{info.short_name}”的组织")
    if info.school_code:
        c.check(check_school_code_free, session, info.school_code, org)


def save_org_info(session, actor: Actor, org: Org, data: dict, *, settings: Settings, now: datetime,
                  confirmed: bool, industries: tuple[str, ...] = DEFAULT_INDUSTRIES) -> SavedInfo:
    check_may_edit(actor, org)
    c = Collector()
    info = c.check(validate_org_info, data, industries=industries, today=local_date(now))
    sec_name = c.check(lambda: validate_person_name(data.get("secretary_name")))
    sec_id = c.check(lambda: parse_id_number(data.get("secretary_id_number"), local_date(now)))
    sec_phone = c.check(lambda: validate_phone(data.get("secretary_phone"), True))
    for key in ("name", "id_number", "phone"):        # person-rule field names → form field names
        if key in c.errors:
            c.errors[f"secretary_{key}"] = c.errors.pop(key)
    before = info_values(org)
    if info is not None:
        after = info.columns()
        _check_info_changes(session, actor, org, info, before, after, settings, c)
    holder = None
    previous = current_secretary(session, org)
    holder_owned = True
    if sec_id is not None:
        holder = session.scalar(select(Person).where(Person.id_number == sec_id.number))
        holder_owned = holder is None or ownership.in_reach(session, actor, holder)
        if not holder_owned and (previous is None or previous.person_id != holder.id):
            # a person not wholly in reach is neither named nor taken in, whatever name was typed
            c.add("secretary_id_number", policy.HELD_ELSEWHERE_SECRETARY)
            holder = None
        elif holder is not None and sec_name and holder.name != sec_name:
            c.add("secretary_name", "该身份证号已登记，但与填写的书记姓名不一致，请核对")
        elif not holder_owned and sec_phone and holder.phone != sec_phone:
            # the sitting secretary also holds a place outside this admin's reach: kept as stored
            c.add("secretary_phone", policy.PERSON_OUTSIDE)
    if previous is not None and sec_id is not None and previous.person.id_number != sec_id.number:
        if session.scalar(select(AdminGrant.id).where(AdminGrant.org_id == org.id, AdminGrant.revoked_at.is_(None),
                                                      AdminGrant.person_id == previous.person_id)):
            c.add("secretary_id_number",
                  f"原书记{previous.person.name}是本组织管理员，不能直接卸任："
                  "请先在“本级团干部”中把其职务变更为其他职务，"
                  "或先移交管理员权限，再更换书记")
    c.raise_if_any()

    first_save = org.info_locked_at is None
    if confirms_first_save(actor, org) and not confirmed:
        raise NeedsConfirmation({FIELD_LABELS[f]: (OrgKind(after[f]).label if f == "kind" else after[f] or "（空）")
                                 for f in LOCKED_FIELDS})

    for key, value in after.items():
        setattr(org, key, value)
    org.secretary_presiding = bool(data.get("secretary_presiding"))
    if first_save:
        org.info_locked_at = now

    created = False
    if holder is None:
        holder = people.create(session, actor, id_number=sec_id.number, name=sec_name, gender=sec_id.gender,
                               birth_date=sec_id.birth_date)
        created = True
    if holder_owned:
        people.update(session, actor, holder, {"phone": sec_phone})
    ensure_account(session, holder)
    own_post = session.scalar(select(CadrePost).where(CadrePost.org_id == org.id, CadrePost.person_id == holder.id,
                                                      CadrePost.ended_at.is_(None)).order_by(CadrePost.id))
    if previous is not None and previous.person_id != holder.id:
        close_post(session, actor, previous, now=now, reason="书记变更", note=f"书记变更为{holder.name}")
    if own_post is None:
        post_owner.open_post(session, actor, holder, org, position=SECRETARY, now=now, kind="secretary",
                             field="secretary_id_number")
    elif own_post.position != SECRETARY:
        post_owner.rename(session, actor, own_post, position=SECRETARY, now=now, note="录入组织信息时设为书记")
    session.flush()

    changed = {k: (before[k], after[k]) for k in after if before.get(k) != after.get(k)}
    by_parent = _lock_refusal(actor, org) is None and any(f in changed for f in LOCKED_FIELDS) and not first_save
    summary = ("上级组织更正" if by_parent else "录入") + f"组织信息：{org.short_name}（{org.code}）"
    if previous is None or previous.person_id != holder.id:
        summary += f"；书记 {holder.name}"
    audit.record(session, actor, "org.info", object_type="org", object_id=org.id, org_id=org.id, summary=summary,
                 before={k: _plain(v[0]) for k, v in changed.items()} or None,
                 after={**{k: _plain(v[1]) for k, v in changed.items()}, "secretary": holder.masked_id},
                 people=[holder.id] + ([previous.person_id] if previous is not None else []))
    from ..domain.orginfo import naming_hints
    return SavedInfo(org, naming_hints(org.short_name, org.full_name, org.org_kind, org.industry), created)


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value

