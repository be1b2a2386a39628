"""A generated history (issue 27): arrivals, departures, transfers, restorations and 录入错误 over three years,
through the real services. An independent ledger of what was done is recounted by brute force for every org and
many dates and must equal the 团籍 queries and the 团内统计; last year + arrivals − departures = this year holds
for every org."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from sqlalchemy import select

from tuanjian.domain import register
from tuanjian.domain import register_stats as rs
from tuanjian.domain.members import validate_member
from tuanjian.domain.orgtree import OrgKind, is_within
from tuanjian.domain.settings import DEFAULT_SETTINGS as S
from tuanjian.models import Member, MembershipEvent, Org
from tuanjian.services import members, orgs, transfers
from tuanjian.services.actor import Actor
from tuanjian.services.owners import posts, tallies
from tuanjian.services.owners.memberships import next_dates
from tuanjian.tuanji import queries

from ..factories import new_id

TODAY = date(2026, 11, 23)
LEAVE_KINDS = [k for k in register.DEFAULT_LEAVE_REASONS if k != register.ERROR]


class Ledger:
    """What the test did, person by person: (date, seq, org id or None, span) steps; erased spans."""

    def __init__(self):
        self.steps: dict[int, list[tuple[date, int, int | None, int]]] = {}
        self.erased: set[int] = set()
        self.seq = 0
        self.span = 0
        self.current_span: dict[int, int] = {}
        self.transfers: list[tuple[date, int, int, int]] = []     # (date, from org, to org, span)

    def arrive(self, pid, day, org_id, *, new_span=True):
        if new_span:
            self.span += 1
            self.current_span[pid] = self.span
        self._step(pid, day, org_id)

    def transfer(self, pid, day, from_id, to_id):
        self.transfers.append((day, from_id, to_id, self.current_span[pid]))
        self.arrive(pid, day, to_id, new_span=False)

    def internal(self, start, end, inside: set[int]) -> int:
        """Transfers dated in (start, end] between two orgs of ``inside``, not erased since."""
        return sum(1 for day, a, b, span in self.transfers
                   if start < day <= end and a in inside and b in inside and span not in self.erased)

    def leave(self, pid, day, *, erase=False):
        self._step(pid, day, None)
        if erase:
            self.erased.add(self.current_span[pid])

    def _step(self, pid, day, org_id):
        self.seq += 1
        self.steps.setdefault(pid, []).append((day, self.seq, org_id, self.current_span[pid]))

    def on(self, day) -> dict[int, int]:
        out = {}
        for pid, steps in self.steps.items():
            live = [s for s in steps if s[0] <= day and s[3] not in self.erased]
            if live and live[-1][2] is not None:
                out[pid] = live[-1][2]
        return out


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 4, 0)       # noon in Beijing


def test_generated_history_equals_a_brute_force_recount(session, tree):
    rng = random.Random(27)
    county = Actor(person_id=tree.county_admin.id, name="王县", ip="10.0.0.1", org_id=tree.county.id,
                   scope_code=tree.county.code)
    extra = [orgs.create_child(session, Actor(person_id=tree.township_admin.id, name="张镇", ip="10.0.0.1",
                                              org_id=tree.township.id, scope_code=tree.township.code),
                               tree.township, short_name=f"新{i}村团支部", kind=OrgKind.BRANCH, settings=S)
             for i in range(2)]
    branches = [tree.village, tree.klass, tree.sibling_branch, *extra]
    ledger = Ledger()
    people: dict[int, tuple[str, str]] = {}        # person id -> (name, id number)
    active: dict[int, Member] = {}
    left: set[int] = set()
    day = date(2023, 1, 3)
    n = 0
    while day < date(2025, 12, 20):
        day += timedelta(days=rng.randint(0, 5))
        roll = rng.random()
        if roll < 0.4 or len(active) < 5:
            n += 1
            branch = rng.choice(branches)
            birth = date(rng.randint(1998, 2002), rng.randint(1, 12), rng.randint(1, 28))
            name = "员" + "".join("零一二三四五六七八九"[int(c)] for c in str(n))
            data = validate_member({"name": name, "id_number": new_id(birth), "ethnicity": rng.choice(["汉族", "回族"]),
                                    "political_status": "共青团员", "join_date": f"{min(birth.year + 14, 2016)}-05",
                                    "dev_number": "", "is_cadre": "否", "has_application": "是"},
                                   settings=S, today=TODAY)
            m, _ = members.add_member(session, county, branch, data, now=_at(day))
            people[m.person_id] = (name, m.person.id_number)
            active[m.person_id] = m
            ledger.arrive(m.person_id, day, branch.id)
        elif roll < 0.65:
            pid = rng.choice(sorted(active))
            m = active.pop(pid)
            kind = rng.choice(LEAVE_KINDS)
            members.leave_member(session, county, m, kind=kind, on=day, note="生成", now=_at(day))
            ledger.leave(pid, day)
            left.add(pid)
        elif roll < 0.8:
            pid = rng.choice(sorted(active))
            m = active[pid]
            target = rng.choice([b for b in branches if b.id != m.org_id])
            req = transfers.request_transfer(session, county, target, id_number=people[pid][1], name=people[pid][0],
                                             reason="生成", now=_at(day))
            from_id = m.org_id
            transfers.decide(session, county, req, accept=True, note="", now=_at(day))
            ledger.transfer(pid, day, from_id, target.id)
        elif roll < 0.9 and left:
            pid = rng.choice(sorted(left))
            left.discard(pid)
            name, number = people[pid]
            data = validate_member({"name": name, "id_number": number, "ethnicity": "汉族",
                                    "political_status": "共青团员", "join_date": "2015-05", "dev_number": "",
                                    "is_cadre": "否", "has_application": "是"}, settings=S, today=TODAY)
            branch = rng.choice(branches)
            m, _ = members.add_member(session, county, branch, data, now=_at(day))
            active[pid] = m
            ledger.arrive(pid, day, branch.id)
        else:
            pid = rng.choice(sorted(active))
            m = active.pop(pid)
            members.leave_member(session, county, m, kind=register.ERROR, on=day, note="录错", now=_at(day))
            ledger.leave(pid, day, erase=True)
    # 团干部: posts opened through their owner at dates of the history, some people with two posts of different
    # natures (counted once, by their first post), some posts ended
    sample = rng.sample(sorted(active), min(12, len(active)))
    for i, pid in enumerate(sample):
        m = active[pid]
        opened = date(2023, 1, 1) + timedelta(days=rng.randint(0, 1000))
        post = posts.open_post(session, county, m.person, m.org, position="组织委员", now=_at(opened),
                               proven_self=True, nature=rng.choice(["专职", "兼职", "挂职", None]))
        if i % 3 == 0:
            posts.open_post(session, county, m.person, tree.township, position="委员",
                            now=_at(opened + timedelta(days=30)), proven_self=True,
                            nature=rng.choice(["专职", "兼职", "挂职"]))
        if i % 4 == 1:
            posts.close(session, county, post, now=_at(opened + timedelta(days=200)), reason="卸任")
    session.flush()
    assert n > 100 and ledger.erased
    # next_on, kept by the memberships owner on every write, equals a recomputation over all events
    rows = session.execute(select(MembershipEvent.id, MembershipEvent.person_id, MembershipEvent.on_date,
                                  MembershipEvent.erased, MembershipEvent.next_on)).all()
    assert {r.id: r.next_on for r in rows} == next_dates((r.id, r.person_id, r.on_date, r.erased) for r in rows)
    # so do the member tallies (a recount from scratch)
    assert tallies.stored(session) == tallies.recount(session)
    assert any(r.next_on for r in rows)
    all_orgs = list(session.query(Org).filter(Org.code.startswith(tree.county.code)))
    dates = [date(2022, 12, 31)] + [date(y, m, 1) - timedelta(days=1) for y in (2023, 2024, 2025) for m in
                                     range(2, 13)] + [date(2025, 12, 31), date(2026, 1, 1)]
    dates += [date(2023, 1, 1) + timedelta(days=rng.randint(0, 1100)) for _ in range(10)]
    codes = {o.id: o.code for o in all_orgs}
    for d in dates:
        expected = ledger.on(d)
        assert queries.members_on(session, d) == expected, d
        counts = queries.counts_on(session, d)
        for org in all_orgs:
            want = sum(1 for o in expected.values() if is_within(codes[o], org.code))
            got = sum(c for o, c in counts.items() if is_within(codes[o], org.code))
            assert got == want, (d, org.short_name)
    # the 团内统计: every org's figure equals the recount and the comparison balances
    checked_internal = 0
    checked_tallies = 0
    with_cadres = 0
    for year in (2023, 2024, 2025):
        d = date(year, 12, 31)
        expected = ledger.on(d)
        expected_last = ledger.on(date(year - 1, 12, 31))
        for org in all_orgs:
            report = queries.statistics(session, org, d, age_bounds=S.register_age_bounds, small=3)
            want = sum(1 for o in expected.values() if is_within(codes[o], org.code))
            want_last = sum(1 for o in expected_last.values() if is_within(codes[o], org.code))
            assert (report.total.this, report.total.last) == (want, want_last), (year, org.short_name)
            assert report.total.balanced, (year, org.short_name)
            for child, row in report.comparison:       # each subordinate's figures equal the recount too
                assert (row.this, row.last) == (
                    sum(1 for o in expected.values() if is_within(codes[o], child.code)),
                    sum(1 for o in expected_last.values() if is_within(codes[o], child.code))), (year, child.short_name)
            assert all(row.balanced for _, row in report.comparison), (year, org.short_name)
            assert report.member_tables[0].rows == [("团员", want)]
            assert report.unexplained == []
            # the breakdowns counted in SQL equal the same members counted one by one in Python
            facts = queries.member_facts(session, d, org.code)
            assert len(facts) == want
            assert report.member_tables == rs.member_tables(facts, d, S.register_age_bounds), (year, org.short_name)
            if queries.whole_scope(session, org) is None:      # the root: tallies kept on write, corrected
                tally = queries.tallied(session, d, movers_share=None)
                assert rs.margin_member_tables(rs.tally_margins(tally, d, S.register_age_bounds),
                                               S.register_age_bounds) == report.member_tables, year
                checked_tallies += 1
            # the orgs and cadres counted in SQL equal them listed one by one and counted in Python
            per_org = queries.counts_on(session, d)
            assert report.org_tables == rs.org_tables(queries.org_facts(session, org, d), per_org, small=3)
            cadres = queries.cadre_facts(session, org, d)
            assert report.cadre_tables == rs.cadre_tables(cadres, d, S.register_age_bounds), (year, org.short_name)
            with_cadres += bool(cadres)
            # transfers between two orgs of the subtree are off the total both ways (the rows keep them)
            inside = {o.id for o in all_orgs if is_within(o.code, org.code)}
            internal = ledger.internal(date(year - 1, 12, 31), d, inside)
            assert report.internal == internal, (year, org.short_name)
            events = queries.pure_events(session, date(year - 1, 12, 31), d, None)
            assert rs.internal_transfers(events, inside) == internal
            if report.comparison:
                assert report.total.arrivals == sum(r.arrivals for _, r in report.comparison) - internal
                assert report.total.departures == sum(r.departures for _, r in report.comparison) - internal
            changes = dict(report.change_tables[0].rows + report.change_tables[1].rows)
            gross_in = sum(1 for e in events if e.kind == register.IN_COUNTY and e.org_id in inside)
            assert changes[register.label(register.IN_COUNTY)] == gross_in - internal
            checked_internal += internal
    assert checked_internal > 0          # the history has transfers between subordinates to take off
    assert with_cadres > 3
    assert checked_tallies == 3
