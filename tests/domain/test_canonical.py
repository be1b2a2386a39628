"""One canonical form per identity string (issue 15): table-driven."""
from __future__ import annotations

from datetime import date

import pytest

from tuanjian.domain.canonical import (
    canonical_code,
    canonical_dev_number,
    canonical_id_number,
    canonical_org_name,
    canonical_person_name,
    id_number_fragment,
    name_query,
)
from tuanjian.domain.codes import normalise_entered_code
from tuanjian.domain.errors import ValidationFailed
from tuanjian.domain.members import check_dev_number
from tuanjian.domain.orgtree import validate_short_name
from tuanjian.domain.people import YearMonth, parse_id_number, validate_person_name

ID = "11010519491231002X"


@pytest.mark.parametrize("raw", [
    ID, "11010519491231002x", " 11010519491231002X ", "１１０１０５１９４９１２３１００２Ｘ",
    "１１０１０５１９４９１２３１００２ｘ",
    "110105\u00a019491231002X", "110105 1949 1231 002X", "110105\u300019491231002X", "'11010519491231002X",
    "\u200b11010519491231002X\ufeff", "110105\t19491231\n002X", "110105\u202f19491231\u2009002X",
])
def test_id_number_forms(raw):
    assert canonical_id_number(raw) == ID
    assert parse_id_number(raw, date(2026, 1, 1)).number == ID


def test_full_width_id_ending_in_a_digit_is_read_not_refused_as_a_check_digit_error():
    number = "110101200001011232"     # a valid ID ending in a digit
    full = number.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    assert parse_id_number(full, date(2026, 1, 1)).number == number


def test_non_ascii_digits_that_are_not_full_width_are_refused():
    with pytest.raises(ValidationFailed):
        parse_id_number("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", date(2026, 1, 1))


@pytest.mark.parametrize("raw, expected", [
    ("201700012345", "201700012345"), ("２０１７０００１２３４５", "201700012345"), ("2017 0001 2345", "201700012345"),
    ("2017\u00a000012345", "201700012345"), ("2017ab012345", "2017AB012345"), (None, ""),
])
def test_dev_number_forms(raw, expected):
    assert canonical_dev_number(raw) == expected


def test_full_width_dev_number_is_accepted():
    assert check_dev_number("２０１７０００１２３４５", YearMonth(2017, 9), required_from_year=2017) == "201700012345"


@pytest.mark.parametrize("raw, expected", [
    ("王芳", "王芳"), ("王　芳", "王芳"), (" 王 芳 ", "王芳"), ("王\u00a0芳", "王芳"), ("欧阳　娜娜", "欧阳娜娜"),
    ("阿依古丽·买买提", "阿依古丽·买买提"), ("阿依古丽•买买提", "阿依古丽·买买提"),
    ("阿依古丽・买买提", "阿依古丽·买买提"),
    ("阿依古丽‧买买提", "阿依古丽·买买提"), ("阿依古丽･买买提", "阿依古丽·买买提"),
    ("阿依古丽 · 买买提", "阿依古丽·买买提"),
    ("阿依古丽∙买买提", "阿依古丽·买买提"), ("阿依古丽⋅买买提", "阿依古丽·买买提"),
    ("John  Smith", "John Smith"), ("Ｊｏｈｎ", "John"), ("王\u200b芳", "王芳"),
])
def test_person_name_forms(raw, expected):
    assert canonical_person_name(raw) == expected
    assert validate_person_name(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("一中(高一)团支部", "一中(高一)团支部"), ("一中（高一）团支部", "一中(高一)团支部"),
    ("一中（高一)团支部", "一中(高一)团支部"),
    ("  高一１班团支部 ", "高一1班团支部"), ("城东村\u00a0团支部", "城东村 团支部"),
    ("ＡＢＣ公司团支部", "ABC公司团支部"),
])
def test_org_name_forms(raw, expected):
    assert canonical_org_name(raw) == expected
    assert validate_short_name(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("Ab3dEf7G", "Ab3dEf7G"), (" Ab3d Ef7G ", "Ab3dEf7G"), ("Ａｂ３ｄＥｆ７Ｇ", "Ab3dEf7G"),
    ("Ab3d\u00a0Ef7G", "Ab3dEf7G"),
])
def test_codes_keep_their_case(raw, expected):
    assert canonical_code(raw) == expected
    assert normalise_entered_code(raw) == expected


@pytest.mark.parametrize("raw, expected", [("002X", "002X"), ("００２ｘ", "002X"), ("1949 1231", "19491231"),
                                           ("王芳", None), ("X", None)])
def test_search_fragments(raw, expected):
    assert id_number_fragment(raw) == expected


def test_name_query_is_the_canonical_name():
    assert name_query("王　芳") == "王芳"
