"""录入进度 (DOMAIN.md 5.2): what counts as complete, the metrics over a subtree, thresholds and ranking (pure).

The per-organisation facts (members, complete members, cadres, ...) are kept current by services/stats.py;
this module says what each fact means and turns sums of them into the rates the progress page shows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

from .errors import ValidationFailed
from .members import check_dev_number, evidence_problem
from .people import (
    CADRE_POLITICAL_STATUSES,
    MEMBER_POLITICAL_STATUSES,
    normalise_ethnicity,
    parse_year_month,
    validate_phone,
)

# ---------------------------------------------------------------- per-person completeness


@lru_cache(maxsize=1024)
def _join_month(join_date: str):
    """The stored 入团年月 parsed (cached: a county has a few hundred distinct months); None when unreadable."""
    try:
        return parse_year_month(join_date)
    except ValidationFailed:
        return None


def dev_number_valid(dev_number: str | None, join_date: str | None, *, required_from_year: int,
                     excepted=frozenset()) -> bool:
    """发展团员编号 as DOMAIN.md 3.3 requires it for this 入团年月 (missing when required, or malformed, is invalid).
    ``excepted``: the rules an approved 特殊情况录入 excepted for this member (domain.exceptions); they do not count."""
    join = _join_month(join_date) if join_date else None
    if join_date and join is None:
        return False                               # an unreadable 入团年月: the number cannot be checked against it
    try:
        check_dev_number(dev_number, join, required_from_year=required_from_year, waive=frozenset(excepted))
    except ValidationFailed:
        return False
    return True


@lru_cache(maxsize=256)
def _ethnicity_ok(value) -> bool:
    try:
        normalise_ethnicity(value)
    except ValidationFailed:
        return False
    return True


def member_identity(join_date, evidence: tuple) -> tuple[bool, str | None]:
    """(团员身份已确认, why not) from the stored 入团年月 and the evidence tuple (has_application, has_card,
    card_year, has_letter); the rule is domain.members.evidence_problem."""
    join = _join_month(join_date) if join_date else None
    problem = evidence_problem(join.year if join else None, has_application=evidence[0], has_card=evidence[1],
                               card_year=evidence[2], has_letter=evidence[3])
    return problem is None, problem


def member_gaps(*, ethnicity, political_status, join_date, dev_number, evidence: tuple,
                required_from_year: int, excepted=frozenset()) -> list[str]:
    """What keeps one stored member from 团员资料完整, as the labels of the fields to fix (empty: complete).
    Every required field of DOMAIN.md 3.1 present and valid, and the membership confirmed by its evidence
    (团员身份摸底). Name, ID number, branch and the cadre flag cannot be stored invalid; the rest may be (old data,
    rules changed since), so they are checked here. ``evidence``: (has_application, has_card, card_year,
    has_letter). The one rule behind member_facts, the progress figures and the branch to-do list."""
    gaps = []
    if not _ethnicity_ok(ethnicity):
        gaps.append("民族")
    if political_status not in MEMBER_POLITICAL_STATUSES:
        gaps.append("政治面貌")
    if not join_date or _join_month(join_date) is None:
        gaps.append("入团年月")
    if not dev_number_valid(dev_number, join_date, required_from_year=required_from_year, excepted=excepted):
        gaps.append(DEV_NUMBER_GAP)
    if not member_identity(join_date, evidence)[0]:
        gaps.append(IDENTITY_GAP)
    return gaps


DEV_NUMBER_GAP = "发展团员编号"
IDENTITY_GAP = "身份证明材料"


def member_facts(*, ethnicity, political_status, join_date, dev_number, evidence: tuple,
                 required_from_year: int, excepted=frozenset()) -> tuple[bool, bool, bool]:
    """(团员资料完整, 发展团员编号有效, 团员身份已确认) of one stored member (see member_gaps)."""
    gaps = member_gaps(ethnicity=ethnicity, political_status=political_status, join_date=join_date,
                       dev_number=dev_number, evidence=evidence, required_from_year=required_from_year,
                       excepted=excepted)
    return not gaps, DEV_NUMBER_GAP not in gaps, IDENTITY_GAP not in gaps


def many_member_facts(rows, *, required_from_year: int) -> list[tuple[bool, bool, bool]]:
    """member_facts of many new members (no exceptions) at once; ``rows``: (ethnicity, political_status, join_date,
    dev_number, evidence) each. The gaps other than the 发展团员编号 depend on fields a file's rows share, so they
    are found once per distinct combination (the rule is member_gaps'); the number is checked row by row."""
    shared: dict[tuple, tuple[bool, bool]] = {}
    out = []
    for ethnicity, political_status, join_date, dev_number, evidence in rows:
        key = (ethnicity, political_status, join_date, evidence)
        others = shared.get(key)
        if others is None:
            # member_gaps with a number that is surely valid for this 入团年月 would be circular: ask it with the
            # number left out and drop the number's gap, keeping the others (and the 身份证明材料 one) as it says
            gaps = member_gaps(ethnicity=ethnicity, political_status=political_status, join_date=join_date,
                               dev_number=None, evidence=evidence, required_from_year=required_from_year)
            others = shared[key] = (not [g for g in gaps if g != DEV_NUMBER_GAP], IDENTITY_GAP not in gaps)
        dev_ok = dev_number_valid(dev_number, join_date, required_from_year=required_from_year)
        out.append((others[0] and dev_ok, dev_ok, others[1]))
    return out


def member_complete(*, ethnicity, political_status, join_date, dev_number, evidence: tuple,
                    required_from_year: int) -> bool:
    """团员资料完整 (see member_facts)."""
    return member_facts(ethnicity=ethnicity, political_status=political_status, join_date=join_date,
                        dev_number=dev_number, evidence=evidence, required_from_year=required_from_year)[0]


def cadre_complete(*, ethnicity, political_status, join_date, phone) -> bool:
    """A cadre with all required personal fields (DOMAIN.md 4.1): phone, 民族, 政治面貌, and 入团年月 unless 群众."""
    try:
        validate_phone(phone, True)
    except ValidationFailed:
        return False
    if not _ethnicity_ok(ethnicity) or political_status not in CADRE_POLITICAL_STATUSES:
        return False
    return bool(join_date) or political_status == "群众"


# ---------------------------------------------------------------- metrics over a subtree

@dataclass
class Tally:
    """Sums of per-organisation facts over one subtree (one row of the progress table)."""

    orgs: int = 0                  # organisations in the subtree, itself included
    branches: int = 0
    with_admin: int = 0
    info_complete: int = 0
    members: int = 0
    complete_members: int = 0
    branches_done: int = 0         # branches with >= min members, all complete
    non_branches: int = 0
    cadres_ok: int = 0             # non-branch orgs with >= cadre_target complete cadres
    exceptions: int = 0
    youth: int | None = None       # 14–28周岁青年数 recorded by the organisation at the top of this subtree
    youth_members: int = 0         # the members counted against ``youth`` (团青比例 = youth_members ÷ youth)
    updated_at: datetime | None = None

    @property
    def subordinates(self) -> int:
        """下级组织数: the organisations below the top of this subtree (the top itself not counted)."""
        return max(self.orgs - 1, 0)

    def rate(self, key: str) -> float | None:
        num, den = {"admins": (self.with_admin, self.orgs), "info": (self.info_complete, self.orgs),
                    "member_complete": (self.complete_members, self.members),
                    "branches_done": (self.branches_done, self.branches),
                    "cadres": (self.cadres_ok, self.non_branches)}[key]
        return None if not den else num / den


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    definition: str                 # the footnote printed under the report


RATE_METRICS = (
    Metric("admins", "管理员到位率", "有至少 1 名管理员的组织 ÷ 全部组织"),
    Metric("info", "组织信息完善率", "必填信息齐全、有书记且书记有手机号码的组织 ÷ 全部组织"),
    Metric("member_complete", "团员资料完整率",
           "必填项齐全有效（民族、政治面貌、入团年月、应填的发展团员编号）且团员身份已确认的团员 ÷ 全部团员"),
    Metric("branches_done", "团支部录入完成率", "团员不少于 {min} 人且资料全部完整的团支部 ÷ 全部团支部"),
    Metric("cadres", "团干部录入达标率", "有不少于 {target} 名资料完整团干部的团委、团工委、团总支 ÷ 这些组织"),
)
COUNT_COLUMNS = (("orgs", "下级组织数"), ("branches", "团支部数"), ("members", "团员数"), ("exceptions", "异常项"))
SORT_KEYS = ("name", "orgs", "branches", "members", "exceptions", "updated_at") + tuple(m.key for m in RATE_METRICS)


def metric_definitions(settings) -> list[tuple[str, str]]:
    return [(m.label, m.definition.format(min=settings.branch_complete_min_members, target=settings.cadre_target))
            for m in RATE_METRICS]


def thresholds(settings) -> dict[str, int]:
    """Percent below which a cell is highlighted (settings THRESHOLD_*)."""
    return {"admins": settings.threshold_admins, "info": settings.threshold_info,
            "member_complete": settings.threshold_member_complete, "branches_done": settings.threshold_branches_done,
            "cadres": settings.threshold_cadres}


def short_of(rate: float | None, percent_target: int) -> bool:
    """A rate below a target given in percent; a rate with nothing to count is never short. The tolerance keeps a
    rate exactly at the target from counting as short (0.57 * 100 is 56.99... in floating point)."""
    return rate is not None and rate * 100 + 1e-9 < percent_target


def below_threshold(tally: Tally, key: str, settings) -> bool:
    return short_of(tally.rate(key), thresholds(settings)[key])


def completion(tally: Tally) -> float:
    """The ranking figure of the 通报: the mean of the rates that apply (an empty subtree ranks last)."""
    rates = [r for r in (tally.rate(m.key) for m in RATE_METRICS) if r is not None]
    return sum(rates) / len(rates) if rates else -1.0


def branch_done(members: int, complete_members: int, *, min_members: int) -> bool:
    return members >= min_members and complete_members == members


@dataclass(frozen=True)
class TodoItem:
    """One thing that keeps a 团支部 from 录入完成 (or from being in order), for the branch home."""
    key: str                        # members | incomplete | unconfirmed | no_cadre | no_secretary
    text: str
    people: tuple = ()              # (member id, name, missing field labels) of the members concerned


def branch_todo(*, members: int, min_members: int, gaps: list[tuple[int, str, list[str]]], cadres: int,
                has_secretary: bool) -> list[TodoItem]:
    """The branch's own to-do list: what keeps it from 录入完成 (branch_done: at least ``min_members`` members,
    every one complete) and the exceptions the progress page raises for it (没有团干部, 没有书记). ``gaps``: each
    member's (id, name, member_gaps). Empty when nothing is left to do."""
    todo = []
    if members < min_members:
        todo.append(TodoItem("members",
                             f"团员只有 {members} 名，录入完成至少需要 {min_members} 名：请录入团员或用 Excel 导入。"))
    incomplete = tuple((mid, name, tuple(g for g in missing if g != IDENTITY_GAP))
                       for mid, name, missing in gaps if any(g != IDENTITY_GAP for g in missing))
    if incomplete:
        todo.append(TodoItem("incomplete", f"{len(incomplete)} 名团员资料不完整，请逐一补全：", incomplete))
    unconfirmed = tuple((mid, name, (IDENTITY_GAP,)) for mid, name, missing in gaps if IDENTITY_GAP in missing)
    if unconfirmed:
        todo.append(TodoItem("unconfirmed",
                             f"{len(unconfirmed)} 名团员身份待确认：请核实入团志愿书、团员证或组织关系介绍信，"
                                            "在团员信息的“团员身份摸底”中登记：", unconfirmed))
    if cadres == 0:
        todo.append(TodoItem("no_cadre", "还没有团干部：请在“团干部”页面录入本支部的团干部。"))
    if not has_secretary:
        todo.append(TodoItem("no_secretary", "还没有书记：请在“团干部”页面录入团支部书记。"))
    return todo


def percent(rate: float | None) -> str:
    """0.9876 -> '98.8%'; no denominator -> '—'. Only a rate that is complete reads 100.0% (0.9995 reads 99.9%),
    so a highlighted cell or a refused campaign confirmation never shows "100.0%"."""
    if rate is None:
        return "—"
    text = f"{rate * 100:.1f}%"
    return "99.9%" if text == "100.0%" and rate < 1 else text


def sheet_rate(rate: float | None) -> float | None:
    """A rate for a spreadsheet cell formatted 0.0% (a number, not text): like ``percent``, a rate that is not
    complete never reads 100.0%."""
    if rate is None:
        return None
    value = round(rate, 4)
    return 0.999 if rate < 1 and value >= 0.9995 else value


def youth_ratio(members: int, youth: int | None) -> float | None:
    """团青比例 = members ÷ 14–28周岁青年数, where the youth count is known."""
    return None if not youth else members / youth


def tally_youth_ratio(tally: Tally) -> float | None:
    """团青比例 of a progress row: the members of the subtrees whose 14–28周岁青年数 is known ÷ those youth."""
    return youth_ratio(tally.youth_members, tally.youth)


def combined_youth(own_youth: int | None, total_members: int,
                   parts: list[tuple[int, int | None]]) -> tuple[int | None, int]:
    """(youth, members counted against it) over an organisation and its subordinates. An organisation's own
    14–28周岁青年数 covers its whole area, so when it is recorded it is the denominator for every member below;
    otherwise the subordinates that recorded theirs are added up, each with its own members (the others are left
    out rather than counted against nobody's youth). ``parts``: (members, youth) of each subordinate."""
    if own_youth:
        return own_youth, total_members
    known = [(m, y) for m, y in parts if y]
    if not known:
        return None, 0
    return sum(y for _, y in known), sum(m for m, _ in known)


# ---------------------------------------------------------------- exceptions (红旗项)

@dataclass(frozen=True)
class ExceptionKind:
    key: str
    label: str
    about: str                      # "org" lists organisations, "member" lists people, "code" lists codes


EXCEPTIONS = (
    ExceptionKind("empty_branches", "空心团支部（0 名团员）", "org"),
    ExceptionKind("small_branches", "团员 1–2 名的团支部", "org"),
    ExceptionKind("large_branches", "团员超过 {large} 名的团支部", "org"),
    ExceptionKind("hollow_committees", "空心团委（下无团支部的团委、团工委、团总支）", "org"),
    ExceptionKind("no_secretary", "没有书记的组织", "org"),
    ExceptionKind("no_cadre_branches", "没有团干部的团支部", "org"),
    ExceptionKind("no_admin", "没有管理员的组织", "org"),
    ExceptionKind("overage", "超龄未离团（满 {overage} 周岁且无团内职务）", "member"),
    ExceptionKind("bad_dev_number", "发展团员编号缺失（{year} 年及以后入团）或不规范", "member"),
    ExceptionKind("unconfirmed", "身份待确认（缺少入团志愿书等身份证明）", "member"),
    ExceptionKind("no_school_code", "未录入学校标识码的学校", "org"),
    ExceptionKind("school_no_branch", "已录入学校标识码但下无团支部的学校", "org"),
    ExceptionKind("stale_codes", "过期未使用的注册码", "code"),
)
EXCEPTION_KEYS = tuple(e.key for e in EXCEPTIONS)


def exception_label(kind: ExceptionKind, settings) -> str:
    return kind.label.format(large=settings.branch_large_members, overage=settings.overage_years,
                             year=settings.dev_number_required_from_year)


def small_branch(members: int, *, min_members: int) -> bool:
    return 0 < members < min_members


@dataclass
class Standing:
    """One subordinate's place against a campaign's targets."""

    tally: Tally
    missing: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.missing


CAMPAIGN_TARGETS = tuple((m.key, m.label) for m in RATE_METRICS)


def campaign_standing(tally: Tally, targets: dict[str, int]) -> Standing:
    """What still falls short of each target rate (percent); a rate with nothing to count is met."""
    labels = dict(CAMPAIGN_TARGETS)
    missing = []
    for key, target in targets.items():
        rate = tally.rate(key)
        if short_of(rate, target):
            missing.append(f"{labels[key]}为 {percent(rate)}，目标 {target}%")
    return Standing(tally, missing)


def validate_campaign(*, name, deadline, targets: dict, today: date) -> dict:
    """A campaign: a name, a deadline not in the past, at least one target rate between 1 and 100."""
    errors: dict[str, list[str]] = {}
    name = " ".join(str(name or "").split())
    if not name:
        errors["name"] = ["请填写任务名称"]
    elif len(name) > 60:
        errors["name"] = ["任务名称最多60个字"]
    due = None
    try:
        due = deadline if isinstance(deadline, date) else date.fromisoformat(str(deadline or "").strip())
    except ValueError:
        errors["deadline"] = ["请填写截止日期，例如 2026-12-31"]
    if due is not None and due < today:
        errors["deadline"] = ["截止日期不能早于今天"]
    clean = {}
    for key, raw in targets.items():
        if key not in dict(CAMPAIGN_TARGETS) or raw in (None, ""):
            continue
        try:
            value = int(str(raw).strip().rstrip("%"))
        except ValueError:
            errors.setdefault(f"target_{key}", []).append("目标须为 1 到 100 之间的整数（百分比）")
            continue
        if not 1 <= value <= 100:
            errors.setdefault(f"target_{key}", []).append("目标须为 1 到 100 之间的整数（百分比）")
            continue
        clean[key] = value
    if not clean and not any(k.startswith("target_") for k in errors):
        errors["targets"] = ["请至少设定一项目标"]
    if errors:
        raise ValidationFailed(errors)
    return {"name": name, "deadline": due, "targets": clean}
