"""特殊情况录入 (issue 18; DOMAIN.md 3.3 and 7.13): a real member that a rule would block, entered with a reason and
approved above. Pure: which rules may be excepted, whether a failed validation broke only those, and the cleaned
member with the approved rules waived.

Exceptable rules (codes; each may be switched off with the setting ``EXCEPTABLE_RULES``):

    join_age            入团年龄: joined below the minimum age for the date (13, or 12 before the cutoff)
    join_window         入团年月早于出生后12年 (the join-date window of DOMAIN.md 3.3.4)
    dev_number_missing  缺少发展团员编号 where it is required (joined 2017 or later)
    dev_number_format   发展团员编号不规范 (length, year prefix, characters: e.g. another province's format)

Never exceptable, whatever the settings: the ID number (format, birth date, checksum), a person held elsewhere
(another branch's member or a person outside the requester's reach), a 发展团员编号 used by someone else, a
non-branch organisation, and every other field rule (name, 民族, 入团年月 in the future, …): those are not tagged
with a rule code, so any of them makes a member not exceptable.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .errors import ValidationFailed
from .members import DEV_FORMAT, DEV_MISSING, validate_member
from .people import JOIN_AGE, JOIN_WINDOW

RULES: dict[str, str] = {
    JOIN_AGE: "入团年龄",
    JOIN_WINDOW: "入团年月早于出生后12年",
    DEV_MISSING: "缺少发展团员编号",
    DEV_FORMAT: "发展团员编号不规范",
}
# the member fields each rule concerns: a later edit of one is audited as touching an excepted field
RULE_FIELDS: dict[str, tuple[str, ...]] = {JOIN_AGE: ("join_date",), JOIN_WINDOW: ("join_date",),
                                           DEV_MISSING: ("dev_number",), DEV_FORMAT: ("dev_number",)}
PENDING, APPROVED, REFUSED = "pending", "approved", "refused"
STATUS_LABELS = {PENDING: "待审批", APPROVED: "已批准", REFUSED: "已退回"}
REASON_MAX, VOUCHER_MAX, DECISION_MAX = 500, 100, 200
SCAN_TYPES = {"application/pdf": "PDF", "image/jpeg": "JPEG 图片", "image/png": "PNG 图片"}


def enabled_rules(settings) -> frozenset[str]:
    """The exceptable rules under these settings (unknown codes in the setting are ignored)."""
    return frozenset(settings.exceptable_rules) & frozenset(RULES)


@dataclass(frozen=True)
class Assessment:
    exceptable: bool                 # only exceptable rules failed (and at least one did)
    rules: tuple[str, ...]           # the exceptable rules that failed, in RULES order
    blocking: tuple[str, ...]        # messages of failures that no exception can cover

    @property
    def labels(self) -> str:
        return rule_labels(self.rules)


def assess(exc: ValidationFailed, settings) -> Assessment:
    """Given a member's validation errors: did ONLY exceptable rules fail, and which?"""
    allowed = enabled_rules(settings)
    failed, blocking = set(), []
    for messages in exc.field_errors.values():
        for message in messages:
            rule = exc.rules.get(message)
            if rule is not None and rule in allowed:
                failed.add(rule)
            else:
                blocking.append(message)
    rules = tuple(r for r in RULES if r in failed)
    return Assessment(exceptable=bool(rules) and not blocking, rules=rules, blocking=tuple(blocking))


def rule_labels(rules) -> str:
    return "、".join(RULES.get(r, r) for r in rules)


def parse_rules(text: str | None) -> tuple[str, ...]:
    """Rule codes as stored (comma-separated) → tuple in RULES order."""
    codes = {c.strip() for c in (text or "").split(",") if c.strip()}
    return tuple(r for r in RULES if r in codes)


def format_rules(rules) -> str:
    return ",".join(r for r in RULES if r in set(rules))


def validate_excepted(values: dict, *, rules, settings, today: date) -> dict:
    """The member with ``rules`` waived: every other rule still applies (raises ValidationFailed). ``rules`` must be
    exceptable under ``settings``; raises ValidationFailed when one is not."""
    rules = frozenset(rules)
    bad = rules - enabled_rules(settings)
    if bad or not rules:
        raise ValidationFailed.single("rules", "这些规则不能申请特殊情况录入："
                                      + (rule_labels(sorted(bad)) or "未指明规则"))
    return validate_member(values, settings=settings, today=today, waive=rules)


def check_request_text(reason: str, voucher: str) -> tuple[str, str]:
    """The reason (说明) and the vouching org are required; whitespace collapsed; lengths capped with a message."""
    reason = " ".join((reason or "").split())
    voucher = " ".join((voucher or "").split())
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = ["请填写申请理由（情况说明）"]
    elif len(reason) > REASON_MAX:
        errors["reason"] = [f"申请理由最多{REASON_MAX}个字"]
    if not voucher:
        errors["voucher"] = ["请填写出具说明的组织（如发展团组织或县级团委）"]
    elif len(voucher) > VOUCHER_MAX:
        errors["voucher"] = [f"出具说明的组织名称最多{VOUCHER_MAX}个字"]
    if errors:
        raise ValidationFailed(errors)
    return reason, voucher


def sniff_scan(data: bytes, *, max_bytes: int) -> str:
    """The content type of an attached scan, read from its first bytes (never from the name or the browser's
    claim): PDF, JPEG or PNG, at most ``max_bytes``. Raises ValidationFailed otherwise."""
    if not data:
        raise ValidationFailed.single("scan", "上传的扫描件是空文件")
    if len(data) > max_bytes:
        raise ValidationFailed.single("scan", f"扫描件不能超过 {max_bytes // 1024} KB，请压缩后再上传")
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    raise ValidationFailed.single("scan", "扫描件只能是 PDF、JPG 或 PNG 文件")


def approver_code(branch_code: str, root_code: str, depth: int) -> str:
    """The code of the org that approves requests for ``branch_code``: its ancestor ``depth`` levels under the
    instance's root ``root_code`` (0 = the root itself), never the branch itself (a branch too shallow for the
    setting goes to its parent)."""
    parts, root = branch_code.split("."), root_code.split(".")
    keep = max(len(root), min(len(root) + max(depth, 0), len(parts) - 1))
    return ".".join(parts[:keep])


def excepted_fields(rules) -> set[str]:
    return {f for r in rules for f in RULE_FIELDS.get(r, ())}


RECENT_DAYS = 30        # an approved request stays on the requester's 我的申请 / 待办 for this long


@dataclass(frozen=True)
class DecisionFacts:
    """What the approving level needs to decide, without the full ID number (issue 26.1)."""
    birth_month: str                 # 出生年月 from the ID number, e.g. "2005年3月"
    join_date: str | None            # 入团年月 as requested
    age_at_join: int | None          # full years at the end of the join month (the age rule's own count)
    broken: tuple[str, ...]          # the rules broken, in the words the form and the import use
    evidence: tuple[str, ...]        # 团员身份材料 as entered: "入团志愿书：有", …


def decision_facts(data: dict, rules, *, settings, today: date) -> DecisionFacts:
    """The facts behind a request's exceptable rules: the member's cleaned values are checked again with nothing
    waived, and the messages of the excepted rules are kept (others cannot occur: the request was refused then)."""
    from .members import EVIDENCE_LABELS
    from .people import full_years, parse_id_number, parse_year_month
    info = parse_id_number(data.get("id_number"), today)
    join = None
    if data.get("join_date"):
        try:
            join = parse_year_month(data["join_date"])
        except ValidationFailed:
            join = None
    broken: list[str] = []
    try:
        validate_member(data, settings=settings, today=today)
    except ValidationFailed as exc:
        broken = [m for messages in exc.field_errors.values() for m in messages if exc.rules.get(m) in set(rules)]
    if not broken:                   # the settings changed since: name the rules at least
        broken = [RULES.get(r, r) for r in rules]
    yes_no = {True: "有", False: "没有", None: "未核实"}
    evidence = [f"{EVIDENCE_LABELS[k]}：{yes_no.get(data.get(k), '未核实')}"
                for k in ("has_application", "has_card", "has_letter")]
    if data.get("card_year"):
        evidence.append(f"{EVIDENCE_LABELS['card_year']}：{data['card_year']}年")
    return DecisionFacts(birth_month=f"{info.birth_date.year}年{info.birth_date.month}月",
                         join_date=str(join) if join else data.get("join_date"),
                         age_at_join=full_years(info.birth_date, join.last_day) if join else None,
                         broken=tuple(broken), evidence=tuple(evidence))
