import pytest

from tuanjian.domain.errors import ValidationFailed
from tuanjian.domain.orginfo import info_complete, naming_hints, parse_count, required_fields, validate_org_info
from tuanjian.domain.orgtree import OrgKind as K

BASE = {"kind": "committee", "short_name": "华阳镇团委", "full_name": "中国共产主义青年团望江县华阳镇委员会",
        "industry": "农村", "staff_admin_quota": "1", "staff_admin_actual": "0", "staff_inst_quota": "0",
        "staff_inst_actual": "0"}


def test_required_fields_per_kind():
    assert "staff_admin_quota" in required_fields(K.LEADING) and "phone" in required_fields(K.LEADING)
    assert "industry" not in required_fields(K.LEADING)
    assert "industry" in required_fields(K.BRANCH) and "staff_admin_quota" not in required_fields(K.BRANCH)
    assert "secretary_phone" in required_fields(K.BRANCH)


def test_valid_info_and_zero_counts():
    info = validate_org_info(BASE)
    assert info.kind is K.COMMITTEE and info.staff["staff_admin_actual"] == 0 and info.industry == "农村"


@pytest.mark.parametrize("override,field,fragment", [
    ({"staff_inst_quota": ""}, "staff_inst_quota", "没有请填 0"),
    ({"staff_admin_quota": "-1"}, "staff_admin_quota", "不小于0的整数"),
    ({"staff_admin_quota": "1.5"}, "staff_admin_quota", "整数"),
    ({"industry": ""}, "industry", "请选择单位所属行业类别"),
    ({"industry": "火星"}, "industry", "只能从列表中选择"),
    ({"full_name": ""}, "full_name", "请填写组织全称"),
    ({"short_name": ""}, "short_name", "请填写组织简称"),
    ({"kind": ""}, "kind", "请选择组织类别"),
    ({"kind": "nonsense"}, "kind", "未知的组织类别"),
    ({"email": "not-an-email"}, "email", "格式不对"),
    ({"founded_on": "2099-01-01"}, "founded_on", "不能晚于今天"),
    ({"founded_on": "昨天"}, "founded_on", "格式"),
    ({"youth_count": "很多"}, "youth_count", "整数"),
])
def test_invalid_info(override, field, fragment):
    with pytest.raises(ValidationFailed) as exc:
        validate_org_info({**BASE, **override})
    assert fragment in " ".join(exc.value.field_errors[field])


def test_leading_body_needs_contact_and_branch_no_staffing():
    with pytest.raises(ValidationFailed) as exc:
        validate_org_info({**BASE, "kind": "leading"})
    assert set(exc.value.field_errors) == {"phone", "email"}
    info = validate_org_info({"kind": "branch", "short_name": "城东村团支部", "full_name": "共青团城东村支部委员会",
                              "industry": "农村"})
    assert info.staff == {k: None for k in info.staff}


def test_parse_count():
    assert parse_count(3.0, "youth_count", required=False) == 3
    assert parse_count("", "youth_count", required=False) is None


def test_naming_hints():
    assert naming_hints("华阳镇团委", "中国共产主义青年团华阳镇委员会", K.COMMITTEE) == []
    assert any("团支部" in h for h in naming_hints("城东村", None, K.BRANCH))
    assert any("入学年份" in h for h in naming_hints("计算机一班团支部", None, K.BRANCH, "普通高等院校"))
    assert not any("入学年份" in h for h in naming_hints("计算机专业2017级3班团支部", None, K.BRANCH, "普通高等院校"))
    assert any("中国共产主义青年团" in h for h in naming_hints("华阳镇团委", "华阳镇委员会", K.COMMITTEE))


def test_info_complete():
    values = {**BASE, "kind": "committee"}
    assert info_complete(values, K.COMMITTEE, secretary_has_phone=True)
    assert not info_complete(values, K.COMMITTEE, secretary_has_phone=False)
    assert not info_complete({**values, "staff_inst_actual": None}, K.COMMITTEE, secretary_has_phone=True)


@pytest.mark.parametrize("raw, expected", [("12", 12), ("１２", 12), (12.0, 12), ("0", 0)])
def test_counts_accept_ascii_and_full_width_digits(raw, expected):
    from tuanjian.domain.orginfo import parse_count
    assert parse_count(raw, "staff_admin_quota", required=True) == expected


@pytest.mark.parametrize("raw", ["²", "1²", "-1", "1.5", "十二", "١٢"])
def test_counts_refuse_other_digits_with_a_message(raw):
    """"²" and Arabic-Indic digits pass str.isdigit() yet int() refuses the first: once a 500 on the org info form."""
    from tuanjian.domain.orginfo import parse_count
    with pytest.raises(ValidationFailed) as exc:
        parse_count(raw, "staff_admin_quota", required=True)
    assert "整数" in str(exc.value.field_errors)
