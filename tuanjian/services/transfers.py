"""组织关系转接 requests between branches."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ..clock import local_date
from ..domain import policy
from ..domain.canonical import canonical_person_name
from ..domain.errors import Conflict, ValidationFailed
from ..domain.orgtree import check_holds_members, is_within
from ..domain.people import parse_id_number
from ..models import Member, Org, Person, TransferRequest
from ..queries import is_admin
from . import audit, ownership
from .actor import Actor
from .cadres import close_post, open_posts
from .owners import memberships


def request_transfer(session, actor: Actor, to_branch: Org, *, id_number: str, name: str, reason: str,
                     now: datetime) -> TransferRequest:
    """The receiving side asks for a member held by another branch (identified by the ID number and name the
    admin typed; nothing about the member is shown before the holder agrees)."""
    policy.require("transfer.request", actor.scope_code, to_branch.code)
    check_holds_members(to_branch.org_kind, to_branch.short_name)
    info = parse_id_number(id_number, local_date(now))
    member = session.scalar(select(Member).join(Person, Member.person_id == Person.id)
                            .where(Person.id_number == info.number, Member.deleted_at.is_(None)))
    if member is None or member.person.name != canonical_person_name(name):
        raise ValidationFailed.single("id_number", "没有找到该身份证号和姓名对应的团员，请核对")
    if member.org_id == to_branch.id:
        raise Conflict(f"{member.person.name}已在本团支部")
    if session.scalar(select(TransferRequest.id).where(TransferRequest.member_id == member.id,
                                                       TransferRequest.status == "pending")):
        raise Conflict("该团员已有一个待处理的转接申请，请等待对方处理")
    req = TransferRequest(member_id=member.id, from_org_id=member.org_id, to_org_id=to_branch.id, status="pending",
                          reason=" ".join((reason or "").split())[:200] or None, requested_by_id=actor.person_id,
                          requested_at=now)
    session.add(req)
    session.flush()
    for org in {member.org, to_branch}:     # both sides' audit pages show it; neither names an org outside reach
        audit.record(session, actor, "transfer.request", object_type="transfer", object_id=req.id, org_id=org.id,
                     summary=f"申请转接：{member.person.name} 从 {_named(member.org, org)} 转入 "
                             f"{_named(to_branch, org)}",
                     after={"person": member.person.masked_id, "status": "pending"})
    return req


def _named(org: Org, filed_under: Org) -> str:
    """An org's name in an entry filed under ``filed_under`` (seen by the admins of that org and above): said only
    when it lies in that org's subtree, else “其他组织” — a branch admin never learns the other side's org from the
    log; the admins above both sides see both entries, and the transfer list names what lies in their scope."""
    return org.short_name if is_within(org.code, filed_under.code) else "其他组织"


def may_decide(actor: Actor, req: TransferRequest) -> bool:
    """An admin of the holding branch or of any org above it (the common ancestor included)."""
    return policy.refusal("transfer.decide", actor.scope_code, req.from_org.code) is None


def may_cancel(actor: Actor, req: TransferRequest) -> bool:
    return policy.refusal("transfer.cancel", actor.scope_code, req.to_org.code) is None


def decide(session, actor: Actor, req: TransferRequest, *, accept: bool, note: str, now: datetime) -> None:
    policy.require("transfer.decide", actor.scope_code, req.from_org.code)
    if req.status != "pending":
        raise Conflict(f"该申请{req.status_label}，不能再处理")
    member = req.member
    if accept:
        if member.deleted_at is not None or member.org_id != req.from_org_id:
            raise Conflict("该团员的组织关系已变化，本申请无法执行")
        if req.to_org.is_dissolved:
            raise Conflict(f"“{req.to_org.short_name}”已撤销")
        if is_admin(session, member.org_id, member.person_id):
            raise Conflict(f"{member.person.name}是{req.from_org.short_name}的管理员，须先移交管理员权限才能转出")
        # a deferred write: the asking side must still reach the receiving branch at this moment
        ownership.requester_scope(session, req.requested_by_id, req.to_org)
        for post in open_posts(session, member):
            close_post(session, actor, post, now=now, reason="组织关系转出")
        memberships.move(session, actor, member, req.to_org, now=now, note=req.reason)
    req.status = "accepted" if accept else "refused"
    req.decided_by_id, req.decided_at = actor.person_id, now
    req.decision_note = " ".join((note or "").split())[:200] or None
    for org in {req.from_org, req.to_org}:
        audit.record(session, actor, "transfer.accept" if accept else "transfer.refuse", object_type="transfer",
                     object_id=req.id, org_id=org.id,
                     summary=f"{'同意' if accept else '拒绝'}转接：{member.person.name} "
                             f"从 {_named(req.from_org, org)} 转入 {_named(req.to_org, org)}"
                     + (f"（{req.decision_note}）" if req.decision_note else ""),
                     before={"status": "pending"}, after={"status": req.status})


def cancel_request(session, actor: Actor, req: TransferRequest, *, now: datetime) -> None:
    policy.require("transfer.cancel", actor.scope_code, req.to_org.code)
    if req.status != "pending":
        raise Conflict(f"该申请{req.status_label}，不能撤回")
    req.status, req.decided_by_id, req.decided_at = "cancelled", actor.person_id, now
    audit.record(session, actor, "transfer.cancel", object_type="transfer", object_id=req.id, org_id=req.to_org_id,
                 summary=f"撤回转接申请：{req.member.person.name} 转入 {req.to_org.short_name}",
                 before={"status": "pending"}, after={"status": "cancelled"})
