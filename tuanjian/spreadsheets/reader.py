"""Read uploaded workbooks (.xlsx, .xls, .ods) with python-calamine into raw rows.

Headers are matched by name (tolerant of '*', '（必填）', spaces), the header row may sit below a title
row, cells keep their raw type (text, number, date) for the domain rules to normalise. Anything that
is not a readable workbook becomes an ImportFileError with a Chinese message.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field

from python_calamine import CalamineWorkbook

MAX_ROWS = 100000
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024        # zip-bomb guard for .xlsx/.ods
ALLOWED_SUFFIXES = (".xlsx", ".xls", ".ods", ".xlsm")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"     # .xls, and any .xlsx that Excel encrypted with a password
PASSWORD_MESSAGE = "该文件设置了打开密码（已加密），系统无法读取：请在 Excel 中取消密码（文件→信息→保护工作簿）后另存，再上传"


class ImportFileError(Exception):
    """The upload cannot be read as the expected workbook. ``str(exc)`` is a Chinese message."""


@dataclass(frozen=True)
class RawRow:
    number: int                     # the sheet's own row number (1-based, as Excel shows it)
    cells: dict[str, object]        # canonical column key -> raw value


@dataclass
class Sheet:
    name: str
    rows: list[RawRow]
    unknown_headers: list[str] = field(default_factory=list)


def header_key(text) -> str:
    """'*组织简称（必填）' -> '组织简称'."""
    t = str(text or "").strip()
    t = re.sub(r"[（(][^）)]*[）)]", "", t)
    return t.replace("*", "").replace("＊", "").replace(" ", "").replace("\u3000", "").replace("\n", "")


def _is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_sheet(data: bytes, filename: str, columns: dict[str, str], *, required: tuple[str, ...] = (),
               prefer_sheet: str | None = None, max_rows: int = MAX_ROWS) -> Sheet:
    """``columns`` maps header text (as in the template) to a canonical key."""
    name = (filename or "").lower()
    if not name.endswith(ALLOWED_SUFFIXES):
        raise ImportFileError("只能上传 Excel 文件（.xlsx 或 .xls），请使用下载的模板填写")
    if not data:
        raise ImportFileError("上传的文件是空的")
    if data[:8] == OLE_MAGIC and name.endswith((".xlsx", ".xlsm")):
        raise ImportFileError(PASSWORD_MESSAGE)
    if data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                if sum(i.file_size for i in zf.infolist()) > MAX_UNZIPPED_BYTES:
                    raise ImportFileError("文件解压后过大，疑似损坏或恶意文件，已拒绝")
        except zipfile.BadZipFile:
            raise ImportFileError("文件已损坏，无法作为 Excel 打开；请用 Excel 另存为 .xlsx 后重新上传") from None
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises several types for unreadable files
        if "password" in str(exc).lower() or "encrypt" in str(exc).lower():
            raise ImportFileError(PASSWORD_MESSAGE) from None
        raise ImportFileError("无法读取该文件：它不是有效的 Excel 工作簿（可能是改了扩展名或已损坏）") from None
    wanted = {header_key(h): key for h, key in columns.items()}
    candidates = list(wb.sheet_names)
    if prefer_sheet in candidates:
        candidates.remove(prefer_sheet)
        candidates.insert(0, prefer_sheet)
    for sheet_name in candidates:
        try:
            values = wb.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
        except Exception:
            continue
        for hdr_index, row in enumerate(values[:10]):
            keys = [header_key(v) for v in row]
            found = {k: i for i, k in enumerate(keys) if k in wanted}
            if not found or not all(any(wanted[k] == r for k in found) for r in required):
                continue
            col_of = {wanted[k]: i for k, i in found.items()}
            unknown = [str(v).strip() for v in row if header_key(v) and header_key(v) not in wanted]
            rows = []
            for offset, raw in enumerate(values[hdr_index + 1:], start=hdr_index + 2):
                cells = {key: (raw[i] if i < len(raw) else None) for key, i in col_of.items()}
                if all(_is_blank(v) for v in cells.values()):
                    continue
                rows.append(RawRow(offset, cells))
                if len(rows) > max_rows:
                    raise ImportFileError(f"一次最多导入 {max_rows} 行，请拆分成几个文件")
            return Sheet(sheet_name, rows, unknown)
    need = "、".join(h for h, k in columns.items() if k in required) or "、".join(columns)
    raise ImportFileError(f"没有找到表头（需要包含：{need}）。请使用系统下载的模板，不要修改表头")
