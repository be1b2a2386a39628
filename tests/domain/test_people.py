from datetime import date, datetime

import pytest

from tuanjian.domain.errors import ValidationFailed
from tuanjian.domain.people import (
    YearMonth,
    check_join_date,
    default_password,
    id_check_char,
    mask_id_number,
    normalise_ethnicity,
    parse_id_number,
    parse_year_month,
    validate_person_name,
    validate_phone,
    validate_political_status,
    validate_position,
)

TODAY = date(2026, 11, 23)


def with_check(first17: str) -> str:
    return first17 + id_check_char(first17)


@pytest.mark.parametrize("first17,check", [
    ("11010519491231002", "X"),   # the GB 11643 standard's own example
    ("34082719900312450", "4"),
    ("44052418800101001", "4"),   # another published example
])
def test_check_digit_table(first17, check):
    assert id_check_char(first17) == check


def test_parse_valid_id_derives_birth_and_gender():
    info = parse_id_number("11010519491231002x", TODAY)   # lower-case x accepted
    assert info.number == "11010519491231002X"
    assert info.birth_date == date(1949, 12, 31)
    assert info.gender == "女"
    assert info.region == "110105"


@pytest.mark.parametrize("raw,fragment", [
    ("", "请填写"),
    ("1101051949123100", "18位"),
    ("11010519491231002Y", "18位"),
    ("110105194912310021", "校验位"),
    (with_check("11010519490230002"), "不是真实日期"),     # 30 February
    (with_check("11010520990101002"), "不合理"),           # born in the future
])
def test_bad_ids_get_clear_messages(raw, fragment):
    with pytest.raises(ValidationFailed) as exc:
        parse_id_number(raw, TODAY)
    assert fragment in exc.value.field_errors["id_number"][0]


def test_id_typed_as_number_is_refused_with_a_hint():
    with pytest.raises(ValidationFailed) as exc:
        parse_id_number(3.40827199003124e17, TODAY)
    assert "文本" in exc.value.message
    with pytest.raises(ValidationFailed):
        parse_id_number(340827199003124504, TODAY)


def test_spaces_and_fullwidth_are_folded():
    assert parse_id_number(" 1101051949 1231002Ｘ ", TODAY).number == "11010519491231002X"


def test_mask_and_default_password():
    assert mask_id_number("340827199003120015") == "340827********0015"
    assert default_password("11010519491231002x") == "1231002X"


@pytest.mark.parametrize("raw,expected", [
    ("2015-06", YearMonth(2015, 6)), ("2015.6", YearMonth(2015, 6)), ("2015/06", YearMonth(2015, 6)),
    ("2015年6月", YearMonth(2015, 6)), ("201506", YearMonth(2015, 6)), ("20150601", YearMonth(2015, 6)),
    (date(2015, 6, 9), YearMonth(2015, 6)), (datetime(2015, 6, 9, 0, 0), YearMonth(2015, 6)),
    (201506.0, YearMonth(2015, 6)),
])
def test_year_month_formats(raw, expected):
    assert parse_year_month(raw) == expected
    assert str(expected) == "2015-06"


@pytest.mark.parametrize("raw", ["", "2015-13", "15-06", "abc", "1850-01"])
def test_year_month_rejects(raw):
    with pytest.raises(ValidationFailed) as exc:
        parse_year_month(raw)
    assert "入团年月" in exc.value.message


RULE = dict(today=TODAY, cutoff=date(2016, 9, 1), min_age=13, min_age_before_cutoff=12)


def test_join_age_before_cutoff_allows_twelve():
    check_join_date(YearMonth(2016, 8), date(2004, 8, 15), **RULE)       # 12 at end of Aug 2016


def test_join_age_from_cutoff_needs_thirteen():
    with pytest.raises(ValidationFailed) as exc:
        check_join_date(YearMonth(2016, 9), date(2004, 8, 15), **RULE)     # still 12 in Sep 2016
    assert "年满13周岁" in exc.value.message and "12周岁" in exc.value.message
    check_join_date(YearMonth(2017, 8), date(2004, 8, 15), **RULE)        # 13 during Aug 2017


def test_join_under_twelve_before_cutoff_refused():
    with pytest.raises(ValidationFailed) as exc:
        check_join_date(YearMonth(2014, 5), date(2003, 1, 1), **RULE)
    assert "年满12周岁" in exc.value.message


def test_join_in_future_refused():
    with pytest.raises(ValidationFailed) as exc:
        check_join_date(YearMonth(2026, 12), date(2000, 1, 1), **RULE)
    assert "不能晚于" in exc.value.message


def test_join_age_rule_is_a_setting():
    strict = dict(RULE, cutoff=date(2017, 1, 1))
    check_join_date(YearMonth(2016, 10), date(2004, 8, 15), **strict)     # 12 is fine before 2017 cutoff


@pytest.mark.parametrize("raw,expected", [("汉族", "汉族"), ("汉", "汉族"), ("回", "回族"), ("哈呢族", "哈尼族"),
                                          ("僳僳族", "傈僳族"), ("毛难族", "毛南族"), (" 维吾尔 ", "维吾尔族"),
                                          ("外国血统中国籍人士", "外国血统中国籍人士")])
def test_ethnicity_aliases(raw, expected):
    assert normalise_ethnicity(raw) == expected


def test_unknown_ethnicity():
    with pytest.raises(ValidationFailed) as exc:
        normalise_ethnicity("火星族")
    assert "GB 3304" in exc.value.message


@pytest.mark.parametrize("raw,ok", [("13812345678", True), ("138 1234 5678", True), ("+8613812345678", True),
                                    (13812345678.0, True), ("23812345678", False), ("1381234567", False),
                                    ("1381234567a", False)])
def test_phone(raw, ok):
    if ok:
        assert validate_phone(raw) == "13812345678"
    else:
        with pytest.raises(ValidationFailed):
            validate_phone(raw)


def test_names_positions_political():
    assert validate_person_name(" 阿依古丽·买买提 ") == "阿依古丽·买买提"
    with pytest.raises(ValidationFailed):
        validate_person_name("张三3")
    assert validate_position("常委", is_leading=True) == "常委"
    with pytest.raises(ValidationFailed) as exc:
        validate_position("常委", is_leading=False)
    assert "组织委员" in exc.value.message
    assert validate_political_status("群众", cadre=True) == "群众"
    with pytest.raises(ValidationFailed):
        validate_political_status("群众", cadre=False)


def test_phone_full_width_digits_are_normalised_and_other_digits_refused():
    from tuanjian.domain.people import validate_phone
    assert validate_phone("１３９００００００００") == "13900000000"
    with pytest.raises(ValidationFailed):
        validate_phone("1390000000²")


def test_id_search_takes_the_full_number_or_the_last_four_only():
    """Issue 14: a search box query may use ID numbers only as the whole number or its last 4 (already shown
    by the mask); any other digit string is refused, so no prefix or longer ending exposes hidden digits."""
    from tuanjian.domain.people import classify_id_search
    full = "34082719900723001X"
    assert classify_id_search(full).kind == "full" and classify_id_search(full.lower()).value == full
    assert classify_id_search(" 001x ").kind == "suffix" and classify_id_search("001x").value == "001X"
    for part in (full[:k] for k in range(1, 18)):
        if len(part) != 4:
            assert classify_id_search(part).kind == "refused", part
    for part in (full[-k:] for k in (2, 3, 5, 6, 8, 12, 17)):      # ("X" alone is no digit: a name search)
        assert classify_id_search(part).kind == "refused", part
    assert classify_id_search("张三").kind == "none" and classify_id_search("高一(1)班").kind == "none"


@pytest.mark.parametrize("raw, expected", [
    ("书记", "书记"),
    ("副书记、组织委员", "副书记、组织委员"),            # our 智慧团建 export's form
    ("副书记，组织委员", "副书记、组织委员"),
    ("副书记, 组织委员", "副书记、组织委员"),
    ("副书记/组织委员", "副书记、组织委员"),
    ("副书记；组织委员；副书记", "副书记、组织委员"),   # each once, in the order given
    ("团支部书记、宣传委员", "书记、宣传委员"),          # the synonyms apply to each
])
def test_several_posts_in_one_cell(raw, expected):
    from tuanjian.domain.people import split_positions, validate_positions
    assert validate_positions(raw, is_leading=False) == expected
    assert split_positions(expected) == expected.split("、")


def test_several_posts_each_checked():
    from tuanjian.domain.people import validate_positions
    with pytest.raises(ValidationFailed, match="团内职务只能是"):
        validate_positions("书记、常委", is_leading=False)
    with pytest.raises(ValidationFailed, match="请选择团内职务"):
        validate_positions("", is_leading=False)
