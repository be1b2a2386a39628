"""团员 rules (DOMAIN.md 3): member-only fields, 发展团员编号, 超龄, and one whole-member validator shared by
the entry form, the importer and the CLI."""
from __future__ import annotations

import re
from datetime import date

from .canonical import canonical_dev_number
from .errors import Collector, ValidationFailed
from .people import (
    YearMonth,
    check_join_date,
    full_years,
    normalise_ethnicity,
    parse_id_number,
    parse_year_month,
    validate_person_name,
    validate_phone,
    validate_political_status,
    validate_positions,
)
from .vocabulary import synonym

EDUCATIONS = ("博士", "博士在读", "硕士", "硕士在读", "普通本科", "普通本科在读", "普通专科", "普通专科在读",
              "普通高中",
              "普通高中在读", "中等职业教育", "中等职业教育在读", "初中", "初中在读", "小学")
OCCUPATIONS = ("国有企业职工", "非公企业职工", "机关事业单位职工", "社会组织员工", "农民", "学生", "自由职业者",
               "公办高校教职工", "公办中学教职工", "公办中职教职工", "民办高校教职工", "民办中学教职工",
               "民办中职教职工", "其他")
YES, NO = "是", "否"
DEV_NUMBER_LENGTH = 12
# Shandong's legacy numbers (DOMAIN.md 3.3): 16 digits starting 201516 or 201617; the national front end accepts
# them wherever the member now is
SHANDONG_DEV_LENGTH = 16
SHANDONG_DEV_PREFIXES = ("201516", "201617")
_DEV_RE = re.compile(r"^[0-9A-Za-z]+$")
WORKPLACE_MAX = 100


def parse_yes_no(raw, field: str, label: str, *, required: bool) -> bool | None:
    text = str(raw if raw is not None else "").strip()
    if isinstance(raw, bool):
        return raw
    if not text:
        if required:
            raise ValidationFailed.single(field, f"请填写{label}（是或否）")
        return None
    text = synonym("yes_no", text)
    if text == YES:
        return True
    if text == NO:
        return False
    raise ValidationFailed.single(field, f"{label}只能填“是”或“否”")


def normalise_dev_number(raw) -> str:
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return canonical_dev_number(raw)


def is_shandong_dev_number(number: str) -> bool:
    return len(number) == SHANDONG_DEV_LENGTH and number.isdigit() and number.startswith(SHANDONG_DEV_PREFIXES)


_YEAR_TEXT = {year: str(year) for year in range(1900, 2200)}
DEV_MISSING, DEV_FORMAT = "dev_number_missing", "dev_number_format"     # rule codes (domain.exceptions)


def check_dev_number(raw, join: YearMonth | None, *, required_from_year: int,
                     waive: frozenset = frozenset()) -> str | None:
    """发展团员编号 [B: S6, rules as coded in S17]: required for joins from ``required_from_year``; 12 characters;
    the first four are the join year (2017 and 2018 interchangeable); optional earlier, but if given it must be
    longer than four characters and start with the join year. A missing number breaks rule ``dev_number_missing``,
    a malformed one ``dev_number_format``; rules in ``waive`` (an approved exception) are skipped, the number then
    kept as typed."""
    number = normalise_dev_number(raw)
    required = join is not None and join.year >= required_from_year
    if not number:
        if required and DEV_MISSING not in waive:
            raise ValidationFailed.rule("dev_number",
                                        f"{required_from_year}年及以后入团的团员须填写发展团员编号（12位）",
                                        DEV_MISSING)
        return None
    if DEV_FORMAT in waive:
        return number
    if not (number.isascii() and number.isalnum()):          # _DEV_RE, without the regex
        raise ValidationFailed.rule("dev_number", "发展团员编号只能由数字和字母组成", DEV_FORMAT)
    if len(number) == SHANDONG_DEV_LENGTH and is_shandong_dev_number(number):
        return number
    if join is not None and number[:4] != _YEAR_TEXT.get(join.year) and not (
            join.year in (2017, 2018) and number[:4] in ("2017", "2018")):
        years = {str(join.year)}
        if join.year in (2017, 2018):
            years = {"2017", "2018"}
        if number[:4] not in years:
            raise ValidationFailed.rule(
                "dev_number", f"发展团员编号前4位应为入团年份{'或'.join(sorted(years))}，现为{number[:4]}", DEV_FORMAT)
    if required and len(number) != DEV_NUMBER_LENGTH:
        raise ValidationFailed.rule("dev_number", f"发展团员编号应为{DEV_NUMBER_LENGTH}位，现为{len(number)}位",
                                    DEV_FORMAT)
    if not required and len(number) <= 4:
        raise ValidationFailed.rule("dev_number", "发展团员编号位数不足", DEV_FORMAT)
    return number


# ---------------------------------------------------------------- 团员身份摸底 (seed notice 002, 附件1 三.2)

EVIDENCE_FIELDS = ("has_application", "has_card", "card_year", "has_letter")
EVIDENCE_LABELS = {"has_application": "入团志愿书", "has_card": "团员证", "card_year": "团籍注册年度",
                   "has_letter": "组织关系介绍信"}
EVIDENCE_STRICT_FROM_YEAR = 2016      # joined this year or later: the 入团志愿书 itself is required
CARD_REGISTERED_FROM_YEAR = 2017      # a 团员证 counts when registered (团籍注册) in this year or later


def parse_evidence(values: dict, *, today: date) -> dict:
    """The four evidence fields as entered: 是/否 or blank (not yet checked) for the three documents, and the
    year of the last 团籍注册 on the 团员证 (only with a 团员证)."""
    collector = Collector()
    check, errors = collector.check, collector.errors
    out = {}
    for key in ("has_application", "has_card", "has_letter"):
        out[key] = check(parse_yes_no, values.get(key), key, f"是否有{EVIDENCE_LABELS[key]}", required=False)
    raw = values.get("card_year")
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = str(raw if raw is not None else "").strip().removesuffix("年").removesuffix("年度")
    year = None
    if text:
        if not (text.isascii() and text.isdigit() and len(text) == 4):
            errors.setdefault("card_year", []).append("团籍注册年度应为4位年份，如 2018")
        else:
            year = int(text)
            if not 1950 <= year <= today.year:
                errors.setdefault("card_year", []).append(f"团籍注册年度应在1950年到{today.year}年之间")
                year = None
        if year is not None and out.get("has_card") is False:
            errors.setdefault("card_year", []).append("没有团员证时不要填写团籍注册年度")
    out["card_year"] = year
    if errors:
        raise ValidationFailed(errors)
    return out


def evidence_problem(join_year: int | None, *, has_application: bool | None, has_card: bool | None,
                     card_year: int | None, has_letter: bool | None) -> str | None:
    """Why the membership is not confirmed, or None when it is (团员身份摸底, seed notice 002): joined before
    2016, any one of 入团志愿书, 团员证 with a 团籍注册 in 2017 or later, 组织关系介绍信; joined 2016 or later,
    the 入团志愿书. Nothing recorded yet (e.g. records older than this check) is not confirmed either."""
    if has_application:
        return None
    if has_application is None and has_card is None and has_letter is None:
        return "尚未登记身份证明材料（入团志愿书、团员证、介绍信）"
    if join_year is None:
        return "入团年月不明，须有入团志愿书"
    if join_year >= EVIDENCE_STRICT_FROM_YEAR:
        return f"{EVIDENCE_STRICT_FROM_YEAR}年及以后入团，须有入团志愿书"
    if has_letter:
        return None
    if has_card and card_year is not None and card_year >= CARD_REGISTERED_FROM_YEAR:
        return None
    if has_card:
        return (f"团员证须在{CARD_REGISTERED_FROM_YEAR}年或以后进行过团籍注册"
                + ("（未填写团籍注册年度）" if card_year is None else f"（最近一次为{card_year}年）"))
    return "入团志愿书、团员证、组织关系介绍信至少须有一项"


def identity_confirmed(join_year: int | None, **evidence) -> bool:
    return evidence_problem(join_year, **evidence) is None


def is_overage(birth: date, today: date, *, holds_post: bool, years: int = 28) -> bool:
    """超龄: aged ``years`` or more and holding no League post (cadres keep membership)."""
    return not holds_post and full_years(birth, today) >= years


def overage_date(birth: date, years: int = 28) -> date:
    """The day the member turns ``years`` (29 Feb births turn on 1 Mar)."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return date(birth.year + years, 3, 1)


def overage_cutoff(today: date, years: int = 28) -> date:
    """Born on or before this day = aged ``years`` or more today (29 Feb birthdays count from 1 Mar); the SQL
    form of is_overage's age test."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:                                   # today is 29 Feb
        return date(today.year - years, 2, 28)


POST_FIELDS = ("start_month", "nature", "party_committee")
POST_LABELS = {"start_month": "任现职年月", "nature": "团干部性质", "party_committee": "是否同级党委（支部）成员"}


def validate_branch_post(values: dict, *, today: date) -> dict:
    """The cadre columns of the member file (智慧团建's 下级团支部团员团干部 template): 任现职年月, 团干部性质 and
    是否同级党委（支部）成员, each optional there (the 团干部 page asks for 团干部性质)."""
    from .cadres import NATURES
    collector = Collector()
    errors = collector.errors
    month = None
    raw = values.get("start_month")
    if str(raw if raw is not None else "").strip():
        month = collector.check(parse_year_month, raw, "start_month", "任现职年月")
        if month is not None and month.first_day > today:
            errors.setdefault("start_month", []).append("任现职年月不能晚于当前月份")
    nature = synonym("nature", values.get("nature")) or None
    if nature and nature not in NATURES:
        errors.setdefault("nature", []).append("团干部性质只能是专职、兼职或挂职")
    party = collector.check(parse_yes_no, values.get("party_committee"), "party_committee",
                            "是否同级党委（支部）成员", required=False)
    collector.raise_if_any()
    return {"start_month": str(month) if month else None, "nature": nature, "party_committee": party}


def _parse_is_cadre(raw) -> bool | None:
    return parse_yes_no(raw, "is_cadre", "是否为团干部", required=True)


def validate_member_extras(values: dict) -> dict:
    """学历, 职业, 学习工作单位 (optional; the member may edit them on their own profile too)."""
    collector = Collector()
    errors = collector.errors
    education = str(values.get("education") or "").strip() or None
    if education and education not in EDUCATIONS:
        errors.setdefault("education", []).append("学历请从列表中选择，如“普通本科”“普通高中在读”")
    occupation = str(values.get("occupation") or "").strip() or None
    if occupation and occupation not in OCCUPATIONS:
        errors.setdefault("occupation", []).append("职业请从列表中选择，如“学生”“农民”")
    workplace = " ".join(str(values.get("workplace") or "").split()) or None
    if workplace and len(workplace) > WORKPLACE_MAX:
        errors.setdefault("workplace", []).append(f"学习工作单位最多{WORKPLACE_MAX}个字")
    collector.raise_if_any()
    return {"education": education, "occupation": occupation, "workplace": workplace}


def _extras_of(education, occupation, workplace) -> dict:
    return validate_member_extras({"education": education, "occupation": occupation, "workplace": workplace})


def _join_date_of(join, birth, today, cutoff, min_age, min_age_before_cutoff) -> None:
    check_join_date(join, birth, today=today, cutoff=cutoff, min_age=min_age,
                    min_age_before_cutoff=min_age_before_cutoff)


def _evidence_of(has_application, has_card, card_year, has_letter, today: date) -> dict:
    return parse_evidence({"has_application": has_application, "has_card": has_card, "card_year": card_year,
                           "has_letter": has_letter}, today=today)


def _member_head(ethnicity, is_cadre_cell, is_member_cell, political_status, join_date, memo) -> tuple:
    """民族, 是否为团干部, 是否为团员, 政治面貌 and 入团年月: checks that depend on these cells alone (a file's rows
    share them), so validate_member caches them together, see Collector.merge_memo. Returns
    ((ethnicity, is_cadre, is_member, political_status, join, join as text), errors, rules), errors in
    validate_member's order."""
    collector = Collector()
    check, errors = collector.check, collector.errors
    cached = collector.check_memo
    eth = cached(memo, normalise_ethnicity, ethnicity)
    is_cadre = cached(memo, _parse_is_cadre, is_cadre_cell)
    # 是否为团员 (our 智慧团建 export writes it): 否 = a cadre of the branch without 团籍 (群众, or a Party member past
    # 28), who gets a post and no membership; blank = a member
    is_member = check(parse_yes_no, is_member_cell, "is_member", "是否为团员", required=False) is not False
    if not is_member and is_cadre is False:
        errors.setdefault("is_member", []).append("“是否为团员”填“否”的只能是本团支部的团干部（是否为团干部填“是”）")
    if is_member:
        pol = cached(memo, validate_political_status, political_status)
        join = cached(memo, parse_year_month, join_date)
    else:
        pol = check(validate_political_status, political_status, cadre=True)
        join = None
        if not (pol == "群众" and not str(join_date or "").strip()):
            join = cached(memo, parse_year_month, join_date)
    return (eth, is_cadre, is_member, pol, join, str(join) if join else None), errors, collector.rules


def _member_tail(is_cadre, position_cell, start_month, nature, party_committee, education, occupation, workplace,
                 has_application, has_card, card_year, has_letter, today: date, memo) -> tuple:
    """团内职务 and the post's columns, 学历/职业/学习工作单位 and the evidence columns: as _member_head, cached
    together. Returns ((position, post, extras, evidence), errors, rules)."""
    collector = Collector()
    check, errors = collector.check, collector.errors
    cached = collector.check_memo
    position = None
    post = dict.fromkeys(POST_FIELDS)
    cells = {"start_month": start_month, "nature": nature, "party_committee": party_committee}
    if is_cadre:
        position = check(lambda: validate_positions(position_cell, is_leading=False))
        post = check(validate_branch_post, cells, today=today) or post
    else:
        if str(position_cell or "").strip():
            errors.setdefault("position", []).append("“是否为团干部”为“否”时不要填写团内职务")
        for key in POST_FIELDS:
            if str(cells[key] if cells[key] is not None else "").strip():
                errors.setdefault(key, []).append(f"“是否为团干部”为“否”时不要填写{POST_LABELS[key]}")
    extras = cached(memo, _extras_of, education, occupation, workplace) or {}
    evidence = cached(memo, _evidence_of, has_application, has_card, card_year, has_letter, today) or {}
    return (position, post, extras, evidence), errors, collector.rules


# the cells validate_member reads, in the order it unpacks them
_MEMBER_KEYS = ("card_year", "dev_number", "education", "ethnicity", "has_application", "has_card", "has_letter",
                "id_number", "is_cadre", "is_member", "join_date", "name", "nature", "occupation", "party_committee",
                "phone", "political_status", "position", "start_month", "workplace")


def validate_member(values: dict, *, settings, today: date, memo: dict | None = None,
                    waive: frozenset = frozenset()) -> dict:
    """A whole member row/form: every field checked, every error collected. ``values`` holds raw input
    (strings from a form, raw cells from a workbook). Returns the columns to write. ``memo``: a dict shared by
    the rows of one file, caching the checks whose answer depends on the value alone (民族, 入团年月, …): the
    cells most rows share are checked in two groups (_member_head, _member_tail), each once per distinct
    combination; what differs row by row (姓名, 身份证号码, 发展团员编号, 手机号码) is checked on every row."""
    collector = Collector()
    check, errors = collector.check, collector.errors
    cached = collector.check_memo
    (v_card_year, v_dev_number, v_education, v_ethnicity, v_has_application, v_has_card, v_has_letter, v_id_number,
     v_is_cadre, v_is_member, v_join_date, v_name, v_nature, v_occupation, v_party_committee, v_phone,
     v_political_status, v_position, v_start_month, v_workplace) = map(values.get, _MEMBER_KEYS)   # one C loop

    name = cached(memo, validate_person_name, v_name)
    info = check(parse_id_number, v_id_number, today)
    eth, is_cadre, is_member, pol, join, join_text = collector.merge_memo(
        memo, _member_head, v_ethnicity, v_is_cadre, v_is_member, v_political_status, v_join_date)
    if join is not None and info is not None:
        if waive:
            check(check_join_date, join, info.birth_date, today=today, cutoff=settings.join_age_cutoff,
                  min_age=settings.join_age_min, min_age_before_cutoff=settings.join_age_min_before_cutoff,
                  waive=waive)
        elif memo is None:
            check(_join_date_of, join, info.birth_date, today, settings.join_age_cutoff, settings.join_age_min,
                  settings.join_age_min_before_cutoff)
        else:                       # a file's rows share their 入团年月 and, often, their birth dates
            # keyed by the month's text (a YearMonth hashes in Python) and the plain values the answer depends on
            collector.check_keyed(memo, (_join_date_of, join_text, info.birth_date, today, settings.join_age_cutoff,
                                         settings.join_age_min, settings.join_age_min_before_cutoff),
                                  _join_date_of, join, info.birth_date, today, settings.join_age_cutoff,
                                  settings.join_age_min, settings.join_age_min_before_cutoff)
    if is_member:
        dev = check(check_dev_number, v_dev_number, join,
                    required_from_year=settings.dev_number_required_from_year, waive=waive)
    else:
        dev = None
        for key, label in (("dev_number", "发展团员编号"), ("education", "文化程度"), ("occupation", "职业"),
                           ("workplace", "学习工作单位")):
            if str(values.get(key) if values.get(key) is not None else "").strip():
                errors.setdefault(key, []).append(f"非团员的团干部不填写{label}")
    phone = cached(memo, validate_phone, v_phone, False)
    position, post, extras, evidence = collector.merge_memo(
        memo, _member_tail, is_cadre, v_position, v_start_month, v_nature, v_party_committee, v_education,
        v_occupation, v_workplace, v_has_application, v_has_card, v_card_year, v_has_letter, today)
    if errors:
        raise ValidationFailed(errors, rules=collector.rules)
    return {**evidence, "name": name, "id_number": info.number, "gender": info.gender,
            "birth_date": info.birth_date.isoformat(),
            "ethnicity": eth, "political_status": pol, "join_date": join_text, "dev_number": dev,
            "phone": phone or None, "is_cadre": bool(is_cadre), "position": position, **post,
            "education": extras.get("education"), "occupation": extras.get("occupation"),
            "workplace": extras.get("workplace"), **({} if is_member else {"is_member": False})}

