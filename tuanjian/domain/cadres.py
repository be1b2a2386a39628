"""团干部 post fields (DOMAIN.md 4.1) and the cadre import rows."""
from __future__ import annotations

from datetime import date

from .errors import Collector, ValidationFailed
from .imports import ImportReport, RowOutcome, cell_text
from .people import (
    check_join_date,
    normalise_ethnicity,
    parse_id_number,
    parse_year_month,
    validate_person_name,
    validate_phone,
    validate_political_status,
    validate_position,
)
from .policy import HELD_ELSEWHERE_CADRE, NAME_DIFFERS
from .vocabulary import CADRE_HEADERS, all_labels, blank_placeholders, first_labels, synonym

NATURES = ("专职", "兼职", "挂职")
YES_NO = ("是", "否")
TITLE_REQUIRED = ("其他",)          # 其他 needs its own name; 工作人员 may add one (e.g. 组织部部长)
TITLE_MAX = 30


def validate_post(*, position, title, nature, start_month, party_committee, is_leading: bool,
                  today: date) -> dict:
    errors: dict[str, list[str]] = {}

    def check(field, fn):
        try:
            return fn()
        except ValidationFailed as exc:
            errors.setdefault(field, []).extend(m for msgs in exc.field_errors.values() for m in msgs)
            return None

    pos = check("position", lambda: validate_position(position, is_leading=is_leading))
    title = " ".join(str(title or "").split())[:TITLE_MAX] or None
    if pos in TITLE_REQUIRED and not title:
        errors.setdefault("title", []).append("职务选“其他”时请填写具体职务名称")
    nature = synonym("nature", nature)
    if not nature:
        errors.setdefault("nature", []).append("请选择团干部性质（专职、兼职或挂职）")
    elif nature not in NATURES:
        errors.setdefault("nature", []).append("团干部性质只能是专职、兼职或挂职")
    month = None
    if str(start_month or "").strip():
        month = check("start_month", lambda: parse_year_month(start_month, "start_month", "任现职年月"))
        if month is not None and month.first_day > today:
            errors.setdefault("start_month", []).append("任现职年月不能晚于当前月份")
    pc = synonym("yes_no", party_committee)
    if pc and pc not in YES_NO:
        errors.setdefault("party_committee", []).append("是否同级党委成员只能填“是”或“否”")
    if errors:
        raise ValidationFailed(errors)
    return {"position": pos, "title": title, "nature": nature, "start_month": str(month) if month else None,
            "party_committee": (pc == "是") if pc else None}


def validate_cadre_person(data: dict, *, settings, today: date) -> dict:
    """The personal block of a cadre (political status may be 群众; then 入团年月 may stay empty)."""
    collector = Collector()
    check, errors = collector.check, collector.errors

    name = check(validate_person_name, data.get("name"))
    info = check(parse_id_number, data.get("id_number"), today)
    phone = check(validate_phone, data.get("phone"), True)
    eth = check(normalise_ethnicity, data.get("ethnicity"))
    pol = check(validate_political_status, data.get("political_status"), cadre=True)
    join = None
    if not (pol == "群众" and not str(data.get("join_date") or "").strip()):
        join = check(parse_year_month, data.get("join_date"))
        if join is not None and info is not None:
            check(check_join_date, join, info.birth_date, today=today, cutoff=settings.join_age_cutoff,
                  min_age=settings.join_age_min, min_age_before_cutoff=settings.join_age_min_before_cutoff)
    if errors:
        raise ValidationFailed(errors)
    return {"name": name, "id_info": info, "phone": phone, "ethnicity": eth, "political_status": pol,
            "join_date": str(join) if join else None}


def validate_cadre(values: dict, *, is_leading: bool, settings, today: date) -> dict:
    """A whole cadre (person block + post block), every error collected; the one rule set the form and the
    importer share. Returns the columns to write."""
    errors: dict[str, list[str]] = {}
    person = post = None
    try:
        person = validate_cadre_person(values, settings=settings, today=today)
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
    try:
        post = validate_post(position=values.get("position"), title=values.get("title"), nature=values.get("nature"),
                             start_month=values.get("start_month"), party_committee=values.get("party_committee"),
                             is_leading=is_leading, today=today)
    except ValidationFailed as exc:
        for f, msgs in exc.field_errors.items():
            errors.setdefault(f, []).extend(msgs)
    if errors:
        raise ValidationFailed(errors)
    info = person.pop("id_info")
    return {**person, **post, "id_number": info.number, "gender": info.gender,
            "birth_date": info.birth_date.isoformat()}


CADRE_COLUMNS = first_labels(CADRE_HEADERS)          # {label our template writes: key}
CADRE_READ_COLUMNS = all_labels(CADRE_HEADERS)       # every label real files use (DOMAIN.md 3.6)


def validate_cadre_rows(rows, *, is_leading: bool, settings, today: date, known_names: dict[str, str],
                        existing_posts: set[tuple[str, str]], foreign: set[str] = frozenset()) -> ImportReport:
    """``known_names``: id_number → name of people already in the database (the name must match);
    ``existing_posts``: (id_number, position) already held in this organisation; ``foreign``: ID numbers of people
    not wholly in the importer's reach (refused with one message that names nobody, whatever name was typed)."""
    outcomes = []
    first_row: dict[tuple[str, str], int] = {}
    name_in_file: dict[str, tuple[str, int]] = {}      # id_number -> (name, row) as first seen in this file
    for raw in rows:
        cells = {k: cell_text(v) for k, v in raw.cells.items()}
        typed = blank_placeholders(raw.cells)       # "无", "/", "—" …: nothing (blank if optional, missing if not)
        # hand raw cells to the rules: an ID typed as a number must be refused, dates may arrive as dates
        values = {**{k: cell_text(v) for k, v in typed.items()}, "id_number": typed.get("id_number"),
                  "join_date": typed.get("join_date"), "start_month": typed.get("start_month")}
        out = RowOutcome(number=raw.number, cells=cells)
        data = None
        try:
            data = validate_cadre(values, is_leading=is_leading, settings=settings, today=today)
        except ValidationFailed as exc:
            for f, msgs in exc.field_errors.items():
                for m in msgs:
                    out.fail(f, m)
        if data is not None:
            key = (data["id_number"], data["position"])
            seen = name_in_file.setdefault(data["id_number"], (data["name"], raw.number))
            if data["id_number"] in foreign:
                out.fail("id_number", HELD_ELSEWHERE_CADRE)
            elif data["id_number"] in known_names and known_names[data["id_number"]] != data["name"]:
                out.fail("name", NAME_DIFFERS)
            elif seen[0] != data["name"]:
                out.fail("id_number", f"与第{seen[1]}行身份证号相同，但姓名不同（{seen[0]}），请核对")
            elif key in existing_posts:
                out.fail("position", f"{data['name']}已是本组织的{data['position']}（如是重复上传，无需再次导入）")
            elif key in first_row:
                out.fail("id_number", f"与第{first_row[key]}行重复")
            else:
                first_row[key] = raw.number
                out.data = data
        outcomes.append(out)
    return ImportReport(outcomes)
