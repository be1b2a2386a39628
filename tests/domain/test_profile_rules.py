"""Issue 9 pure rules: 学校标识码 and which organisation stands for a school, 团员身份摸底 evidence, 团青比例 over
a subtree, and the self-service profile's locked fields."""
from datetime import date

import pytest

from tuanjian.domain.errors import ValidationFailed
from tuanjian.domain.members import evidence_problem, identity_confirmed, parse_evidence, validate_member
from tuanjian.domain.orginfo import is_school, is_school_unit, validate_org_info, validate_school_code
from tuanjian.domain.progress import Tally, combined_youth, member_identity, tally_youth_ratio
from tuanjian.domain.settings import Settings

TODAY = date(2026, 11, 23)


# ---------------------------------------------------------------- 学校标识码

@pytest.mark.parametrize("raw,expected", [
    ("3134001234", "3134001234"),
    (" 3134 001234 ", "3134001234"),                 # spaces dropped
    ("３１３４００１２３４", "3134001234"),            # full-width digits from a Chinese input method
    (3134001234, "3134001234"),                      # a number cell
    (3134001234.0, "3134001234"),
    ("", None), (None, None), ("   ", None),         # not recorded
])
def test_school_code_accepted(raw, expected):
    assert validate_school_code(raw) == expected


@pytest.mark.parametrize("raw,message", [
    ("313400123", "应为10位数字，现为9位"),
    ("31340012345", "现为11位"),
    ("31340O1234", "只能由数字组成"),
    ("3134-01234", "只能由数字组成"),
    ("²134001234", "只能由数字组成"),                 # a digit to str.isdigit, not to a school code
])
def test_school_code_refused(raw, message):
    with pytest.raises(ValidationFailed) as exc:
        validate_school_code(raw)
    assert message in exc.value.field_errors["school_code"][0]


@pytest.mark.parametrize("industry,parent,school,unit", [
    ("普通高中", "党政机关", True, True),              # a school 团委 under the 教育局团工委
    ("普通高中", None, True, True),
    ("初中", "普通高中", True, False),                 # a 团支部 inside a school: not a school of its own
    ("普通高中", "普通高中", True, False),
    ("小学", "事业单位（不含公立学校）", True, True),
    ("普通高等院校", "其他", True, True),
    ("职业教育学校", None, True, True),
    ("事业单位（不含公立学校）", None, False, False),
    ("农村", "普通高中", False, False),
    (None, None, False, False),
])
def test_school_unit(industry, parent, school, unit):
    assert is_school(industry) is school
    assert is_school_unit(industry, parent) is unit


BASE_ORG = {"kind": "团委", "short_name": "望江中学团委", "full_name": "中国共产主义青年团望江中学委员会",
            "industry": "普通高中", "staff_admin_quota": "0", "staff_admin_actual": "0", "staff_inst_quota": "0",
            "staff_inst_actual": "0"}


def test_org_info_carries_school_code():
    assert validate_org_info({**BASE_ORG, "school_code": "3134 001234"}).columns()["school_code"] == "3134001234"
    assert validate_org_info(BASE_ORG).school_code is None


@pytest.mark.parametrize("change,message", [
    ({"school_code": "12345"}, "应为10位数字"),
    ({"industry": "农村", "school_code": "3134001234"}, "只有行业类别为学校"),
])
def test_org_info_refuses_bad_school_code(change, message):
    with pytest.raises(ValidationFailed) as exc:
        validate_org_info({**BASE_ORG, **change})
    assert message in "".join(exc.value.field_errors["school_code"])


# ---------------------------------------------------------------- 团员身份摸底

Y, N, U = True, False, None


@pytest.mark.parametrize("join,app,card,year,letter,problem", [
    # joined before 2016: any one of the three (a 团员证 registered in 2017 or later)
    (2015, Y, U, None, U, None),
    (2015, N, Y, 2017, N, None),
    (2015, N, Y, 2018, U, None),
    (2015, U, U, None, Y, None),
    (2012, N, N, None, Y, None),
    (2015, N, Y, 2016, N, "2017年或以后进行过团籍注册（最近一次为2016年）"),
    (2015, N, Y, None, N, "（未填写团籍注册年度）"),
    (2015, N, N, None, N, "至少须有一项"),
    (2015, U, N, None, U, "至少须有一项"),
    # joined 2016 or later: the 入团志愿书 itself
    (2016, Y, U, None, U, None),
    (2016, N, Y, 2018, Y, "2016年及以后入团，须有入团志愿书"),
    (2021, U, Y, 2022, U, "须有入团志愿书"),
    # nothing recorded yet (records older than the check): not confirmed whatever the year
    (2010, U, U, None, U, "尚未登记"),
    (2020, U, U, None, U, "尚未登记"),
    # no readable join month: only the 入团志愿书 satisfies both rules
    (None, Y, U, None, U, None),
    (None, N, Y, 2018, Y, "入团年月不明"),
])
def test_evidence_rule(join, app, card, year, letter, problem):
    got = evidence_problem(join, has_application=app, has_card=card, card_year=year, has_letter=letter)
    if problem is None:
        assert got is None
    else:
        assert got is not None and problem in got
    assert identity_confirmed(join, has_application=app, has_card=card, card_year=year,
                              has_letter=letter) is (problem is None)


@pytest.mark.parametrize("join_date,evidence,ok", [
    ("2015-06", (None, True, 2018, None), True),
    ("2016-01", (None, True, 2018, None), False),
    ("2015-12", (False, False, None, True), True),
    ("bad", (False, False, None, True), False),        # unreadable month: like an unknown join year
    (None, (True, None, None, None), True),
])
def test_member_identity_from_stored_values(join_date, evidence, ok):
    assert member_identity(join_date, evidence)[0] is ok


@pytest.mark.parametrize("values,expected", [
    ({}, {"has_application": None, "has_card": None, "card_year": None, "has_letter": None}),
    ({"has_application": "是", "has_card": "否", "has_letter": "否"},
     {"has_application": True, "has_card": False, "card_year": None, "has_letter": False}),
    ({"has_card": "是", "card_year": "2018"}, {"has_application": None, "has_card": True, "card_year": 2018,
                                                 "has_letter": None}),
    ({"has_card": "Y", "card_year": 2018.0}, {"has_application": None, "has_card": True, "card_year": 2018,
                                               "has_letter": None}),
    ({"has_card": "是", "card_year": "2018年"}, {"has_application": None, "has_card": True, "card_year": 2018,
                                                  "has_letter": None}),
])
def test_parse_evidence(values, expected):
    assert parse_evidence(values, today=TODAY) == expected


@pytest.mark.parametrize("values,field,message", [
    ({"has_application": "有"}, "has_application", "只能填“是”或“否”"),
    ({"has_card": "是", "card_year": "18"}, "card_year", "4位年份"),
    ({"has_card": "是", "card_year": "2030"}, "card_year", "1950年到2026年"),
    ({"has_card": "否", "card_year": "2018"}, "card_year", "没有团员证时不要填写"),
])
def test_parse_evidence_refuses(values, field, message):
    with pytest.raises(ValidationFailed) as exc:
        parse_evidence(values, today=TODAY)
    assert message in "".join(exc.value.field_errors[field])


def test_validate_member_returns_evidence_and_collects_its_errors():
    row = {"name": "张三", "id_number": "340827200501014718", "ethnicity": "汉族", "political_status": "共青团员",
           "join_date": "2019-05", "dev_number": "201912345678", "is_cadre": "否"}
    from tuanjian.domain.people import id_check_char
    row["id_number"] = row["id_number"][:17] + id_check_char(row["id_number"][:17])
    data = validate_member({**row, "has_application": "是"}, settings=Settings(), today=TODAY)
    assert (data["has_application"], data["has_card"], data["card_year"],
            data["has_letter"]) == (True, None, None, None)
    with pytest.raises(ValidationFailed) as exc:
        validate_member({**row, "ethnicity": "", "has_letter": "大概"}, settings=Settings(), today=TODAY)
    assert set(exc.value.field_errors) == {"ethnicity", "has_letter"}


# ---------------------------------------------------------------- 团青比例

@pytest.mark.parametrize("own,total,parts,expected", [
    (400, 120, [(100, 300), (20, None)], (400, 120)),      # the org's own count covers every member below
    (None, 120, [(100, 300), (20, None)], (300, 100)),     # else only the subordinates that recorded theirs
    (None, 150, [(100, 300), (50, 200)], (500, 150)),
    (None, 120, [(100, None), (20, None)], (None, 0)),     # nothing known: no ratio
    (0, 120, [(100, 300)], (300, 100)),                    # 0 youth is "not known", never a division by zero
    (None, 0, [], (None, 0)),
])
def test_combined_youth(own, total, parts, expected):
    assert combined_youth(own, total, parts) == expected


@pytest.mark.parametrize("members,youth,ratio", [(30, 120, 0.25), (0, 50, 0.0), (30, None, None), (30, 0, None)])
def test_tally_youth_ratio(members, youth, ratio):
    assert tally_youth_ratio(Tally(members=999, youth=youth, youth_members=members)) == ratio
