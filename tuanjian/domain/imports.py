"""The shape every import report takes: per-row outcome with field errors, and totals (pure)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from operator import itemgetter

OK, ERROR = "ok", "error"
OK_ROWS_SHOWN = 300         # the preview lists every error row, then a sample of the OK rows (cells kept for it)
ROWS_PER_PAGE = 100         # … a page at a time: the preview stays small (< 100 kB) whatever the file's size
RESULT_ROWS_SHOWN = 100     # the result page lists the first rows written (the rest are counted)
NEW, UPDATE, UNCHANGED = "new", "update", "unchanged"     # finer kinds of OK used by upserting imports
RETIRE = "retire"          # an OK row a 上报文件 no longer has: retired here when it is applied (not a row of the file)


@dataclass
class RowOutcome:
    number: int                                   # the sheet's row number
    cells: dict                                   # the values as uploaded (strings), for the error workbook
    kind: str = OK
    data: dict = field(default_factory=dict)      # cleaned values, ready to write
    errors: dict[str, list[str]] = field(default_factory=dict)
    note: str = ""
    sheet: str = ""                               # the worksheet, when the file had several data sheets

    @property
    def where(self) -> str:
        """第 5 行, or 工作表“一班”第 5 行."""
        return f"工作表“{self.sheet}”第{self.number}行" if self.sheet else f"第{self.number}行"

    def fail(self, field_name: str, message: str) -> None:
        self.kind = ERROR
        self.errors.setdefault(field_name, []).append(message)


@dataclass
class ImportReport:
    rows: list[RowOutcome]
    # what the file held besides its rows, for the preview, the CLI and --json: "unused_columns" (header labels
    # not imported), "skipped_sheets" ([sheet, reason]), "sheets" (the data sheets read)
    meta: dict = field(default_factory=dict)

    @property
    def notices(self) -> list[str]:
        """The file-level facts the user must be told (nothing is dropped silently)."""
        out = []
        if self.meta.get("unused_columns"):
            out.append("以下列未导入：" + "、".join(self.meta["unused_columns"]))
        out += self.meta.get("layout_notices") or []       # rows ignored, hidden rows (spreadsheets.reader)
        out += self.meta.get("row_notices") or []          # rows whose columns disagree with their ID number
        for name, reason in self.meta.get("skipped_sheets", []):
            out.append(f"工作表“{name}”未导入：{reason}")
        out += self.meta.get("notes", [])               # what a 上报文件's plan says besides its rows
        return out

    @property
    def ok_rows(self) -> list[RowOutcome]:
        return [r for r in self.rows if r.kind != ERROR]

    @property
    def error_rows(self) -> list[RowOutcome]:
        return [r for r in self.rows if r.kind == ERROR]

    def totals(self) -> dict[str, int]:
        kinds = Counter(r.kind for r in self.rows)             # one pass (a report may hold 50,000 rows)
        totals = {"rows": len(self.rows), "ok": len(self.rows) - kinds[ERROR], "error": kinds[ERROR]}
        for kind in (NEW, UPDATE, UNCHANGED):
            totals[kind] = kinds[kind]
        if kinds[RETIRE]:
            totals[RETIRE] = kinds[RETIRE]
        return totals

    def to_json(self, *, keep_ok_cells: int | None = None) -> dict:
        """A compact JSON document (a 50,000-row report is stored between preview and commit): the rows of one
        file share their cell keys and their data keys, so each row keeps its values as lists in that order;
        a row whose keys differ keeps its dict. ``keep_ok_cells``: keep the uploaded cells of only that many OK
        rows (the preview's sample) besides every error row, for an import whose commit needs only ``data``."""
        cell_keys = list(self.rows[0].cells) if self.rows else []
        data_keys = next((list(r.data) for r in self.rows if r.data), [])

        def packer(keys: list):
            n = len(keys)
            getter = itemgetter(*keys) if n > 1 else (lambda values: tuple(values[k] for k in keys))

            def pack(values: dict):
                if len(values) == n:
                    try:
                        return getter(values)
                    except KeyError:
                        pass
                return values
            return pack
        cells, data = packer(cell_keys), packer(data_keys)
        kept = None if keep_ok_cells is None else {id(r) for r in self.ok_rows[:keep_ok_cells]}
        return {"format": 2, "cell_keys": cell_keys, "data_keys": data_keys,
                "rows": [(r.number, r.kind,
                          cells(r.cells) if kept is None or r.kind == ERROR or id(r) in kept else None,
                          data(r.data) if r.data else None, r.errors or None, r.note, r.sheet)
                         for r in self.rows],
                "totals": self.totals(), "meta": self.meta}

    @classmethod
    def from_json(cls, doc: dict) -> ImportReport:
        if doc.get("format") != 2:                    # reports stored before the compact format
            return cls([RowOutcome(**r) for r in doc.get("rows", [])], doc.get("meta") or {})
        cell_keys, data_keys = doc["cell_keys"], doc["data_keys"]
        return cls([RowOutcome(number, {} if cells is None else cells if isinstance(cells, dict)
                               else dict(zip(cell_keys, cells, strict=True)), kind,
                               ((data if isinstance(data, dict) else dict(zip(data_keys, data, strict=True)))
                                if data else {}),
                               errors or {}, note, sheet[0] if sheet else "")
                    for number, kind, cells, data, errors, note, *sheet in doc["rows"]], doc.get("meta") or {})


def cell_text(value) -> str:
    """A raw cell as the text the user typed (numbers without a trailing .0)."""
    if type(value) is str:                        # the common case first: this runs for every cell of a file
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
