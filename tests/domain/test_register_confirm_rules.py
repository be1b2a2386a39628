"""The pure rules of a 团内统计确认 (issue 27): what blocks a confirmation, the note, the deadline."""
from datetime import date

import pytest

from tuanjian.domain import register
from tuanjian.domain.errors import ValidationFailed


def test_blockers_name_the_unbalanced_rows_and_count_the_unexplained():
    assert register.confirm_blockers([], 0) == []
    found = register.confirm_blockers(["城东村团支部", "合计"], 3)
    assert len(found) == 2 and "“城东村团支部、合计”不符" in found[0] and "有 3 人" in found[1]
    assert register.confirm_blockers([], 1) == [
        "有 1 人在团员名单中的位置与团籍变动记录不一致，请先在团内统计页面核实处理"]


def test_note_is_folded_and_limited():
    assert register.clean_confirm_note("  已核对\n一致 ") == "已核对 一致"
    assert register.clean_confirm_note(None) == ""
    assert register.clean_confirm_note("字" * 200) == "字" * 200
    with pytest.raises(ValidationFailed, match="不能超过 200"):
        register.clean_confirm_note("字" * 201)


@pytest.mark.parametrize("text", ["", "明天", "2026-02-30", None])
def test_deadline_must_be_a_date(text):
    with pytest.raises(ValidationFailed, match="截止日期"):
        register.validate_confirm_deadline(text, today=date(2027, 1, 5))


def test_deadline_not_in_the_past():
    assert register.validate_confirm_deadline("2027年1月15日", today=date(2027, 1, 5)) == date(2027, 1, 15)
    assert register.validate_confirm_deadline("2027-01-05", today=date(2027, 1, 5)) == date(2027, 1, 5)
    with pytest.raises(ValidationFailed, match="不能早于今天"):
        register.validate_confirm_deadline("2027-01-04", today=date(2027, 1, 5))
