"""`flask db upgrade` builds the schema the models describe, on SQLite and PostgreSQL (no drift)."""
from __future__ import annotations

import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, make_url, text

from tuanjian import create_app
from tuanjian.config import normalise_database_url
from tuanjian.extensions import db
from tuanjian.models import Base

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")


def _fresh_url(db_kind, tmp_path):
    if db_kind == "sqlite":
        return f"sqlite:///{tmp_path}/migrate.sqlite3"
    url = make_url(normalise_database_url(os.environ["TUANJIAN_TEST_DATABASE_URL"]))
    name = f"{url.database}_migrations"           # named after the test database: parallel runs never meet
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def test_upgrade_matches_models_and_downgrades(db_kind, tmp_path):
    url = _fresh_url(db_kind, tmp_path)
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            from tuanjian.models.base import exists_on
            dialect = conn.dialect.name
            opts = {"compare_type": True, "include_object": lambda obj, name, kind, reflected, compare_to:
                    reflected or exists_on(obj, dialect)}
            diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        assert "orgs" in inspect(db.engine).get_table_names()
        downgrade(directory=MIGRATIONS, revision="base")
        assert "orgs" not in inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_upgrade_keeps_existing_data(db_kind, tmp_path):
    """Batch mode rebuilds tables on SQLite: a database with data from the first revision upgrades intact."""
    url = _fresh_url(db_kind, tmp_path)
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="36a64d394e1b")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO orgs "
                              "(id, parent_id, code, kind, short_name, is_township, sort_order, created_at) "
                              "VALUES (1, NULL, '000.012', 'leading', '县团委', false, 0, '2026-01-01'), "
                              "(2, 1, '000.012.001', 'branch', '一支部', false, 1, '2026-01-01')"))
            conn.execute(text("INSERT INTO people (id, id_number, name, gender, birth_date, created_at, updated_at) "
                              "VALUES (1, '11010519491231002X', '张三', '女', '1949-12-31', "
                              "'2026-01-01', '2026-01-01')"))
            conn.execute(text("INSERT INTO members (id, person_id, org_id, created_at, updated_at) "
                              "VALUES (1, 1, 2, '2026-01-01', '2026-01-01')"))
            conn.execute(text("INSERT INTO cadre_posts (id, person_id, org_id, position, created_at) "
                              "VALUES (1, 1, 2, '书记', '2026-01-01')"))
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT short_name, secretary_presiding FROM orgs ORDER BY id")).all() == [
                ("县团委", False), ("一支部", False)]
            assert conn.execute(text("SELECT org_id FROM members")).scalar() == 2
            assert conn.execute(text("SELECT position, nature FROM cadre_posts")).one() == ("书记", None)
            # every live org got a placeholder stats row, which the first progress page computes
            assert conn.execute(text("SELECT count(*) FROM org_stats WHERE rules = ''")).scalar() == 2
        from tuanjian.models import Org
        from tuanjian.services.progress import now_and_today, progress
        now, today = now_and_today()
        report = progress(db.session, db.session.get(Org, 1), settings=app.extensions["tuanjian_settings"],
                          now=now, today=today)
        assert [(r.org.short_name, r.tally.members, r.tally.branches) for r in report.rows] == [("一支部", 1, 1)]
        db.session.remove()
        db.engine.dispose()


def test_upgrade_packs_stored_import_reports(db_kind, tmp_path):
    """Import batches stored as plain JSON before the packed format upgrade with their rows and totals intact,
    and come back as JSON on downgrade."""
    import json

    from tuanjian.domain.imports import ImportReport, RowOutcome
    from tuanjian.models import ImportBatch
    url = _fresh_url(db_kind, tmp_path)
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    report = ImportReport([RowOutcome(2, {"name": "张三"}, data={"name": "张三"}),
                           RowOutcome(3, {"name": ""}, kind="error", errors={"name": ["请填写姓名"]})])
    legacy = {"rows": [{"number": r.number, "cells": r.cells, "kind": r.kind, "data": r.data, "errors": r.errors,
                        "note": r.note} for r in report.rows], "totals": report.totals()}
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="73ea640e6c24")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO orgs (id, parent_id, code, kind, short_name, is_township, sort_order, "
                              "created_at, secretary_presiding) VALUES (1, NULL, '000.012', 'leading', '县团委', "
                              "false, "
                              "0, '2026-01-01', false)"))
            conn.execute(text("INSERT INTO import_batches (id, kind, org_id, created_at, file_name, file_sha256, "
                              "status, report) VALUES (1, 'members', 1, '2026-01-01', 'a.xlsx', :sha, 'pending', "
                              ":report)"), {"sha": "0" * 64, "report": json.dumps(legacy)})
        upgrade(directory=MIGRATIONS)
        batch = db.session.get(ImportBatch, 1)
        assert batch.totals == report.totals()
        assert ImportReport.from_json(batch.report) == report
        db.session.remove()
        downgrade(directory=MIGRATIONS, revision="73ea640e6c24")
        with db.engine.connect() as conn:
            stored = conn.execute(text("SELECT report FROM import_batches")).scalar()
        assert ImportReport.from_json(json.loads(stored) if isinstance(stored, str) else stored) == report
        db.engine.dispose()


def test_upgrade_canonicalises_identity_strings_without_merging(db_kind, tmp_path):
    """Issue 15: stored ID numbers, 发展团员编号, names and org names take their canonical form; a full-width copy of
    a number another person holds is left as it is (never merged) and check-people lists the pair."""

    url = _fresh_url(db_kind, tmp_path)
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    full = "１１０１０５１９４９１２３１００２ｘ"                 # 11010519491231002X in full-width, lower-case x
    # a pasted space inside the number: SQLite keeps it; PostgreSQL's varchar(18) could never have held 19
    # characters, so there the number carries a full-width digit instead
    padded = "110101 200001011208" if db_kind == "sqlite" else "110101２00001011208"
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="e5a7c1d9b3f2")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO orgs (id, parent_id, code, kind, short_name, full_name, is_township, "
                              "sort_order, created_at, secretary_presiding) VALUES "
                              "(1, NULL, '000.012', 'leading', '县团委', NULL, false, 0, '2026-01-01', false), "
                              "(2, 1, '000.012.001', 'branch', '高一（1）班团支部', '望江中学高一（1）班团支部', "
                              "false, 1, "
                              "'2026-01-01', false)"))
            people = [(1, "11010519491231002X", "张三"), (2, full, "张三"), (3, "110101200001011232", "王　芳"),
                      (4, padded, "阿依古丽•买买提")]
            for pid, number, name in people:
                conn.execute(text("INSERT INTO people (id, id_number, name, gender, birth_date, created_at, "
                                  "updated_at) VALUES (:i, :n, :name, '女', '2000-01-01', '2026-01-01', '2026-01-01')"),
                             {"i": pid, "n": number, "name": name})
            for mid, pid, dev in [(1, 1, "201700000001"), (2, 2, None), (3, 3, "２０１７ ０００００００２"),
                                  (4, 4, None)]:
                conn.execute(text("INSERT INTO members (id, person_id, org_id, dev_number, created_at, updated_at) "
                                  "VALUES (:m, :p, 2, :d, '2026-01-01', '2026-01-01')"), {"m": mid, "p": pid, "d": dev})
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT id, id_number, name FROM people ORDER BY id")).all() == [
                (1, "11010519491231002X", "张三"), (2, full, "张三"),          # the duplicate is kept, not merged
                (3, "110101200001011232", "王芳"), (4, "110101200001011208", "阿依古丽·买买提")]
            assert conn.execute(text("SELECT dev_number FROM members ORDER BY id")).scalars().all() == [
                "201700000001", None, "201700000002", None]
            assert conn.execute(text("SELECT short_name, full_name FROM orgs WHERE id = 2")).one() == (
                "高一(1)班团支部", "望江中学高一(1)班团支部")
        result = app.test_cli_runner().invoke(args=["check-people"])
        assert result.exit_code == 1, result.output
        assert "登记了 2 次" in result.output and "人员#1" in result.output and "人员#2" in result.output
        assert "110105********002X" in result.output and "人员#3" not in result.output
        # resolved by deleting the duplicate's membership: no longer listed
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE members SET deleted_at = '2026-12-01' WHERE id = 2"))
        result = app.test_cli_runner().invoke(args=["check-people"])
        assert result.exit_code == 0 and "没有发现重复" in result.output
        db.session.remove()
        downgrade(directory=MIGRATIONS, revision="e5a7c1d9b3f2")
        db.engine.dispose()


def test_upgrade_makes_default_password_accounts_unclaimed(db_kind, tmp_path):
    """Issue 24: an account still on the default password, or flagged to change it, becomes unclaimed (and keeps only
    the default password); one with a password of its holder's own is claimed; old first-login codes are void."""
    url = _fresh_url(db_kind, tmp_path)
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="6c76d8d15026")
        with db.engine.begin() as conn:
            for pid in (1, 2, 3):
                conn.execute(text("INSERT INTO people (id, id_number, name, gender, birth_date, created_at, "
                                  "updated_at) VALUES (:i, :n, '张三', '女', '2000-01-01', '2026-01-01', "
                                  "'2026-01-01')"), {"i": pid, "n": f"11010120000101{1230 + pid}"})
            for aid, pid, hashed, must in [(1, 1, "scrypt:own", False), (2, 2, None, True), (3, 3, "scrypt:set", True)]:
                conn.execute(text("INSERT INTO accounts (id, person_id, password_hash, must_change_password, "
                                  "failed_logins, session_version, created_at) VALUES (:a, :p, :h, :m, 0, 1, "
                                  "'2026-01-02')"), {"a": aid, "p": pid, "h": hashed, "m": must})
            conn.execute(text("INSERT INTO first_login_codes (id, person_id, code, issued_at, expires_at) VALUES "
                              "(1, 2, 'AbCd2345', '2026-01-02', '2099-01-01')"))
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, password_hash, claimed_at FROM accounts ORDER BY id")).all()
            assert [(r[0], r[1], r[2] is not None) for r in rows] == [(1, "scrypt:own", True), (2, None, False),
                                                                      (3, None, False)]
            assert conn.execute(text("SELECT places_fingerprint FROM first_login_codes")).scalar() is None
        downgrade(directory=MIGRATIONS, revision="6c76d8d15026")
        with db.engine.connect() as conn:
            assert [tuple(r) for r in conn.execute(text(
                "SELECT id, must_change_password FROM accounts ORDER BY id"))] == [(1, False), (2, True), (3, True)]
        db.engine.dispose()


def test_upgrade_turns_full_stops_in_names_into_the_middle_dot(db_kind, tmp_path):
    """Issue 25: a name stored with a full stop between its parts ("阿依古丽.艾买提") takes "·"; Latin initials
    ("J. Smith"), rare characters (U+2B5AF, extension G) and compatibility ideographs are kept as stored."""
    url = _fresh_url(db_kind, tmp_path)
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    names = {1: ("阿依古丽.艾买提", "阿依古丽·艾买提"), 2: ("古丽娜尔．吐尔逊", "古丽娜尔·吐尔逊"),
             3: ("买买提 。 \U0002b5af", "买买提·\U0002b5af"), 4: ("J. Smith", "J. Smith"),
             5: ("\U00030000\U00031350明", "\U00030000\U00031350明"), 6: ("\uf900明", "\uf900明")}
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="6c76d8d15026")
        with db.engine.begin() as conn:
            for pid, (name, _) in names.items():
                conn.execute(text("INSERT INTO people (id, id_number, name, gender, birth_date, created_at, "
                                  "updated_at) VALUES (:i, :n, :name, '女', '2000-01-01', '2026-01-01', '2026-01-01')"),
                             {"i": pid, "n": f"11010120000101{pid:04d}", "name": name})
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            assert dict(conn.execute(text("SELECT id, name FROM people")).all()) == {
                pid: after for pid, (_, after) in names.items()}
        db.session.remove()
        downgrade(directory=MIGRATIONS, revision="6c76d8d15026")
        db.engine.dispose()


def test_upgrade_turns_members_deletions_and_transfers_into_events(db_kind, tmp_path):
    """Issue 27: every member gets its 团籍变动 back without loss: 首次录入 where it was first entered, accepted
    transfers as 转出/转入 pairs, deletions (from the log and the row) with the kind their free text names and the
    text as note, restorations; 录入错误 erases its span; an unrecognisable reason stays a counted departure."""
    url = _fresh_url(db_kind, tmp_path)
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="6c76d8d15026")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO orgs (id, parent_id, code, kind, short_name, is_township, sort_order, "
                              "created_at, secretary_presiding) VALUES "
                              "(1, NULL, '000.012', 'leading', '县团委', false, 0, '2026-01-01', false), "
                              "(2, 1, '000.012.001', 'branch', '一支部', false, 1, '2026-01-01', false), "
                              "(3, 1, '000.012.002', 'branch', '二支部', false, 2, '2026-01-01', false)"))
            for pid in range(1, 6):
                conn.execute(text("INSERT INTO people (id, id_number, name, gender, birth_date, created_at, "
                                  "updated_at) VALUES (:i, :n, :name, '女', '2000-01-01', '2026-01-01', "
                                  "'2026-01-01')"), {"i": pid, "n": f"11010120000101{pid:04d}", "name": f"人{pid}"})
            members = [  # id, person, org, created, updated, deleted_at, reason
                (1, 1, 2, "2026-01-10 02:00:00", "2026-01-10 02:00:00", None, None),          # plain
                (2, 2, 3, "2026-01-10 02:00:00", "2026-03-01 02:00:00", None, None),          # transferred 2 -> 3
                (3, 3, 2, "2026-01-10 02:00:00", "2026-04-01 02:00:00", "2026-04-01 02:00:00", "重复录入"),
                (4, 4, 2, "2026-01-10 02:00:00", "2026-05-01 02:00:00", "2026-05-01 02:00:00", "不来了"),
                (5, 5, 2, "2026-01-10 02:00:00", "2026-06-01 02:00:00", None, None),          # deleted, restored
            ]
            for row in members:
                conn.execute(text("INSERT INTO members (id, person_id, org_id, created_at, updated_at, deleted_at, "
                                  "deleted_reason) VALUES (:a, :b, :c, :d, :e, :f, :g)"),
                             dict(zip("abcdefg", row)))
            conn.execute(text("INSERT INTO transfer_requests (id, member_id, from_org_id, to_org_id, reason, status, "
                              "requested_at, decided_at) VALUES (1, 2, 2, 3, '就业', 'accepted', "
                              "'2026-02-27 02:00:00', '2026-02-28 20:00:00')"))
            for at, action, oid, summary, after in [
                    ("2026-04-01 02:00:00", "member.delete", 3, "删除团员记录：人3", '{"reason": "重复录入"}'),
                    ("2026-02-01 02:00:00", "member.delete", 5, "删除团员记录：人5", '{"reason": "超龄"}'),
                    ("2026-06-01 02:00:00", "member.add", 5, "恢复团员：人5，一支部", None)]:
                conn.execute(text("INSERT INTO audit_log (at, actor_name, action, object_type, object_id, org_id, "
                                  "summary, after) VALUES (:at, '系统', :action, 'member', :oid, 2, :summary, "
                                  ":after)"), {"at": at, "action": action, "oid": oid, "summary": summary,
                                               "after": after})
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            got = [tuple(r) for r in conn.execute(text(
                "SELECT person_id, org_id, on_date, kind, note, erased FROM membership_events ORDER BY id"))]
        got = [(p, o, str(d)[:10], k, n, bool(e)) for p, o, d, k, n, e in got]
        assert got == [
            (1, 2, "2026-01-10", "first_entry", None, False),
            (2, 2, "2026-01-10", "first_entry", None, False),
            (2, 2, "2026-03-01", "out_county", "就业", False),        # 20:00 UTC is the next day in Beijing
            (2, 3, "2026-03-01", "in_county", "就业", False),
            (3, 2, "2026-01-10", "first_entry", None, True),
            (3, 2, "2026-04-01", "error", "重复录入", True),
            (4, 2, "2026-01-10", "first_entry", None, False),
            (4, 2, "2026-05-01", "unstated", "不来了", False),
            (5, 2, "2026-01-10", "first_entry", None, False),
            (5, 2, "2026-02-01", "overage", "超龄", False),
            (5, 2, "2026-06-01", "restored", None, False),
        ]
        # next_on (c5f7a9b1d3e6): the date of the person's next counted event; none for the latest and erased rows
        with db.engine.connect() as conn:
            nxt = [None if d is None else str(d)[:10]
                   for d, in conn.execute(text("SELECT next_on FROM membership_events ORDER BY id"))]
        assert nxt == [None, "2026-03-01", "2026-03-01", None, None, None, "2026-05-01", None, "2026-02-01",
                       "2026-06-01", None]
        # member_tallies (d7e9f1a3b5c8): filled by a recount of the members placed now (people 1, 2 and 5)
        with db.engine.connect() as conn:
            filled = {(f, v): n for f, v, n in conn.execute(text("SELECT field, value, n FROM member_tallies"))}
        assert filled == {("gender", "女"): 3, ("ethnicity", ""): 3, ("birth", "2000-01-01"): 3,
                          ("education", ""): 3, ("occupation", ""): 3, ("political_status", ""): 3}
        from tuanjian.services.owners import tallies
        assert tallies.stored(db.session) == tallies.recount(db.session) == filled
        db.session.remove()
        downgrade(directory=MIGRATIONS, revision="6c76d8d15026")
        db.engine.dispose()
