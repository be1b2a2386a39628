"""录入进度 pure rules (DOMAIN.md 5.2): completeness of members and cadres, rates, ranking, thresholds, campaigns."""
from dataclasses import replace
from datetime import date, timedelta

import pytest

from tuanjian.domain.errors import ValidationFailed
from tuanjian.domain.members import overage_cutoff, overage_date
from tuanjian.domain.people import full_years
from tuanjian.domain.progress import (
    EXCEPTIONS,
    RATE_METRICS,
    Tally,
    below_threshold,
    branch_done,
    cadre_complete,
    campaign_standing,
    completion,
    dev_number_valid,
    exception_label,
    member_complete,
    metric_definitions,
    percent,
    small_branch,
    validate_campaign,
    youth_ratio,
)
from tuanjian.domain.settings import Settings

S = Settings()
TODAY = date(2026, 11, 23)


# ---------------------------------------------------------------- 发展团员编号 and 团员资料完整

@pytest.mark.parametrize("dev,join,year,expected", [
    (None, "2015-05", 2017, True),                 # optional before the required year
    ("", "2016-12", 2017, True),
    (None, "2016-12", 2016, False),                # Xinjiang-style setting: 2016 joins need it
    ("201612345678", "2016-12", 2016, True),
    ("201712345678", "2016-12", 2016, False),      # prefix must be the join year (only 2017/2018 are twins)
    (None, "2017-01", 2017, False),                # required from 2017
    ("", "2017-01", 2017, False),
    ("201712345678", "2017-01", 2017, True),
    ("201812345678", "2017-06", 2017, True),       # 2017 and 2018 are interchangeable
    ("201712345678", "2018-03", 2017, True),
    ("201812345678", "2018-03", 2017, True),
    ("201612345678", "2018-03", 2017, False),
    ("2018123456", "2018-03", 2017, False),        # 12 characters when required
    ("2018123456789", "2018-03", 2017, False),
    ("201812345678", "2019-03", 2017, False),      # wrong year prefix
    ("2019-2345678", "2019-03", 2017, False),      # digits and letters only
    (" 2019abcd1234 ", "2019-03", 2017, True),     # normalised (spaces, case) before checking
    (None, "2019-03", 2020, True),                 # a later required year relaxes it
    ("2015123", "2015-05", 2017, True),            # optional but given: > 4 characters, join-year prefix
    ("2015", "2015-05", 2017, False),
    ("2014123456", "2015-05", 2017, False),
    (None, None, 2017, True),                      # no join month: nothing can be required
    ("201912345678", None, 2017, True),
    ("2019", None, 2017, False),
    (None, "abc", 2017, False),                    # an unreadable join month makes the number unverifiable
])
def test_dev_number_valid(dev, join, year, expected):
    assert dev_number_valid(dev, join, required_from_year=year) is expected


COMPLETE = {"ethnicity": "汉族", "political_status": "共青团员", "join_date": "2015-05", "dev_number": None,
            "evidence": (True, None, None, None)}


@pytest.mark.parametrize("change,year,expected", [
    ({}, 2017, True),
    ({"ethnicity": "汉"}, 2017, True),                              # accepted alias
    ({"ethnicity": "哈呢族"}, 2017, True),
    ({"ethnicity": None}, 2017, False),
    ({"ethnicity": ""}, 2017, False),
    ({"ethnicity": "火星族"}, 2017, False),
    ({"political_status": "中共预备党员"}, 2017, True),
    ({"political_status": "中共党员"}, 2017, True),
    ({"political_status": "群众"}, 2017, False),                     # 群众 only for cadres
    ({"political_status": None}, 2017, False),
    ({"join_date": None}, 2017, False),
    ({"join_date": ""}, 2017, False),
    ({"join_date": "2016-08"}, 2017, True),
    ({"join_date": "2016-08"}, 2016, False),                        # the settings year decides
    ({"join_date": "2016-08", "dev_number": "201612345678"}, 2016, True),
    ({"join_date": "2017-05"}, 2017, False),
    ({"join_date": "2017-05", "dev_number": "201812345678"}, 2017, True),
    ({"join_date": "2018-05", "dev_number": "201712345678"}, 2017, True),
    ({"join_date": "2018-05"}, 2017, False),
    ({"join_date": "2018-05"}, 2019, True),
    ({"join_date": "2018-05", "dev_number": "20181234"}, 2017, False),
])
def test_member_complete(change, year, expected):
    assert member_complete(**{**COMPLETE, **change}, required_from_year=year) is expected


CADRE = {"ethnicity": "汉族", "political_status": "共青团员", "join_date": "2010-05", "phone": "13800000000"}


@pytest.mark.parametrize("change,expected", [
    ({}, True),
    ({"political_status": "群众", "join_date": None}, True),       # 群众 need not have joined the League
    ({"political_status": "群众", "join_date": ""}, True),
    ({"political_status": "群众"}, True),
    ({"join_date": None}, False),
    ({"political_status": "中共党员", "join_date": None}, False),
    ({"political_status": "中共党员"}, True),
    ({"political_status": "学生"}, False),
    ({"political_status": None}, False),
    ({"phone": None}, False),
    ({"phone": ""}, False),
    ({"phone": "1380000000"}, False),
    ({"phone": "23800000000"}, False),
    ({"phone": "+86 138-0000-0000"}, True),                        # normalised like the forms do
    ({"ethnicity": None}, False),
    ({"ethnicity": "蒙古"}, True),
    ({"ethnicity": "火星族"}, False),
])
def test_cadre_complete(change, expected):
    assert cadre_complete(**{**CADRE, **change}) is expected


# ---------------------------------------------------------------- Tally rates, ranking, thresholds

@pytest.mark.parametrize("tally,expected", [
    (Tally(), {"admins": None, "info": None, "member_complete": None, "branches_done": None, "cadres": None}),
    (Tally(orgs=4, with_admin=3, info_complete=1), {"admins": 0.75, "info": 0.25, "member_complete": None,
                                                     "branches_done": None, "cadres": None}),
    (Tally(orgs=5, branches=4, with_admin=0, info_complete=0, members=8, complete_members=6, branches_done=1,
           non_branches=1, cadres_ok=1),
     {"admins": 0.0, "info": 0.0, "member_complete": 0.75, "branches_done": 0.25, "cadres": 1.0}),
    (Tally(orgs=2, branches=2, members=0, complete_members=0, non_branches=0, cadres_ok=0),
     {"admins": 0.0, "info": 0.0, "member_complete": None, "branches_done": 0.0, "cadres": None}),
])
def test_tally_rate(tally, expected):
    assert {m.key: tally.rate(m.key) for m in RATE_METRICS} == expected


def test_tally_rate_unknown_key():
    with pytest.raises(KeyError):
        Tally(orgs=1).rate("members")


@pytest.mark.parametrize("tally,expected", [
    (Tally(), -1.0),                                                        # nothing to rate: ranks last
    (Tally(orgs=2, with_admin=2, info_complete=2, non_branches=2, cadres_ok=2), 1.0),
    (Tally(orgs=2, with_admin=1, info_complete=0), 0.25),                  # only the rates that apply count
    (Tally(orgs=4, branches=2, with_admin=2, info_complete=1, members=10, complete_members=5, branches_done=1,
           non_branches=2, cadres_ok=0), (0.5 + 0.25 + 0.5 + 0.5 + 0) / 5),
])
def test_completion(tally, expected):
    assert completion(tally) == pytest.approx(expected)


def test_completion_ranking_orders_subtrees():
    tallies = {"empty": Tally(),
               "half": Tally(orgs=2, with_admin=1, info_complete=1),
               "full": Tally(orgs=1, with_admin=1, info_complete=1, non_branches=1, cadres_ok=1),
               "none": Tally(orgs=3, branches=2, members=4, non_branches=1)}
    ranked = sorted(tallies, key=lambda k: -completion(tallies[k]))
    assert ranked == ["full", "half", "none", "empty"]


@pytest.mark.parametrize("tally,key,settings,expected", [
    (Tally(orgs=3, with_admin=3), "admins", S, False),            # 100% meets the default 100
    (Tally(orgs=3, with_admin=2), "admins", S, True),
    (Tally(), "admins", S, False),                                 # nothing to rate is never highlighted
    (Tally(orgs=10, info_complete=9), "info", S, False),           # exactly at the threshold: not below
    (Tally(orgs=100, info_complete=89), "info", S, True),
    (Tally(members=20, complete_members=19), "member_complete", S, False),
    (Tally(members=100, complete_members=94), "member_complete", S, True),
    (Tally(branches=5, branches_done=4), "branches_done", S, False),
    (Tally(branches=5, branches_done=3), "branches_done", S, True),
    (Tally(non_branches=5, cadres_ok=4), "cadres", S, False),
    (Tally(non_branches=0, cadres_ok=0), "cadres", S, False),
    (Tally(non_branches=5, cadres_ok=3), "cadres", replace(S, threshold_cadres=60), False),
    (Tally(non_branches=5, cadres_ok=3), "cadres", replace(S, threshold_cadres=61), True),
    # exactly at a threshold whose percentage is not exact in binary floating point (0.57 * 100 < 57)
    (Tally(orgs=100, info_complete=57), "info", replace(S, threshold_info=57), False),
    (Tally(orgs=50, with_admin=29), "admins", replace(S, threshold_admins=58), False),
    (Tally(members=100, complete_members=29), "member_complete", replace(S, threshold_member_complete=29), False),
    (Tally(members=100, complete_members=28), "member_complete", replace(S, threshold_member_complete=29), True),
])
def test_below_threshold(tally, key, settings, expected):
    assert below_threshold(tally, key, settings) is expected


@pytest.mark.parametrize("rate,text", [
    (None, "—"), (0, "0.0%"), (0.0, "0.0%"), (1, "100.0%"), (0.9876, "98.8%"), (1 / 3, "33.3%"), (2 / 3, "66.7%"),
    (0.5, "50.0%"), (0.001, "0.1%"), (0.9995, "99.9%"), (1999 / 2000, "99.9%"), (0.99949, "99.9%"),
])
def test_percent(rate, text):
    assert percent(rate) == text


@pytest.mark.parametrize("members,youth,expected", [
    (10, None, None), (10, 0, None), (10, 40, 0.25), (0, 40, 0.0), (50, 40, 1.25),
])
def test_youth_ratio(members, youth, expected):
    assert youth_ratio(members, youth) == expected


@pytest.mark.parametrize("members,complete,min_members,done,small", [
    (0, 0, 3, False, False), (1, 1, 3, False, True), (2, 2, 3, False, True), (3, 3, 3, True, False),
    (3, 2, 3, False, False), (51, 51, 3, True, False), (4, 4, 5, False, True), (5, 5, 5, True, False),
])
def test_branch_done_and_small(members, complete, min_members, done, small):
    assert branch_done(members, complete, min_members=min_members) is done
    assert small_branch(members, min_members=min_members) is small


def test_labels_follow_settings():
    s = replace(S, branch_complete_min_members=5, cadre_target=3, branch_large_members=80, overage_years=30,
                dev_number_required_from_year=2016)
    defs = dict(metric_definitions(s))
    assert "不少于 5 人" in defs["团支部录入完成率"] and "不少于 3 名" in defs["团干部录入达标率"]
    labels = {k.key: exception_label(k, s) for k in EXCEPTIONS}
    assert labels["large_branches"] == "团员超过 80 名的团支部"
    assert "满 30 周岁" in labels["overage"] and "2016 年及以后入团" in labels["bad_dev_number"]


# ---------------------------------------------------------------- campaigns

HALF = Tally(orgs=2, branches=1, with_admin=1, info_complete=0, members=100, complete_members=57, branches_done=1,
             non_branches=1, cadres_ok=1)


@pytest.mark.parametrize("tally,targets,missing", [
    (HALF, {}, []),
    (HALF, {"admins": 50}, []),                                          # exactly met
    (HALF, {"admins": 51}, ["管理员到位率为 50.0%，目标 51%"]),
    (HALF, {"member_complete": 57}, []),                                 # 0.57 * 100 is 56.99999...: still met
    (HALF, {"member_complete": 58}, ["团员资料完整率为 57.0%，目标 58%"]),
    (HALF, {"info": 1, "cadres": 100, "branches_done": 100}, ["组织信息完善率为 0.0%，目标 1%"]),
    (HALF, {"admins": 100, "info": 90}, ["管理员到位率为 50.0%，目标 100%", "组织信息完善率为 0.0%，目标 90%"]),
    (Tally(), {"admins": 100, "member_complete": 100}, []),             # nothing to count is met
    (Tally(orgs=1, non_branches=1), {"cadres": 100, "member_complete": 100}, ["团干部录入达标率为 0.0%，目标 100%"]),
])
def test_campaign_standing(tally, targets, missing):
    standing = campaign_standing(tally, targets)
    assert standing.missing == missing
    assert standing.passed is (not missing)
    assert standing.tally is tally


def test_validate_campaign_cleans():
    got = validate_campaign(name="  年底  冲刺 ", deadline="2026-12-31",
                            targets={"admins": "100", "info": " 90% ", "member_complete": "", "cadres": None,
                                     "bogus": "50", "branches_done": 1},
                            today=TODAY)
    assert got == {"name": "年底 冲刺", "deadline": date(2026, 12, 31), "targets": {"admins": 100, "info": 90,
                                                                                    "branches_done": 1}}
    assert validate_campaign(name="x" * 60, deadline=TODAY, targets={"cadres": "80"}, today=TODAY)["deadline"] == TODAY


@pytest.mark.parametrize("name,deadline,targets,errors", [
    ("", "2026-12-31", {"admins": "90"}, {"name": ["请填写任务名称"]}),
    ("   ", "2026-12-31", {"admins": "90"}, {"name": ["请填写任务名称"]}),
    (None, "2026-12-31", {"admins": "90"}, {"name": ["请填写任务名称"]}),
    ("x" * 61, "2026-12-31", {"admins": "90"}, {"name": ["任务名称最多60个字"]}),
    ("冲刺", "", {"admins": "90"}, {"deadline": ["请填写截止日期，例如 2026-12-31"]}),
    ("冲刺", None, {"admins": "90"}, {"deadline": ["请填写截止日期，例如 2026-12-31"]}),
    ("冲刺", "2026/12/31", {"admins": "90"}, {"deadline": ["请填写截止日期，例如 2026-12-31"]}),
    ("冲刺", "2026-02-30", {"admins": "90"}, {"deadline": ["请填写截止日期，例如 2026-12-31"]}),
    ("冲刺", "2026-11-22", {"admins": "90"}, {"deadline": ["截止日期不能早于今天"]}),
    ("冲刺", date(2026, 11, 22), {"admins": "90"}, {"deadline": ["截止日期不能早于今天"]}),
    ("冲刺", "2026-12-31", {}, {"targets": ["请至少设定一项目标"]}),
    ("冲刺", "2026-12-31", {"admins": "", "info": None, "bogus": "80"}, {"targets": ["请至少设定一项目标"]}),
    ("冲刺", "2026-12-31", {"admins": "abc"}, {"target_admins": ["目标须为 1 到 100 之间的整数（百分比）"]}),
    ("冲刺", "2026-12-31", {"admins": "0", "info": "90"},
     {"target_admins": ["目标须为 1 到 100 之间的整数（百分比）"]}),
    ("冲刺", "2026-12-31", {"cadres": "101"}, {"target_cadres": ["目标须为 1 到 100 之间的整数（百分比）"]}),
    ("冲刺", "2026-12-31", {"cadres": "-5"}, {"target_cadres": ["目标须为 1 到 100 之间的整数（百分比）"]}),
    ("冲刺", "2026-12-31", {"cadres": "80.5"}, {"target_cadres": ["目标须为 1 到 100 之间的整数（百分比）"]}),
    ("", "2020-01-01", {"admins": "0", "info": "x"},           # every error at once
     {"name": ["请填写任务名称"], "deadline": ["截止日期不能早于今天"],
      "target_admins": ["目标须为 1 到 100 之间的整数（百分比）"],
      "target_info": ["目标须为 1 到 100 之间的整数（百分比）"]}),
])
def test_validate_campaign_errors(name, deadline, targets, errors):
    with pytest.raises(ValidationFailed) as exc:
        validate_campaign(name=name, deadline=deadline, targets=targets, today=TODAY)
    assert exc.value.field_errors == errors


# ---------------------------------------------------------------- 超龄 cut-off

@pytest.mark.parametrize("today,years,cutoff", [
    (date(2026, 11, 23), 28, date(1998, 11, 23)),
    (date(2026, 1, 1), 28, date(1998, 1, 1)),
    (date(2024, 2, 29), 28, date(1996, 2, 29)),          # 1996 is a leap year too
    (date(2024, 2, 29), 27, date(1997, 2, 28)),          # 29 Feb today, no 29 Feb then: born by 28 Feb
    (date(2025, 2, 28), 29, date(1996, 2, 28)),          # born 29 Feb 1996: turns 29 on 1 Mar 2025, not yet
    (date(2025, 3, 1), 29, date(1996, 3, 1)),
    (date(2026, 11, 23), 30, date(1996, 11, 23)),
])
def test_overage_cutoff(today, years, cutoff):
    assert overage_cutoff(today, years) == cutoff


@pytest.mark.parametrize("today", [date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1), date(2025, 2, 28),
                                   date(2025, 3, 1), date(2028, 2, 29), date(2026, 12, 31)])
def test_overage_cutoff_agrees_with_full_years(today):
    """Born on or before the cut-off ⇔ aged ``years`` or more ⇔ the 超龄 date has come (29 Feb births turn on 1 Mar)."""
    for years in (27, 28, 29):
        cutoff = overage_cutoff(today, years)
        start = date(today.year - years, 1, 1) - timedelta(days=40)
        for birth in (start + timedelta(days=d) for d in range(0, 440)):
            assert (birth <= cutoff) == (full_years(birth, today) >= years) == (overage_date(birth, years) <= today), \
                (today, years, birth)


def test_sheet_rate_is_a_number_that_never_reads_100_unless_complete():
    from tuanjian.domain.progress import Tally, sheet_rate
    assert sheet_rate(None) is None and sheet_rate(1) == 1 and sheet_rate(0.857142) == 0.8571
    assert sheet_rate(0.9996) == 0.999 and sheet_rate(1999 / 2000) == 0.999
    assert Tally(orgs=1).subordinates == 0 and Tally(orgs=5).subordinates == 4 and Tally().subordinates == 0


def test_many_member_facts_says_what_member_facts_says_row_by_row():
    """The import's set-at-a-time facts (shared fields checked once per combination) agree with member_facts."""
    from itertools import product

    from tuanjian.domain.progress import many_member_facts, member_facts
    rows = [(eth, pol, join, dev, evidence)
            for eth, pol, join, dev, evidence in product(
                ("汉族", "火星族", None), ("共青团员", "群众"), ("2019-05", "2012-03", None, "2019-13"),
                ("201900000001", "201800000001", "20190000000", None, "2019x"),
                ((True, None, None, None), (None, None, None, None), (False, True, 2018, None)))]
    expected = [member_facts(ethnicity=e, political_status=p, join_date=j, dev_number=d, evidence=ev,
                             required_from_year=2019) for e, p, j, d, ev in rows]
    assert many_member_facts(rows, required_from_year=2019) == expected
    assert {facts for facts in expected} >= {(True, True, True), (False, False, True), (False, True, False)}
