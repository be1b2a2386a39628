"""Crash safety (issue 6): the process is SIGKILLed in the middle of a members-import commit or of a subtree
move. Reopened afterwards, the database holds all of it or none of it, passes its integrity checks, and its
org_stats rows agree with a fresh compute.

The work runs in a child process (the same service calls a request makes, in one transaction); the parent
kills it at several points, found from markers the child prints: a while after it starts the work, once the
transaction is about to commit (every write flushed and org_stats refreshed), and just before the COMMIT itself.
SQLite runs on a WAL file; PostgreSQL on a database of its own, created and dropped here, so the shared test
database stays untouched.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from tuanjian import create_app
from tuanjian.config import normalise_database_url
from tuanjian.demo import make_id
from tuanjian.domain.orgtree import OrgKind, recode
from tuanjian.extensions import db
from tuanjian.models import (
    Account,
    AuditEntry,
    CadrePost,
    ImportBatch,
    Member,
    Org,
    OrgCodeChange,
    OrgStats,
    Person,
    utcnow,
)
from tuanjian.services import member_imports, orgs, stats
from tuanjian.services.actor import Actor

from . import factories
from .conftest import PG_URL

ROOT = Path(__file__).resolve().parent.parent
IMPORT_ROWS = 4000                 # enough for the kills to land at several points of the work
BIG_GENERALS, BRANCHES_PER_GENERAL, MEMBERS_PER_BRANCH = 20, 50, 2     # a subtree of 1,021 orgs

CHILD = r"""
import os, sys, time
from sqlalchemy import event
from sqlalchemy.orm import Session
from tuanjian import create_app
from tuanjian.dbsetup import immediate
from tuanjian.extensions import db
from tuanjian.models import ImportBatch, Org, utcnow
from tuanjian.services.actor import Actor

url, job, person_id, scope_org_id, a, b = sys.argv[1:7]
started = False

def mark(what):
    if started:
        os.write(1, (what + "\n").encode())
        if what == os.environ.get("CRASH_PAUSE_AT"):
            time.sleep(30)                   # hold still here until the parent's SIGKILL arrives

app = create_app({"TESTING": True, "SECRET_KEY": "crash-test", "SQLALCHEMY_DATABASE_URI": url, "SERVER_NAME": None})
with app.app_context(), immediate():          # as in a POST request: SQLite takes the write lock at BEGIN
    settings = app.extensions["tuanjian_settings"]
    event.listen(Session, "before_commit", lambda session: mark("flushed"))    # after org_stats' own hook
    event.listen(db.engine, "commit", lambda conn: mark("committing"))         # just before the DBAPI commit
    scope = db.session.get(Org, int(scope_org_id))
    actor = Actor(person_id=int(person_id), name="crash", ip=None, org_id=scope.id, scope_code=scope.code)
    started = True
    mark("ready")
    if job == "import":
        from tuanjian.services.member_imports import commit_members
        commit_members(db.session, actor, db.session.get(ImportBatch, int(a)), mode="all", settings=settings,
                       now=utcnow())
    else:
        from tuanjian.services.orgs import move_org
        move_org(db.session, actor, db.session.get(Org, int(a)), db.session.get(Org, int(b)), settings=settings,
                 now=utcnow())
    db.session.commit()
    mark("done")
"""


# ---------------------------------------------------------------- a database of its own

@pytest.fixture
def crash_db(db_kind, tmp_path):
    """(app, url): an app on a fresh database the child processes share with this test."""
    admin = None
    if db_kind == "sqlite":
        url = f"sqlite:///{tmp_path}/crash.sqlite3"
    else:
        base = make_url(normalise_database_url(PG_URL))
        name = f"{base.database}_crash_{os.getpid()}"
        url = base.set(database=name).render_as_string(hide_password=False)
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": url,
                      "SERVER_NAME": None})
    with app.app_context():
        db.create_all()
        if admin is not None:
            # amcheck verifies tables and btree indexes (as PRAGMA integrity_check does on SQLite); it is a
            # contrib module a server may lack, or the test role may not be allowed to create
            try:
                with db.engine.begin() as conn:
                    conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS amcheck")
            except Exception:  # noqa: BLE001 - then the PostgreSQL checks below are the SQL ones only
                pass
    try:
        yield app, url, admin
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
            admin.dispose()


def _release(app, url, admin) -> None:
    """Drop this process's connections; on PostgreSQL also wait until no server process of a killed child is left
    on the database (one may still be finishing a statement before it notices its client is gone)."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if admin is None:
        return
    name = make_url(url).database
    deadline = time.monotonic() + 30
    with admin.connect() as conn:
        while conn.exec_driver_sql("SELECT count(*) FROM pg_stat_activity WHERE datname = %(n)s "
                                   "AND backend_type = 'client backend'", {"n": name}).scalar():
            assert time.monotonic() < deadline, "a killed child's server process is still running"
            time.sleep(0.05)


def _run_child(tmp_path, url, args, *, kill_at=None, delay=0.0, pause=False) -> dict:
    """Run the child; SIGKILL it ``delay`` seconds after it prints ``kill_at`` (never, when None). With ``pause``
    the child stops at that marker, so the kill lands exactly there. Returns the markers seen with their times,
    plus its exit status."""
    err = tmp_path / "child.err"
    env = {**os.environ, "CRASH_PAUSE_AT": kill_at if pause else ""}
    with open(err, "wb") as stderr:
        proc = subprocess.Popen([sys.executable, "-c", CHILD, url, *map(str, args)], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=stderr)
    seen = {}
    try:
        for line in proc.stdout:
            what = line.decode().strip()
            seen[what] = time.monotonic()
            if what == kill_at:
                if delay:
                    time.sleep(delay)
                proc.send_signal(signal.SIGKILL)
                break
        proc.stdout.close()
        seen["rc"] = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if seen["rc"] not in (0, -signal.SIGKILL):
        pytest.fail(f"the child failed (exit {seen['rc']}):\n{err.read_text()[-4000:]}")
    if kill_at is None:
        assert "done" in seen, err.read_text()[-4000:]
    return seen


def _kill_points(tmp_path, url, args, app, admin, check) -> list:
    """Kill the child at later and later points while the work is still undone; then let it finish.
    ``check()`` asserts all-or-nothing and returns True once the work is in."""
    outcomes = []
    _release(app, url, admin)
    # first: at the last moment before COMMIT (everything written, nothing committed), which also times the work
    seen = _run_child(tmp_path, url, args, kill_at="flushed", pause=True)
    _release(app, url, admin)
    outcomes.append(("flushed", check()))
    assert outcomes[-1][1] is False, "killed before its COMMIT, the work must be absent"
    work = seen["flushed"] - seen["ready"]
    # fractions of the work's duration after it starts (the first run is often slower: take the fastest seen),
    # then seconds after the COMMIT was issued (either outcome then)
    points = [("ready", f) for f in (0.0, 0.2, 0.5, 0.8, 0.97)] + [("committing", d) for d in (0.0, 0.002, 0.01, 0.05)]
    for kill_at, value in points:
        delay = value * work if kill_at == "ready" else value
        seen = _run_child(tmp_path, url, args, kill_at=kill_at, delay=delay)
        if "flushed" in seen:
            work = min(work, seen["flushed"] - seen["ready"])
        _release(app, url, admin)
        outcomes.append((f"{kill_at}+{delay:.3f}s", check()))
        if outcomes[-1][1]:
            break
    if not outcomes[-1][1]:
        _run_child(tmp_path, url, args)
        _release(app, url, admin)
        outcomes.append(("finished", check()))
    assert outcomes[-1][1] is True, outcomes
    print(f"work {work:.2f}s; kill point → committed:", outcomes)
    return outcomes


# ---------------------------------------------------------------- checks shared by both scenarios

def _check_database(app) -> None:
    """Integrity checks, and org_stats equal to a fresh compute for every live organisation."""
    session = db.session
    if db.engine.dialect.name == "sqlite":
        conn = session.connection()
        assert conn.exec_driver_sql("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    elif session.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'amcheck'")).scalar():
        tables = session.scalars(text("SELECT c.oid FROM pg_class c WHERE c.relkind = 'r' "
                                      "AND c.relnamespace = 'public'::regnamespace")).all()
        for oid in tables:
            assert session.execute(text("SELECT * FROM verify_heapam(:oid)"), {"oid": oid}).all() == []
        indexes = session.scalars(text(
            "SELECT c.oid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam "
            "WHERE a.amname = 'btree' AND c.relnamespace = 'public'::regnamespace")).all()
        assert indexes
        for oid in indexes:
            session.execute(text("SELECT bt_index_check(:oid, true)"), {"oid": oid})     # raises when corrupt
    for column in (Person.id_number, Org.code):
        assert session.execute(select(column, func.count()).group_by(column).having(func.count() > 1)).all() == []
    assert session.scalar(select(func.count()).select_from(Member).outerjoin(Person, Member.person_id == Person.id)
                          .where(Person.id.is_(None))) == 0
    settings = app.extensions["tuanjian_settings"]
    live = list(session.scalars(select(Org).where(Org.dissolved_at.is_(None))))
    fresh = {r["org_id"]: {k: v for k, v in r.items() if k != "updated_at"}
             for r in stats.expected_rows(session, live, settings=settings).values()}
    kept = {r.org_id: {c.key: getattr(r, c.key) for c in OrgStats.__table__.columns if c.key != "updated_at"}
            for r in session.scalars(select(OrgStats))}
    assert kept == fresh
    session.rollback()


# ---------------------------------------------------------------- import commit

def _names(i: int) -> str:
    return "团" + "".join("甲乙丙丁戊己庚辛壬癸"[int(d)] for d in str(i))


def _import_file(n: int, existing: list[Person]) -> tuple[bytes, list[str]]:
    head = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "所在团支部", "是否为团干部", "团内职务",
            "发展团员编号",
            "手机号码", "学历", "职业", "学习工作单位"]
    rows, numbers = [], []
    for i in range(n):
        number = make_id(date(2001, 1, 1) + timedelta(days=i % 2000), 100 + 2 * (i // 2000), i % 2 == 0)
        numbers.append(number)
        cadre = i % 500 == 0
        rows.append([_names(i), number, "汉族", "共青团员", "2020-05", "城东村团支部" if i % 3 else "东山村团支部",
                     "是" if cadre else "否", "组织委员" if cadre else "", f"2020{i:08d}", "13900000000",
                     "普通高中在读", "学生", ""])
    for p in existing:                           # already members: the import changes their phone (the ORM path)
        rows.append([p.name, p.id_number, "汉族", "共青团员", p.join_date, "城东村团支部", "否", "", "",
                     "13111111111", "", "", ""])
    return _workbook(head, rows), numbers


def _workbook(head, rows) -> bytes:
    """A write-only workbook (factories.text_workbook is quadratic in the rows: fine for tests, not for 20,000)."""
    from io import BytesIO

    from openpyxl import Workbook
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("团员")
    ws.append(head)
    for r in rows:
        ws.append(r)
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def test_killed_import_commit_is_all_or_nothing(crash_db, tmp_path):
    app, url, admin = crash_db
    with app.app_context():
        session = db.session
        tree = factories.make_tree(session)
        settings = app.extensions["tuanjian_settings"]
        actor = Actor(person_id=tree.township_admin.id, name="张镇", org_id=tree.township.id,
                      scope_code=tree.township.code)
        orgs.create_child(session, actor, tree.township, short_name="东山村团支部", kind=OrgKind.BRANCH,
                          settings=settings)
        existing = [factories.make_member(session, tree.village, name="老团员", join_date="2015-05").person
                    for _ in range(5)]
        session.commit()
        data, numbers = _import_file(IMPORT_ROWS, existing)
        batch = member_imports.preview_members(session, actor, tree.township, data=data, filename="团员.xlsx",
                                               settings=settings, now=utcnow())
        session.commit()
        assert batch.totals["new"] == IMPORT_ROWS and batch.totals["update"] == len(existing), batch.totals
        batch_id, person_id, scope_id = batch.id, tree.township_admin.id, tree.township.id
        old_ids = [p.id for p in existing]
        cadres_before = session.scalar(select(func.count()).select_from(CadrePost))
        accounts_before = session.scalar(select(func.count()).select_from(Account))
        _check_database(app)
    wanted = set(numbers)

    def check() -> bool:
        with app.app_context():
            session = db.session
            batch = session.get(ImportBatch, batch_id)
            have = wanted & set(session.scalars(select(Person.id_number)))
            in_members = session.scalar(select(func.count()).select_from(Member).where(
                Member.person_id.in_(select(Person.id).where(Person.name.like("团%"))), Member.deleted_at.is_(None)))
            phones = set(session.scalars(select(Person.phone).where(Person.id.in_(old_ids))))
            audits = session.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.action == "import.members"))
            cadres = session.scalar(select(func.count()).select_from(CadrePost)) - cadres_before
            accounts = session.scalar(select(func.count()).select_from(Account)) - accounts_before
            if batch.status == "committed":
                done = (len(have), in_members, phones, audits, cadres, accounts)
                assert done == (IMPORT_ROWS, IMPORT_ROWS, {"13111111111"}, 1, IMPORT_ROWS // 500,
                                IMPORT_ROWS // 500), done
                assert batch.committed_at is not None and batch.result["mode"] == "all"
            else:
                assert batch.status == "pending"
                none = (len(have), in_members, phones, audits, cadres, accounts)
                assert none == (0, 0, {"13800000000"}, 0, 0, 0), none
            session.rollback()
            _check_database(app)
            return batch.status == "committed"

    outcomes = _kill_points(tmp_path, url, ["import", person_id, scope_id, batch_id, 0], app, admin, check)
    assert len(outcomes) >= 3, outcomes


# ---------------------------------------------------------------- subtree move

def _big_subtree(session, county: Org) -> Org:
    """A 基层团委 under the county with BIG_GENERALS 团总支 of BRANCHES_PER_GENERAL 团支部 each, every branch with
    a few members: written with bulk inserts (thousands of create_child calls would take a while)."""
    actor = Actor.system("测试")
    s = factories.DEFAULT_SETTINGS
    big = orgs.create_child(session, actor, county, short_name="大镇团委", kind=OrgKind.COMMITTEE, settings=s,
                            is_township=True)
    now = utcnow()
    session.execute(Org.__table__.insert(), [
        {"parent_id": big.id, "code": f"{big.code}.{g + 1:03d}", "kind": OrgKind.GENERAL_BRANCH.value,
         "short_name": f"第{g + 1}团总支", "is_township": False, "sort_order": g + 1, "created_at": now}
        for g in range(BIG_GENERALS)])
    generals = session.execute(select(Org.id, Org.code).where(Org.parent_id == big.id)).all()
    session.execute(Org.__table__.insert(), [
        {"parent_id": gid, "code": f"{gcode}.{b + 1:03d}", "kind": OrgKind.BRANCH.value,
         "short_name": f"第{b + 1}团支部", "is_township": False, "sort_order": b + 1, "created_at": now}
        for gid, gcode in generals for b in range(BRANCHES_PER_GENERAL)])
    branches = session.scalars(select(Org.id).where(Org.code.like(f"{big.code}.%.%")).order_by(Org.id)).all()
    people = []
    for i, _ in enumerate(branches * MEMBERS_PER_BRANCH):
        people.append({"id_number": make_id(date(2002, 1, 1) + timedelta(days=i % 2000), 300 + 2 * (i // 2000),
                                            True), "name": "移动团员", "gender": "男", "birth_date": date(2002, 1, 1),
                       "ethnicity": "汉族", "political_status": "共青团员", "join_date": "2016-05",
                       "phone": "13900000000", "created_at": now, "updated_at": now})
    session.execute(Person.__table__.insert(), people)
    ids = session.scalars(select(Person.id).where(Person.name == "移动团员").order_by(Person.id)).all()
    session.execute(Member.__table__.insert(), [
        {"person_id": pid, "org_id": branches[i % len(branches)], "created_at": now, "updated_at": now}
        for i, pid in enumerate(ids)])
    return big


def test_killed_subtree_move_is_all_or_nothing(crash_db, tmp_path):
    app, url, admin = crash_db
    with app.app_context():
        session = db.session
        tree = factories.make_tree(session)
        settings = app.extensions["tuanjian_settings"]
        big = _big_subtree(session, tree.county)
        target = orgs.create_child(session, Actor.system("测试"), tree.county, short_name="园区团工委",
                                   kind=OrgKind.WORKING, settings=settings)
        session.commit()
        old_prefix, big_id, target_id, county_id = big.code, big.id, target.id, tree.county.id
        new_prefix = f"{target.code}.001"            # the target has no children yet
        args = ["move", tree.county_admin.id, tree.county.id, big_id, target_id]
        stats.refresh_all(session, settings=settings)             # (detaches every object)
        session.commit()
        old_codes = dict(session.execute(select(Org.id, Org.code).where(
            (Org.code == old_prefix) | Org.code.like(f"{old_prefix}.%"))).all())
        assert len(old_codes) == 1 + BIG_GENERALS * (1 + BRANCHES_PER_GENERAL)
        _check_database(app)

    def check() -> bool:
        with app.app_context():
            session = db.session
            codes = dict(session.execute(select(Org.id, Org.code).where(Org.id.in_(list(old_codes)))).all())
            changes = {(c.org_id, c.old_code, c.new_code) for c in session.scalars(
                select(OrgCodeChange).where(OrgCodeChange.reason == "move"))}
            moved_org = session.get(Org, big_id)
            audits = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "org.move"))
            below_old = session.scalar(select(func.count()).select_from(Org).where(
                (Org.code == old_prefix) | Org.code.like(f"{old_prefix}.%")))
            below_new = session.scalar(select(func.count()).select_from(Org).where(
                (Org.code == new_prefix) | Org.code.like(f"{new_prefix}.%")))
            moved = moved_org.parent_id == target_id
            if moved:
                expected = {i: recode(c, old_prefix, new_prefix) for i, c in old_codes.items()}
                assert codes == expected
                assert changes == {(i, old_codes[i], expected[i]) for i in old_codes}
                assert (below_old, below_new, audits) == (0, len(old_codes), 1)
            else:
                assert moved_org.parent_id == county_id
                assert codes == old_codes, "some codes were re-coded, others not"
                assert (changes, below_old, below_new, audits) == (set(), len(old_codes), 0, 0)
            session.rollback()
            _check_database(app)
            return moved

    outcomes = _kill_points(tmp_path, url, args, app, admin, check)
    assert len(outcomes) >= 3, outcomes
