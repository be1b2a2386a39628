"""团员团干部 import rows (DOMAIN.md 3): every row validated with the member rules, its branch resolved,
then classified against what the database holds: new, update, unchanged or error (upsert by ID number)."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

from .canonical import canonical_id_number, canonical_org_name
from .errors import ValidationFailed
from .exceptions import assess, validate_excepted
from .imports import ERROR, NEW, UNCHANGED, UPDATE, ImportReport, RowOutcome, cell_text
from .members import DEV_MISSING, POST_FIELDS, validate_member
from .people import parse_year_month
from .policy import HELD_ELSEWHERE_MEMBER, NAME_DIFFERS, PERSON_OUTSIDE
from .vocabulary import MEMBER_HEADERS, all_labels, blank_placeholders, first_labels, placeholders_in, ticks_mean_yes

# the note of an error row that only exceptable rules block (the preview offers 特殊情况录入 for it; issue 18)
EXCEPTION_NOTE = "可申请特殊情况录入："
# the error workbook's 错误说明 of such a row (issue 26.3): when a 特殊情况录入 can be asked for, and where
EXCEPTION_HINT = ("如确属历史原因等特殊情况，可不改此行：在导入预览中点该行的“申请特殊情况录入”，填写理由，"
                  "上级批准后录入；其余各行照常导入")


def workbook_explanation(errors: dict, note: str | None) -> dict:
    """The errors the error workbook explains for one row: with the 特殊情况录入 hint when only exceptable rules
    failed (the row's note says so)."""
    if (note or "").startswith(EXCEPTION_NOTE):
        return {**errors, "_exception": [f"（{note}。{EXCEPTION_HINT}）"]}
    return errors
COLUMNS = first_labels(MEMBER_HEADERS)            # {label our template writes: key}
READ_COLUMNS = all_labels(MEMBER_HEADERS)         # every label real files use (DOMAIN.md 3.6)
SHARED = ("ethnicity", "political_status", "join_date", "phone")   # the person's, shared by all their places
EVIDENCE_KEYS = ("has_application", "has_card", "card_year", "has_letter")
# The optional fields of a member already recorded: a column absent from the file never changes them; an empty cell
# in a present column keeps what is recorded unless the importer chose "用表中空白清除已有内容" (clear_blanks).
# Each row's data names its fields that were blank ("blank_fields") and absent ("absent_fields"), each as a bit
# mask over KEPT_WHEN_BLANK (two small numbers: a 50,000-row report is stored between preview and commit).
KEPT_WHEN_BLANK = ("phone", "dev_number", "education", "occupation", "workplace", *EVIDENCE_KEYS, *POST_FIELDS)
BLANK_FIELDS, ABSENT_FIELDS = "blank_fields", "absent_fields"
CLEAR_BLANKS_LABEL = "用表中空白清除已有内容"
COMPARED = ("ethnicity", "political_status", "join_date", "phone", "dev_number", "education", "occupation",
            "workplace", "position", *POST_FIELDS, "branch_id", *EVIDENCE_KEYS)


@dataclass(frozen=True)
class Existing:
    """What the database holds for an ID number (loaded once by the service)."""

    name: str
    member_id: int | None
    branch_id: int | None
    in_scope: bool                  # the member's branch lies in the importer's subtree
    holder: str                     # description of the holding org, for messages
    values: dict                    # current values of COMPARED fields
    owned: bool = True              # every place of the person lies in the importer's reach (domain.policy)
    excepted: tuple = ()            # rules an approved 特殊情况录入 excepted for this member (domain.exceptions)


def validate_rows(rows, *, settings, today: date, branches: dict[str, list[int]], default_branch: int | None,
                  existing: dict[str, Existing], dev_numbers: dict[str, str],
                  sheet_branches: dict[str, str] | None = None, split=None) -> ImportReport:
    """``branches``: branch short name → ids in scope; ``default_branch``: the branch itself when a branch admin
    imports (the column is then optional); ``dev_numbers``: 发展团员编号 → ID number that holds it;
    ``sheet_branches``: sheet name → the branch a row of that sheet is in when its 所在团支部 is empty (from the
    目录 of our own export, or the sheet's name); ``split``: see check_rows."""
    report = check_rows(rows, settings=settings, today=today, branches=branches, default_branch=default_branch,
                        sheet_branches=sheet_branches,
                        excepted={n: e.excepted for n, e in existing.items() if e.excepted}, split=split)
    return classify(report, existing=existing, dev_numbers=dev_numbers)


def check_rows(rows, *, settings, today: date, branches: dict[str, list[int]],
               default_branch: int | None, sheet_branches: dict[str, str] | None = None,
               excepted: dict[str, tuple] | None = None, split=None) -> ImportReport:
    """The rules that depend only on the file: every field, the branch name, duplicates inside the file.
    ``excepted``: ID number → rules an approved 特殊情况录入 excepted for that member; they stay waived.
    ``split(check, rows, pack, unpack)``: runs ``check`` (the row-by-row rules, which give one result per row) on
    parts of ``rows`` and returns the results in the rows' order (``pack`` makes a result plain data, ``unpack``
    makes it again), e.g. two halves at the same time (parallel.in_two); by default one pass here. The
    duplicates are then found over the whole file."""
    branches = {canonical_org_name(k): v for k, v in branches.items()}
    sheet_branches = sheet_branches or {}
    several_sheets = len({getattr(raw, "sheet", "") for raw in rows}) > 1
    # 是否为团干部 kept as a tick list (√ for the cadres, nothing for the others): an empty cell is 否
    ticks = ticks_mean_yes(raw.cells.get("is_cadre") for raw in rows)
    placeholders = placeholders_in(raw.cells for raw in rows)     # "无", "/", "—" …: looked for once per value

    def check(rows) -> list[tuple[RowOutcome, tuple | None]]:
        """Each row's outcome and, when its fields were valid, its (ID number, 发展团员编号) for the duplicates."""
        checked = []
        memo: dict = {}
        org_names: dict = {}                # 所在团支部 cell -> canonical name (a file names a few branches)
        for raw in rows:
            cells = {k: v.strip() if type(v) is str else cell_text(v) for k, v in raw.cells.items()}  # cell_text
            out = RowOutcome(number=raw.number, cells=cells,
                             sheet=getattr(raw, "sheet", "") if several_sheets else "")
            typed, values = _row_values(raw.cells, cells, ticks, placeholders)
            data = _validate_row(out, values, settings=settings, today=today, memo=memo, excepted=excepted)
            branch_cell = values.get("branch", "")
            branch_name = org_names.get(branch_cell)
            if branch_name is None:
                branch_name = org_names[branch_cell] = canonical_org_name(branch_cell)
            branch_name = branch_name or sheet_branches.get(getattr(raw, "sheet", ""), "")
            branch_id = None
            if branch_name:
                ids = branches.get(branch_name, [])
                if len(ids) == 1:
                    branch_id = ids[0]
                elif len(ids) > 1:
                    out.fail("branch", f"有{len(ids)}个团支部都叫“{branch_name}”，请在各自团支部中分别导入")
                else:
                    out.fail("branch", f"找不到团支部“{branch_name}”：须为您管理范围内的团支部，请从下拉列表中选择")
            elif default_branch is not None:
                branch_id = default_branch
            else:
                out.fail("branch", "请填写所在团支部")
            if out.note.startswith(EXCEPTION_NOTE) and "branch" in out.errors:
                out.note = ""
            key = None
            if data is not None:
                warnings = id_disagreements(typed, data)
                if warnings:
                    data = {**data, WARNINGS: warnings}
                key = (data["id_number"], data["dev_number"])
                if out.kind != ERROR:
                    out.data = {**data, "branch_id": branch_id, **_blanks(typed, data)}
            checked.append((out, key))
        return checked

    checked = check(rows) if split is None else split(check, rows, _pack_checked, _unpack_checked)
    outcomes: list[RowOutcome] = []
    seen: dict[str, list[RowOutcome]] = {}
    seen_dev: dict[str, list[RowOutcome]] = {}
    for out, key in checked:
        if key is not None:
            seen.setdefault(key[0], []).append(out)
            if key[1]:
                seen_dev.setdefault(key[1], []).append(out)
        outcomes.append(out)
    for field, label, groups in (("id_number", "身份证号", seen), ("dev_number", "发展团员编号", seen_dev)):
        for outs in groups.values():             # the same value twice in one file: report it on every row
            if len(outs) > 1 and len({(o.sheet, o.number) for o in outs}) > 1:
                rows_text = ("、".join(o.where for o in outs) if several_sheets
                             else "第" + "、".join(str(o.number) for o in outs) + "行")
                for o in outs:
                    o.fail(field, f"{label}在本文件中重复出现（{rows_text}）")
                    o.data = {}
    return ImportReport(outcomes)


def _pack_checked(checked: tuple[RowOutcome, tuple | None]) -> tuple:
    out, key = checked
    return out.number, out.cells, out.kind, out.data, out.errors, out.note, out.sheet, key


def _unpack_checked(packed: tuple) -> tuple[RowOutcome, tuple | None]:
    return RowOutcome(*packed[:7]), packed[7]


WARNINGS = "warnings"
_GENDERS = {"男": "男", "女": "女", "男性": "男", "女性": "女", "M": "男", "F": "女", "MALE": "男", "FEMALE": "女"}


def id_disagreements(cells: dict, data: dict) -> list[str]:
    """Where a 性别 or 出生年月 column disagrees with the ID number (which wins: both are derived from it), one
    sentence each; values that cannot be read as a sex or a date are not compared."""
    out = []
    gender = cells.get("gender")
    if gender is not None:
        typed = "".join(str(gender).split()).upper()
        if _GENDERS.get(typed, data["gender"]) != data["gender"]:
            out.append(f"性别列为“{str(gender).strip()}”，与身份证号（{data['gender']}）不符，以身份证号为准")
    birth = cells.get("birth")
    if birth is not None and str(birth).strip():
        born = date.fromisoformat(data["birth_date"])
        try:
            month = parse_year_month(birth, "birth", "出生年月")
        except ValidationFailed:
            month = None
        same_day = not isinstance(birth, date) or (birth.year, birth.month, birth.day) == (born.year, born.month,
                                                                                          born.day)
        if month is not None and ((month.year, month.month) != (born.year, born.month) or not same_day):
            shown = birth.strftime("%Y-%m-%d") if isinstance(birth, date) else str(birth).strip()
            out.append(f"出生年月列为“{shown}”，与身份证号（{born.year}年{born.month}月{born.day}日）不符，以身份证号为准")
    return out


# the cells the member rules get raw (their type matters), not as text
_RAW_KEYS = ("id_number", "join_date", "dev_number", "phone", "card_year", "start_month", "party_committee")


def _row_values(raw_cells: dict, cells: dict, ticks: bool, placeholders: frozenset | None = None) -> tuple[dict, dict]:
    """The row's cells with placeholders ("无", "/", "—" …) read as nothing (blank if optional, missing if required),
    and the values the member rules get: text, but the raw cell where its type matters (an ID typed as a number is
    refused, a date cell is a date); 是否为团干部 empty in a tick-list file is 否."""
    typed = blank_placeholders(raw_cells, placeholders)
    if typed is not raw_cells:
        cells = {k: v.strip() if type(v) is str else cell_text(v) for k, v in typed.items()}
    values = cells.copy()
    values.update(zip(_RAW_KEYS, map(typed.get, _RAW_KEYS)))
    if ticks and not values.get("is_cadre"):
        values["is_cadre"] = "否"
    return typed, values


_BITS = tuple((key, 1 << i) for i, key in enumerate(KEPT_WHEN_BLANK))


def _blanks(cells: dict, data: dict) -> dict:
    """The row's optional fields left empty in a column the file has, and those whose column it lacks (bit masks
    over KEPT_WHEN_BLANK)."""
    present, absent = _present_bits(frozenset(cells))
    blank = 0
    for key, bit in present:
        if data.get(key) is None:
            blank |= bit
    return {BLANK_FIELDS: blank, ABSENT_FIELDS: absent}


@functools.lru_cache(maxsize=64)
def _present_bits(keys: frozenset) -> tuple[tuple, int]:
    """For a row with cells ``keys`` (the rows of a sheet share them): the (key, bit) of KEPT_WHEN_BLANK's
    columns it has, and the mask of those it lacks."""
    return tuple((key, bit) for key, bit in _BITS if key in keys), sum(bit for key, bit in _BITS if key not in keys)


def _validate_row(out: RowOutcome, values: dict, *, settings, today: date, memo: dict, excepted) -> dict | None:
    """The member rules on one row: its data, or None with the row's errors (and the 特殊情况录入 note) set."""
    try:
        return validate_member(values, settings=settings, today=today, memo=memo)
    except ValidationFailed as exc:
        verdict = assess(exc, settings)
        waived = _already_excepted(values, verdict, excepted, settings=settings, today=today)
        if waived is None:
            waived = _dev_number_deferred(values, exc, verdict, settings=settings, today=today, memo=memo)
        if waived is not None:
            return waived
        for f, msgs in exc.field_errors.items():
            for m in msgs:
                out.fail(f, m)
        if verdict.exceptable:
            out.note = EXCEPTION_NOTE + verdict.labels
        return None


DEV_DEFERRED = "dev_number_deferred"


def _dev_number_deferred(values: dict, exc: ValidationFailed, verdict, *, settings, today: date, memo) -> dict | None:
    """A row whose only fault is an empty (or absent) 发展团员编号 that the rules require: valid if the member is
    already recorded with one (an absent column or an empty cell keeps it), which only classify can tell. The row's
    data carries the message (and the 特殊情况录入 note) for classify to give a member without one."""
    messages = [m for msgs in exc.field_errors.values() for m in msgs]
    if list(exc.field_errors) != ["dev_number"] or len(messages) != 1 or exc.rules.get(messages[0]) != DEV_MISSING:
        return None
    try:
        data = validate_member(values, settings=settings, today=today, memo=memo, waive=frozenset({DEV_MISSING}))
    except ValidationFailed:
        return None
    return {**data, DEV_DEFERRED: [messages[0], EXCEPTION_NOTE + verdict.labels if verdict.exceptable else ""]}


def _already_excepted(values: dict, verdict, excepted: dict | None, *, settings, today: date) -> dict | None:
    """The row's member, when only rules an approved exception already covers for this ID number failed."""
    if not excepted or not verdict.exceptable:
        return None
    try:
        number = canonical_id_number(values.get("id_number"))
    except (AttributeError, TypeError, ValueError, ValidationFailed):
        return None
    covered = excepted.get(number)
    if not covered or not set(verdict.rules) <= set(covered):
        return None
    try:
        return validate_excepted(values, rules=verdict.rules, settings=settings, today=today)
    except ValidationFailed:
        return None


def classify(report: ImportReport, *, existing: dict[str, Existing], dev_numbers: dict[str, str],
             clear_blanks: bool = False) -> ImportReport:
    """The rules that depend on the database, applied to rows that passed check_rows: new, update, unchanged,
    or an error (name differs, member held outside the importer's subtree, 发展团员编号 taken). A recorded member's
    optional field keeps its value when its column is absent, and when its cell is empty unless ``clear_blanks``;
    ``report.meta["blank_clears"]`` counts, field by field, the people whose recorded value an empty cell would
    clear (or clears, with ``clear_blanks``)."""
    clears: dict[str, int] = {}
    for out in report.rows:
        if out.kind == ERROR:
            continue
        data = out.data
        number = data["id_number"]
        known = existing.get(number)
        if _deferred_fails(out, known):
            continue
        holder = dev_numbers.get(data["dev_number"]) if data["dev_number"] else None
        if holder is not None and holder != number:
            out.fail("dev_number", "该发展团员编号已被其他团员使用")
        if data.get("is_member") is False and known is not None:
            # a cadre without 团籍: created with the post only; an existing person is kept as recorded
            if not known.owned:
                out.fail("id_number", HELD_ELSEWHERE_MEMBER)    # one answer whatever the name: nobody is named
            elif (known.member_id is None
                  and known.values.get("branch_posts", {}).get(data["branch_id"]) == data["position"]):
                out.kind, out.note = UNCHANGED, ""
                continue
            else:
                out.fail("is_member", "该人员已在系统中登记；不是团员的团干部请在该团支部的“团干部”页面维护")
        elif known is not None and not known.owned and (known.member_id is None or not known.in_scope):
            out.fail("id_number", HELD_ELSEWHERE_MEMBER)        # one answer whatever the name: nobody is named
        elif known is not None and known.name != data["name"]:
            out.fail("name", NAME_DIFFERS)
        elif known is not None and known.member_id is not None and not known.in_scope:
            out.fail("id_number", f"该团员已在{known.holder}登记，请通过组织关系转接转入")
        if out.kind == ERROR:
            out.data = {}
            continue
        if known is None or known.member_id is None:
            out.kind, out.note = NEW, ""
        else:
            for key in _classify_update(out, known, clear_blanks=clear_blanks):
                clears[key] = clears.get(key, 0) + 1
    disagree = [out for out in report.rows if out.kind != ERROR and out.data.get(WARNINGS)]
    for out in disagree:                 # the ID wins; the row says where the file's own columns disagree
        out.note = "；".join(([out.note] if out.note else []) + out.data[WARNINGS])
    report.meta["row_notices"] = ([f"{len(disagree)} 行的性别或出生年月与身份证号不符（以身份证号为准，见各行提示）："
                                   + "、".join(o.where for o in disagree[:30]) + ("等" if len(disagree) > 30 else "")]
                                  if disagree else [])
    report.meta["blank_clears"] = {key: clears[key] for key in KEPT_WHEN_BLANK if clears.get(key)}
    report.meta["cleared_blanks"] = clear_blanks
    return report


def _classify_update(out: RowOutcome, known: Existing, *, clear_blanks: bool) -> list[str]:
    """A recorded member's row: update or unchanged, with the note naming what changes; returns the fields whose
    recorded value an empty cell clears (or would clear)."""
    data = out.data
    emptied = keep_recorded(data, known.values, clear_blanks=clear_blanks)
    if data.get("has_card") is False:
        data["card_year"] = None
    new_values = {k: data.get(k) for k in COMPARED}
    out.kind = UNCHANGED if new_values == known.values else UPDATE
    changed = [k for k in COMPARED if new_values[k] != known.values.get(k)]
    out.note = ("将更新：" + "、".join(_LABELS.get(k, k) for k in changed)) if changed else ""
    if emptied:
        said = "将清空：" if clear_blanks else "表中空白，保留原有："
        out.note += ("；" if out.note else "") + said + "、".join(_LABELS.get(k, k) for k in emptied)
    if not known.owned:
        # a member here who also holds a place outside the importer's reach: shared fields stay as stored
        for k in changed:
            if k in SHARED:
                out.fail(k, PERSON_OUTSIDE)
        if out.kind == ERROR:
            out.data = {}
            return []
    return emptied


def _deferred_fails(out: RowOutcome, known: Existing | None) -> bool:
    """A row whose required 发展团员编号 is empty or absent (see _dev_number_deferred) fails unless the member is
    recorded with one."""
    if not out.data.get(DEV_DEFERRED) or (known is not None and known.member_id is not None
                                          and known.values.get("dev_number")):
        return False
    message, note = out.data[DEV_DEFERRED]
    out.fail("dev_number", message)
    out.note, out.data = note, {}
    return True


def keep_recorded(data: dict, recorded: dict, *, clear_blanks: bool) -> list[str]:
    """Fill ``data`` (a validated row of a recorded member) with the recorded values of the optional fields whose
    column the file lacks, and of those left empty unless ``clear_blanks`` (then they become empty). The cadre-post
    fields of a row that is not a cadre stay empty (the post ends); a 发展团员编号 the rules require is never cleared.
    Returns the fields whose recorded value an
    empty cell clears (with ``clear_blanks``) or would clear (without)."""
    emptied = []
    blank, absent = data.get(BLANK_FIELDS) or 0, data.get(ABSENT_FIELDS) or 0
    for key, bit in _BITS:
        if (key in POST_FIELDS and not data.get("is_cadre")) or (key == "card_year" and data.get("has_card") is False):
            continue
        value = recorded.get(key)
        if absent & bit or (key == "dev_number" and data.get(DEV_DEFERRED)):   # a number the rules require
            data[key] = value
        elif blank & bit:
            if value is not None:
                emptied.append(key)
            data[key] = None if clear_blanks else value
    return emptied


def blank_clear_summary(meta: dict) -> list[tuple[str, int]]:
    """[(column label, people)] of the recorded values the file's empty cells would clear (preview, CLI, --json)."""
    return [(_LABELS.get(k, k), n) for k, n in (meta.get("blank_clears") or {}).items()]


def cells_from_data(data: dict, branch_name: str) -> dict:
    """A row's cells as the template shows them, rebuilt from its cleaned data (a stored report keeps the
    uploaded cells of error rows and of the preview's sample only)."""
    def text(value):
        if value is None:
            return ""
        if value is True or value is False:
            return "是" if value else "否"
        return str(value)
    cells = {key: text(data.get(key)) for key in COLUMNS.values() if key != "branch"}
    cells["branch"] = branch_name
    return cells


_LABELS = {v: k for k, v in COLUMNS.items()} | {"branch_id": "所在团支部"}
