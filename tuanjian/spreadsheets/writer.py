"""Workbook writing. Every user string is written as text, never as a formula (formula injection)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")


def set_text(cell, value) -> None:
    """Write ``value``; strings are forced to the string type so '=…' can never become a formula."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"


def csv_safe(value) -> str:
    """For CSV: prefix an apostrophe when a cell would start a formula in Excel."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_table(headers: Sequence[str], rows: Iterable[Sequence], *, title: str = "Sheet1",
                text_columns: Sequence[int] = (), widths: Sequence[int] | None = None,
                caption: str | None = None) -> BytesIO:
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
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for c in range(1, len(headers) + 1):
        ws.column_dimensions[get_column_letter(c)].width = (widths[c - 1] if widths and c - 1 < len(widths) else 18)
    ws.freeze_panes = ws.cell(row=(3 if caption else 2), column=1)
    out = BytesIO()
    wb.save(out)
    out.seek(0)
    return out
