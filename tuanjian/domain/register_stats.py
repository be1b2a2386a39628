"""团内统计 (issue 27), pure: the year-end tables of an org's subtree computed from facts the queries gather (the
members as of the date with their fields, the year's 团籍变动, the orgs, the cadres in post on the date).

DOMAIN.md does not know the official 团内统计 layout (§8), so the age groups are a setting
(``Settings.register_age_bounds``) and each table lists every value met, in the vocabulary's order, then 未填写.
Fields other than the place (性别, 民族, 文化程度, 职业, 政治面貌) are the person's as recorded now: the history
keeps where and when someone was a member, not every edit of their details.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from . import register
from .members import EDUCATIONS, OCCUPATIONS
from .people import ETHNICITIES, full_years

UNFILLED = "未填写"
DEFAULT_AGE_BOUNDS = (17, 22, 25, 28)


@dataclass(frozen=True)
class MemberFact:
    person_id: int
    org_id: int
    gender: str | None
    ethnicity: str | None
    birth: date
    education: str | None
    occupation: str | None
    political_status: str | None


@dataclass(frozen=True)
class CadreFact:
    person_id: int
    org_id: int
    nature: str | None
    gender: str | None
    birth: date
    education: str | None


@dataclass(frozen=True)
class OrgFact:
    id: int
    code: str
    kind: str             # OrgKind value
    kind_label: str
    industry: str | None
    holds_members: bool


@dataclass
class Table:
    title: str
    rows: list[tuple[str, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(n for _, n in self.rows)


def age_groups(bounds: Iterable[int]) -> list[str]:
    b = list(bounds)
    out = [f"{b[0]}周岁及以下"]
    out += [f"{lo + 1}—{hi}周岁" for lo, hi in zip(b, b[1:], strict=False)]
    out.append(f"{b[-1]}周岁以上")
    return out


def age_group(birth: date, on: date, bounds: Iterable[int], labels: list[str] | None = None) -> str:
    b = list(bounds)
    labels = labels or age_groups(b)
    age = full_years(birth, on)
    for i, hi in enumerate(b):
        if age <= hi:
            return labels[i]
    return labels[-1]


def _ordered(counts: Counter, order: Iterable[str], title: str) -> Table:
    rows = [(v, counts[v]) for v in order if counts.get(v)]
    rows += sorted((v, n) for v, n in counts.items() if v not in set(order) and v != UNFILLED)
    if counts.get(UNFILLED):
        rows.append((UNFILLED, counts[UNFILLED]))
    return Table(title, rows)


def age_cutoffs(on: date, bounds: Iterable[int]) -> list[date]:
    """For each upper bound ``hi``: the date c with "aged ``hi`` or less on ``on``" == "born after c" (what a
    grouped SQL query compares birth dates with; the same rule as ``full_years``, a 29 February ``on`` in a common
    year ending on 28 February)."""
    out = []
    for hi in bounds:
        year = on.year - hi - 1
        try:
            out.append(on.replace(year=year))
        except ValueError:
            out.append(date(year, 2, 28))
    return out


@dataclass(frozen=True)
class MemberGroup:
    """Members sharing every field the tables count (``age``: index of their age group), and how many."""
    gender: str | None
    ethnicity: str | None
    age: int
    education: str | None
    occupation: str | None
    political_status: str | None
    n: int


def group_facts(facts: Iterable[MemberFact], on: date, bounds: Iterable[int] = DEFAULT_AGE_BOUNDS) -> list[MemberGroup]:
    """``facts`` counted into groups in Python (what the grouped query does in SQL)."""
    bounds = list(bounds)
    labels = age_groups(bounds)
    index = {g: i for i, g in enumerate(labels)}
    counts = Counter((f.gender, f.ethnicity, index[age_group(f.birth, on, bounds, labels)], f.education,
                      f.occupation, f.political_status) for f in facts)
    return [MemberGroup(*key, n) for key, n in counts.items()]


def member_tables(facts: list[MemberFact], on: date, bounds: Iterable[int] = DEFAULT_AGE_BOUNDS) -> list[Table]:
    """团员 by 性别, 民族 (汉族 / 少数民族, then each), age group, 文化程度, 职业; Party members keeping 团籍."""
    return grouped_member_tables(group_facts(facts, on, bounds), bounds)


def grouped_member_tables(groups: Iterable[MemberGroup], bounds: Iterable[int] = DEFAULT_AGE_BOUNDS) -> list[Table]:
    """``member_tables`` from counted groups."""
    bounds = list(bounds)
    margins: dict[str, Counter] = {k: Counter() for k in MARGINS}
    for g in groups:
        for key, value in (("gender", g.gender), ("ethnicity", g.ethnicity), ("age", g.age),
                           ("education", g.education), ("occupation", g.occupation),
                           ("political_status", g.political_status)):
            margins[key][value] += g.n
    return margin_member_tables(margins, bounds)


MARGINS = ("gender", "ethnicity", "age", "education", "occupation", "political_status")


def age_index(birth: date, cuts: list[date]) -> int:
    """The age group (index) of someone born on ``birth``, for the ``age_cutoffs`` of the day (as the grouped
    query's CASE)."""
    for i, c in enumerate(cuts):
        if birth > c:
            return i
    return len(cuts)


def tally_margins(tally: dict[tuple[str, str], int], on: date,
                  bounds: Iterable[int] = DEFAULT_AGE_BOUNDS) -> dict[str, Counter]:
    """The one-field counts the member tables show from member tallies ((field, value) -> n, as the tallies owner
    keeps them: "" for an empty field, the birth date as an ISO date), age groups as of ``on``."""
    cuts = age_cutoffs(on, bounds)
    margins: dict[str, Counter] = {k: Counter() for k in MARGINS}
    for (key, value), n in tally.items():
        if not n:
            continue
        if key == "birth":
            margins["age"][age_index(date.fromisoformat(value), cuts)] += n
        elif key in margins:
            margins[key][value or None] += n
    return margins


def margin_member_tables(margins: dict[str, Counter], bounds: Iterable[int] = DEFAULT_AGE_BOUNDS) -> list[Table]:
    """``member_tables`` from the counts by each field alone (``margins``: field -> value -> n, None for an empty
    field, ``age``: age group index -> n): every table shows one field, so these are all it needs."""
    labels = age_groups(list(bounds))

    def filled(field: str) -> Counter:
        """The field's counts with an empty value as 未填写; a value no member has any more (a tally at zero) is
        no row."""
        out: Counter = Counter()
        for value, n in margins[field].items():
            out[value or UNFILLED] += n
        return Counter({v: n for v, n in out.items() if n})

    gender, eth, edu, occ = map(filled, ("gender", "ethnicity", "education", "occupation"))
    ages: Counter = Counter()
    for index, n in margins["age"].items():
        ages[labels[index]] += n
    party = Counter({v: n for v, n in margins["political_status"].items() if v in register.PARTY_STATUSES})
    total = sum(margins["gender"].values())
    han = eth.get("汉族", 0)
    minority = sum(n for v, n in eth.items() if v not in ("汉族", UNFILLED))
    eth_table = Table("团员民族", [("汉族", han), ("少数民族", minority)]
                      + [(f"其中：{v}", n) for v, n in _ordered(eth, ETHNICITIES, "").rows
                         if v not in ("汉族", UNFILLED)]
                      + ([(UNFILLED, eth[UNFILLED])] if eth.get(UNFILLED) else []))
    return [
        Table("团员总数", [("团员", total)]),
        _ordered(gender, ("男", "女"), "团员性别"),
        eth_table,
        Table("团员年龄", [(g, ages[g]) for g in labels]),
        _ordered(edu, EDUCATIONS, "团员文化程度"),
        _ordered(occ, OCCUPATIONS, "团员职业"),
        Table("保留团籍的党员", [("中共党员", party["中共党员"]), ("中共预备党员", party["中共预备党员"])]),
    ]


def change_tables(events: Iterable[register.Event], internal: int = 0) -> list[Table]:
    """The year's 团籍变动: arrivals (新发展团员数 first) and departures by reason, transfers in and out."""
    return kind_tables(Counter(e.kind for e in events if not e.erased), internal)


def kind_tables(counts: Counter | dict, internal: int = 0) -> list[Table]:
    """``change_tables`` from counts by kind. ``internal``: transfers between two orgs of the subtree, taken off
    both 转入（县内） and 转出（县内） (they are no movement of the subtree as a whole)."""
    counts = Counter(counts)
    counts[register.IN_COUNTY] -= internal
    counts[register.OUT_COUNTY] -= internal
    arriving = [(register.label(k), counts[k]) for k in register.ARRIVING]
    leaving = [(register.label(k), counts[k]) for k in register.LEAVING if k != register.UNSTATED or counts[k]]
    return [Table("团员增加", arriving), Table("团员减少", leaving)]


def internal_transfers(events: Iterable[register.Event], inside: set[int]) -> int:
    """How many 转出（县内）/转入（县内） pairs among ``events`` go from one org of ``inside`` to another: a 转入 whose
    person's previous counted event (by id) is a 转出 of the same day in ``inside`` (the owner writes the pair
    together)."""
    last: dict[int, register.Event] = {}
    n = 0
    for e in sorted((e for e in events if not e.erased), key=lambda e: e.id):
        prev = last.get(e.person_id)
        if (e.kind == register.IN_COUNTY and e.org_id in inside and prev is not None
                and prev.kind == register.OUT_COUNTY and prev.on == e.on and prev.org_id in inside):
            n += 1
        last[e.person_id] = e
    return n


def org_tables(orgs: list[OrgFact], members_per_org: dict[int, int], *, small: int = 3) -> list[Table]:
    """Organisations by kind and by 领域 (单位所属行业类别); 空心 branches (no member) and branches under ``small``."""
    groups = Counter((o.kind_label, o.industry) for o in orgs)
    sizes = [members_per_org.get(o.id, 0) for o in orgs if o.holds_members]
    return grouped_org_tables([OrgGroup(k, i, n) for (k, i), n in groups.items()],
                              BranchSizes(len(sizes), sum(1 for n in sizes if not n),
                                          sum(1 for n in sizes if 0 < n < small)), small=small)


@dataclass(frozen=True)
class OrgGroup:
    """Organisations sharing a kind (its label) and a 领域, and how many."""
    kind_label: str
    industry: str | None
    n: int


@dataclass(frozen=True)
class BranchSizes:
    """How many branches (orgs holding members) there are, how many have no member, how many fewer than
    ``small``."""
    branches: int
    hollow: int
    few: int


def grouped_org_tables(groups: Iterable[OrgGroup], sizes: BranchSizes, *, small: int = 3) -> list[Table]:
    """``org_tables`` from the orgs counted by kind and 领域 and the branches counted by size."""
    kinds: Counter = Counter()
    industry: Counter = Counter()
    for g in groups:
        kinds[g.kind_label] += g.n
        industry[g.industry or UNFILLED] += g.n
    return [_ordered(kinds, ("团委", "团工委", "团总支", "团支部"), "团组织类别"),
            _ordered(industry, (), "团组织所在领域"),
            Table("团支部规模", [("空心团支部（无团员）", sizes.hollow), (f"团员不足{small}人的团支部", sizes.few),
                               (f"团员{small}人及以上的团支部", sizes.branches - sizes.hollow - sizes.few)])]


@dataclass(frozen=True)
class CadreGroup:
    """Cadres (one per person) sharing every field the tables count (``age``: index of their age group)."""
    nature: str | None
    gender: str | None
    age: int
    education: str | None
    n: int


def cadre_tables(cadres: list[CadreFact], on: date, bounds: Iterable[int] = DEFAULT_AGE_BOUNDS) -> list[Table]:
    """团干部 (one count per person: the fields of the first of their posts listed) by 专职/兼职/挂职, 性别, age
    group, 文化程度."""
    bounds = list(bounds)
    labels = age_groups(bounds)
    index = {g: i for i, g in enumerate(labels)}
    people: dict[int, CadreFact] = {}
    for c in cadres:
        people.setdefault(c.person_id, c)
    ages = {b: index[age_group(b, on, bounds, labels)] for b in {f.birth for f in people.values()}}
    counts = Counter((f.nature, f.gender, ages[f.birth], f.education) for f in people.values())
    return grouped_cadre_tables([CadreGroup(*key, n) for key, n in counts.items()], bounds)


def grouped_cadre_tables(groups: Iterable[CadreGroup], bounds: Iterable[int] = DEFAULT_AGE_BOUNDS) -> list[Table]:
    """``cadre_tables`` from counted groups."""
    labels = age_groups(list(bounds))
    nature: Counter = Counter()
    gender: Counter = Counter()
    ages: Counter = Counter()
    edu: Counter = Counter()
    total = 0
    for g in groups:
        total += g.n
        nature[g.nature or UNFILLED] += g.n
        gender[g.gender or UNFILLED] += g.n
        ages[labels[g.age]] += g.n
        edu[g.education or UNFILLED] += g.n
    return [
        Table("团干部总数", [("团干部", total)]),
        _ordered(nature, ("专职", "兼职", "挂职"), "团干部性质"),
        _ordered(gender, ("男", "女"), "团干部性别"),
        Table("团干部年龄", [(g, ages[g]) for g in labels]),
        _ordered(edu, EDUCATIONS, "团干部文化程度"),
    ]


@dataclass(frozen=True)
class Comparison:
    """One org's subtree: last year's figure + arrivals − departures = this year's (``balanced``)."""
    org_id: int
    last: int
    arrivals: int
    departures: int
    this: int

    @property
    def balanced(self) -> bool:
        return self.last + self.arrivals - self.departures == self.this


def compare(last: dict[int, int], this: dict[int, int], events: Iterable[register.Event],
            groups: dict[int, Iterable[int]]) -> list[Comparison]:
    """``last`` / ``this``: org id -> members at the two dates; ``events``: the counted events between them;
    ``groups``: each compared org -> the org ids of its subtree."""
    arrivals: Counter = Counter()
    departures: Counter = Counter()
    for e in events:
        if e.erased:
            continue
        (arrivals if register.is_arriving(e.kind) else departures)[e.org_id] += 1
    return compare_counts(last, this, arrivals, departures, groups)


def compare_counts(last: dict[int, int], this: dict[int, int], arrivals: dict[int, int], departures: dict[int, int],
                   groups: dict[int, Iterable[int]]) -> list[Comparison]:
    """``compare`` from arrivals and departures counted per org."""
    out = []
    for gid, members in groups.items():
        ids = set(members)
        out.append(Comparison(gid, sum(last.get(i, 0) for i in ids), sum(arrivals.get(i, 0) for i in ids),
                              sum(departures.get(i, 0) for i in ids), sum(this.get(i, 0) for i in ids)))
    return out


def compare_heads(sums: dict[str, tuple[int, int, int, int]], children: Iterable[tuple[int, str]],
                  total_id: int) -> list[Comparison]:
    """``compare_counts`` from (last, arrivals, departures, this) added up per head code (``queries.subtree_figures``:
    the code of the child whose subtree holds the org, or the compared org's own code): one row per child (id,
    code), then the total of every head as ``total_id``."""
    rows = [Comparison(i, *sums.get(code, (0, 0, 0, 0))) for i, code in children]
    total = [sum(v[k] for v in sums.values()) for k in range(4)]
    return rows + [Comparison(total_id, *total)]


def net_of_internal(c: Comparison, internal: int) -> Comparison:
    """An org's own total with the transfers between its subordinates taken off both sides (still balanced)."""
    return Comparison(c.org_id, c.last, c.arrivals - internal, c.departures - internal, c.this)



def internal_note(internal: int) -> str:
    """What the page says of the transfers between subordinates taken off the total ("" when there are none)."""
    if not internal:
        return ""
    return (f"其中下级之间转接 {internal} 人，已在合计中相互抵消（合计的增加、减少和汇总表的转入（县内）、转出（县内）"
            f"各少计 {internal} 人；各下级一行仍分别计入）。")


@dataclass(frozen=True)
class YouthCells:
    """团青比例 of a 团内统计 as shown: one text per comparison row, the total's, and what the total divides."""
    rows: list[str]
    total: str
    members: int
    youth: int | None

    @property
    def shown(self) -> bool:
        return self.youth is not None or any(t != "—" for t in self.rows)


def youth_cells(data: dict) -> YouthCells:
    """From a snapshot's figures (``services.tuanji.snapshot_data``): each row's subtree members ÷ the row org's own
    14–28周岁青年数, the total by the progress page's rule; "—" when unknown (and for figures frozen before
    团青比例 was kept)."""
    from .progress import percent, youth_ratio
    youth = data.get("youth") or [None] * len(data.get("comparison", []))
    rows = [percent(youth_ratio(row[5], y)) if y else "—" for row, y in zip(data.get("comparison", []), youth,
                                                                             strict=False)]
    total_youth, counted = data.get("total_youth") or (None, 0)
    return YouthCells(rows, percent(youth_ratio(counted, total_youth)) if total_youth else "—", counted, total_youth)
