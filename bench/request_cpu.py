"""Where the CPU of the deadline day's requests goes, per kind of request, in-process (issue 29).

Builds the demo county plus N admins as bench/load.py does (branch and committee admins, one password hash each),
logs some of them in through the Flask test client, and then measures, round after round, the process CPU time
(time.process_time: the app and the driver, not the database server) and the number of SQL statements of each
request of load.py's mix: the landing page, the org tree, the member list, the progress page, an exception list,
the login page, and a log-in (POST /auth/login: the password hash is most of it) followed by a log-out. CPU time is
steadier than latency on a shared machine; prints the minimum and the median over the rounds.

Usage: .venv/bin/python bench/request_cpu.py [--db sqlite|postgresql] [--admins 40] [--rounds 5] [--profile KIND]
PostgreSQL uses a scratch database tuanjian_bench_request_cpu on TUANJIAN_BENCH_DATABASE_URL (see _scratch.py),
dropped afterwards. --profile KIND prints cProfile's CPU per package for one kind (e.g. tree).
"""
from __future__ import annotations

import argparse
import collections
import cProfile
import os
import pstats
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import load  # noqa: E402
from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from tuanjian.domain.progress import EXCEPTION_KEYS  # noqa: E402

from _scratch import fresh_database, scratch_name, server_url  # noqa: E402

PG_NAME = "tuanjian_bench_request_cpu"
KINDS = ("landing", "tree", "members", "progress", "exceptions", "login page", "log-in + log-out")


def csrf(body: str) -> str:
    for pattern in load.CSRF_RES:
        m = pattern.search(body)
        if m:
            return m.group(1)
    raise SystemExit("no csrf_token on the page")


def log_in(app, admin):
    client = app.test_client()
    token = csrf(client.get("/auth/login").get_data(as_text=True))
    resp = client.post("/auth/login", data={"csrf_token": token, "id_number": admin.id_number,
                                            "password": load.PASSWORD, "next": ""})
    if resp.status_code != 302:
        raise SystemExit(f"log-in of admin {admin.index} answered {resp.status_code}")
    return client, resp.headers["Location"]


def landing(client, location):
    """GET the redirects of POST /auth/login down to the landing page."""
    def go():
        resp, target = None, location
        for _ in range(3):
            resp = client.get(target)
            if resp.status_code != 302:
                break
            target = resp.headers["Location"]
        return resp
    return go


def login_logout(app, admin):
    def go():
        client, _ = log_in(app, admin)
        page = client.get("/auth/login").get_data(as_text=True)
        return client.post("/auth/logout", data={"csrf_token": csrf(page)})
    return go


def path_of(kind: str, admin) -> str:
    org = admin.org_id
    return {"tree": f"/orgs/{org}", "members": f"/members/org/{org}", "progress": f"/progress/org/{org}",
            "exceptions": f"/progress/org/{org}/exceptions/{EXCEPTION_KEYS[admin.index % len(EXCEPTION_KEYS)]}",
            "login page": "/auth/login"}[kind]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--admins", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", choices=KINDS[:6], default=None)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="tuanjian_request_cpu_")
    os.environ["TUANJIAN_INSTANCE_PATH"] = tmp
    secret = secrets.token_hex(16)
    url = fresh_database(args.db, "request_cpu" if args.db == "sqlite" else PG_NAME, tmp)
    env = load.app_env(url, tmp, secret)
    load.flask_cli(env, "db", "upgrade")
    load.flask_cli(env, "demo")
    app = load.local_app(url, secret)
    admins = load.seed_admins(app, args.admins)
    branch = [a for a in admins if a.role == "branch"]
    committee = [a for a in admins if a.role == "committee"]
    chosen = branch[:max(1, len(admins) // 4)] + committee[:max(1, len(admins) // 4)]
    # a log-out ends every session of the account: the log-ins measured are other admins'
    others = [a for a in admins if a not in chosen][:4]
    if not others:
        raise SystemExit("--admins: at least 3")
    statements = [0]

    @event.listens_for(Engine, "before_cursor_execute")
    def count(*_):
        statements[0] += 1

    try:
        sessions = [(a, *log_in(app, a)) for a in chosen]
        cpu: dict[str, list[float]] = {k: [] for k in KINDS}
        per_request: dict[str, float] = {}

        def measure(kind: str, calls) -> None:
            statements[0] = 0
            t = time.process_time()
            for call in calls:
                resp = call()
                if resp.status_code != (302 if kind == "log-in + log-out" else 200):
                    raise SystemExit(f"{kind}: {resp.status_code}")
            cpu[kind].append((time.process_time() - t) / len(calls) * 1000)
            per_request[kind] = statements[0] / len(calls)

        for rnd in range(args.rounds + 1):                 # round 0 warms the caches up and is not counted
            for kind in KINDS:
                if kind == "landing":
                    calls = [landing(c, loc) for _, c, loc in sessions]
                elif kind == "log-in + log-out":
                    calls = [login_logout(app, a) for a in others]
                else:
                    calls = [(lambda c=c, p=path_of(kind, a): c.get(p)) for a, c, _ in sessions]
                measure(kind, calls)
            if rnd == 0:
                for values in cpu.values():
                    values.clear()
        print(f"database: {args.db}; {len(admins)} admins, {len(sessions)} logged in "
              f"({sum(a.role == 'branch' for a, _, _ in sessions)} branch, "
              f"{sum(a.role == 'committee' for a, _, _ in sessions)} committee); {args.rounds} rounds; "
              f"process CPU in-process (Flask test client), not the database server's")
        print(f"{'kind':<18}{'cpu min':>9}{'median':>9}{'statements':>12}")
        for kind in KINDS:
            print(f"{kind:<18}{min(cpu[kind]):>7.1f}ms{statistics.median(cpu[kind]):>7.1f}ms"
                  f"{per_request[kind]:>12.1f}")
        pages = [statistics.median(cpu[k]) for k in KINDS[:5]]
        print(f"page median of medians: {statistics.median(pages):.1f} ms cpu")
        if args.profile:
            profile(args.profile, sessions)
    finally:
        event.remove(Engine, "before_cursor_execute", count)
        with app.app_context():
            from tuanjian.extensions import db
            db.session.remove()
            db.engine.dispose()
        if args.db == "postgresql":
            admin = create_engine(server_url(), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch_name(PG_NAME)}"'))
            admin.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


def profile(kind: str, sessions) -> None:
    """CPU per request of one kind by package (cProfile's own time, on the process clock)."""
    prof = cProfile.Profile(time.process_time)
    n = 0
    prof.enable()
    for _ in range(5):
        for admin, client, _ in sessions:
            client.get(path_of(kind, admin))
            n += 1
    prof.disable()
    by: collections.Counter = collections.Counter()
    for (filename, _, _), (_, _, own, _, _) in pstats.Stats(prof).stats.items():
        m = re.search(r"site-packages/([A-Za-z_]+)", filename)
        key = m.group(1) if m else ("tuanjian" if "tuanjian" in filename else "stdlib and builtins")
        by[key] += own
    total = sum(by.values())
    print(f"profile of {kind} ({n} requests, profiler overhead included): own CPU per package")
    for key, seconds in by.most_common(12):
        print(f"  {key:<24}{seconds / n * 1000:>7.2f} ms {seconds / total:>6.1%}")


if __name__ == "__main__":
    main()
