"""组织信息 (DOMAIN.md 1.4–1.5): required fields per category, the industry list, locks, naming hints."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .canonical import canonical_org_name
from .errors import Collector, ValidationFailed
from .orgtree import FULL_NAME_MAX, OrgKind, name_hints, validate_short_name
from .people import FULL_WIDTH_DIGITS

# 单位所属行业类别 (the 16 values of the GD front-end [C]); a county may replace the list (setting INDUSTRIES).
DEFAULT_INDUSTRIES = (
    "党政机关", "事业单位（不含公立学校）", "普通高等院校", "职业教育学校", "普通高中", "初中", "小学", "国有企业",
    "集体企业", "非公企业", "新社会组织（不含民办学校）", "军队", "武警", "城市社区", "农村", "其他",
)
SCHOOL_INDUSTRIES = ("普通高等院校", "职业教育学校", "普通高中", "初中", "小学")
SCHOOL_CODE_LENGTH = 10        # 学校标识码 (教育部), seed notice 002

# Fields the org's own admin cannot change once saved; the parent's admins can (audited).
LOCKED_FIELDS = ("short_name", "full_name", "kind", "industry")
FIELD_LABELS = {
    "kind": "组织类别", "short_name": "组织简称", "full_name": "组织全称", "industry": "单位所属行业类别",
    "staff_admin_quota": "本级团组织行政编制数", "staff_admin_actual": "行政编制实际配备数",
    "staff_inst_quota": "本级团组织事业编制数", "staff_inst_actual": "事业编制实际配备数",
    "phone": "联系电话", "email": "电子邮箱", "wechat": "团组织微信号", "weibo": "团组织微博号",
    "school_code": "学校标识码", "youth_count": "14–28周岁青年数", "party_recommended": "年度经推优入党团员数",
    "founded_on": "建立日期",
    "secretary_name": "书记姓名", "secretary_id_number": "书记身份证号码", "secretary_phone": "书记手机号码",
}
STAFF_FIELDS = ("staff_admin_quota", "staff_admin_actual", "staff_inst_quota", "staff_inst_actual")
OPTIONAL_COUNT_FIELDS = ("youth_count", "party_recommended")
OPTIONAL_TEXT_FIELDS = ("wechat", "weibo")
SECRETARY_FIELDS = ("secretary_name", "secretary_id_number", "secretary_phone")


def needs_staffing(kind: OrgKind) -> bool:
    """The four 编制 counts: leading bodies and 团委 (and, by analogy [C], 团工委 and 团总支); not branches."""
    return kind is not OrgKind.BRANCH


def needs_industry(kind: OrgKind) -> bool:
    return kind is not OrgKind.LEADING


def needs_contact(kind: OrgKind) -> bool:
    """联系电话 and 电子邮箱 are required for leading bodies only."""
    return kind is OrgKind.LEADING


def required_fields(kind: OrgKind) -> list[str]:
    fields = ["kind", "short_name", "full_name"]
    if needs_industry(kind):
        fields.append("industry")
    if needs_contact(kind):
        fields += ["phone", "email"]
    if needs_staffing(kind):
        fields += list(STAFF_FIELDS)
    return fields + list(SECRETARY_FIELDS)


@dataclass(frozen=True)
class OrgInfo:
    """Cleaned organisation info (secretary data is validated separately by the person rules)."""

    kind: OrgKind
    short_name: str
    full_name: str
    industry: str | None
    staff: dict[str, int | None]
    phone: str | None
    email: str | None
    wechat: str | None
    weibo: str | None
    youth_count: int | None
    party_recommended: int | None
    founded_on: date | None
    school_code: str | None = None

    def columns(self) -> dict:
        return {"kind": self.kind.value, "short_name": self.short_name, "full_name": self.full_name,
                "industry": self.industry, **self.staff, "phone": self.phone, "email": self.email,
                "wechat": self.wechat, "weibo": self.weibo, "youth_count": self.youth_count,
                "party_recommended": self.party_recommended, "founded_on": self.founded_on,
                "school_code": self.school_code}


def is_school(industry: str | None) -> bool:
    """单位所属行业类别 is one of the school categories (seed notice 002: these carry a 学校标识码)."""
    return industry in SCHOOL_INDUSTRIES


def is_school_unit(industry: str | None, parent_industry: str | None) -> bool:
    """The organisation that stands for a whole school: a school category under a parent that is not one (the
    团总支 and 团支部 inside a school share its category but are not schools of their own)."""
    return is_school(industry) and not is_school(parent_industry)


def validate_school_code(raw) -> str | None:
    """学校标识码: exactly 10 digits (blank: not recorded). Spaces and a number cell from Excel are accepted."""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = "".join(str(raw if raw is not None else "").split()).replace("\u3000", "")
    text = text.translate(FULL_WIDTH_DIGITS)
    if not text:
        return None
    if not text.isascii() or not text.isdigit():
        raise ValidationFailed.single("school_code", "学校标识码只能由数字组成（10位，教育部颁发）")
    if len(text) != SCHOOL_CODE_LENGTH:
        raise ValidationFailed.single("school_code", f"学校标识码应为{SCHOOL_CODE_LENGTH}位数字，现为{len(text)}位")
    return text


_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_RE = re.compile(r"^[0-9\-+() ]{7,20}$")


def parse_count(raw, field: str, *, required: bool) -> int | None:
    """A non-negative whole number; 0 is a value, blank is not (the 编制 counts must say 0 when there is none)."""
    label = FIELD_LABELS[field]
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = str(raw if raw is not None else "").strip().translate(FULL_WIDTH_DIGITS)
    if text == "":
        if required:
            raise ValidationFailed.single(field, f"请填写{label}（没有请填 0）")
        return None
    if not (text.isascii() and text.isdigit()):          # not ² or other digits int() refuses
        raise ValidationFailed.single(field, f"{label}应为不小于0的整数")
    value = int(text)
    if value > 100000:
        raise ValidationFailed.single(field, f"{label}数值过大，请核对")
    return value


def validate_org_info(data: dict, *, industries: tuple[str, ...] = DEFAULT_INDUSTRIES,
                      today: date | None = None) -> OrgInfo:
    """Validate the org-info form (everything but the secretary). Collects every error."""
    collector = Collector()
    check, errors = collector.check, collector.errors

    kind = check(lambda: OrgKind.from_label(data.get("kind") or "") if data.get("kind") else
                 _missing("kind"))
    short_name = check(lambda: validate_short_name(data.get("short_name") or ""))
    full_name = canonical_org_name(data.get("full_name") or "")
    if not full_name:
        errors.setdefault("full_name", []).append("请填写组织全称，如“中国共产主义青年团××委员会”")
    elif len(full_name) > FULL_NAME_MAX:
        errors.setdefault("full_name", []).append(f"组织全称最多{FULL_NAME_MAX}个字")
    industry = (data.get("industry") or "").strip() or None
    if kind is not None and needs_industry(kind) and not industry:
        errors.setdefault("industry", []).append("请选择单位所属行业类别")
    elif industry and industry not in industries:
        errors.setdefault("industry", []).append("单位所属行业类别只能从列表中选择")
    staff = {}
    for f in STAFF_FIELDS:
        required = kind is not None and needs_staffing(kind)
        staff[f] = check(lambda f=f, r=required: parse_count(data.get(f), f, required=r))
        if kind is not None and not needs_staffing(kind):
            staff[f] = None
    if staff.get("staff_admin_actual") is not None and staff.get("staff_admin_quota") is not None \
            and staff["staff_admin_actual"] > staff["staff_admin_quota"] + 50:
        errors.setdefault("staff_admin_actual", []).append("实际配备数远超编制数，请核对")
    phone = (data.get("phone") or "").strip() or None
    email = (data.get("email") or "").strip() or None
    if kind is not None and needs_contact(kind):
        if not phone:
            errors.setdefault("phone", []).append("请填写联系电话")
        if not email:
            errors.setdefault("email", []).append("请填写电子邮箱")
    if phone and not _PHONE_RE.match(phone):
        errors.setdefault("phone", []).append("联系电话格式不对（数字、连字符，7～20位）")
    if email and not _EMAIL_RE.match(email):
        errors.setdefault("email", []).append("电子邮箱格式不对，例如 tuanwei@example.cn")
    counts = {f: check(lambda f=f: parse_count(data.get(f), f, required=False)) for f in OPTIONAL_COUNT_FIELDS}
    founded = None
    raw_founded = ((data.get("founded_on") or "").strip() if isinstance(data.get("founded_on"), str)
                   else data.get("founded_on"))
    if raw_founded:
        if isinstance(raw_founded, date):
            founded = raw_founded
        else:
            try:
                founded = date.fromisoformat(str(raw_founded).replace("/", "-").replace(".", "-"))
            except ValueError:
                errors.setdefault("founded_on", []).append("建立日期格式应为 2018-05-04")
        if founded and founded > (today or date.today()):
            errors.setdefault("founded_on", []).append("建立日期不能晚于今天")
    texts = {f: ((data.get(f) or "").strip()[:50] or None) for f in OPTIONAL_TEXT_FIELDS}
    school_code = check(lambda: validate_school_code(data.get("school_code")))
    if school_code and not is_school(industry):
        errors.setdefault("school_code", []).append(
            "只有行业类别为学校（" + "、".join(SCHOOL_INDUSTRIES) + "）的组织才填写学校标识码")
    if errors:
        raise ValidationFailed(errors)
    return OrgInfo(kind=kind, short_name=short_name, full_name=full_name,
                   industry=industry if needs_industry(kind) else industry,
                   staff=staff, phone=phone, email=email, wechat=texts["wechat"], weibo=texts["weibo"],
                   youth_count=counts["youth_count"], party_recommended=counts["party_recommended"], founded_on=founded,
                   school_code=school_code)


def _missing(field: str):
    raise ValidationFailed.single(field, f"请选择{FIELD_LABELS[field]}")


_CLASS_BRANCH_RE = re.compile(r"(19|20)\d{2}级.*\d+班团支部$")


def naming_hints(short_name: str, full_name: str | None, kind: OrgKind, industry: str | None = None) -> list[str]:
    """Warnings, never blocks (seed 001 naming rules)."""
    hints = name_hints(short_name, kind)
    if kind is OrgKind.BRANCH and industry in SCHOOL_INDUSTRIES and "班" in short_name \
            and not _CLASS_BRANCH_RE.search(short_name):
        hints.append("班级团支部请按“(专业)入学年份+班号+团支部”命名，例如“计算机专业2017级3班团支部”")
    if full_name and not (full_name.startswith("中国共产主义青年团") or full_name.startswith("共青团")):
        hints.append("组织全称通常以“中国共产主义青年团”开头，例如“中国共产主义青年团××委员会”")
    return hints


def info_complete(values: dict, kind: OrgKind, *, secretary_has_phone: bool) -> bool:
    """组织信息完善 (DOMAIN.md 1.4/5.2): every required field filled, a 书记, and the 书记 has a phone."""
    for f in required_fields(kind):
        if f in SECRETARY_FIELDS:
            continue
        v = values.get(f)
        if v is None or v == "":
            return False
    return secretary_has_phone


def changed_locked_fields(before: dict, after: dict) -> list[str]:
    return [f for f in LOCKED_FIELDS if (before.get(f) or None) != (after.get(f) or None)]
