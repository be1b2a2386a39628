from datetime import date

import pytest

from tuanjian.demo import make_id
from tuanjian.domain.errors import ValidationFailed
from tuanjian.domain.members import check_dev_number, is_overage, overage_date, parse_yes_no, validate_member
from tuanjian.domain.people import YearMonth
from tuanjian.domain.settings import Settings

TODAY = date(2026, 11, 23)
S = Settings()


@pytest.mark.parametrize("raw,join,expected", [
    ("201712345678", YearMonth(2017, 5), "201712345678"),
    ("201812345678", YearMonth(2017, 5), "201812345678"),      # 2017 and 2018 interchangeable
    ("201712345678", YearMonth(2018, 5), "201712345678"),
    (" 2019abcd1234 ", YearMonth(2019, 5), "2019ABCD1234"),
    (201912345678.0, YearMonth(2019, 5), "201912345678"),
    ("", YearMonth(2015, 5), None),                             # optional before 2017
    ("2015123", YearMonth(2015, 5), "2015123"),
])
def test_dev_number_ok(raw, join, expected):
    assert check_dev_number(raw, join, required_from_year=2017) == expected


@pytest.mark.parametrize("raw,join,fragment", [
    ("", YearMonth(2017, 1), "须填写发展团员编号"),
    ("201912345678", YearMonth(2020, 5), "前4位应为入团年份2020"),
    ("20201234567", YearMonth(2020, 5), "应为12位"),
    ("2020-1234567", YearMonth(2020, 5), "数字和字母"),
    ("2015", YearMonth(2015, 5), "位数不足"),
    ("2014123456", YearMonth(2015, 5), "前4位"),
])
def test_dev_number_errors(raw, join, fragment):
    with pytest.raises(ValidationFailed) as exc:
        check_dev_number(raw, join, required_from_year=2017)
    assert fragment in exc.value.message


def test_dev_number_year_is_a_setting():
    with pytest.raises(ValidationFailed):
        check_dev_number("", YearMonth(2016, 5), required_from_year=2016)      # Xinjiang


def test_overage():
    born = date(1998, 11, 23)
    assert is_overage(born, TODAY, holds_post=False)
    assert not is_overage(born, TODAY, holds_post=True)
    assert not is_overage(date(1998, 11, 24), TODAY, holds_post=False)
    assert overage_date(date(2000, 2, 29)) == date(2028, 2, 29)
    assert overage_date(date(2000, 2, 29), 27) == date(2027, 3, 1)


def test_yes_no():
    assert parse_yes_no("是", "f", "x", required=True) is True
    assert parse_yes_no("否", "f", "x", required=True) is False
    assert parse_yes_no("", "f", "x", required=False) is None
    with pytest.raises(ValidationFailed):
        parse_yes_no("也许", "f", "x", required=True)


ID = make_id(date(2004, 3, 15), 77, True)
BASE = {"name": "王小明", "id_number": ID, "ethnicity": "汉", "political_status": "共青团员", "join_date": "2019.5",
        "dev_number": "201912345678", "phone": "13912345678", "is_cadre": "否", "education": "普通本科在读",
        "occupation": "学生", "workplace": "安庆师范大学"}


def test_valid_member_is_normalised():
    m = validate_member(BASE, settings=S, today=TODAY)
    assert m["ethnicity"] == "汉族" and m["join_date"] == "2019-05" and m["gender"] == "男"
    assert m["birth_date"] == "2004-03-15" and m["is_cadre"] is False and m["position"] is None


@pytest.mark.parametrize("override,field", [
    ({"id_number": 3.4082720040315e17}, "id_number"), ({"ethnicity": "火星"}, "ethnicity"),
    ({"political_status": "群众"}, "political_status"), ({"join_date": "2015-05"}, "join_date"),
    ({"dev_number": ""}, "dev_number"), ({"phone": "123"}, "phone"), ({"is_cadre": ""}, "is_cadre"),
    ({"is_cadre": "是", "position": ""}, "position"), ({"is_cadre": "否", "position": "书记"}, "position"),
    ({"education": "大学"}, "education"), ({"occupation": "码农"}, "occupation"), ({"name": ""}, "name"),
])
def test_member_errors_are_per_field(override, field):
    with pytest.raises(ValidationFailed) as exc:
        validate_member({**BASE, **override}, settings=S, today=TODAY)
    assert field in exc.value.field_errors


def test_member_cadre_with_branch_position():
    m = validate_member({**BASE, "is_cadre": "是", "position": "组织委员"}, settings=S, today=TODAY)
    assert m["is_cadre"] and m["position"] == "组织委员"


def test_all_errors_at_once():
    with pytest.raises(ValidationFailed) as exc:
        validate_member({**BASE, "name": "", "phone": "1", "education": "x"}, settings=S, today=TODAY)
    assert {"name", "phone", "education"} <= set(exc.value.field_errors)


def test_memoised_checks_give_the_same_answers_as_uncached_ones():
    """check_rows shares one memo across a file's rows: the answers (values and errors) must not change, and
    cells that compare equal but differ in type (True, 1, 1.0) must not share an answer."""
    from tuanjian.domain.errors import Collector

    def is_cadre(raw):
        return parse_yes_no(raw, "is_cadre", "是否为团干部", required=True)
    memo: dict = {}
    for raw in [True, 1, 1.0, "是", "否", "", None, "也许", True, "也许", 1.0]:
        plain, cached = Collector(), Collector()
        assert cached.check_memo(memo, is_cadre, raw) == plain.check(is_cadre, raw), raw
        assert cached.errors == plain.errors, raw
    unhashable, plain = Collector(), Collector()
    assert unhashable.check_memo(memo, is_cadre, ["是"]) == plain.check(is_cadre, ["是"])
    assert unhashable.errors == plain.errors


def test_validate_member_with_a_memo_matches_without():
    from tuanjian.domain.settings import DEFAULT_SETTINGS
    rows = [{"name": "张三", "id_number": make_id(date(1993, 3, 7), 5, True), "ethnicity": e, "political_status": p,
             "join_date": j, "is_cadre": c, "position": "", "dev_number": "", "has_application": a, "has_card": "是",
             "card_year": y, "education": ed, "workplace": "望江中学"}
            for e in ("汉族", "汉", "火星族") for p in ("共青团员", "党员") for j in ("2008-05", "2008.5", "明年")
            for c in ("否", "是", 1) for a in ("是", "", "也许") for y in ("", 2018.0, "18")
            for ed in ("", "普通本科", "火星")]
    # names, phones and join dates are memoised too; a join-age error keeps its rule code (the exception offer)
    rows += [{**rows[0], "name": n, "phone": ph, "join_date": j, "is_cadre": "否"}
             for n in ("李四", "李 四", "Li4") for ph in ("", "13900000000", "139") for j in ("2000-05", "2004-05")]
    memo: dict = {}

    def outcome(values, memo):
        try:
            return validate_member(values, settings=DEFAULT_SETTINGS, today=date(2026, 11, 24), memo=memo)
        except ValidationFailed as exc:
            return exc.field_errors, exc.rules
    answers = [outcome(values, None) for values in rows]
    assert any(isinstance(a, tuple) and a[1] for a in answers)             # rule codes occur
    assert any(isinstance(a, tuple) and "name" in a[0] for a in answers)      # both kinds of answer occur
    assert any(isinstance(a, tuple) and "ethnicity" in a[0] and "political_status" not in a[0] for a in answers)
    assert any(isinstance(a, tuple) and "card_year" in a[0] and "name" not in a[0] for a in answers)
    assert any(isinstance(a, dict) and a.get("card_year") == 2018 for a in answers)
    for _ in range(2):                    # the second pass answers from the memo
        assert [outcome(values, memo) for values in rows] == answers
