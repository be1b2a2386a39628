"""Workbook writing. Every user string is written as text, never as a formula (formula injection)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")


def set_text(cell, value) -> None:
    """Write ``value``; strings are forced to the string type so '=…' can never become a formula, and a string
    that starts like a formula (= + - @, tab, CR) also gets Excel's quote prefix, so it stays text even when
    someone edits the cell and presses Enter."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
        if value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True


def csv_safe(value) -> str:
    """For CSV: prefix an apostrophe when a cell would start a formula in Excel."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_table(headers: Sequence[str], rows: Iterable[Sequence], *, title: str = "Sheet1",
                text_columns: Sequence[int] = (), widths: Sequence[int] | None = None,
                caption: str | None = None, percent_columns: Sequence[int] = ()) -> BytesIO:
    """One sheet: an optional caption, a header row, the rows. ``text_columns`` are formatted as text; numbers in
    ``percent_columns`` (fractions, 0.857) are shown as percentages (85.7%) and stay numbers Excel can sort and sum."""
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    r = 1
    if caption:
        set_text(ws.cell(row=1, column=1), caption)
        ws.cell(row=1, column=1).font = Font(bold=True, size=13)
        r = 2
    for c, h in enumerate(headers, start=1):
        cell = ws.cell(row=r, column=c)
        set_text(cell, h)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    for row in rows:
        r += 1
        for c, value in enumerate(row, start=1):
            cell = ws.cell(row=r, column=c)
            set_text(cell, value)
            if c - 1 in text_columns:
                cell.number_format = "@"
            elif c - 1 in percent_columns and isinstance(value, (int, float)):
                cell.number_format = "0.0%"
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for c in range(1, len(headers) + 1):
        ws.column_dimensions[get_column_letter(c)].width = (widths[c - 1] if widths and c - 1 < len(widths) else 18)
    ws.freeze_panes = ws.cell(row=(3 if caption else 2), column=1)
    out = BytesIO()
    wb.save(out)
    out.seek(0)
    return out


def write_sheets(sheets: Iterable[tuple[str, str, Sequence[str], Iterable[Sequence]]]) -> BytesIO:
    """Several tables, one sheet each: (sheet title, caption, headers, rows), written like ``write_table``."""
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for title, caption, headers, rows in sheets:
        name = "".join(ch for ch in title if ch not in "[]:*?/\\")[:31] or "Sheet"
        base, n = name, 1
        while name in used:
            n += 1
            name = f"{base[:28]}_{n}"
        used.add(name)
        ws = wb.create_sheet(name)
        set_text(ws.cell(row=1, column=1), caption)
        ws.cell(row=1, column=1).font = Font(bold=True, size=13)
        for c, h in enumerate(headers, start=1):
            cell = ws.cell(row=2, column=c)
            set_text(cell, h)
            cell.font = Font(bold=True)
            cell.fill = HEADER_FILL
            ws.column_dimensions[get_column_letter(c)].width = 30 if c == 1 else 12
        for r, row in enumerate(rows, start=3):
            for c, value in enumerate(row, start=1):
                set_text(ws.cell(row=r, column=c), value)
        ws.freeze_panes = ws.cell(row=3, column=1)
    out = BytesIO()
    wb.save(out)
    out.seek(0)
    return out


# ---------------------------------------------------------------- import templates and error workbooks

REQUIRED_FONT = Font(bold=True, color="C00000")
ERROR_FILL = PatternFill("solid", fgColor="FFE0E0")


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    required: bool = False
    width: int = 18
    text: bool = True                      # format the column as text ('@') so Excel keeps IDs and phones
    choices: tuple[str, ...] = ()          # dropdown drawn from the hidden list sheet
    note: str = ""


def template_workbook(columns: Sequence[Column], *, sheet: str, title: str, instructions: Sequence[str],
                      example: Sequence | None = None) -> BytesIO:
    """A template: an instructions sheet, the data sheet (required headers in red, text formats and dropdowns for
    every row) and a hidden sheet holding the dropdown lists. A text column is formatted as text as a whole (the
    column's own style, as Excel's 设置单元格格式 → 文本 on a selected column does), so an ID number typed into any row
    stays text, without writing tens of thousands of empty formatted cells."""
    wb = Workbook()
    info = wb.active
    info.title = "填写说明"
    set_text(info.cell(row=1, column=1), title)
    info.cell(row=1, column=1).font = Font(bold=True, size=14)
    for i, line in enumerate(instructions, start=3):
        set_text(info.cell(row=i, column=1), line)
    r = len(instructions) + 4
    set_text(info.cell(row=r, column=1), "列")
    set_text(info.cell(row=r, column=2), "说明")
    for c in columns:
        r += 1
        set_text(info.cell(row=r, column=1), c.header + ("（必填）" if c.required else ""))
        set_text(info.cell(row=r, column=2), c.note or ("从下拉列表中选择" if c.choices else ""))
        if c.required:
            info.cell(row=r, column=1).font = REQUIRED_FONT
    info.column_dimensions["A"].width = 30
    info.column_dimensions["B"].width = 90

    ws = wb.create_sheet(sheet)
    for idx, c in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=idx)
        set_text(cell, c.header)
        cell.font = REQUIRED_FONT if c.required else Font(bold=True)
        cell.fill = HEADER_FILL
        column = ws.column_dimensions[get_column_letter(idx)]
        column.width = c.width
        if c.text:
            column.number_format = "@"
    add_dropdowns(wb, ws, columns)
    if example:
        for idx, value in enumerate(example, start=1):
            set_text(ws.cell(row=2, column=idx), value)
    ws.freeze_panes = "A2"
    wb.active = 1
    out = BytesIO()
    wb.save(out)
    out.seek(0)
    return out


def add_dropdowns(wb, ws, columns: Sequence[Column]) -> None:
    """A hidden 下拉列表 sheet holding every column's choices (made once per workbook), and list validations for all
    rows of ``ws``."""
    from openpyxl.worksheet.datavalidation import DataValidation
    if "下拉列表" in wb.sheetnames:
        lists = wb["下拉列表"]
        filled = True
    else:
        lists = wb.create_sheet("下拉列表")
        lists.sheet_state = "hidden"
        filled = False
    list_col = 0
    for idx, c in enumerate(columns, start=1):
        if not c.choices:
            continue
        list_col += 1
        ll, letter = get_column_letter(list_col), get_column_letter(idx)
        if not filled:
            for i, choice in enumerate(c.choices, start=1):
                set_text(lists.cell(row=i, column=list_col), choice)
        dv = DataValidation(type="list", formula1=f"'下拉列表'!${ll}$1:${ll}${len(c.choices)}", allow_blank=True,
                            showErrorMessage=True, errorTitle="请从列表中选择", error=f"{c.header}请从下拉列表中选择")
        ws.add_data_validation(dv)
        dv.add(f"{letter}2:{letter}1048576")


def error_workbook(columns: Sequence[Column], rows: Sequence[tuple], *, sheet: str) -> BytesIO:
    """The failed rows, as uploaded, plus 原行号 and 错误说明; the faulty cells are highlighted. ``rows``:
    (row number, cells, errors) or (row number, cells, errors, sheet name): rows read from several sheets keep
    their sheets (in the order first met); rows without a sheet go to ``sheet``."""
    groups: dict[str, list] = {}
    for row in rows:
        groups.setdefault((row[3] if len(row) > 3 else "") or sheet, []).append(row[:3])
    wb = Workbook()
    first = True
    for title, group in (groups or {sheet: []}).items():
        ws = wb.active if first else wb.create_sheet()
        ws.title = title
        first = False
        _error_sheet(wb, ws, columns, group)
    out = BytesIO()
    wb.save(out)
    out.seek(0)
    return out


def _error_sheet(wb, ws, columns: Sequence[Column], rows) -> None:
    headers = [c.header for c in columns] + ["原行号", "错误说明"]
    for idx, h in enumerate(headers, start=1):
        cell = ws.cell(row=1, column=idx)
        set_text(cell, h)
        cell.font = REQUIRED_FONT if idx <= len(columns) and columns[idx - 1].required else Font(bold=True)
        cell.fill = HEADER_FILL
    for r, (number, cells, errors) in enumerate(rows, start=2):
        for idx, c in enumerate(columns, start=1):
            value = cells.get(c.key)
            cell = ws.cell(row=r, column=idx)
            set_text(cell, value if isinstance(value, (int, float)) and not isinstance(value, bool) and not c.text
                     else ("" if value is None else str(value)))
            if c.text:
                cell.number_format = "@"
            if c.key in errors:
                cell.fill = ERROR_FILL
        ws.cell(row=r, column=len(columns) + 1, value=number)
        set_text(ws.cell(row=r, column=len(columns) + 2),
                 "；".join(m for msgs in errors.values() for m in msgs))
    for idx, c in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(idx)].width = c.width
    ws.column_dimensions[get_column_letter(len(columns) + 2)].width = 60
    add_dropdowns(wb, ws, columns)            # the same lists as the template, so fixes are picked, not typed
