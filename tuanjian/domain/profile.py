"""本人信息 (seed notice 002, 管理员信息核查与更新): what a logged-in cadre or admin may complete on their own
profile, and the upper admin's correction of a name or ID number. Pure rules."""
from __future__ import annotations

from datetime import date

from . import policy
from .errors import Collector
from .members import validate_member_extras
from .people import (
    IdInfo,
    check_join_date,
    normalise_ethnicity,
    normalise_id_number,
    parse_id_number,
    parse_year_month,
    validate_person_name,
    validate_phone,
    validate_political_status,
)

IDENTITY_LOCKED = ("姓名和身份证号码不能由本人修改：它们是登录和核对身份的依据，如有错误，请联系上级组织管理员更正"
                   "（更正会记入操作日志）")
JOIN_LOCKED = "团员的入团年月由所在团支部管理员核实修改"


def refused_identity_changes(data: dict, *, name: str, id_number: str) -> dict[str, list[str]]:
    """A posted name or ID number that differs from the stored one is refused, with the reason."""
    errors: dict[str, list[str]] = {}
    posted_name = " ".join(str(data.get("name") or "").split())
    if posted_name and posted_name != name:
        errors["name"] = [IDENTITY_LOCKED]
    posted_id = normalise_id_number(data.get("id_number") or "")
    if posted_id and posted_id != id_number:
        errors["id_number"] = [IDENTITY_LOCKED]
    return errors


def validate_own_profile(data: dict, *, name: str, id_number: str, birth_date: date, is_member: bool, settings,
                         today: date) -> dict:
    """The fields a person completes themself: 手机号码, 民族, 政治面貌, and 入团年月 unless they are a member
    (their branch admin keeps it); a member also 学历, 职业, 学习工作单位. Returns the columns to write."""
    c = Collector()
    for field, msgs in refused_identity_changes(data, name=name, id_number=id_number).items():
        c.errors[field] = msgs
    out = {"phone": c.check(validate_phone, data.get("phone"), True),
           "ethnicity": c.check(normalise_ethnicity, data.get("ethnicity")),
           "political_status": c.check(validate_political_status, data.get("political_status"), cadre=not is_member)}
    if not is_member:
        out["join_date"] = None
        if not (out["political_status"] == "群众" and not str(data.get("join_date") or "").strip()):
            join = c.check(parse_year_month, data.get("join_date"))
            if join is not None:
                c.check(check_join_date, join, birth_date, today=today, cutoff=settings.join_age_cutoff,
                        min_age=settings.join_age_min, min_age_before_cutoff=settings.join_age_min_before_cutoff)
                out["join_date"] = str(join)
    else:
        out.update(c.check(validate_member_extras, data) or {})
    c.raise_if_any()
    return out


def correction_refusal(*, actor_scope: str | None, actor_org_id: int | None, actor_person_id: int | None,
                       person_id: int, home_codes: list[str]) -> str | None:
    """Why this admin may not correct this person's name or ID number, or None. Only an admin of an organisation
    strictly above every organisation where the person is a member, holds a post or is an admin may: not the
    person, and not the admins of their own organisation."""
    if actor_scope is None:
        return "只有管理员可以更正"
    if actor_person_id is not None and actor_person_id == person_id:
        return "不能更正本人的姓名和身份证号码，请联系上级组织管理员"
    if not home_codes:
        return "此人目前没有团员、团干部或管理员身份，不能更正"
    return policy.person_refusal("person.correct", actor_scope, home_codes)


def validate_correction(*, name, id_number, reason, today: date) -> tuple[str, IdInfo, str]:
    """The corrected name and ID number (checked like any other) and the reason, which is required."""
    c = Collector()
    clean_name = c.check(validate_person_name, name)
    info = c.check(parse_id_number, id_number, today)
    text = " ".join(str(reason or "").split())[:200]
    if not text:
        c.add("reason", "请填写更正原因，例如“户籍登记姓名为……，原录入有误”")
    c.raise_if_any()
    return clean_name, info, text

