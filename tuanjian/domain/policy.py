"""Who may do what to which organisation, and to which person: one table, decided from org codes alone.

Pure (no Flask, no database). Services call ``require`` (raises ``NotAllowed``); views and lists call ``refusal``
(the Chinese reason, or None) to decide whether to show a button.

The relation of an organisation to the actor's scope (the org whose admin the actor acts as):

    SELF     the scope organisation itself
    CHILD    a direct child of it
    BELOW    deeper in its subtree
    OUTSIDE  anything else (siblings, parents, other branches of the tree), or no scope at all

People are shared by every organisation where they hold a place (a current membership, an active cadre post or an
active admin grant). The person rule: an action on a person's shared fields (name, ID number, phone, 民族,
政治面貌, …), or a reset code, is allowed only when EVERY place of the person has an allowed relation to the actor's
scope. A person with no place at all belongs to nobody and may be taken up by any admin.
"""
from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import NotAllowed


class Relation(enum.StrEnum):
    SELF = "self"
    CHILD = "child"
    BELOW = "below"
    OUTSIDE = "outside"


def relation(scope_code: str | None, code: str) -> Relation:
    """Where ``code`` lies seen from ``scope_code`` (dotted codes such as 000.012.016; delimiter-aware)."""
    if not scope_code or not code:
        return Relation.OUTSIDE
    if code == scope_code:
        return Relation.SELF
    if not code.startswith(scope_code + "."):
        return Relation.OUTSIDE
    return Relation.CHILD if "." not in code[len(scope_code) + 1:] else Relation.BELOW


_S, _C, _B = Relation.SELF, Relation.CHILD, Relation.BELOW
SUBTREE = frozenset({_S, _C, _B})
OWN_OR_CHILD = frozenset({_S, _C})
STRICTLY_BELOW = frozenset({_C, _B})


@dataclass(frozen=True)
class Rule:
    allowed: frozenset[Relation]
    refusal: str


# action -> the relations of the target organisation to the actor's scope that allow it, and the refusal.
ACTIONS: dict[str, Rule] = {
    "org.view": Rule(SUBTREE, "不在您的管理范围内"),
    "member.edit": Rule(SUBTREE, "不在您的管理范围内"),
    # 团籍 (issue 27): a batch 超龄离团 for a branch, by its admins or any admin above
    "member.leave_batch": Rule(SUBTREE, "不在您的管理范围内"),
    # freezing a date's 团内统计: by the org's own admins (the county its figures, a township its own)
    "register.freeze": Rule(frozenset({_S}), "只能冻结本组织的团内统计"),
    # 团内统计确认: the org that froze a date's figures asks its direct subordinates to confirm theirs (a 阶段任务 of
    # the kind "register"; confirming follows campaign_confirm_refusal like any 阶段任务)
    "register.confirm_task": Rule(frozenset({_S}), "只能为本组织冻结的团内统计发布确认任务"),
    "cadre.manage": Rule(OWN_OR_CHILD, "只能录入本组织或直属下级组织的团干部"),
    "admin.manage": Rule(OWN_OR_CHILD, "只能管理本组织及直属下级组织的管理员"),
    "code.issue": Rule(frozenset({_C}), "只能为本组织的直属下级组织生成或撤销注册码"),
    "code.issue_batch": Rule(frozenset({_S}), "只能为本组织的直属下级组织批量生成注册码"),
    "code.print_slips": Rule(frozenset({_S}), "只能打印本组织直属下级组织的注册码。请切换到该组织的管理员身份，"
                                              "或回到本组织的组织树。"),
    # creating orgs (the org page's form, the Excel import and services.orgs.create_child alike) is done from the own
    # org only: its direct children (an import of it may also nest rows under orgs below it, named as 上级组织)
    "org.create_child": Rule(frozenset({_S}), "只能为本组织创建直属下级组织"),
    "org.reorder": Rule(frozenset({_C}), "只能调整本组织直属下级组织的顺序（不能隔级调整）"),
    # the 迁移、合并、撤销 page: its forms are shown for orgs below the own org (org.move, org.close decide each)
    "org.restructure": Rule(STRICTLY_BELOW, "只能调整本组织下级的组织；本组织的隶属关系由上级组织管理员调整"),
    "org.move": Rule(STRICTLY_BELOW, "只能移动本组织下级的组织"),
    "org.receive": Rule(SUBTREE, "目标上级组织不在您的管理范围内"),
    "org.close": Rule(STRICTLY_BELOW, "只能撤销或合并本组织下级的组织"),
    "org.edit_info": Rule(SUBTREE, "不在您的管理范围内"),
    # 组织简称、全称、类别 (domain.orginfo.LOCKED_FIELDS) lock at the first save, which the org's own admins confirm
    # first; afterwards only an admin above changes them (上级组织更正). The refusal follows the field's label.
    "org.info_correct": Rule(STRICTLY_BELOW, "保存后已锁定，本组织不能修改；如需更正请联系上级组织管理员"),
    # 交换密钥: only an admin above the organisation (the lower side enters the key in its own instance, where its
    # organisation is the root; see exchange_key_refusal)
    "exchange.set_key": Rule(STRICTLY_BELOW, "交换密钥只能由上级组织的管理员设置：请在上级组织的系统中生成，"
                                             "再在本组织自己的系统中填写"),
    # 特殊情况录入 (issue 18): a branch's member is asked for by whoever may enter its members; the approving org is
    # decided from the branch and the setting (exceptions.approver_code) and its own admins approve
    "exception.request": Rule(SUBTREE, "不在您的管理范围内"),
    "exception.approve": Rule(frozenset({_S}), "特殊情况录入只能由审批层级的组织管理员审批"),
    # 组织关系转接: asked for by the receiving branch's admins (or above), decided by the holding branch's admins or
    # any admin above it (the common ancestor included), withdrawn by the asking side
    "transfer.request": Rule(SUBTREE, "不在您的管理范围内"),
    "transfer.decide": Rule(SUBTREE, "只有转出团支部或其上级组织的管理员可以处理该申请"),
    "transfer.cancel": Rule(SUBTREE, "只有申请方可以撤回"),
    # 阶段任务 (issue 29: their authority moved here from services.campaigns): an organisation publishes one for its
    # direct subordinates, and its admins (or those above) close it; the confirmation is the subordinate's own
    # statement (campaign_confirm_refusal)
    "campaign.create": Rule(SUBTREE, "不在您的管理范围内"),
    "campaign.close": Rule(SUBTREE, "不在您的管理范围内"),
    # 与智慧团建对账 (issue 28): any admin compares its own org or one below it with 智慧团建's lists (reading only),
    # and marks a difference of that comparison as explained; writes go through the import and transfer rules
    "reconcile.compare": Rule(SUBTREE, "只能核对本组织及下级组织的团员"),
    "reconcile.explain": Rule(SUBTREE, "只能说明本组织及下级组织的对账差异"),
}

# Person actions: every place of the person must relate to the scope by one of ``all_in``; when ``any_in`` is set,
# at least one place must relate by one of those too (reset codes: 本组织或直属上级).
PERSON_OUTSIDE = ("此人还在您管理范围以外的组织登记或任职，其个人信息只能由其全部所在组织的共同上级组织管理员修改")


@dataclass(frozen=True)
class PersonRule:
    all_in: frozenset[Relation]
    refusal: str
    any_in: frozenset[Relation] | None = None
    any_refusal: str = ""


PERSON_ACTIONS: dict[str, PersonRule] = {
    # phone, 民族, 政治面貌, 入团年月 … through member, cadre and org-info entry and imports
    "person.edit": PersonRule(SUBTREE, PERSON_OUTSIDE),
    # name and ID number: only an admin strictly above every place (not the person's own org's admins)
    "person.correct": PersonRule(STRICTLY_BELOW,
                                 "此人所在组织与您的组织同级或更高，只有其上级组织管理员才能更正姓名和身份证号码"),
    "person.reset_code": PersonRule(
        SUBTREE, "此人还在您管理范围以外的组织登记或任职，其重置密码验证码只能由管理其全部所在组织的管理员生成",
        any_in=OWN_OR_CHILD,
        any_refusal=("只能为本组织及直属下级组织的人员生成重置密码验证码；更下级的人员请由其所在组织或直属上级组织的管理员生成"
                     "（在多个组织登记的人员，由其全部所在组织最近的共同上级组织生成）")),
    # 首次登录验证码 of an unclaimed account (issue 24): the same rule as reset codes; shown only to those it allows
    "person.first_login_code": PersonRule(
        SUBTREE, "此人还在您管理范围以外的组织登记或任职，其首次登录验证码只能由管理其全部所在组织的管理员生成",
        any_in=OWN_OR_CHILD,
        any_refusal=("只能为本组织及直属下级组织的人员生成首次登录验证码；更下级的人员请由其所在组织或直属上级组织的管理员生成"
                     "（在多个组织登记的人员，由其全部所在组织最近的共同上级组织生成）")),
}

NO_SCOPE = "只有管理员可以进行此操作"

# The one message an entry gives for an ID number held by a person not wholly in the actor's reach, whatever name
# was typed: it names nobody and no organisation.
HELD_ELSEWHERE_MEMBER = "该身份证号已在其他组织登记；如需转入本支部，请申请组织关系转接"
HELD_ELSEWHERE_CADRE = ("该身份证号已在其他组织登记；如需在本组织任职，请联系管理其全部所在组织的上级组织管理员录入")
HELD_ELSEWHERE_SECRETARY = ("该身份证号已在其他组织登记；如需担任本组织书记，"
                            "请联系管理其全部所在组织的上级组织管理员录入")
HELD_ELSEWHERE_ADMIN = ("该身份证号已在其他组织登记；如需设为本组织管理员，"
                        "请联系管理其全部所在组织的上级组织管理员办理")
HELD_ELSEWHERE_PACKAGE = ("该身份证号已在其他组织登记；上报文件不能为其增加团员、团干部或管理员记录，"
                          "也不能修改其个人信息。"
                          "如需转入，请办理组织关系转接")
HELD_ELSEWHERE = {"member": HELD_ELSEWHERE_MEMBER, "cadre": HELD_ELSEWHERE_CADRE,
                  "secretary": HELD_ELSEWHERE_SECRETARY, "admin": HELD_ELSEWHERE_ADMIN,
                  "package": HELD_ELSEWHERE_PACKAGE}
# A known person wholly in reach whose stored name differs from the typed one (the stored name is not repeated).
NAME_DIFFERS = "该身份证号已登记，但与填写的姓名不一致，请核对"


def _rule(action: str) -> Rule:
    try:
        return ACTIONS[action]
    except KeyError:
        raise KeyError(f"unknown policy action {action!r}") from None


def allowed(action: str, scope_code: str | None, code: str) -> bool:
    return scope_code is not None and relation(scope_code, code) in _rule(action).allowed


def refusal(action: str, scope_code: str | None, code: str) -> str | None:
    """None when an admin of ``scope_code`` may do ``action`` to the organisation ``code``, else the reason."""
    rule = _rule(action)
    if scope_code is None:
        return NO_SCOPE
    return None if relation(scope_code, code) in rule.allowed else rule.refusal


def require(action: str, scope_code: str | None, code: str) -> None:
    reason = refusal(action, scope_code, code)
    if reason is not None:
        raise NotAllowed(reason)


def exchange_key_refusal(scope_code: str | None, code: str, *, is_root: bool) -> str | None:
    """交换密钥 of ``code``: an admin above it; at this instance's root (the lower side's own instance) its admins."""
    if is_root and scope_code is not None and relation(scope_code, code) is Relation.SELF:
        return None
    return refusal("exchange.set_key", scope_code, code)


# ---------------------------------------------------------------- people

def in_reach(scope_code: str | None, place_codes: Iterable[str]) -> bool:
    """Every place lies in the actor's subtree (vacuously true for a person with no place)."""
    return scope_code is not None and all(relation(scope_code, c) in SUBTREE for c in place_codes)


def visible(scope_code: str | None, place_codes: Iterable[str]) -> bool:
    """At least one place lies in the actor's subtree: the person may be shown (name, masked ID)."""
    return scope_code is not None and any(relation(scope_code, c) in SUBTREE for c in place_codes)


def person_refusal(action: str, scope_code: str | None, place_codes: Iterable[str]) -> str | None:
    """None when an admin of ``scope_code`` may do ``action`` to a person holding places in ``place_codes``."""
    rule = PERSON_ACTIONS[action]
    if scope_code is None:
        return NO_SCOPE
    place_codes = list(place_codes)
    relations = [relation(scope_code, c) for c in place_codes]
    if not all(r in rule.all_in for r in relations):
        return rule.refusal
    if rule.any_in is not None and not any(r in rule.any_in for r in relations) \
            and scope_code != lowest_common_org(place_codes):
        return rule.any_refusal
    return None


def lowest_common_org(codes: Iterable[str]) -> str | None:
    """The lowest organisation whose subtree holds every one of ``codes`` (dotted codes), or None for none. A person
    whose places lie under two townships has no own org or direct parent that covers them all: the codes that must
    come from there (``any_in``) come from this organisation's admins instead — the nearest who covers every place."""
    parts = [c.split(".") for c in codes if c]
    if not parts:
        return None
    common: list[str] = []
    for column in zip(*parts):
        if any(p != column[0] for p in column):
            break
        common.append(column[0])
    return ".".join(common) or None


def place_refusal(kind: str, scope_codes: Iterable[str | None], place_codes: Iterable[str]) -> str | None:
    """Places follow the person rule: a new place (membership, cadre post, admin grant) for a person who already
    holds ``place_codes`` is allowed only when every one of them lies in the reach of the actor — of each of
    ``scope_codes`` (the decider's and, for a deferred write, the requester's) — else the one held-elsewhere answer
    of ``kind`` (policy.HELD_ELSEWHERE), whatever name was typed. A person with no place belongs to nobody."""
    places = list(place_codes)
    if not places:
        return None
    return None if all(in_reach(s, places) for s in scope_codes) else HELD_ELSEWHERE[kind]


def require_person(action: str, scope_code: str | None, place_codes: Iterable[str]) -> None:
    reason = person_refusal(action, scope_code, place_codes)
    if reason is not None:
        raise NotAllowed(reason)


# ---------------------------------------------------------------- 特殊情况录入

OWN_REQUEST = "不能审批自己提交的申请，请由审批层级的其他管理员审批"


def exception_approve_refusal(scope_code: str | None, approver_code: str, *, actor_person_id: int | None,
                              requested_by_id: int | None) -> str | None:
    """None when the actor may approve or refuse a request whose approving org is ``approver_code``."""
    reason = refusal("exception.approve", scope_code, approver_code)
    if reason is None and actor_person_id is not None and actor_person_id == requested_by_id:
        return OWN_REQUEST
    return reason


def campaign_confirm_refusal(org_name: str, *, direct_subordinate: bool, own_admin: bool) -> str | None:
    """提交确认 of a 阶段任务: only a direct subordinate of the publishing organisation confirms, and only through an
    admin of that subordinate itself; the publisher (or any other ancestor) can follow and remind, never confirm on
    its behalf. The Chinese refusal, or None."""
    if not direct_subordinate:
        return "只有发布单位的直属下级组织才能提交确认"
    if not own_admin:
        return f"只有“{org_name}”自己的管理员才能提交确认；上级组织可以查看进度、发送提醒，不能代为确认"
    return None
