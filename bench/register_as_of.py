"""“As of date D” benchmark (issue 27): what asking for a past day adds to the progress page and to the whole
member list export, measured interleaved in one run against the same work for today.

Builds the county database of bench/progress.py with the history of bench/register_stats.py, then for the root,
after one warm-up, alternates N times: the progress page's computation (``services.progress.progress``) and the
as-of column it adds (``tuanji.queries.counts_by_child`` as of 100 days ago); the current member export rows
(``members.queries.all_member_rows``) and the as-of export rows (``members.queries.member_rows_on``). Prints the
medians and the ratios (column / page, as-of export / current export).

Usage: .venv/bin/python bench/register_as_of.py [--db sqlite|postgresql] [--repeat 5] [--county-orgs 3000]
                                                [--county-members 50000]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import register_stats  # noqa: E402
from sqlalchemy import text  # noqa: E402

from tuanjian.clock import local_date  # noqa: E402
from tuanjian.extensions import db  # noqa: E402
from tuanjian.members import queries as member_queries  # noqa: E402
from tuanjian.models import Org, utcnow  # noqa: E402
from tuanjian.services.progress import progress  # noqa: E402
from tuanjian.tuanji import queries  # noqa: E402

import progress as base  # noqa: E402


def _time(fn) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--county-orgs", type=int, default=3000)
    parser.add_argument("--county-members", type=int, default=50000)
    parser.add_argument("--province-orgs", type=int, default=120000)
    parser.add_argument("--province-members", type=int, default=2500000)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    info = base.build("county", args.db, tmp, args)
    app = info["app"]
    now = utcnow()
    times: dict[str, list[float]] = {"page": [], "column": [], "export": [], "export_on": []}
    with app.app_context():
        events = register_stats.add_history(db.session, now)
        if args.db == "postgresql":
            db.session.remove()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE membership_events"))
        settings = app.extensions["tuanjian_settings"]
        today = local_date(now)
        day = today - timedelta(days=100)
        for run in range(args.repeat + 1):
            root = db.session.get(Org, info["root_id"])
            steps = {
                "page": lambda: progress(db.session, root, settings=settings, now=now, today=today),
                "column": lambda: queries.counts_by_child(db.session, root, day),
                "export": lambda: member_queries.all_member_rows(db.session, root,
                                                                 overage_years=settings.overage_years, today=today),
                "export_on": lambda: member_queries.member_rows_on(db.session, root, day,
                                                                   overage_years=settings.overage_years),
            }
            counted = {}
            for name, fn in steps.items():
                elapsed, out = _time(fn)
                counted[name] = out
                if run:
                    times[name].append(elapsed)
                db.session.remove()
                root = db.session.get(Org, info["root_id"])
        total = counted["column"][1]
        assert total == len(counted["export_on"]), (total, len(counted["export_on"]))
        db.engine.dispose()
    m = {k: median(v) for k, v in times.items()}
    print(f"county ({args.db}): {info['orgs']} orgs, {info['members']} members, {events} events; as of {day} "
          f"{total} members")
    print(f"progress page median {m['page']:.3f} s; as-of column median {m['column']:.3f} s; "
          f"ratio column / page {m['column'] / m['page']:.2f}")
    print(f"member export rows median {m['export']:.3f} s; as-of export rows median {m['export_on']:.3f} s; "
          f"ratio as-of / current {m['export_on'] / m['export']:.2f}")


if __name__ == "__main__":
    main()
