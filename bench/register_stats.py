"""团内统计 benchmark (issue 27): server time of the 团内统计 of the root, live and frozen.

Builds the same databases as bench/progress.py (county: about 3,000 orgs and 50,000 members, SQLite or
PostgreSQL; province: about 120,000 orgs and 2.5 million members, PostgreSQL), then bulk-inserts a history that
agrees with the member rows: a 首次录入 500 days ago for most, 新发展 within the year for some, a 转出/转入 pair in
the year for others (first entered in another branch), and the departure of every deleted record. It then times,
after one warm-up, N runs of ``tuanji.queries.statistics`` for the root as of today (live: members as of two
dates, the year's events, orgs, cadres, the unexplained list), the freeze, and the frozen page's work (the snapshot
and the corrections written since). Goals: county < 0.5 s; province root < 3 s live, instant frozen.

The history bypasses the owners, so the member tallies (``services/owners/tallies``) are recounted after it (and on
``--reuse`` created with their index and recounted when the database predates them). The root's page, which reads
its breakdowns from the tallies, is timed interleaved with the same page counting the members in SQL
(``use_tallies=False``, the path before): their tables must be equal, as must the tallies kept and a recount from
scratch, and the tables as of last 31 December (tallies corrected by the year's movers) and counted in SQL.

Usage: .venv/bin/python bench/register_stats.py [--scale county|province] [--db sqlite|postgresql] [--repeat 5]
                                                [--county-orgs 3000] [--county-members 50000]
                                                [--province-orgs 120000] [--province-members 2500000]
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import false, func, select, text  # noqa: E402

from tuanjian.clock import local_date  # noqa: E402
from tuanjian.dbsetup import insert_many  # noqa: E402
from tuanjian.domain import register  # noqa: E402
from tuanjian.extensions import db  # noqa: E402
from tuanjian.models import Member, MembershipEvent, Org, utcnow  # noqa: E402
from tuanjian.services import tuanji as service  # noqa: E402
from tuanjian.services.actor import Actor  # noqa: E402
from tuanjian.services.owners import tallies  # noqa: E402
from tuanjian.services.owners.memberships import next_dates  # noqa: E402
from tuanjian.tuanji import queries  # noqa: E402

import progress as base  # noqa: E402

CHUNK = 100000


def add_history(session, now) -> int:
    """Events agreeing with the member rows (see the module doc). Returns how many."""
    rng = random.Random(27)
    today = local_date(now)
    branches = list(session.scalars(select(Org.id).where(Org.kind == "branch")))
    rows, written, eid = [], 0, 0

    def ev(pid, org_id, day, kind):
        nonlocal eid
        eid += 1
        rows.append({"id": eid, "person_id": pid, "org_id": org_id, "on_date": day, "kind": kind, "dev_number": None,
                     "note": None, "erased": False, "created_at": now, "created_by_id": None})

    for pid, org_id, deleted_at in session.execute(select(Member.person_id, Member.org_id, Member.deleted_at)):
        first = len(rows)
        r = rng.random()
        if r < 0.08:
            ev(pid, org_id, today - timedelta(days=rng.randint(1, 360)), register.NEW)
        elif r < 0.12:
            ev(pid, rng.choice(branches), today - timedelta(days=500), register.FIRST_ENTRY)
            moved = today - timedelta(days=rng.randint(1, 360))
            rows[-1]["org_id"] = rows[-1]["org_id"] if rows[-1]["org_id"] != org_id else branches[0]
            ev(pid, rows[-1]["org_id"], moved, register.OUT_COUNTY)
            ev(pid, org_id, moved, register.IN_COUNTY)
        else:
            ev(pid, org_id, today - timedelta(days=500), register.FIRST_ENTRY)
        if deleted_at is not None:
            # never before the arrival (the app refuses a leaving dated before the person's latest event)
            ev(pid, org_id, max(local_date(deleted_at), rows[-1]["on_date"]),
               rng.choice(register.DEFAULT_LEAVE_REASONS[:-1]))
        mine = rows[first:]                # next_on, as the memberships owner keeps it
        linked = next_dates((r["id"], r["person_id"], r["on_date"], r["erased"]) for r in mine)
        for row in mine:
            row["next_on"] = linked[row["id"]]
        if len(rows) >= CHUNK:
            insert_many(session, MembershipEvent.__table__, rows)
            session.commit()
            written += len(rows)
            rows.clear()
    insert_many(session, MembershipEvent.__table__, rows)
    session.commit()
    written += len(rows)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT setval(pg_get_serial_sequence('membership_events', 'id'), "
                             "(SELECT coalesce(max(id), 1) FROM membership_events))"))
        session.commit()
    return written


def _latest(day):
    """The previous way (before ``next_on``): the latest event per person with a window query."""
    e = MembershipEvent
    rn = func.row_number().over(partition_by=e.person_id, order_by=(e.on_date.desc(), e.id.desc())).label("rn")
    return (select(e.person_id, e.org_id, e.kind, rn)
            .where(e.erased == false(), e.on_date <= day).subquery("latest"))


def window_way(session, root, day, settings):
    """The member figures as the 团内统计 computed them before (two window queries, one row per member counted in
    Python, the year's events as rows): timed interleaved with the live page for a ratio, and its tables must
    equal the page's."""
    from tuanjian.domain import register_stats as rs
    from tuanjian.domain.register_stats import MemberFact
    from tuanjian.models import Person
    from tuanjian.queries import within
    last = day.replace(year=day.year - 1) if (day.month, day.day) != (2, 29) else day.replace(year=day.year - 1, day=28)
    conn = session.connection()

    def placed(d, *cols):
        t = _latest(d)
        return t, (select(*[getattr(t.c, c) for c in cols]).join(Org, Org.id == t.c.org_id)
                   .where(t.c.rn == 1, t.c.kind.in_(register.ARRIVING), within(Org.code, root.code)))
    t = _latest(day)
    facts = [MemberFact(*r) for r in conn.execute(
        select(Person.id, t.c.org_id, Person.gender, Person.ethnicity, Person.birth_date, Member.education,
               Member.occupation, Person.political_status).select_from(t).join(Person, Person.id == t.c.person_id)
        .outerjoin(Member, Member.person_id == t.c.person_id).join(Org, Org.id == t.c.org_id)
        .where(t.c.rn == 1, t.c.kind.in_(register.ARRIVING), within(Org.code, root.code)))]
    _, stmt = placed(last, "person_id", "org_id")
    last_placed = dict(conn.execute(stmt).all())
    events = queries.pure_events(session, last, day, root.code)
    recorded = dict(conn.execute(select(Member.person_id, Member.org_id).join(Org, Member.org_id == Org.id)
                                 .where(Member.deleted_at.is_(None), within(Org.code, root.code))).all())
    now = {f.person_id: f.org_id for f in facts}
    assert [p for p in set(now) | set(recorded) if now.get(p) != recorded.get(p)] == []
    return (rs.member_tables(facts, day, settings.register_age_bounds), rs.change_tables(events), len(last_placed))


def backend_cpu(session) -> float | None:
    """CPU seconds used so far by this session's PostgreSQL backend, when the server runs on this machine (read
    from /proc; the parallel workers a query starts are not in it). None on SQLite or a remote server."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return None
    try:
        pid = conn.connection.dbapi_connection.info.backend_pid
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, AttributeError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_parts(session, root, day, settings) -> dict[str, tuple]:
    """One run of each query of ``statistics`` on its own (where the live time goes)."""
    last = day.replace(year=day.year - 1) if (day.month, day.day) != (2, 29) else day.replace(year=day.year - 1, day=28)
    scope = queries.whole_scope(session, root)       # None: the root of the data, no subtree filter (as the page)
    year_end = day.replace(month=12, day=31, year=day.year - 1)
    whole = scope is None
    steps = {
        "members per org at both dates and the year's arrivals/departures (with the record check's checksum of "
        "the placed members)": lambda: queries.subtree_figures(
            session, root, day, last, scope, small=settings.branch_complete_min_members,
            checksum=check if whole and kind == "postgresql" else None),
        "breakdowns from the tallies": lambda: queries.tallied(session, day),
        "the same as of last 31 December, corrected by every person with events since (whatever their number)":
            lambda: queries.tallied(session, year_end, movers_share=None),
        "breakdowns counted in SQL (before the tallies)": lambda: queries.member_groups(
            session, day, scope, settings.register_age_bounds),
        "year's kinds and transfers between subordinates": lambda: (
            queries.kind_counts(session, last, day, scope), queries.internal_transfers(session, last, day, scope)),
        "orgs and cadres": lambda: (queries.org_groups(session, root, day),
                                    queries.cadre_groups(session, root, day, settings.register_age_bounds,
                                                         whole=whole)),
        "record check (the whole data: the live records' checksum compared; the exact queries only when they "
        "differ)": lambda: (whole and queries.records_match(session, day, check[0] if check else None))
        or queries.unexplained(
            session, root, day, placed, queries.unrecorded_whole(session, day) if whole else None, whole=whole),
    }
    placed = sum(queries.counts_on(session, day, scope).values())      # what the page passes (its total)
    check: list = []                   # the events' side of the checksum, from the figures' pass (as the page)
    kind = session.get_bind().dialect.name
    queries.tune(session)              # the page's settings (work_mem, no JIT on PostgreSQL)
    out = {}
    for name, step in steps.items():
        t, c, b = time.perf_counter(), time.process_time(), backend_cpu(session)
        step()
        b = None if b is None else backend_cpu(session) - b
        out[name] = (time.perf_counter() - t, time.process_time() - c, b)
    return out


def ensure_tallies(session, *, recount: bool) -> float:
    """The member tallies of a database built without the owners (the history is bulk-inserted): the table and the
    events' (on_date, person_id) index created if a database built before them lacks them, and the tallies
    recounted (``recount``: always, after a fresh history; else only when the table was missing or is empty).
    Returns the seconds spent."""
    from sqlalchemy import inspect

    from tuanjian.models import MemberTally
    t = time.perf_counter()
    bind = session.get_bind()
    created = not inspect(bind).has_table(MemberTally.__tablename__)
    if created:
        MemberTally.__table__.create(bind)
    index = next(i for i in MembershipEvent.__table__.indexes if i.name == "ix_membership_events_on_person")
    index.create(bind, checkfirst=True)
    if recount or created or not session.scalar(select(func.count()).select_from(MemberTally)):
        tallies.rebuild(session)
        session.commit()
    return time.perf_counter() - t


def reuse(name: str) -> dict:
    """The PostgreSQL scratch database a previous run built (``--reuse``: time the code again without rebuilding;
    the earlier run's snapshot is removed so the freeze can be timed again)."""
    from sqlalchemy.engine import make_url

    from tuanjian import create_app

    from _scratch import scratch_name, server_url
    url = make_url(server_url()).set(database=scratch_name(name)).render_as_string(hide_password=False)
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.session.execute(text("DELETE FROM register_snapshots"))
        db.session.commit()
        info = {"app": app, "root_id": 1, "orgs": db.session.scalar(select(func.count()).select_from(Org)),
                "members": db.session.scalar(select(func.count()).select_from(Member)
                                             .where(Member.deleted_at.is_(None)))}
        db.session.remove()
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=("county", "province"), default="county")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-window", action="store_true", help="skip timing the previous (window query) way")
    parser.add_argument("--reuse", action="store_true",
                        help="PostgreSQL: time again on the database an earlier run of this scale built")
    parser.add_argument("--county-orgs", type=int, default=3000)
    parser.add_argument("--county-members", type=int, default=50000)
    parser.add_argument("--province-orgs", type=int, default=120000)
    parser.add_argument("--province-members", type=int, default=2500000)
    args = parser.parse_args()
    kind = "postgresql" if args.scale == "province" else args.db
    tmp = tempfile.mkdtemp()
    args.db_name = f"tuanjian_bench_register_{args.scale}"     # not the progress bench's scratch database
    info = reuse(args.db_name) if args.reuse else base.build(args.scale, kind, tmp, args)
    app = info["app"]
    now = utcnow()
    with app.app_context():
        t = time.perf_counter()
        if args.reuse:
            events = db.session.scalar(select(func.count()).select_from(MembershipEvent))
        else:
            events = add_history(db.session, now)
        if kind == "postgresql" and not args.reuse:
            db.session.remove()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE membership_events"))
        history_s = time.perf_counter() - t
        tallies_s = ensure_tallies(db.session, recount=not args.reuse)
        settings = app.extensions["tuanjian_settings"]
        day = local_date(now)
        live, live_cpu, old, old_cpu, live_server = [], [], [], [], []
        counted, counted_cpu, counted_server = [], [], []
        for run in range(args.repeat + 1):          # interleaved: this page, the members counted, the previous way
            reports = {}
            for use in (True, False):
                root = db.session.get(Org, info["root_id"])
                server = backend_cpu(db.session)
                t, c = time.perf_counter(), time.process_time()
                reports[use] = queries.statistics(db.session, root, day, age_bounds=settings.register_age_bounds,
                                                  small=settings.branch_complete_min_members, use_tallies=use)
                elapsed, cpu = time.perf_counter() - t, time.process_time() - c
                if run:
                    (live if use else counted).append(elapsed)
                    (live_cpu if use else counted_cpu).append(cpu)
                    if server is not None:
                        (live_server if use else counted_server).append(backend_cpu(db.session) - server)
                db.session.remove()
            report = reports[True]
            # the tallies' figures equal the members counted in SQL (the path before the tallies)
            assert report.member_tables == reports[False].member_tables
            assert report.unexplained == reports[False].unexplained
            if args.no_window:
                continue
            root = db.session.get(Org, info["root_id"])
            t, c = time.perf_counter(), time.process_time()
            before = window_way(db.session, root, day, settings)
            elapsed, cpu = time.perf_counter() - t, time.process_time() - c
            if run:
                old.append(elapsed)
                old_cpu.append(cpu)
            db.session.remove()
            assert before[0] == report.member_tables and before[2] == report.total.last
            # the page nets transfers between subordinates off 转入/转出（县内）; the rows as counted are the same
            def gross(tables):
                return [(t.title, [r for r in t.rows if r[0] not in ("转入（县内）", "转出（县内）")]) for t in tables]
            assert gross(before[1]) == gross(report.change_tables)
        assert report.total.balanced and report.total.this == info["members"], (report.total, info["members"])
        parts = time_parts(db.session, db.session.get(Org, info["root_id"]), day, settings)
        db.session.remove()
        assert report.unexplained == [], len(report.unexplained)
        # the tallies kept equal a recount from scratch; as of last 31 December (a year's movers to correct by) the
        # tables from the tallies equal the members counted in SQL
        from tuanjian.domain import register_stats as rs
        year_end = day.replace(month=12, day=31, year=day.year - 1)
        bounds = settings.register_age_bounds
        corrected = queries.tallied(db.session, year_end, movers_share=None)
        movers = db.session.scalar(select(func.count()).select_from(MembershipEvent)
                                   .where(MembershipEvent.on_date > year_end))
        page_reads_tallies = queries.tallied(db.session, year_end) is not None
        assert (rs.margin_member_tables(rs.tally_margins(corrected, year_end, bounds), bounds)
                == rs.grouped_member_tables(queries.member_groups(db.session, year_end, None, bounds), bounds))
        t = time.perf_counter()
        assert tallies.stored(db.session) == tallies.recount(db.session)
        recount_s = time.perf_counter() - t
        db.session.remove()
        root = db.session.get(Org, info["root_id"])
        yesterday = day - timedelta(days=1)
        report = queries.statistics(db.session, root, yesterday, age_bounds=settings.register_age_bounds,
                                    small=settings.branch_complete_min_members)
        actor = Actor(person_id=None, name="基准", ip="127.0.0.1", org_id=root.id, scope_code=root.code)
        t = time.perf_counter()
        service.freeze(db.session, actor, root, report, now=now)
        db.session.commit()
        freeze_s = time.perf_counter() - t
        frozen = []
        for run in range(args.repeat + 1):
            root = db.session.get(Org, info["root_id"])
            t = time.perf_counter()
            snap = queries.snapshot_of(db.session, root, yesterday)
            queries.corrections(db.session, root, yesterday, snap.frozen_at)
            elapsed = time.perf_counter() - t
            if run:
                frozen.append(elapsed)
            db.session.remove()
        db.engine.dispose()
    goal = 0.5 if args.scale == "county" else 3.0
    print(f"{args.scale} ({kind}): {info['orgs']} orgs, {info['members']} members, {events} events "
          f"(history inserted in {history_s:.1f} s)")
    print(f"member tallies: table and index checked, recounted if needed in {tallies_s:.1f} s; a recount from "
          f"scratch (the check that the kept tallies equal it) {recount_s:.1f} s")
    print(f"as of last 31 December: {movers:,} events dated after it ("
          f"{'the page corrects the tallies by their people' if page_reads_tallies else 'more than '}"
          f"{'' if page_reads_tallies else f'{queries.MOVERS_SHARE:.0%} of the members: the page counts the members'})")
    print(f"root statistics live median {median(live):.3f} s (range {min(live):.3f}–{max(live):.3f}; "
          f"goal < {goal} s); this process's CPU median {median(live_cpu):.3f} s"
          + (f"; the PostgreSQL backend's CPU median {median(live_server):.2f} s (without its parallel workers)"
             if live_server else ""))
    print(f"the same with the members counted in SQL instead of the tallies (the path before), interleaved: median "
          f"{median(counted):.3f} s (range {min(counted):.3f}–{max(counted):.3f}), CPU {median(counted_cpu):.3f} s"
          + (f", backend CPU {median(counted_server):.2f} s" if counted_server else "")
          + f"; tallies / counted = {median(live) / median(counted):.2f}×"
          + (f" (backend CPU {median(live_server) / median(counted_server):.2f}×)" if counted_server else ""))
    if old:
        print(f"previous way (window queries, one row per member in Python), interleaved: median {median(old):.3f} s, "
              f"CPU {median(old_cpu):.3f} s; live page / previous way = {median(live) / median(old):.2f}×")
    print("one run of each part (wall / this process's CPU" + (" / the PostgreSQL backend's CPU, without its "
                                                              "parallel workers" if kind == "postgresql" else "")
          + "): " + ", ".join(f"{k} {w:.3f} / {c:.3f}" + ("" if b is None else f" / {b:.2f}") + " s"
                             for k, (w, c, b) in parts.items()))
    print(f"freeze {freeze_s:.3f} s; root statistics frozen median {median(frozen) * 1000:.1f} ms "
          f"(range {min(frozen) * 1000:.1f}–{max(frozen) * 1000:.1f}; goal: instant, < 0.1 s)")


if __name__ == "__main__":
    main()
