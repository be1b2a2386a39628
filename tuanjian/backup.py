"""Backups and restores of the whole database (flask --app tuanjian backup / restore).

SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot while the app keeps
running; the copy is a single self-contained file (rollback journal, not WAL), checked with
``PRAGMA integrity_check`` before it gets its final name. Restore checks the source is an intact tuanjian
database, saves the current database beside itself, then copies the source into the live file with the same API.

PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean --if-exists --no-owner --single-transaction``.
Connection parameters go to the tools through libpq environment variables (PGHOST, PGPASSWORD, ...), never on
the command line and never in output. The dump shares a snapshot with the row counts we print (pg_export_snapshot).

Every failure is a ``BackupError`` with a Chinese message; the CLI turns it into an error line and exit code 1.
"""
from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
BACKUP_NAME = re.compile(r"^tuanjian-\d{8}-\d{6}\.(sqlite3|dump)$")
REQUIRED_TABLES = ("alembic_version", "orgs")
BUSY_TIMEOUT_S = 15

TABLE_LABELS = {
    "orgs": "组织", "org_code_changes": "组织代码变更", "org_stats": "录入进度统计", "people": "人员",
    "members": "团员", "cadre_posts": "团干部职务", "post_changes": "职务变更", "transfer_requests": "组织关系转接",
    "accounts": "账号", "admin_grants": "管理员", "registration_codes": "注册码", "reset_codes": "重置密码验证码",
    "throttles": "登录限制", "import_batches": "导入批次", "audit_log": "操作日志", "audit_orgs": "操作日志涉及的组织",
    "campaigns": "阶段任务", "form_stashes": "重新登录前填写的表单暂存",
    "campaign_confirmations": "阶段任务确认", "alembic_version": "数据库结构版本",
}

# libpq parameters a URL query may carry, and the environment variable each one becomes
_LIBPQ_ENV = {
    "host": "PGHOST", "hostaddr": "PGHOSTADDR", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD",
    "dbname": "PGDATABASE", "passfile": "PGPASSFILE", "service": "PGSERVICE", "options": "PGOPTIONS",
    "application_name": "PGAPPNAME", "sslmode": "PGSSLMODE", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY",
    "sslrootcert": "PGSSLROOTCERT", "sslcrl": "PGSSLCRL", "sslpassword": "PGSSLPASSWORD",
    "connect_timeout": "PGCONNECT_TIMEOUT", "gssencmode": "PGGSSENCMODE", "channel_binding": "PGCHANNELBINDING",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}


class BackupError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class BackupResult:
    path: Path
    size: int
    counts: dict[str, int]
    pruned: list[Path] = field(default_factory=list)


@dataclass
class RestoreResult:
    source: Path
    safety: Path | None
    counts: dict[str, int]
    source_version: str | None = None
    previous_version: str | None = None


# ---------------------------------------------------------------- the database the app uses

@dataclass(frozen=True)
class Target:
    kind: str               # sqlite or postgresql
    url: URL
    sqlite_path: Path | None = None

    @property
    def extension(self) -> str:
        return ".sqlite3" if self.kind == "sqlite" else ".dump"

    def describe(self) -> str:
        if self.kind == "sqlite":
            return f"SQLite 数据库文件 {self.sqlite_path}"
        u = self.url
        where = u.host or u.query.get("host") or "本机"
        if u.port:
            where += f":{u.port}"
        user = f"，用户 {u.username}" if u.username else ""
        return f"PostgreSQL 数据库 {u.database}（{where}{user}）"


def target_of(uri: str) -> Target:
    try:
        url = make_url(uri)
    except Exception:                                   # noqa: BLE001 - any unparsable URL
        raise BackupError("无法识别数据库地址（SQLALCHEMY_DATABASE_URI / TUANJIAN_DATABASE_URL）。") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file::memory:") or url.query.get("mode") == "memory":
            raise BackupError("当前使用内存数据库，没有可备份或恢复的数据库文件。")
        if database.startswith("file:"):
            database = database[5:].split("?", 1)[0]
        return Target("sqlite", url, Path(database).resolve())
    if backend == "postgresql":
        if not url.database:
            raise BackupError("PostgreSQL 数据库地址中没有数据库名。")
        return Target("postgresql", url)
    raise BackupError(f"不支持备份 {backend} 数据库：只支持 SQLite 和 PostgreSQL。")


# ---------------------------------------------------------------- backup

def backup(uri: str, dest: str | os.PathLike, *, keep: int | None = None, now: datetime | None = None,
           pg_bin_dir: str | None = None) -> BackupResult:
    """Back up the database at ``uri`` into ``dest`` (a file, or a directory that gets a timestamped file)."""
    target = target_of(uri)
    path, is_dir = _backup_path(Path(dest), target.extension, now or _local_now())
    if keep is not None and not is_dir:
        raise BackupError("--keep 只能与目录一起使用：请把备份目录（而不是文件名）作为 DEST。")
    if target.kind == "sqlite":
        if _same_file(path, target.sqlite_path):
            raise BackupError("备份文件不能是当前数据库文件本身。")
        counts = _sqlite_backup(target.sqlite_path, path)
    else:
        counts = _pg_backup(target, path, pg_bin_dir, _engine_for(target))
    pruned = prune(path.parent, keep, target.extension, protect=path) if keep is not None else []
    return BackupResult(path, path.stat().st_size, counts, pruned)


def _local_now() -> datetime:
    from .clock import to_local
    from .models.base import utcnow
    return to_local(utcnow())


def backup_file_name(now: datetime, extension: str) -> str:
    return f"tuanjian-{now:%Y%m%d-%H%M%S}{extension}"


def _backup_path(dest: Path, extension: str, now: datetime) -> tuple[Path, bool]:
    """A directory (existing, or a new path without a file extension) gets tuanjian-YYYYmmdd-HHMMSS<ext>."""
    dest = dest.expanduser()
    is_dir = dest.is_dir() or (not dest.exists() and not dest.suffix)
    path = dest / backup_file_name(now, extension) if is_dir else dest
    if path.exists():
        raise BackupError(f"备份文件 {path} 已存在，不会覆盖：请删除它，或换一个文件名，或以目录作为 DEST。")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"无法创建备份目录 {path.parent}：{exc.strerror or exc}") from None
    return path.resolve(), is_dir


def _same_file(a: Path, b: Path | None) -> bool:
    return b is not None and a.resolve() == b.resolve()


def prune(directory: Path, keep: int, extension: str, *, protect: Path | None = None) -> list[Path]:
    """Delete the backups (tuanjian-YYYYmmdd-HHMMSS<ext>) in ``directory`` beyond the newest ``keep``; the one
    just made (``protect``) counts as the newest even if the clock was set back."""
    mine = sorted((p for p in directory.iterdir() if p.is_file() and BACKUP_NAME.match(p.name)
                   and p.suffix == extension), key=lambda p: (p == protect, p.name), reverse=True)
    removed = []
    for old in mine[keep:]:
        try:
            old.unlink()
        except OSError as exc:
            raise BackupError(f"备份已完成，但无法删除旧备份 {old}：{exc.strerror or exc}") from None
        removed.append(old)
    return removed


@contextmanager
def _temporary(path: Path) -> Iterator[Path]:
    """Write to ``path``.part, and give it its real name only when the body succeeded."""
    part = path.with_name(path.name + ".part")
    part.unlink(missing_ok=True)
    try:
        yield part
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


def _sqlite_backup(live: Path, path: Path) -> dict[str, int]:
    if not live.is_file():
        raise BackupError(f"找不到数据库文件 {live}：还没有建立数据库（flask --app tuanjian db upgrade）或地址有误。")
    try:
        with _temporary(path) as part:
            with closing(_connect_live(live)) as src, closing(sqlite3.connect(part)) as dst:
                src.backup(dst)
                # a single self-contained file: rollback journal instead of the live database's WAL
                dst.execute("PRAGMA journal_mode = DELETE").fetchall()
                _check_integrity(dst, part)
                counts = _sqlite_counts(dst)
            return counts
    except sqlite3.Error as exc:
        raise BackupError(f"备份失败：{_sqlite_message(exc)}") from None
    except OSError as exc:
        raise BackupError(f"无法写入备份文件 {path}：{exc.strerror or exc}") from None


def _connect_live(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
    return conn


def _check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    rows = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
    if rows != ["ok"]:
        raise BackupError(f"{path} 完整性检查未通过：" + "；".join(str(r) for r in rows[:5]))


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                       "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")]


def _sqlite_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in _sqlite_tables(conn)}


def _sqlite_message(exc: sqlite3.Error) -> str:
    message = str(exc)
    if "locked" in message or "busy" in message:
        return f"数据库正忙（{message}），请稍后重试，或先停止网站服务。"
    return message


def _pg_backup(target: Target, path: Path, pg_bin_dir: str | None, engine, *, tuanjian: bool = True) -> dict[str, int]:
    pg_dump = find_pg_tool("pg_dump", pg_bin_dir)
    env = pg_env(target.url)
    with _temporary(path) as part:
        # the dump and our row counts read the same snapshot
        with _pg_connect(engine).execution_options(isolation_level="REPEATABLE READ") as conn:
            try:
                snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                counts = _pg_counts(conn)
            except Exception as exc:                        # noqa: BLE001 - any driver error
                raise BackupError(f"读取 PostgreSQL 数据库失败：{_first_line(exc)}") from None
            _run([pg_dump, "--format=custom", "--no-password", f"--snapshot={snapshot}", f"--file={part}"],
                 env, "pg_dump 备份失败", target)
            conn.rollback()
        _check_dump(part, pg_bin_dir, env, target, tuanjian=tuanjian)
    return counts


def _engine_for(target: Target):
    """Our own unpooled engine: no connection outlives its use (pg_restore --clean must not wait on one)."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool
    return create_engine(target.url, poolclass=NullPool, hide_parameters=True)


def _pg_connect(engine):
    try:
        return engine.connect()
    except Exception as exc:                                # noqa: BLE001 - any driver error
        raise BackupError(f"无法连接 PostgreSQL 数据库：{_redact(_first_line(exc), engine.url)}") from None


def _pg_counts(conn) -> dict[str, int]:
    names = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                              "ORDER BY tablename")).scalars().all()
    quote = conn.dialect.identifier_preparer.quote
    return {name: conn.execute(text(f"SELECT count(*) FROM {quote(name)}")).scalar_one() for name in names}


def find_pg_tool(name: str, pg_bin_dir: str | None = None) -> str:
    if pg_bin_dir:
        for candidate in (Path(pg_bin_dir) / name, Path(pg_bin_dir) / f"{name}.exe"):
            if candidate.is_file():
                return str(candidate)
    found = shutil.which(name)
    if not found:
        raise BackupError(f"找不到 {name}：请安装 PostgreSQL 客户端工具（主版本不低于数据库服务器），"
                          f"并把其 bin 目录加入 PATH，或设置环境变量 TUANJIAN_PG_BIN_DIR 为该目录。")
    return found


def pg_env(url: URL) -> dict[str, str]:
    """Environment for pg_dump/pg_restore: the inherited one (as libpq in the app sees it) plus the URL's
    parameters. The password travels only here (PGPASSWORD)."""
    env = dict(os.environ)
    for key, value in url.query.items():
        if key in _LIBPQ_ENV:
            env[_LIBPQ_ENV[key]] = value if isinstance(value, str) else value[-1]
    for var, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                       ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value is not None:
            env[var] = str(value)
    return env


def _run(args: list[str], env: dict[str, str], what: str, target: Target) -> str:
    try:
        done = subprocess.run(args, env=env, capture_output=True, text=True, encoding="utf-8", errors="replace")
    except OSError as exc:
        raise BackupError(f"{what}：无法运行 {args[0]}（{exc.strerror or exc}）") from None
    if done.returncode != 0:
        detail = _redact(done.stderr.strip() or done.stdout.strip(), target.url)
        raise BackupError(f"{what}（退出码 {done.returncode}）：{detail}")
    return done.stdout


def _redact(message: str, url: URL) -> str:
    password = url.password
    if password:
        message = message.replace(str(password), "***")
    lines = message.splitlines()
    return "\n".join(lines[:20]) + ("\n……" if len(lines) > 20 else "")


def _first_line(exc: Exception) -> str:
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]


def _check_dump(path: Path, pg_bin_dir: str | None, env: dict[str, str], target: Target, *,
                tuanjian: bool = True) -> list[str]:
    """``pg_restore --list`` reads the whole table of contents: a truncated or foreign file fails here;
    ``tuanjian`` also requires the tables every tuanjian database has."""
    pg_restore = find_pg_tool("pg_restore", pg_bin_dir)
    listing = _run([pg_restore, "--list", str(path)], env, f"{path} 不是有效的 pg_dump 备份", target)
    tables = re.findall(r"^\d+; \d+ \d+ TABLE \S+ (\S+) ", listing, flags=re.M)
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if tuanjian and missing:
        raise BackupError(f"{path} 不是团建数据库的备份：缺少数据表 {'、'.join(missing)}。")
    return tables


# ---------------------------------------------------------------- restore

@dataclass
class SourceInfo:
    path: Path
    kind: str
    size: int
    counts: dict[str, int] | None = None     # SQLite only: PostgreSQL dumps are not counted before restoring
    version: str | None = None


def inspect_source(uri: str, src: str | os.PathLike, *, pg_bin_dir: str | None = None) -> SourceInfo:
    """Check ``src`` is an intact tuanjian backup of the configured kind of database."""
    target = target_of(uri)
    path = Path(src).expanduser()
    if not path.exists():
        raise BackupError(f"找不到备份文件 {path}。")
    if not path.is_file():
        raise BackupError(f"{path} 不是文件（请指定一个备份文件，而不是目录）。")
    path = path.resolve()
    try:
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise BackupError(f"无法读取 {path}：{exc.strerror or exc}") from None
    kind = "sqlite" if head == SQLITE_MAGIC else "postgresql" if head.startswith(PGDUMP_MAGIC) else None
    if kind is None:
        raise BackupError(f"{path} 不是数据库备份文件（既不是 SQLite 数据库，也不是 pg_dump 备份）。")
    if kind != target.kind:
        names = {"sqlite": "SQLite 数据库", "postgresql": "PostgreSQL（pg_dump）备份"}
        raise BackupError(f"{path} 是 {names[kind]}，而当前使用的是 "
                          f"{'SQLite' if target.kind == 'sqlite' else 'PostgreSQL'} 数据库，不能用它恢复。")
    size = path.stat().st_size
    if kind == "postgresql":
        _check_dump(path, pg_bin_dir, pg_env(target.url), target)
        return SourceInfo(path, kind, size)
    if _same_file(path, target.sqlite_path):
        raise BackupError("不能用当前数据库文件恢复它自己：请指定一个备份文件。")
    try:
        with closing(_open_readonly(path)) as conn:
            tables = _sqlite_tables(conn)
            missing = [t for t in REQUIRED_TABLES if t not in tables]
            if missing:
                raise BackupError(f"{path} 不是团建数据库：缺少数据表 {'、'.join(missing)}。")
            _check_integrity(conn, path)
            version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            return SourceInfo(path, kind, size, _sqlite_counts(conn), version[0] if version else None)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} 无法作为 SQLite 数据库读取（文件已损坏？）：{exc}") from None


def _open_readonly(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        # a copy of a WAL database without its -shm file cannot be opened read-only the usual way
        return sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True, isolation_level=None)


def restore(uri: str, source: SourceInfo, *, now: datetime | None = None,
            pg_bin_dir: str | None = None) -> RestoreResult:
    """Overwrite the configured database with ``source`` (from ``inspect_source``), after saving the current
    one: SQLite beside the live file, PostgreSQL beside the source file. Close the app's pooled connections
    first (``db.engine.dispose()``)."""
    target = target_of(uri)
    stamp = f"{(now or _local_now()):%Y%m%d-%H%M%S}"
    if target.kind == "sqlite":
        return _sqlite_restore(target.sqlite_path, source, stamp)
    return _pg_restore(target, source, stamp, pg_bin_dir)


def _sqlite_version(path: Path) -> str | None:
    """The alembic revision of a SQLite database (None when it has none or cannot be read)."""
    if not path.is_file():
        return None
    try:
        with closing(_open_readonly(path)) as conn:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def _sqlite_restore(live: Path, source: SourceInfo, stamp: str) -> RestoreResult:
    previous = _sqlite_version(live)
    safety = None
    if live.is_file():
        safety = live.with_name(f"{live.stem}-before-restore-{stamp}.sqlite3")
        if safety.exists():
            raise BackupError(f"{safety} 已存在，请一秒后重试。")
        _sqlite_backup(live, safety)
    try:
        with closing(_open_readonly(source.path)) as src, closing(_connect_live(live)) as dst:
            src.backup(dst)
            _check_integrity(dst, live)
            counts = _sqlite_counts(dst)
    except sqlite3.Error as exc:
        note = f"恢复前的数据库已另存为 {safety}。" if safety else ""
        raise BackupError(f"恢复失败：{_sqlite_message(exc)}{note}") from None
    return RestoreResult(source.path, safety, counts, source.version, previous)


def _pg_restore(target: Target, source: SourceInfo, stamp: str, pg_bin_dir: str | None) -> RestoreResult:
    pg_restore = find_pg_tool("pg_restore", pg_bin_dir)
    engine = _engine_for(target)
    previous = _pg_version(engine)
    safety = source.path.with_name(f"tuanjian-before-restore-{stamp}.dump")
    if safety.exists():
        raise BackupError(f"{safety} 已存在，请一秒后重试。")
    try:
        _pg_backup(target, safety, pg_bin_dir, engine, tuanjian=False)    # may be empty (a new database)
    except BackupError as exc:
        raise BackupError(f"恢复前保存当前数据库失败，未做任何改动：{exc.message}") from None
    env = pg_env(target.url)
    try:
        _run([pg_restore, "--clean", "--if-exists", "--no-owner", "--single-transaction", "--no-password",
              f"--dbname={target.url.database}", str(source.path)], env, "pg_restore 恢复失败，数据库未改动", target)
    except BackupError as exc:
        raise BackupError(f"{exc.message}\n恢复前的数据库已另存为 {safety}。") from None
    with _pg_connect(engine) as conn:
        counts = _pg_counts(conn)
    return RestoreResult(source.path, safety, counts, _pg_version(engine), previous)


def _pg_version(engine) -> str | None:
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    except Exception:                                      # noqa: BLE001 - no table yet
        return None
    return row[0] if row else None


# ---------------------------------------------------------------- output and audit (the CLI commands)

def format_size(size: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}（{size:,} 字节）"
    return f"{size} 字节"


def count_lines(counts: dict[str, int]) -> list[str]:
    width = max((len(name) for name in counts), default=0)
    return [f"  {name:<{width}} {n:>9}  {TABLE_LABELS.get(name, '')}".rstrip() for name, n in counts.items()]


def record_audit(action: str, summary: str) -> str | None:
    """One audit entry per root organisation (the audit page shows entries of the viewer's subtree).
    Returns a warning instead of failing: the backup or restore itself has already succeeded."""
    from sqlalchemy import select

    from .extensions import db
    from .models import Org
    from .services import audit
    from .services.actor import Actor
    try:
        roots = db.session.scalars(select(Org.id).where(Org.parent_id.is_(None))).all() or [None]
        for org_id in roots:
            audit.record(db.session, Actor.system("命令行"), action, object_type="database", object_id=None,
                         org_id=org_id, summary=summary)
        db.session.commit()
    except Exception as exc:                               # noqa: BLE001 - e.g. an older schema after restore
        db.session.rollback()
        return f"（未能写入操作日志：{_first_line(exc)}）"
    return None


def cli_backup(dest: str, keep: int | None) -> None:
    """flask --app tuanjian backup DEST [--keep N]"""
    import click
    from flask import current_app
    uri = current_app.config["SQLALCHEMY_DATABASE_URI"]
    try:
        result = backup(uri, dest, keep=keep, pg_bin_dir=current_app.config.get("PG_BIN_DIR"))
    except BackupError as exc:
        raise _cli_error(exc.message) from None
    click.echo(f"已备份到：{result.path}")
    click.echo(f"大小：{format_size(result.size)}")
    click.echo("完整性检查：通过" if target_of(uri).kind == "sqlite" else "备份文件检查（pg_restore --list）：通过")
    click.echo("各表行数：")
    for line in count_lines(result.counts):
        click.echo(line)
    if keep is not None:
        click.echo(f"保留最新 {keep} 个备份，删除了 {len(result.pruned)} 个较早的备份"
                   + ("：" if result.pruned else "。"))
        for old in result.pruned:
            click.echo(f"  {old.name}")
    warning = record_audit("system.backup", f"备份数据库到 {result.path}（{format_size(result.size)}）")
    if warning:
        click.echo(warning)


def cli_restore(src: str, yes: bool) -> None:
    """flask --app tuanjian restore SRC --yes"""
    import click
    from flask import current_app

    from .extensions import db
    uri = current_app.config["SQLALCHEMY_DATABASE_URI"]
    pg_bin_dir = current_app.config.get("PG_BIN_DIR")
    try:
        target = target_of(uri)
        source = inspect_source(uri, src, pg_bin_dir=pg_bin_dir)
    except BackupError as exc:
        raise _cli_error(exc.message) from None
    click.echo(f"备份文件：{source.path}")
    click.echo(f"大小：{format_size(source.size)}")
    if source.counts is not None:
        click.echo("备份中各表行数：")
        for line in count_lines(source.counts):
            click.echo(line)
    click.echo(f"将被覆盖：{target.describe()}——其中的全部数据将被备份中的数据替换。")
    if not yes:
        click.echo("确认无误后，请加上 --yes 重新运行（建议先停止网站服务）。未做任何改动。")
        raise SystemExit(1)
    # close this process's connections: nothing may hold the database while it is replaced
    db.session.remove()
    db.engine.dispose()
    try:
        result = restore(uri, source, pg_bin_dir=pg_bin_dir)
    except BackupError as exc:
        raise _cli_error(exc.message) from None
    finally:
        db.engine.dispose()
    click.echo(f"已从 {result.source} 恢复数据库。")
    if result.safety:
        click.echo(f"恢复前的数据库已另存为：{result.safety}")
    click.echo("恢复后各表行数：")
    for line in count_lines(result.counts):
        click.echo(line)
    if result.previous_version and result.source_version and result.previous_version != result.source_version:
        click.echo(f"注意：备份的数据库结构版本（{result.source_version}）与恢复前（{result.previous_version}）不同；"
                   "如果备份来自旧版本，请接着运行 flask --app tuanjian db upgrade。")
    summary = f"从 {result.source} 恢复数据库" + (f"（恢复前的数据另存为 {result.safety}）" if result.safety else "")
    warning = record_audit("system.restore", summary)
    if warning:
        click.echo(warning)


def _cli_error(message: str):
    from .clitools import CliError
    return CliError(message)
