"""The header-alias and value-synonym tables (issue 15, DOMAIN.md 3.6), every entry through the rule that uses it."""
from __future__ import annotations

from datetime import date

import pytest

from tuanjian.domain.cadres import validate_post
from tuanjian.domain.errors import ValidationFailed
from tuanjian.domain.members import parse_yes_no
from tuanjian.domain.people import normalise_ethnicity, parse_year_month, validate_political_status, validate_position
from tuanjian.domain.vocabulary import (
    CADRE_HEADERS,
    FILE_KINDS,
    MEMBER_HEADERS,
    ORG_HEADERS,
    VALUE_SYNONYMS,
    all_labels,
    first_labels,
    synonym,
)
from tuanjian.spreadsheets.reader import header_key

TABLES = {"members": MEMBER_HEADERS, "cadres": CADRE_HEADERS, "org_children": ORG_HEADERS}
ALIASES = [(kind, key, label) for kind, table in TABLES.items() for key, labels in table.items() for label in labels]


@pytest.mark.parametrize("kind, key, label", ALIASES)
def test_every_alias_reads_as_its_column(kind, key, label):
    table = TABLES[kind]
    assert all_labels(table)[label] == key
    # as the reader compares them ('*' marks, spaces, （必填） dropped), no two columns share a label
    keys = {}
    for other_key, labels in table.items():
        for other in labels:
            keys.setdefault(header_key(other), set()).add(other_key)
    assert keys[header_key(label)] == {key}
    assert keys[header_key("*" + label + "（必填）")] == {key}


def test_templates_write_the_zhtj_labels():
    labels = first_labels(MEMBER_HEADERS)
    assert {"文化程度", "团内现任职务", "身份证号码", "是否为团干部", "任现职年月", "团干部性质",
            "是否同级党委（支部）成员"} <= set(labels)
    assert "学历" not in labels and "团内职务" not in labels


def test_file_kinds_are_told_apart_by_their_markers():
    member, cadre, org = (set(map(header_key, FILE_KINDS[k][2])) for k in ("members", "cadres", "org_children"))
    assert not member & cadre and not member & org and not cadre & org
    assert not set(map(header_key, [lbl for labels in MEMBER_HEADERS.values() for lbl in labels])) & cadre


@pytest.mark.parametrize("raw, expected", list(VALUE_SYNONYMS["political_status"].items()))
def test_political_status_synonyms(raw, expected):
    assert validate_political_status(raw, cadre=True) == expected


@pytest.mark.parametrize("raw, expected", [(k, v) for k, v in VALUE_SYNONYMS["political_status"].items()
                                           if v != "群众"])
def test_member_political_status_synonyms(raw, expected):
    assert validate_political_status(f" {raw} ") == expected


def test_masses_are_not_members():
    with pytest.raises(ValidationFailed):
        validate_political_status("普通群众")


@pytest.mark.parametrize("raw, expected", list(VALUE_SYNONYMS["position"].items()))
def test_position_synonyms(raw, expected):
    assert validate_position(raw, is_leading=False) == expected


@pytest.mark.parametrize("raw, expected", list(VALUE_SYNONYMS["nature"].items()))
def test_nature_synonyms(raw, expected):
    post = validate_post(position="书记", title=None, nature=raw, start_month=None, party_committee="√",
                         is_leading=False, today=date(2026, 1, 1))
    assert post["nature"] == expected and post["party_committee"] is True


@pytest.mark.parametrize("raw, expected", list(VALUE_SYNONYMS["yes_no"].items())
                         + [("y", "是"), ("n", "否"), ("yes", "是"), ("true", "是")])
def test_yes_no_synonyms(raw, expected):
    assert parse_yes_no(raw, "is_cadre", "是否为团干部", required=True) is (expected == "是")
    assert synonym("yes_no", raw) == expected


@pytest.mark.parametrize("raw, expected", list(VALUE_SYNONYMS["ethnicity"].items()) + [("汉", "汉族"), ("回", "回族")])
def test_ethnicity_synonyms(raw, expected):
    assert normalise_ethnicity(raw) == expected


@pytest.mark.parametrize("raw", ["有", "大概", "是的"])
def test_unknown_yes_no_is_refused(raw):
    with pytest.raises(ValidationFailed):
        parse_yes_no(raw, "is_cadre", "是否为团干部", required=True)


@pytest.mark.parametrize("raw, expected", [
    ("2015-06", "2015-06"), ("2015.6", "2015-06"), (2015.06, "2015-06"), ("2015.06", "2015-06"), (201506, "2015-06"),
    ("201506", "2015-06"), ("2015年6月", "2015-06"), (date(2015, 6, 1), "2015-06"), ("42156", "2015-06"),
    (42156.0, "2015-06"), ("2015-06-01 00:00:00", "2015-06"), ("2015/6/1 8:30", "2015-06"),
    ("２０１５－０６", "2015-06"),
    (2016.11, "2016-11"), (2016.2, "2016-02"), ("2016.1", "2016-01"), (2016.12, "2016-12"),
])
def test_year_month_forms(raw, expected):
    assert str(parse_year_month(raw)) == expected


@pytest.mark.parametrize("raw", [2016.1, 2019.1])
def test_a_number_that_lost_its_trailing_zero_is_ambiguous(raw):
    with pytest.raises(ValidationFailed) as exc:
        parse_year_month(raw)
    message = exc.value.field_errors["join_date"][0]
    assert "月份不明确" in message and f"{int(raw)}-10" in message and f"{int(raw)}-01" in message
