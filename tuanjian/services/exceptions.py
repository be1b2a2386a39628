"""特殊情况录入 (issue 18): a branch asks for a member that only exceptable rules block; the approving level approves
(the member is created, the exception recorded on it) or refuses. Rules: domain.exceptions; who may: domain.policy.
Services never commit."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ..clock import local_date
from ..domain import exceptions as rules
from ..domain import policy
from ..domain.errors import Conflict, NotAllowed, ValidationFailed
from ..domain.members import validate_member
from ..models import ExceptionRequest, ImportBatch, Member, Org, Person
from . import audit, ownership
from .actor import Actor
from .members import HeldElsewhere, add_member, check_may_edit
from .owners import memberships

NOT_NEEDED = "该团员符合全部录入规则，可以直接录入，无需申请特殊情况录入"
NOT_EXCEPTABLE = "以下问题不能通过特殊情况录入解决，请先改正："


def instance_root(session, org: Org) -> Org:
    while org.parent is not None:
        org = org.parent
    return org


def approver_org(session, branch: Org, settings) -> Org:
    """The org whose admins approve the branch's requests (setting ``exception_approver_depth``; 0 = the root)."""
    code = rules.approver_code(branch.code, instance_root(session, branch).code, settings.exception_approver_depth)
    return session.scalar(select(Org).where(Org.code == code))


def assess_values(values: dict, *, settings, today) -> rules.Assessment | None:
    """None when the member passes every rule; otherwise which exceptable rules failed and what blocks."""
    try:
        validate_member(values, settings=settings, today=today)
    except ValidationFailed as exc:
        return rules.assess(exc, settings)
    return None


def _check_free(session, actor: Actor, branch: Org, data: dict, *, request_id: int | None = None,
                also: tuple[str, ...] = ()) -> None:
    """The database rules no exception covers: a person held elsewhere (or outside reach: the actor's and, at an
    approval, the requester's as it is now), a name that differs, an existing member, a 发展团员编号 used by someone
    else, a request already waiting for the same person."""
    person = session.scalar(select(Person).where(Person.id_number == data["id_number"]))
    if person is not None:
        places = ownership.places_of(session, person)
        if not ownership.in_reach(session, actor, person) or not all(policy.in_reach(s, places) for s in also):
            raise HeldElsewhere(None, data["name"])
        if person.name != data["name"]:
            raise ValidationFailed.single("name", policy.NAME_DIFFERS)
        member = session.scalar(select(Member).where(Member.person_id == person.id, Member.deleted_at.is_(None)))
        if member is not None:
            if member.org_id == branch.id:
                raise Conflict(f"{person.name}已是本团支部团员，无需申请")
            raise HeldElsewhere(member.org, person.name)
    if data.get("dev_number") and session.scalar(select(Member.id).where(Member.dev_number == data["dev_number"],
                                                                          Member.deleted_at.is_(None))):
        raise ValidationFailed.single("dev_number", "该发展团员编号已被其他团员使用，请核对")
    waiting = session.scalar(select(ExceptionRequest.id).where(ExceptionRequest.id_number == data["id_number"],
                                                               ExceptionRequest.status == rules.PENDING))
    if waiting is not None and waiting != request_id:
        raise Conflict("此人已有一个待审批的特殊情况录入申请，请等待审批结果")


def request_exception(session, actor: Actor, branch: Org, values: dict, *, reason: str, voucher: str,
                      scan: bytes | None, settings, now: datetime, batch: ImportBatch | None = None,
                      row: int | None = None) -> ExceptionRequest:
    """``values``: the member as typed (form fields or an import row's cells). Refused unless it fails only
    exceptable rules; the cleaned member (those rules waived) is kept until the decision. Nothing else is written."""
    policy.require("exception.request", actor.scope_code, branch.code)
    check_may_edit(actor, branch)                 # a dissolved org or a non-branch org: never
    reason, voucher = rules.check_request_text(reason, voucher)
    today = local_date(now)
    verdict = assess_values(values, settings=settings, today=today)
    if verdict is None:
        # a person held elsewhere gets the one answer every entry gives, before anything else is said
        _check_free(session, actor, branch, validate_member(values, settings=settings, today=today))
        raise Conflict(NOT_NEEDED)
    if not verdict.exceptable:
        raise ValidationFailed({"rules": [NOT_EXCEPTABLE + "；".join(verdict.blocking)]})
    data = rules.validate_excepted(values, rules=verdict.rules, settings=settings, today=today)
    _check_free(session, actor, branch, data)
    scan_type = None
    if scan is not None:
        scan_type = rules.sniff_scan(scan, max_bytes=settings.exception_scan_max_kb * 1024)
    approver = approver_org(session, branch, settings)
    req = ExceptionRequest(org_id=branch.id, approver_org_id=approver.id, name=data["name"],
                           id_number=data["id_number"], data=data, rules=rules.format_rules(verdict.rules),
                           reason=reason, voucher=voucher, scan=scan, scan_type=scan_type,
                           scan_size=len(scan) if scan is not None else None,
                           import_batch_id=batch.id if batch is not None else None, import_row=row,
                           status=rules.PENDING, requested_by_id=actor.person_id, requested_at=now)
    session.add(req)
    session.flush()
    where = f"（导入文件第{row}行）" if row is not None else ""
    for org_id in {branch.id, approver.id}:        # both sides' audit pages show it
        audit.record(session, actor, "exception.request", object_type="exception", object_id=req.id, org_id=org_id,
                     summary=f"申请特殊情况录入：{data['name']}（{branch.short_name}）{where}，"
                             f"例外规则：{verdict.labels}，出具说明：{voucher}，理由：{reason}",
                     after={"person": req.masked_id, "rules": list(verdict.rules), "status": rules.PENDING,
                            "scan": scan_type})
    return req


def decide_refusal(actor: Actor, req: ExceptionRequest) -> str | None:
    """Why the actor may not decide ``req`` (None: may)."""
    return policy.exception_approve_refusal(actor.scope_code, req.approver_org.code, actor_person_id=actor.person_id,
                                            requested_by_id=req.requested_by_id)


def _check_decidable(actor: Actor, req: ExceptionRequest) -> None:
    reason = decide_refusal(actor, req)
    if reason is not None:
        raise NotAllowed(reason)
    if req.status != rules.PENDING:
        raise Conflict(f"该申请{req.status_label}，不能再处理")


def approve(session, actor: Actor, req: ExceptionRequest, *, note: str, settings, now: datetime) -> Member:
    """The member is created in the branch with the exception recorded on it (Member.exception_id)."""
    _check_decidable(actor, req)
    missing = set(req.rule_codes) - rules.enabled_rules(settings)
    if missing:
        raise Conflict(f"“{rules.rule_labels(sorted(missing))}”已不再允许特殊情况录入（设置已改），请退回该申请")
    # a deferred write: the requester's reach, as it is at this moment, must cover the person as well as the
    # approver's (someone entered in another subtree since the request is neither overwritten nor moved)
    requester = ownership.requester_scope(session, req.requested_by_id, req.org)
    _check_free(session, actor, req.org, req.data, request_id=req.id, also=(requester,))
    member, _ = add_member(session, actor, req.org, dict(req.data), now=now, also=(requester,))
    memberships.mark_exception(session, member, req.id)
    req.status, req.decided_by_id, req.decided_at = rules.APPROVED, actor.person_id, now
    req.decision_note = " ".join((note or "").split())[:rules.DECISION_MAX] or None
    for org_id in {req.org_id, req.approver_org_id}:
        audit.record(session, actor, "exception.approve", object_type="exception", object_id=req.id, org_id=org_id,
                     summary=f"批准特殊情况录入：{req.name}（{req.org.short_name}），例外规则：{req.rule_labels}"
                             + (f"，意见：{req.decision_note}" if req.decision_note else ""),
                     before={"status": rules.PENDING}, after={"status": rules.APPROVED, "member": member.id},
                     people=[member.person_id])
    return member


def refuse(session, actor: Actor, req: ExceptionRequest, *, note: str, now: datetime) -> None:
    _check_decidable(actor, req)
    note = " ".join((note or "").split())
    if not note:
        raise ValidationFailed.single("note", "退回申请须填写理由")
    if len(note) > rules.DECISION_MAX:
        raise ValidationFailed.single("note", f"退回理由最多{rules.DECISION_MAX}个字")
    req.status, req.decided_by_id, req.decided_at, req.decision_note = rules.REFUSED, actor.person_id, now, note
    for org_id in {req.org_id, req.approver_org_id}:
        audit.record(session, actor, "exception.refuse", object_type="exception", object_id=req.id, org_id=org_id,
                     summary=f"退回特殊情况录入申请：{req.name}（{req.org.short_name}），理由：{note}",
                     before={"status": rules.PENDING}, after={"status": rules.REFUSED})


def record_excepted_edit(session, actor: Actor, member: Member, changed: set[str], before: dict, after: dict) -> None:
    """A later edit of a field an exception covers (入团年月, 发展团员编号) is audited as such."""
    if member.exception is None:
        return
    touched = sorted(set(changed) & rules.excepted_fields(member.exception.rule_codes))
    if not touched:
        return
    labels = {"join_date": "入团年月", "dev_number": "发展团员编号"}
    audit.record(session, actor, "exception.edit", object_type="member", object_id=member.id, org_id=member.org_id,
                 summary=f"修改特殊情况录入团员的例外字段：{member.person.name}（{member.org.short_name}），"
                         + "、".join(f"{labels.get(k, k)}由“{before.get(k) or '空'}”改为“{after.get(k) or '空'}”"
                                    for k in touched)
                         + f"；原例外规则：{member.exception.rule_labels}",
                 before={k: before.get(k) for k in touched}, after={k: after.get(k) for k in touched},
                 people=[member.person_id])


def record_export(session, actor: Actor, org: Org, count: int) -> None:
    audit.record(session, actor, "export.exceptions_excepted", object_type="org", object_id=org.id, org_id=org.id,
                 summary=f"导出特殊情况录入清单（Excel）：{org.short_name} 及全部下级，{count} 人，身份证号码已隐去",
                 after={"count": count})


def record_scan_view(session, actor: Actor, req: ExceptionRequest) -> None:
    audit.record(session, actor, "exception.scan", object_type="exception", object_id=req.id, org_id=req.org_id,
                 summary=f"查看特殊情况录入申请的扫描件：{req.name}（{req.org.short_name}）")
