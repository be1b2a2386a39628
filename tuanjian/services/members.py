"""团员: single entry, edit and soft delete in a 团支部 (the import pipeline will reuse add/update)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from ..clock import local_date
from ..domain import policy, register
from ..domain.errors import Conflict, ValidationFailed
from ..domain.orgtree import check_holds_members
from ..domain.people import split_positions
from ..domain.settings import DEFAULT_SETTINGS, Settings
from ..models import Member, Org, Person
from ..queries import is_admin
from . import audit, ownership
from .accounts import ensure_account
from .actor import Actor
from .cadres import close_post, open_posts
from .owners import memberships, people
from .owners import posts as post_owner

MEMBER_FIELDS = ("dev_number", "education", "occupation", "workplace", "has_application", "has_card", "card_year",
                 "has_letter")
PERSON_FIELDS = ("ethnicity", "political_status", "join_date", "phone")


class HeldElsewhere(Conflict):
    """The ID number belongs to a member of another branch: offer a 转接 request instead of a duplicate.
    ``holder`` is None when the person is not wholly in the actor's reach: then nothing about them is said."""

    def __init__(self, holder: Org | None, name: str):
        super().__init__(policy.HELD_ELSEWHERE_MEMBER if holder is None else
                         f"该团员已在{holder_description(holder)}登记，请通过组织关系转接转入，不能重复录入")
        self.holder, self.name = holder, name


def check_may_edit(actor: Actor, branch: Org) -> None:
    """Admins of the branch or of any organisation above it (in scope) enter its members."""
    policy.require("member.edit", actor.scope_code, branch.code)
    if branch.is_dissolved:
        raise Conflict(f"“{branch.short_name}”已撤销")
    check_holds_members(branch.org_kind, branch.short_name)


def holder_description(org: Org) -> str:
    parent = f"（上级：{org.parent.short_name}）" if org.parent is not None else ""
    return f"“{org.short_name}”{parent}"


def _check_dev_number_free(session, number: str | None, member_id: int | None) -> None:
    if not number:
        return
    other = session.scalar(select(Member.id).where(Member.dev_number == number, Member.deleted_at.is_(None)))
    if other is not None and other != member_id:
        raise ValidationFailed.single("dev_number", "该发展团员编号已被其他团员使用，请核对")


def _sync_cadre(session, actor: Actor, member: Member, data: dict, now: datetime) -> bool:
    """是否为团干部 + 团内职务 → an active post in the branch; returns whether an account was opened."""
    posts = open_posts(session, member)
    if data["is_cadre"]:
        # 团内职务 may name several posts ("副书记、组织委员"); each gets a post, a post no longer named is renamed
        # to a missing one (its history says so), and posts not named otherwise stay as they are
        kept = []
        wanted = split_positions(data["position"])
        spare = [p for p in posts if p.position not in wanted]
        for position in wanted:
            post = next((p for p in posts if p.position == position), None)
            if post is None and spare:
                post = spare.pop(0)
                post_owner.rename(session, actor, post, position=position, now=now, note="团员信息修改")
            elif post is None:
                post = post_owner.open_post(session, actor, member.person, member.org, position=position, now=now,
                                            kind="member")
            kept.append(post)
        # 任现职年月, 团干部性质, 是否同级党委（支部）成员 come from the import file; blank keeps what is recorded
        for post in kept:
            fields = {key: data[key] for key in ("start_month", "nature", "party_committee")
                      if data.get(key) is not None}
            if fields:
                post_owner.update(session, actor, post, fields)
        _, opened = ensure_account(session, member.person)
        return opened
    if posts:
        _refuse_if_admin(session, member, "取消其团干部职务")
        for post in posts:
            close_post(session, actor, post, now=now, reason="团员信息修改：不再担任团干部", note="不再担任团干部")
    return False


def _refuse_if_admin(session, member: Member, what: str) -> None:
    if is_admin(session, member.org_id, member.person_id):
        raise Conflict(f"{member.person.name}是本团支部管理员，须先移交管理员权限，才能{what}")


def add_member(session, actor: Actor, branch: Org, data: dict, *, now: datetime,
               also: tuple[str | None, ...] = ()) -> tuple[Member, bool]:
    """``data`` is domain.members.validate_member output. Returns the member and whether an account was opened.
    ``also``: the requester's reach of a deferred write (特殊情况录入), checked with the actor's."""
    check_may_edit(actor, branch)
    person = session.scalar(select(Person).where(Person.id_number == data["id_number"]))
    member = None
    if person is not None:
        if not ownership.in_reach(session, actor, person) or not all(
                policy.in_reach(s, ownership.places_of(session, person)) for s in also):
            raise HeldElsewhere(None, data["name"])          # the same answer whatever name was typed
        if person.name != data["name"]:
            raise ValidationFailed.single("name", policy.NAME_DIFFERS)
        member = session.scalar(select(Member).where(Member.person_id == person.id))
        if member is not None and member.deleted_at is None:
            if member.org_id == branch.id:
                raise Conflict(f"{person.name}已是本团支部团员，无需重复录入")
            raise HeldElsewhere(member.org, person.name)
    _check_dev_number_free(session, data["dev_number"], member.id if member else None)
    shared = {key: data[key] for key in PERSON_FIELDS if data.get(key) is not None}
    if person is None:
        person = people.create(session, actor, id_number=data["id_number"], name=data["name"], gender=data["gender"],
                               birth_date=data["birth_date"], **shared)
    else:
        people.update(session, actor, person, shared)
    member, restored = memberships.add(session, actor, person, branch, {k: data.get(k) for k in MEMBER_FIELDS},
                                       now=now, also=also)
    opened = _sync_cadre(session, actor, member, data, now)
    audit.record(session, actor, "member.add", object_type="member", object_id=member.id, org_id=branch.id,
                 summary=f"{'恢复' if restored else '录入'}团员：{person.name}，{branch.short_name}"
                         + (f"，团内职务{data['position']}" if data["is_cadre"] else ""),
                 after={"person": person.masked_id, "join_date": data["join_date"], "cadre": data["is_cadre"]},
                 people=[person.id])
    return member, opened


def update_member(session, actor: Actor, member: Member, data: dict, *, now: datetime) -> bool:
    """Edit everything but the name and ID number (those are corrected only by an upper admin, later)."""
    check_may_edit(actor, member.org)
    if member.deleted_at is not None:
        raise Conflict("该团员记录已删除")
    person = member.person
    if data["id_number"] != person.id_number or data["name"] != person.name:
        raise ValidationFailed.single("name", "姓名和身份证号码录入后不能在此修改")
    _check_dev_number_free(session, data["dev_number"], member.id)
    shared_changed = [k for k in PERSON_FIELDS if getattr(person, k) != data.get(k)]
    if shared_changed and not ownership.in_reach(session, actor, person):
        raise ValidationFailed({k: [policy.PERSON_OUTSIDE] for k in shared_changed})
    before = {k: getattr(person, k) for k in PERSON_FIELDS} | {k: getattr(member, k) for k in MEMBER_FIELDS}
    people.update(session, actor, person, {key: data.get(key) for key in PERSON_FIELDS})
    memberships.update(session, actor, member, {key: data.get(key) for key in MEMBER_FIELDS})
    opened = _sync_cadre(session, actor, member, data, now)
    after = {k: getattr(person, k) for k in PERSON_FIELDS} | {k: getattr(member, k) for k in MEMBER_FIELDS}
    changed = {k for k in after if before[k] != after[k]}
    if member.exception_id is not None:
        from .exceptions import record_excepted_edit
        record_excepted_edit(session, actor, member, changed, before, after)
    audit.record(session, actor, "member.update", object_type="member", object_id=member.id, org_id=member.org_id,
                 summary=f"修改团员信息：{person.name}（{member.org.short_name}）",
                 before={k: before[k] for k in changed} or None, after={k: after[k] for k in changed} or None,
                 people=[person.id])
    return opened


def delete_member(session, actor: Actor, member: Member, *, reason: str, now: datetime) -> None:
    """Soft delete with a reason; the record and its history stay."""
    check_may_edit(actor, member.org)
    if member.deleted_at is not None:
        raise Conflict("该团员记录已删除")
    reason = " ".join((reason or "").split())[:200]
    if not reason:
        raise ValidationFailed.single("reason", "请填写删除原因")
    _refuse_if_admin(session, member, "删除其团员记录")
    positions = []
    for post in open_posts(session, member):       # each keeps its 变更记录 row, as every way a post ends does
        close_post(session, actor, post, now=now, reason="团员记录删除")
        positions.append(post.position)
    ended = f"，同时卸任{'、'.join(positions)}" if positions else ""
    memberships.end(session, actor, member, reason=reason, now=now)
    audit.record(session, actor, "member.delete", object_type="member", object_id=member.id, org_id=member.org_id,
                 summary=f"删除团员记录：{member.person.name}（{member.org.short_name}），原因：{reason}{ended}",
                 before={"deleted": False, **({"posts": positions} if positions else {})},
                 after={"deleted": True, "reason": reason}, people=[member.person_id])


def leave_member(session, actor: Actor, member: Member, *, kind: str, on: str | date | None, note: str,
                 now: datetime, settings: Settings = DEFAULT_SETTINGS) -> str:
    """团籍变动 of a departure (issue 27): the member leaves with a reason from the list (``settings.leave_reasons``)
    on a date; 录入错误 takes the record out of every figure as if it had never been. The record stays (soft
    delete). Returns the kind."""
    check_may_edit(actor, member.org)
    if member.deleted_at is not None:
        raise Conflict("该团员已离团或已删除")
    kind, day, note = register.validate_leave(kind, on, note, offered=settings.leave_reasons, today=local_date(now),
                                              last_event_on=memberships.last_event_on(session, member.person_id))
    what = "删除其团员记录" if kind == register.ERROR else "办理离团"
    _refuse_if_admin(session, member, what)
    positions = []
    for post in open_posts(session, member):
        close_post(session, actor, post, now=now, reason=register.label(kind))
        positions.append(post.position)
    ended = f"，同时卸任{'、'.join(positions)}" if positions else ""
    reason = register.label(kind) + (f"：{note}" if note else "")
    memberships.end(session, actor, member, reason=reason[:200], now=now, kind=kind, on=day)
    head = "删除团员记录（录入错误）" if kind == register.ERROR else f"团员离团（{register.label(kind)}）"
    audit.record(session, actor, "member.leave", object_type="member", object_id=member.id, org_id=member.org_id,
                 summary=f"{head}：{member.person.name}（{member.org.short_name}），日期 {day.isoformat()}"
                         + (f"，说明：{note}" if note else "") + ended,
                 before={"deleted": False, **({"posts": positions} if positions else {})},
                 after={"deleted": True, "leave_kind": register.label(kind), "leave_on": day.isoformat(),
                        "reason": reason}, people=[member.person_id])
    return kind


def record_print(session, actor: Actor, org: Org, q: str, count: int) -> None:
    audit.record(session, actor, "member.print", object_type="org", object_id=org.id, org_id=org.id,
                 summary=f"打印团员名单：{org.short_name}（{count} 人{'，查询“' + q + '”' if q else ''}，"
                         "身份证号码部分隐藏）")


def record_reveal(session, actor: Actor, org: Org, members: list[Member]) -> None:
    audit.record(session, actor, "member.reveal", object_type="org", object_id=org.id, org_id=org.id,
                 summary=f"查看完整身份证号码：{org.short_name} 团员名单中 {len(members)} 人",
                 after={"members": [m.person.masked_id for m in members]})


def record_export(session, actor: Actor, org: Org, count: int, *, reveal: bool, on=None) -> None:
    """``on``: the list as of that day (who was a member at its end), else today's."""
    audit.record(session, actor, "export.members_full" if reveal else "export.members", object_type="org",
                 object_id=org.id, org_id=org.id,
                 summary=f"导出团员名单（Excel）：{org.short_name} 及全部下级，"
                         + (f"截至 {on.isoformat()}，" if on else "") + f"{count} 人"
                         + ("，含完整身份证号码" if reveal else "，身份证号码已隐去"),
                 after={"count": count, "full_id_numbers": reveal, **({"on": on.isoformat()} if on else {})})
