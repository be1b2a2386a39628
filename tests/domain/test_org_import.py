from tuanjian.domain.org_import import HERE, ExistingOrg, validate_rows
from tuanjian.domain.orgtree import DEFAULT_PLACEMENT
from tuanjian.domain.orgtree import OrgKind as K
from tuanjian.spreadsheets.reader import RawRow

HERE_ORG = ExistingOrg(HERE, K.COMMITTEE, frozenset({"高一年级团总支"}))
BELOW = {"高一年级团总支": [ExistingOrg("org:5", K.GENERAL_BRANCH, frozenset({"高一(1)班团支部"}))],
         "重名团支部": [ExistingOrg("org:6", K.BRANCH, frozenset()), ExistingOrg("org:7", K.BRANCH, frozenset())]}


def run(rows):
    raw = [RawRow(i + 2, {"short_name": r[0], "kind": r[1], "parent": r[2] if len(r) > 2 else None})
           for i, r in enumerate(rows)]
    return validate_rows(raw, here=HERE_ORG, below=BELOW, placement=DEFAULT_PLACEMENT)


def test_nested_rows_resolve_parents_in_file_order():
    report = run([("高二年级团总支", "团总支"), ("高二(1)班团支部", "团支部", "高二年级团总支"),
                  ("高一(2)班团支部", "团支部", "高一年级团总支")])
    assert {k: report.totals()[k] for k in ("rows", "ok", "error")} == {"rows": 3, "ok": 3, "error": 0}
    assert [r.data["parent"] for r in report.rows] == [HERE, "row:2", "org:5"]


def test_duplicates_are_per_parent():
    report = run([("高二年级团总支", "团总支"), ("一班团支部", "团支部", "高二年级团总支"),
                  ("高三年级团总支", "团总支"), ("一班团支部", "团支部", "高三年级团总支"),
                  ("一班团支部", "团支部", "高三年级团总支"), ("高一(1)班团支部", "团支部", "高一年级团总支")])
    kinds = [r.kind for r in report.rows]
    assert kinds == ["ok", "ok", "ok", "ok", "error", "error"]
    assert "与第5行重名" in report.rows[4].errors["short_name"][0]
    assert "已有" in report.rows[5].errors["short_name"][0]


def test_parent_problems():
    report = run([("甲班团支部", "团支部", "乙"), ("乙", "团总支"), ("丙班团支部", "团支部", "重名团支部"),
                  ("丁班团支部", "团支部", "甲班团支部")])
    assert "之前" in report.rows[0].errors["parent"][0]
    assert "无法确定" in report.rows[2].errors["parent"][0]
    assert "本身有错误" in report.rows[3].errors["parent"][0]


def test_child_of_failed_row_fails_too():
    report = run([("坏团总支", "团委"), ("好班团支部", "团支部", "坏团总支")])
    assert [r.kind for r in report.rows] == ["error", "error"]


def test_import_report_json_round_trip_keeps_every_row():
    """The compact stored form (values as lists in shared key order) gives back the same report, also for rows
    whose keys differ from the first row's, and reports stored in the earlier dict-per-row form still load."""
    from tuanjian.domain.imports import ImportReport, RowOutcome
    rows = [RowOutcome(2, {"a": "1", "b": ""}, data={"x": 1, "y": None}, kind="new", note="n"),
            RowOutcome(3, {"a": "2", "b": "z"}, kind="error", errors={"a": ["错", "又错"]}),
            RowOutcome(4, {"a": "3"}, data={"x": 2, "y": "v"}),                 # fewer cells than the first row
            RowOutcome(5, {"a": "4", "c": "w"}, data={"x": 3, "q": True})]      # same count, other keys
    report = ImportReport(rows)
    import json
    doc = json.loads(json.dumps(report.to_json()))
    assert ImportReport.from_json(doc) == report
    assert doc["totals"] == report.totals()
    legacy = {"rows": [{"number": r.number, "cells": r.cells, "kind": r.kind, "data": r.data, "errors": r.errors,
                        "note": r.note} for r in rows]}
    assert ImportReport.from_json(legacy) == report
    assert ImportReport.from_json(ImportReport([]).to_json()) == ImportReport([])
