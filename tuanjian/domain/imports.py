"""The shape every import report takes: per-row outcome with field errors, and totals (pure)."""
from __future__ import annotations

from dataclasses import dataclass, field

OK, ERROR = "ok", "error"
NEW, UPDATE, UNCHANGED = "new", "update", "unchanged"     # finer kinds of OK used by upserting imports


@dataclass
class RowOutcome:
    number: int                                   # the sheet's row number
    cells: dict                                   # the values as uploaded (strings), for the error workbook
    kind: str = OK
    data: dict = field(default_factory=dict)      # cleaned values, ready to write
    errors: dict[str, list[str]] = field(default_factory=dict)
    note: str = ""

    def fail(self, field_name: str, message: str) -> None:
        self.kind = ERROR
        self.errors.setdefault(field_name, []).append(message)


@dataclass
class ImportReport:
    rows: list[RowOutcome]

    @property
    def ok_rows(self) -> list[RowOutcome]:
        return [r for r in self.rows if r.kind != ERROR]

    @property
    def error_rows(self) -> list[RowOutcome]:
        return [r for r in self.rows if r.kind == ERROR]

    def totals(self) -> dict[str, int]:
        totals = {"rows": len(self.rows), "ok": len(self.ok_rows), "error": len(self.error_rows)}
        for kind in (NEW, UPDATE, UNCHANGED):
            totals[kind] = sum(1 for r in self.rows if r.kind == kind)
        return totals

    def to_json(self) -> dict:
        # shallow on purpose: the values are plain strings/numbers, and asdict()'s deep copies cost seconds
        # on a 50,000-row file
        return {"rows": [{"number": r.number, "cells": r.cells, "kind": r.kind, "data": r.data,
                          "errors": r.errors, "note": r.note} for r in self.rows],
                "totals": self.totals()}

    @classmethod
    def from_json(cls, data: dict) -> ImportReport:
        return cls([RowOutcome(**r) for r in data.get("rows", [])])


def cell_text(value) -> str:
    """A raw cell as the text the user typed (numbers without a trailing .0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
