"""flask --app tuanjian backup / restore: a populated database round-trips table by table, on SQLite (online
backup API) and PostgreSQL (pg_dump / pg_restore); bad sources, refusals and --keep give clear Chinese messages."""
from __future__ import annotations

import os
import re
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import delete, inspect, select, text, update

from tuanjian import backup as bk
from tuanjian.extensions import db
from tuanjian.models import (
    AuditEntry,
    Base,
    Campaign,
    CampaignConfirmation,
    ImportBatch,
    Org,
    OrgCodeChange,
    PostChange,
    RegistrationCode,
    Throttle,
    TransferRequest,
    utcnow,
)
from tuanjian.services import audit
from tuanjian.services.actor import Actor

from . import factories

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")
HEAD = ScriptDirectory(MIGRATIONS).get_current_head()


# ---------------------------------------------------------------- helpers

@pytest.fixture
def versioned(app):
    """create_all() makes no alembic_version; a real database (and a valid backup) has one."""
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                          "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"))
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": HEAD})
    yield
    db.session.remove()
    with db.engine.begin() as conn:          # the PostgreSQL test schema is shared by later tests
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture
def populated(app, session, tree, versioned):
    """Rows in every table, with Chinese text, dates, JSON and a packed import report."""
    now = utcnow()
    system = Actor.system("测试")
    members = [factories.make_member(session, branch, name=name)
               for branch, name in ((tree.village, "李小红"), (tree.village, "王 强"), (tree.klass, "赵敏"))]
    members[0].dev_number, members[0].education, members[0].workplace = "2015000101", "大学本科", "华阳镇人民政府"
    members[2].deleted_at, members[2].deleted_reason = now, "录入错误"
    post = factories.make_cadre(session, tree.township, name="周干部", position="书记")
    session.add(PostChange(post_id=post.id, from_position="副书记", to_position="书记",
                           changed_on=date(2025, 3, 1), note="换届", by_person_id=tree.county_admin.id))
    factories.make_code(session, tree.village)
    factories.make_code(session, tree.klass, used=True)
    factories.make_code(session, tree.sibling, revoked=True)
    factories.make_reset_code(session, tree.branch_admin)
    from tuanjian.models import AdminGrant, FirstLoginCode
    session.add(FirstLoginCode(person_id=tree.school_admin.id, code="FLC34679", issued_at=now,
                               expires_at=now + timedelta(hours=48), issued_by_id=tree.county_admin.id,
                               grant_id=session.scalar(select(AdminGrant.id).where(
                                   AdminGrant.person_id == tree.school_admin.id))))
    session.add(ImportBatch(kind="members", org_id=tree.village.id, created_by_id=tree.township_admin.id,
                            created_at=now, file_name="华阳镇团员名单.xlsx", file_sha256="ab" * 32, status="committed",
                            report={"rows": [{"number": 3, "cells": {"name": "李小红"}, "errors": {}}]},
                            totals={"rows": 1, "new": 1, "update": 0, "unchanged": 0, "error": 0},
                            result={"created": [members[0].id]}, committed_at=now))
    session.add(TransferRequest(member_id=members[1].id, from_org_id=tree.village.id, to_org_id=tree.klass.id,
                                reason="升学", requested_by_id=tree.branch_admin.id))
    from tuanjian.models import ExceptionRequest
    excepted = ExceptionRequest(org_id=tree.village.id, approver_org_id=tree.county.id, name="例外甲",
                                id_number="340828200403150000", data={"name": "例外甲", "join_date": "2017-01"},
                                rules="join_age", reason="按当时当地规定入团", voucher="华阳镇团委",
                                scan=b"%PDF-1.4 scan", scan_type="application/pdf", scan_size=13, status="approved",
                                requested_by_id=tree.branch_admin.id, decided_by_id=tree.county_admin.id,
                                decided_at=now, decision_note="同意")
    session.add(excepted)
    session.flush()
    members[0].exception_id = excepted.id
    session.add(OrgCodeChange(org_id=tree.sibling_branch.id, old_code=tree.sibling_branch.code + "9",
                              new_code=tree.sibling_branch.code, reason="move"))
    session.add(Throttle(key="login:340828200005200011", failures=2, window_start=now))
    from tuanjian.models import FormStash
    session.add(FormStash(token="s" * 32, client_hash="c" * 64, account_id=tree.branch_admin.account.id,
                          action="/members/new", page="/members/new", payload={"fields": [["name", "王小明"]]},
                          size=40, created_at=now))
    from tuanjian.models import ExchangeLink
    session.add(ExchangeLink(root_code=tree.township.code, secret="ABCDEFGHJKLMNPQRSTUVWXYZ2", secret_set_at=now,
                             last_source_name="华阳镇团委（000.012.016.007.001）", last_created_at=now,
                             last_sha256="cd" * 32, last_applied_at=now, last_applied_by_id=tree.county_admin.id))
    from tuanjian.models import MembershipEvent, RegisterSnapshot
    session.add(MembershipEvent(person_id=members[0].person_id, org_id=tree.village.id, on_date=date(2025, 5, 4),
                                kind="first_entry", note="首次录入", created_by_id=tree.county_admin.id))
    session.add(MembershipEvent(person_id=members[2].person_id, org_id=tree.klass.id, on_date=date(2025, 6, 1),
                                kind="error", note="重复录入", erased=True))
    session.add(RegisterSnapshot(org_id=tree.county.id, on_date=date(2025, 12, 31), frozen_at=now,
                                 data={"total": [1, 2, 0, 3], "members": [["团员性别", [["女", 3]]]]},
                                 frozen_by_id=tree.county_admin.id))
    campaign = Campaign(org_id=tree.county.id, name="2026年团员信息采集", deadline=date(2026, 6, 30),
                        targets={"members": 100, "complete": 0.9}, created_by_id=tree.county_admin.id)
    session.add(campaign)
    session.flush()
    session.add(CampaignConfirmation(campaign_id=campaign.id, org_id=tree.township.id,
                                     confirmed_by_id=tree.township_admin.id))
    # 与智慧团建对账: a kept comparison (packed result, branch figures) and an explained difference
    from tuanjian.models import ReconcileExplanation
    from tuanjian.services import reconcile
    first = members[0].person
    kept = reconcile.rules.compare([reconcile.rules.Here(first.id_number, first.name, tree.village.id,
                                                         tree.village.short_name, {"phone": "13800000000"})], [],
                                   elsewhere=set(), explained={})
    reconcile.keep(session, system, tree.township, kept, file_names="智慧团建导出.xlsx", file_sha256="ef" * 32,
                   now=now)
    session.add(ReconcileExplanation(org_id=tree.village.id, id_number=first.id_number, field="phone",
                                     here_value="13800000000", there_value="13900000000", note="智慧团建未更新",
                                     created_by_id=tree.township_admin.id, created_at=now))
    audit.record(session, system, "member.update", object_type="member", object_id=members[0].id,
                 org_id=tree.village.id, summary="修改团员信息：李小红", before={"学历": None},
                 after={"学历": "大学本科", "单位": "华阳镇人民政府"},
                 people=[post.person_id])          # also filed under the township (an audit_orgs row)
    session.commit()
    from tuanjian.services.stats import refresh_all
    refresh_all(session, settings=app.extensions["tuanjian_settings"])
    from tuanjian.services.owners import tallies
    tallies.rebuild(session)              # the events above were written directly: the tallies counted from them
    session.commit()
    empty = [name for name, rows in snapshot().items() if not rows]
    assert empty == [], f"the round trip should cover rows in every table; empty: {empty}"
    return tree


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table (models' tables plus alembic_version), ordered by primary key."""
    tables = {}
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            tables[table.name] = [tuple(row) for row in
                                  conn.execute(select(table).order_by(*table.primary_key.columns))]
        if inspect(conn).has_table("alembic_version"):
            versions = conn.execute(text("SELECT version_num FROM alembic_version"))
            tables["alembic_version"] = [tuple(r) for r in versions]
    return tables


def without_system_entries(tables: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    action = [c.name for c in Base.metadata.tables["audit_log"].columns].index("action")
    return {**tables, "audit_log": [r for r in tables["audit_log"] if not r[action].startswith("system.")]}


def system_entries(action: str) -> list[AuditEntry]:
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def invoke(app, *args):
    db.session.close()                   # the command must not find this test's transaction open
    result = app.test_cli_runner().invoke(args=[str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def count_in(output: str, table: str) -> int:
    return int(re.search(rf"^  {table}\s+(\d+)", output, re.M).group(1))


def live_table_names() -> set[str]:
    with db.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


# ---------------------------------------------------------------- the round trip

def test_backup_then_restore_brings_back_every_row_of_every_table(app, session, populated, tmp_path, db_kind):
    county_id, village_id = populated.county.id, populated.village.id
    before, names_before = snapshot(), live_table_names()
    result = invoke(app, "backup", tmp_path / "backups")
    assert result.exit_code == 0, result.output
    path = Path(re.search(r"已备份到：(.+)", result.output).group(1))
    extension = ".sqlite3" if db_kind == "sqlite" else ".dump"
    assert path.parent == (tmp_path / "backups").resolve()
    assert re.fullmatch(r"tuanjian-\d{8}-\d{6}" + re.escape(extension), path.name)
    assert path.stat().st_size > 0 and f"{path.stat().st_size:,} 字节" in result.output
    assert ("完整性检查：通过" if db_kind == "sqlite" else "pg_restore --list）：通过") in result.output
    for name, rows in before.items():
        assert count_in(result.output, name) == len(rows), name
    assert [e.org_id for e in system_entries("system.backup")] == [county_id]
    if db_kind == "sqlite":
        with sqlite3.connect(path) as conn:       # one self-contained file, not a WAL database
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert not Path(str(path) + "-wal").exists()
    else:
        assert path.read_bytes()[:5] == b"PGDMP"
    assert not list(path.parent.glob("*.part"))

    # change data: add, update and delete rows across tables
    county, village = session.get(Org, county_id), session.get(Org, village_id)
    factories.make_member(session, village, name="新来的")
    factories.make_cadre(session, county, name="新干部")
    session.execute(delete(RegistrationCode))
    session.execute(delete(TransferRequest))
    session.execute(update(Org).where(Org.id == village.id).values(short_name="改名后的团支部"))
    session.execute(delete(AuditEntry).where(AuditEntry.action == "member.update"))
    session.add(ImportBatch(kind="cadres", org_id=county.id, file_name="干部.xlsx", file_sha256="cd" * 32,
                            report={"rows": []}))
    session.commit()
    changed = snapshot()
    assert without_system_entries(changed) != before

    refused = invoke(app, "restore", path)
    assert refused.exit_code == 1
    assert "将被覆盖" in refused.output and "--yes" in refused.output and "未做任何改动" in refused.output
    assert snapshot() == changed

    restored = invoke(app, "restore", path, "--yes")
    assert restored.exit_code == 0, restored.output
    assert "已从" in restored.output and "恢复后各表行数" in restored.output
    after = snapshot()
    assert live_table_names() == names_before
    assert set(after) == set(before)
    for name in before:
        assert without_system_entries(after)[name] == before[name], f"table {name} differs after restore"
    for name, rows in before.items():
        assert count_in(restored.output.split("恢复后各表行数")[1], name) == len(rows), name
    # the backup's own audit entry was written after the copy; the restore is recorded in the restored data
    assert system_entries("system.backup") == []
    [entry] = system_entries("system.restore")
    assert entry.org_id == county_id and str(path) in entry.summary and entry.actor_name == "命令行"

    # the database as it was before the restore was kept
    safety = Path(re.search(r"恢复前的数据库已另存为：(.+)", restored.output).group(1))
    assert safety.is_file()
    if db_kind == "sqlite":
        assert safety.parent == tmp_path.resolve() and safety.name.startswith("test-before-restore-")
        with sqlite3.connect(safety) as conn:
            assert conn.execute("SELECT count(*) FROM people WHERE name = '新来的'").fetchone() == (1,)
            assert conn.execute("SELECT count(*) FROM registration_codes").fetchone() == (0,)
    else:
        assert safety.parent == path.parent and safety.read_bytes()[:5] == b"PGDMP"

    # the app carries on: new rows get fresh ids (PostgreSQL sequences came back with the data)
    member = factories.make_member(session, session.get(Org, village_id), name="恢复后新增")
    session.commit()
    assert member.id > max(row[0] for row in before["members"])


@pytest.mark.parametrize("db_kind", ["sqlite"])      # the online backup API; pg_dump reads one snapshot by design
def test_backup_is_consistent_while_another_connection_writes(app, session, populated, tmp_path, db_kind):
    live = Path(bk.target_of(app.config["SQLALCHEMY_DATABASE_URI"]).sqlite_path)
    writer = sqlite3.connect(live, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE orgs SET short_name = '未提交的名字'")
        result = bk.backup(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "b.sqlite3")
        assert result.counts["orgs"] == 8
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    with sqlite3.connect(tmp_path / "b.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM orgs WHERE short_name = '未提交的名字'").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM orgs").fetchone()[0] == 8


def test_restore_into_a_new_empty_database(app, session, populated, tmp_path, db_kind):
    """A restore drill on a spare database: nothing there yet, so the safety copy is empty (or skipped)."""
    from sqlalchemy import create_engine

    from tuanjian import create_app
    before = snapshot()
    path = tmp_path / f"drill{'.sqlite3' if db_kind == 'sqlite' else '.dump'}"
    assert invoke(app, "backup", path).exit_code == 0
    if db_kind == "sqlite":
        url = f"sqlite:///{tmp_path}/spare/new.sqlite3"
        (tmp_path / "spare").mkdir()
    else:
        from sqlalchemy import make_url
        live = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
        drill = f"{live.database}_backup_drill"    # named after the test database: parallel runs never meet
        server = create_engine(live, isolation_level="AUTOCOMMIT")
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{drill}"'))
            conn.execute(text(f'CREATE DATABASE "{drill}"'))
        url = live.set(database=drill).render_as_string(hide_password=False)
    spare = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    try:
        with spare.app_context():
            result = spare.test_cli_runner().invoke(args=["restore", str(path), "--yes"])
            assert result.exit_code == 0, result.output
            assert without_system_entries(snapshot()) == without_system_entries(before)
            assert len(system_entries("system.restore")) == 1
            db.session.remove()
            db.engine.dispose()
    finally:
        if db_kind == "postgresql":
            with server.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{drill}"'))
            server.dispose()


# ---------------------------------------------------------------- refusals and bad sources

def test_restore_refuses_bad_sources_with_clear_messages(app, session, populated, tmp_path, db_kind):
    before = snapshot()
    (tmp_path / "notes.txt").write_text("这不是数据库", encoding="utf-8")
    (tmp_path / "empty.sqlite3").write_bytes(b"")
    (tmp_path / "a_dir").mkdir()
    foreign = tmp_path / "foreign.sqlite3"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    cases = [
        (tmp_path / "missing.sqlite3", "找不到备份文件"),
        (tmp_path / "a_dir", "不是文件"),
        (tmp_path / "notes.txt", "不是数据库备份文件"),
        (tmp_path / "empty.sqlite3", "不是数据库备份文件"),
    ]
    if db_kind == "sqlite":
        good = tmp_path / "good.sqlite3"
        assert invoke(app, "backup", good).exit_code == 0
        truncated = tmp_path / "truncated.sqlite3"
        truncated.write_bytes(good.read_bytes()[:4096])
        fake_dump = tmp_path / "x.dump"
        fake_dump.write_bytes(b"PGDMP" + b"\0" * 100)
        cases += [
            (foreign, "不是团建数据库：缺少数据表 alembic_version、orgs"),
            (truncated, "已损坏"),
            (fake_dump, "是 PostgreSQL（pg_dump）备份，而当前使用的是 SQLite 数据库"),
            (bk.target_of(app.config["SQLALCHEMY_DATABASE_URI"]).sqlite_path, "不能用当前数据库文件恢复它自己"),
        ]
    else:
        good = tmp_path / "good.dump"
        assert invoke(app, "backup", good).exit_code == 0
        truncated = tmp_path / "truncated.dump"
        truncated.write_bytes(good.read_bytes()[:200])
        cases += [
            (foreign, "是 SQLite 数据库，而当前使用的是 PostgreSQL 数据库"),
            (truncated, "不是有效的 pg_dump 备份"),
        ]
    for src, message in cases:
        result = invoke(app, "restore", src, "--yes")
        assert result.exit_code != 0, (src, result.output)
        assert message in result.output, (src, result.output)
    assert without_system_entries(snapshot()) == before
    assert system_entries("system.restore") == []


def test_backup_refuses_to_overwrite_and_keep_needs_a_directory(app, session, populated, tmp_path):
    target = tmp_path / "one.bak"
    assert invoke(app, "backup", target).exit_code == 0
    again = invoke(app, "backup", target)
    assert again.exit_code != 0 and "已存在，不会覆盖" in again.output
    keep = invoke(app, "backup", tmp_path / "two.bak", "--keep", "3")
    assert keep.exit_code != 0 and "--keep 只能与目录一起使用" in keep.output
    zero = invoke(app, "backup", tmp_path / "dir", "--keep", "0")
    assert zero.exit_code != 0
    assert not (tmp_path / "two.bak").exists()


def test_keep_deletes_only_older_backups_beyond_the_newest_n(app, session, populated, tmp_path, db_kind):
    ext = ".sqlite3" if db_kind == "sqlite" else ".dump"
    other = ".dump" if db_kind == "sqlite" else ".sqlite3"
    folder = tmp_path / "nightly"
    folder.mkdir()
    old = [folder / f"tuanjian-2020010{d}-020000{ext}" for d in range(1, 6)]
    keepers = [folder / "notes.txt", folder / f"tuanjian-20190101-020000{other}",
               folder / f"tuanjian-before-restore-20190101-020000{ext}", folder / f"mine{ext}"]
    for p in old + keepers:
        p.write_bytes(b"old")
    result = invoke(app, "backup", folder, "--keep", "3")
    assert result.exit_code == 0, result.output
    new = Path(re.search(r"已备份到：(.+)", result.output).group(1))
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [new.name, old[4].name, old[3].name] + [p.name for p in keepers])
    assert "保留最新 3 个备份，删除了 3 个较早的备份" in result.output
    for gone in old[:3]:
        assert gone.name in result.output


def test_missing_pg_tools_give_a_chinese_message(app, session, tmp_path, db_kind, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(bk.BackupError, match="找不到 pg_dump：请安装 PostgreSQL 客户端工具"):
        bk.find_pg_tool("pg_dump")
    if db_kind == "postgresql":
        result = invoke(app, "backup", tmp_path / "x.dump")
        assert result.exit_code != 0 and "找不到 pg_dump" in result.output and "TUANJIAN_PG_BIN_DIR" in result.output
        assert not (tmp_path / "x.dump").exists()


# ---------------------------------------------------------------- units

def test_password_goes_to_the_environment_never_the_command_line(monkeypatch):
    url = "postgresql+psycopg://tuan:p%40ss%20w0rd@db.example:6543/tuanjian?sslmode=require"
    target = bk.target_of(url)
    env = bk.pg_env(target.url)
    assert [env[k] for k in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE")] == ["db.example", "6543", "tuan", "tuanjian"]
    assert env["PGPASSWORD"] == "p@ss w0rd" and env["PGSSLMODE"] == "require"
    assert "p@ss w0rd" not in target.describe() and "tuanjian（db.example:6543，用户 tuan）" in target.describe()
    seen = []

    class Done:
        returncode, stdout, stderr = 1, "", "FATAL: password authentication failed, got p@ss w0rd"

    def fake_run(args, **kwargs):
        seen.append(args)
        return Done()
    monkeypatch.setattr(bk.subprocess, "run", fake_run)
    with pytest.raises(bk.BackupError) as failure:
        bk._run(["pg_dump", "--format=custom"], env, "pg_dump 备份失败", target)
    assert "p@ss w0rd" not in failure.value.message and "***" in failure.value.message
    assert not any("p@ss" in arg for arg in seen[0])


def test_target_of_rejects_what_cannot_be_backed_up():
    with pytest.raises(bk.BackupError, match="内存数据库"):
        bk.target_of("sqlite://")
    with pytest.raises(bk.BackupError, match="只支持 SQLite 和 PostgreSQL"):
        bk.target_of("mysql://u@h/db")
    assert bk.target_of("sqlite:///relative/x.sqlite3").sqlite_path.is_absolute()


def test_backup_file_names_sort_by_time():
    now = utcnow()
    names = [bk.backup_file_name(now + timedelta(seconds=s), ".dump") for s in (0, 59, 3600, 86400 * 40)]
    assert names == sorted(names) and all(bk.BACKUP_NAME.match(n) for n in names)
