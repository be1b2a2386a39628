import pytest

from tuanjian.domain.errors import Conflict, ValidationFailed
from tuanjian.domain.orgtree import (
    OrgKind,
    allowed_children,
    check_placement,
    is_within,
    name_hints,
    next_child_code,
    recode,
    subtree_totals,
    validate_code,
    validate_short_name,
)

K = OrgKind


def test_next_child_code_counts_up_from_highest():
    assert next_child_code("000.012.016.007", []) == "000.012.016.007.001"
    assert next_child_code("000.012.016.007", ["000.012.016.007.001", "000.012.016.007.005"]) == "000.012.016.007.006"


def test_next_child_code_ignores_grandchildren_and_other_parents():
    codes = ["000.012.016.007.001.009", "000.012.016.0071.050", "000.012.016.007.002"]
    assert next_child_code("000.012.016.007", codes) == "000.012.016.007.003"


def test_next_child_code_fills_gap_after_999_and_fails_when_full():
    full = [f"001.{n:03d}" for n in range(2, 1000)]
    assert next_child_code("001", full) == "001.001"
    with pytest.raises(Conflict):
        next_child_code("001", full + ["001.001"])


def test_max_depth():
    deep = ".".join(["001"] * 10)
    with pytest.raises(Conflict):
        next_child_code(deep, [])


def test_is_within_is_delimiter_aware():
    assert is_within("000.001", "000.001")
    assert is_within("000.001.002", "000.001")
    assert not is_within("000.0011", "000.001")
    assert not is_within("000.002", "000.001")
    assert not is_within("000", "000.001")


@pytest.mark.parametrize("raw,ok", [("000.012.016.007", True), (" 000．012.016.007 ", True), ("000.12", False),
                                    ("abc", False), ("000..001", False), (".".join(["001"] * 11), False)])
def test_validate_code(raw, ok):
    if ok:
        assert validate_code(raw) == "000.012.016.007"
    else:
        with pytest.raises(ValidationFailed):
            validate_code(raw)


def test_placement_matrix():
    assert allowed_children(K.LEADING) == [K.LEADING, K.COMMITTEE, K.WORKING, K.GENERAL_BRANCH, K.BRANCH]
    assert allowed_children(K.COMMITTEE) == [K.WORKING, K.GENERAL_BRANCH, K.BRANCH]
    assert allowed_children(K.WORKING) == [K.COMMITTEE, K.GENERAL_BRANCH, K.BRANCH]
    assert allowed_children(K.GENERAL_BRANCH) == [K.BRANCH]
    assert allowed_children(K.BRANCH) == []
    check_placement(K.GENERAL_BRANCH, K.BRANCH)
    with pytest.raises(ValidationFailed) as exc:
        check_placement(K.GENERAL_BRANCH, K.COMMITTEE)
    assert "团总支下不能建立基层团委" in exc.value.message
    with pytest.raises(ValidationFailed) as exc:
        check_placement(K.BRANCH, K.BRANCH)
    assert "最基层" in exc.value.message


def test_kinds():
    assert K.BRANCH.holds_members and not K.COMMITTEE.holds_members
    assert K.LEADING.is_leading and not K.WORKING.is_leading
    assert K.COMMITTEE.may_be_township and K.WORKING.may_be_township and not K.BRANCH.may_be_township
    assert K.from_label("团支部") is K.BRANCH and K.from_label("团委") is K.COMMITTEE
    with pytest.raises(ValidationFailed):
        K.from_label("党支部")


def test_recode_moves_prefix():
    assert recode("001.002.003", "001.002", "001.009") == "001.009.003"
    with pytest.raises(ValueError):
        recode("001.0021", "001.002", "001.009")


def test_short_name_rules_and_hints():
    assert validate_short_name("  华阳镇\u3000团委 ") == "华阳镇 团委"
    with pytest.raises(ValidationFailed):
        validate_short_name("   ")
    with pytest.raises(ValidationFailed) as exc:
        validate_short_name("很" * 26)
    assert "25" in exc.value.message
    assert name_hints("城东村团支部", K.BRANCH) == []
    assert name_hints("城东村", K.BRANCH)


def test_only_branches_hold_members():
    from tuanjian.domain.orgtree import check_holds_members
    check_holds_members(K.BRANCH)
    for kind in (K.LEADING, K.COMMITTEE, K.WORKING, K.GENERAL_BRANCH):
        with pytest.raises(ValidationFailed) as exc:
            check_holds_members(kind, "某组织")
        assert "只能编入团支部" in exc.value.message


def test_subtree_totals_sum_each_wanted_org_and_everything_below_it():
    counts = [("001", 1), ("001.001", 2), ("001.001.001", 4), ("001.0011", 8), ("001.002", None), ("002", 16)]
    want = ["001", "001.001", "001.001.001", "001.0011", "001.003"]
    brute = {c: sum(n or 0 for code, n in counts if is_within(code, c)) for c in want}
    assert subtree_totals(counts, want) == brute == {"001": 15, "001.001": 6, "001.001.001": 4, "001.0011": 8,
                                                     "001.003": 0}
