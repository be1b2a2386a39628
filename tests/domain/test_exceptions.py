"""特殊情况录入 rules (issue 18): which failures are exceptable, and validation with approved rules waived."""
from dataclasses import replace
from datetime import date

import pytest

from tuanjian.demo import make_id
from tuanjian.domain import exceptions as ex
from tuanjian.domain import policy
from tuanjian.domain.errors import ValidationFailed
from tuanjian.domain.members import validate_member
from tuanjian.domain.settings import Settings

TODAY = date(2026, 11, 23)
S = Settings()
BORN_2004 = make_id(date(2004, 3, 15), 77, True)
BASE = {"name": "王小明", "id_number": BORN_2004, "ethnicity": "汉", "political_status": "共青团员",
        "join_date": "2019.5", "dev_number": "201912345678", "phone": "13912345678", "is_cadre": "否"}


def failure(values, settings=S):
    with pytest.raises(ValidationFailed) as exc:
        validate_member({**BASE, **values}, settings=settings, today=TODAY)
    return exc.value


@pytest.mark.parametrize("values,exceptable,rules", [
    # joined at 12 after the cutoff (13 required): join age
    ({"join_date": "2017-01", "dev_number": "201712345678"}, True, ("join_age",)),
    # joined at 11: before birth + 12 years, the join-date window
    ({"join_date": "2015-06", "dev_number": ""}, True, ("join_window",)),
    # joined 2019 with no 发展团员编号
    ({"dev_number": ""}, True, ("dev_number_missing",)),
    # another province's format: wrong length / wrong year prefix / characters
    ({"dev_number": "2019123456789012"}, True, ("dev_number_format",)),
    ({"dev_number": "201812345678"}, True, ("dev_number_format",)),
    ({"dev_number": "2019-1234-5678"}, True, ("dev_number_format",)),
    # two exceptable rules at once
    ({"join_date": "2017-01", "dev_number": ""}, True, ("join_age", "dev_number_missing")),
    # the ID checksum is never exceptable, even with an exceptable failure beside it
    ({"id_number": BORN_2004[:-1] + ("0" if BORN_2004[-1] != "0" else "1")}, False, ()),
    ({"id_number": BORN_2004[:-1] + ("0" if BORN_2004[-1] != "0" else "1"), "dev_number": ""},
     False, ("dev_number_missing",)),
    # any other field rule blocks the exception
    ({"dev_number": "", "ethnicity": "火星"}, False, ("dev_number_missing",)),
    ({"join_date": "2030-01"}, False, ("dev_number_format",)),   # in the future: not a window question
    ({"name": ""}, False, ()),
])
def test_assess_table(values, exceptable, rules):
    a = ex.assess(failure(values), S)
    assert a.exceptable is exceptable
    assert a.rules == rules
    assert bool(a.blocking) is (not exceptable)


def test_rules_are_settings():
    only_age = replace(S, exceptable_rules=frozenset({"join_age"}))
    a = ex.assess(failure({"dev_number": ""}), only_age)
    assert not a.exceptable and a.rules == () and a.blocking
    assert ex.assess(failure({"join_date": "2017-01", "dev_number": "201712345678"}), only_age).exceptable
    assert Settings.from_mapping({"EXCEPTABLE_RULES": "join_age, dev_number_missing"}).exceptable_rules == \
        frozenset({"join_age", "dev_number_missing"})
    assert ex.enabled_rules(replace(S, exceptable_rules=frozenset({"join_age", "id_checksum"}))) == {"join_age"}


@pytest.mark.parametrize("values,rules,check", [
    ({"join_date": "2017-01", "dev_number": "201712345678"}, {"join_age"}, lambda d: d["join_date"] == "2017-01"),
    ({"dev_number": ""}, {"dev_number_missing"}, lambda d: d["dev_number"] is None),
    ({"dev_number": " 2019123456789012 "}, {"dev_number_format"}, lambda d: d["dev_number"] == "2019123456789012"),
    ({"join_date": "2015-06", "dev_number": ""}, {"join_window"}, lambda d: d["join_date"] == "2015-06"),
])
def test_validate_excepted_waives_only_the_named_rules(values, rules, check):
    data = ex.validate_excepted({**BASE, **values}, rules=rules, settings=S, today=TODAY)
    assert check(data)


def test_validate_excepted_still_applies_every_other_rule():
    with pytest.raises(ValidationFailed) as exc:     # waiving the age does not waive the missing number
        ex.validate_excepted({**BASE, "join_date": "2017-01", "dev_number": ""}, rules={"join_age"}, settings=S,
                             today=TODAY)
    assert "dev_number" in exc.value.field_errors
    with pytest.raises(ValidationFailed):            # a rule switched off in the settings cannot be waived
        ex.validate_excepted({**BASE, "dev_number": ""}, rules={"dev_number_missing"},
                             settings=replace(S, exceptable_rules=frozenset({"join_age"})), today=TODAY)
    with pytest.raises(ValidationFailed):
        ex.validate_excepted(BASE, rules=set(), settings=S, today=TODAY)


def test_tagging_does_not_change_messages():
    msgs = failure({"join_date": "2017-01", "dev_number": "201712345678"}).field_errors["join_date"]
    assert msgs == ["入团时须年满13周岁（2016年9月1日起入团），按身份证出生日期计算入团时只有12周岁"]


@pytest.mark.parametrize("data,ok", [
    (b"%PDF-1.4 ...", "application/pdf"), (b"\xff\xd8\xff\xe0JFIF", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n....", "image/png"), (b"PK\x03\x04 not a scan", None), (b"", None),
    (b"<html><script>", None), (b"%PDF-" + b"x" * 2000, None),
])
def test_sniff_scan(data, ok):
    if ok:
        assert ex.sniff_scan(data, max_bytes=1024) == ok
    else:
        with pytest.raises(ValidationFailed):
            ex.sniff_scan(data, max_bytes=1024)


@pytest.mark.parametrize("branch,root,depth,expected", [
    ("000.012.016.007.001.002", "000.012.016.007", 0, "000.012.016.007"),
    ("000.012.016.007.001.002", "000.012.016.007", 1, "000.012.016.007.001"),
    ("000.012.016.007.001.002", "000.012.016.007", 5, "000.012.016.007.001"),   # never the branch itself
    ("000.012.016.007.001", "000.012.016.007", 1, "000.012.016.007"),
])
def test_approver_code(branch, root, depth, expected):
    assert ex.approver_code(branch, root, depth) == expected


def test_request_text():
    assert ex.check_request_text("  入团时  按当地规定 ", " 某某县团委 ") == ("入团时 按当地规定", "某某县团委")
    with pytest.raises(ValidationFailed) as exc:
        ex.check_request_text("", "x" * 200)
    assert set(exc.value.field_errors) == {"reason", "voucher"}


@pytest.mark.parametrize("scope,approver,actor,requester,ok", [
    ("000.001", "000.001", 1, 2, True),
    ("000.001", "000.001", 1, 1, False),        # one's own request
    ("000.001.002", "000.001", 1, 2, False),    # below the approving level
    ("000", "000.001", 1, 2, False),            # above it: the level is exact
    (None, "000.001", 1, 2, False),
])
def test_approve_policy(scope, approver, actor, requester, ok):
    reason = policy.exception_approve_refusal(scope, approver, actor_person_id=actor, requested_by_id=requester)
    assert (reason is None) is ok


def test_request_policy():
    assert policy.refusal("exception.request", "000.001", "000.001.002.003") is None
    assert policy.refusal("exception.request", "000.001", "000.002.001") is not None


# ---------------------------------------------------------------- what the approver sees (issue 26.1)

def _excepted(values, rules):
    return ex.validate_excepted({**BASE, **values}, rules=rules, settings=S, today=TODAY)


def test_decision_facts_of_a_join_age_request():
    data = _excepted({"join_date": "2017-01", "dev_number": "201712345678", "has_application": "是"}, ("join_age",))
    facts = ex.decision_facts(data, ("join_age",), settings=S, today=TODAY)
    assert facts.birth_month == "2004年3月" and facts.join_date == "2017-01" and facts.age_at_join == 12
    assert facts.broken == ("入团时须年满13周岁（2016年9月1日起入团），按身份证出生日期计算入团时只有12周岁",)
    assert facts.evidence[0] == "入团志愿书：有" and "团员证：未核实" in facts.evidence


def test_decision_facts_of_two_rules_and_after_the_settings_changed():
    data = _excepted({"join_date": "2017-01", "dev_number": ""}, ("join_age", "dev_number_missing"))
    facts = ex.decision_facts(data, ("join_age", "dev_number_missing"), settings=S, today=TODAY)
    assert len(facts.broken) == 2 and any("发展团员编号" in m for m in facts.broken)
    # the minimum age lowered since the request: the rule no longer fails, its name is still said
    lowered = replace(S, join_age_min=12)
    facts = ex.decision_facts(_excepted({"join_date": "2017-01", "dev_number": "201712345678"}, ("join_age",)),
                              ("join_age",), settings=lowered, today=TODAY)
    assert facts.broken == ("入团年龄",) and facts.age_at_join == 12
