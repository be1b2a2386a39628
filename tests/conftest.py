"""Test toolbox: an app per test on SQLite (and on PostgreSQL when TUANJIAN_TEST_DATABASE_URL is set).

The schema is built once per session, and every test starts from an empty copy of it: on SQLite a copy of a template
file made once (copying a file is much cheaper than creating every table and index again); on PostgreSQL the tables of
the one test database are emptied with DELETE and their sequences restarted (a few milliseconds, where TRUNCATE takes
about 90 ms and a copy of a template database about 200 ms on a small server)."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from flask.globals import _cv_app
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from tuanjian import create_app
from tuanjian.config import normalise_database_url
from tuanjian.extensions import db
from tuanjian.models import Base

from . import factories, owner_guard
from .replay import replayed


def _database_of_this_worker(url: str | None) -> str | None:
    """Under pytest-xdist each worker process gets a PostgreSQL database of its own: the test database's name with
    the worker id appended (test_gw0, test_gw1, …), created on the same server when missing. The environment
    variable is rewritten too, so tests that read it (the migration test's scratch database) stay apart as well.

    The test database commits without waiting for its write-ahead log to reach the disk (synchronous_commit off,
    as PostgreSQL's docs suggest for data one can afford to lose): a commit is still a commit for every other
    connection, and a killed client still leaves it whole (tests/test_crash_safety.py); only a crash of the
    server itself could lose the last few, which no test does."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url:
        return url
    from sqlalchemy.engine import make_url
    base = make_url(normalise_database_url(url))
    name = f"{base.database}_{worker}" if worker else base.database
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit TO off')
    finally:
        admin.dispose()
    if not worker:
        return url
    mine = base.set(database=name).render_as_string(hide_password=False)
    os.environ["TUANJIAN_TEST_DATABASE_URL"] = mine
    return mine


PG_URL = _database_of_this_worker(os.environ.get("TUANJIAN_TEST_DATABASE_URL"))
DB_KINDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
_pg_schema_ready = False
_sqlite_template: Path | None = None
_pg_empty_statement: str | None = None


def _compile_url_builders_once() -> None:
    """Every test creates its app, and werkzeug compiles two Python functions for each of the ~95 URL rules every
    time (a fifth of the suite's CPU). Such a function depends only on the rule's parsed parts and defaults, and it
    is bound to its rule when called, so one compiled copy serves the same rule in every app of this process."""
    from werkzeug.routing.rules import Rule
    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None or getattr(compile_builder, "cached", False):
        return                                     # another werkzeug: compile as it does
    compiled: dict = {}

    def cached(self, append_unknown: bool = True):
        key = (self.rule, tuple(self._trace), repr(sorted((self.defaults or {}).items())), append_unknown)
        if key not in compiled:
            compiled[key] = compile_builder(self, append_unknown)
        return compiled[key]
    cached.cached = True
    Rule._compile_builder = cached


_compile_url_builders_once()


def _parse_url_rules_once() -> None:
    """The other half of a URL rule's set-up in every app: parsing the rule text into its parts (regex, weights),
    a sixth of creating an app. The parts depend only on the text and the map's converter classes; the converters
    themselves are made anew for each rule, as werkzeug does."""
    from werkzeug.routing.rules import Rule
    parse = Rule._parse_rule
    if getattr(parse, "cached", False):
        return
    parsed: dict = {}

    def cached(self, rule: str):
        key = (rule, tuple(sorted(self.map.converters.items(), key=lambda kv: kv[0])))
        hit = parsed.get(key)
        if hit is None:
            made, start = [], len(self._trace)
            get_converter = self.get_converter
            self.get_converter = lambda *call: made.append(call) or get_converter(*call)
            try:
                parts = list(parse(self, rule))
            finally:
                del self.get_converter
            hit = parsed[key] = (parts, self._trace[start:], made)
            return parts
        parts, trace, made = hit
        self._trace.extend(trace)
        for variable, converter, args, kwargs in made:
            self._converters[variable] = self.get_converter(variable, converter, args, kwargs)
            self.arguments.add(variable)
        return list(parts)
    cached.cached = True
    Rule._parse_rule = cached


_parse_url_rules_once()


def _compile_templates_once() -> None:
    """Every test's app has its own Jinja environment, which lexes, parses and compiles each template it renders
    again (about a third of a web test's CPU). Jinja's bytecode cache is the supported way to skip that: here one
    in-memory cache serves every app of this process. A compiled template depends on its name, file, source and
    the environment's syntax options, so all of them are the key (a template edited, or an app with other
    options, compiles anew)."""
    from flask import Flask
    from jinja2.bccache import Bucket, BytecodeCache

    if getattr(Flask.create_jinja_environment, "shared_bytecode", False):
        return

    class SharedBytecode(BytecodeCache):
        def __init__(self) -> None:
            self.code: dict = {}

        def get_bucket(self, environment, name, filename, source):
            e = environment
            syntax = (e.block_start_string, e.block_end_string, e.variable_start_string, e.variable_end_string,
                      e.comment_start_string, e.comment_end_string, e.line_statement_prefix, e.line_comment_prefix,
                      e.trim_blocks, e.lstrip_blocks, e.newline_sequence, e.keep_trailing_newline, e.optimized,
                      e.is_async, e.autoescape if isinstance(e.autoescape, bool) else e.autoescape(name),
                      e.finalize is not None, tuple(sorted(e.extensions)))
            bucket = Bucket(environment, repr((name, filename, syntax)), self.get_source_checksum(source))
            self.load_bytecode(bucket)
            return bucket

        def load_bytecode(self, bucket) -> None:
            checksum, code = self.code.get(bucket.key, (None, None))
            if checksum == bucket.checksum:
                bucket.code = code

        def dump_bytecode(self, bucket) -> None:
            self.code[bucket.key] = (bucket.checksum, bucket.code)

    shared = SharedBytecode()
    create = Flask.create_jinja_environment

    def create_jinja_environment(self):
        env = create(self)
        env.bytecode_cache = shared
        return env
    create_jinja_environment.shared_bytecode = True
    Flask.create_jinja_environment = create_jinja_environment


_compile_templates_once()


def _share_compiled_sql() -> None:
    """Every test's app makes its own engine, and SQLAlchemy keeps its cache of compiled SQL per engine, keyed by the
    engine's dialect object: each test compiled most of its statements anew (a fifth of a web test's CPU). Here the
    engines made in this process for the same kind of database, driver and options share the first one's dialect
    (same class, same options, same server) and its cache, so a statement is compiled once per process, as in a
    long-running server. Each engine keeps its own URL, pool and connections."""
    from flask_sqlalchemy.extension import SQLAlchemy

    make = SQLAlchemy._make_engine
    if getattr(make, "shared_dialect", False):
        return
    first: dict = {}

    def _make_engine(self, bind_key, options, app):
        engine = make(self, bind_key, options, app)
        key = (engine.dialect.name, engine.dialect.driver, engine.url.get_backend_name(),
               repr(sorted((k, v) for k, v in options.items() if k != "url")))
        donor = first.get(key)
        if donor is not None and _initialised(donor.dialect) and engine._compiled_cache is not None:
            engine.dialect = donor.dialect
            engine._compiled_cache = donor._compiled_cache
        else:                   # a dialect is shared only once its first connection has set it up (initialize)
            first[key] = engine
        return engine

    def _initialised(dialect) -> bool:
        return "server_version_info" in vars(dialect)
    _make_engine.shared_dialect = True
    SQLAlchemy._make_engine = _make_engine


_share_compiled_sql()


def _cheap_password_hashing() -> None:
    """Passwords the app stores while tests run (claiming an account, 首次登录, a reset, a new password, the demo
    admins) are hashed with scrypt at a small work factor (N=256 instead of werkzeug's 2**15; OpenSSL refuses much
    less): still an ``scrypt:`` hash that check_password_hash verifies from its own parameters, in about a
    millisecond instead of ~0.1 s of CPU each. The unknown-ID comparison hash is made the same way. Only this test
    process is changed: the production default stays werkzeug's (tests/web/test_security.py checks it), and servers
    a test starts in another process (gunicorn, CLI) hash as in production."""
    from werkzeug.security import generate_password_hash

    from tuanjian import demo
    from tuanjian.services import accounts
    from tuanjian.services.owners import accounts as owner
    if getattr(owner.generate_password_hash, "cheap", False):
        return

    def cheap(password: str, method: str = "scrypt", salt_length: int = 16) -> str:
        return generate_password_hash(password, "scrypt:256:8:1" if method == "scrypt" else method, salt_length)
    cheap.cheap = True
    cheap.__wrapped__ = generate_password_hash
    owner.generate_password_hash = demo.generate_password_hash = cheap
    accounts._DUMMY_HASH = cheap("not-a-real-password-0")


_cheap_password_hashing()


class FreshRequestClient(FlaskClient):
    """The fixtures keep an app context pushed (so tests share the session with the app). Flask reuses an
    outer app context for requests, which would carry ``g`` (e.g. flask-login's cached user) from one request
    to the next; production gives every request a fresh ``g``, so we clear it before each request."""

    def open(self, *args, **kwargs):
        ctx = _cv_app.get(None)
        if ctx is not None:
            for name in list(vars(ctx.g)):
                delattr(ctx.g, name)
            db.session.expire_all()
        return super().open(*args, **kwargs)


_made_apps: list = []      # every app make_app built during the current test (their pools are closed after it)


@pytest.fixture(autouse=True)
def _only_owners_write_person_tables():
    """Issue 24: a test fails when code under tuanjian/ wrote a person table outside its owner (tests/test_owners.py,
    tests/owner_guard.py)."""
    from .test_owners import owned_tables
    owner_guard.install(owned_tables())
    owner_guard.check_no_violations()
    yield
    found = owner_guard.check_no_violations()
    assert not found, "person tables written outside their owner (services/owners):\n" + "\n".join(found)


@pytest.fixture(autouse=True)
def _close_pools_of_apps_made_in_the_test():
    """A test that builds its own app (make_app) leaves that app's pool open; a pooled PostgreSQL connection then
    closes in the garbage collector during some later test, which fails there as an unraisable ResourceWarning."""
    yield
    while _made_apps:
        made = _made_apps.pop()
        with made.app_context():
            db.session.remove()
            db.engine.dispose()


def make_app(kind: str, tmp_path, **overrides):
    global _pg_schema_ready
    if kind == "sqlite":
        uri = f"sqlite:///{tmp_path}/test.sqlite3"
    else:
        uri = normalise_database_url(PG_URL)
    config = {"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": uri,
              "WTF_CSRF_ENABLED": False, "SERVER_NAME": None}
    config.update(overrides)
    if kind == "sqlite":
        shutil.copyfile(sqlite_template(), Path(tmp_path) / "test.sqlite3")
    app = create_app(config)
    _made_apps.append(app)
    app.test_client_class = FreshRequestClient
    if kind == "sqlite":
        return app
    with app.app_context():
        if not _pg_schema_ready:
            db.drop_all()
            with db.engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
            db.create_all()
            _pg_schema_ready = True
        empty_all()
    return app


def sqlite_template() -> Path:
    """A SQLite file holding the empty schema, made once per test process (each xdist worker has its own)."""
    global _sqlite_template
    if _sqlite_template is None:
        from tuanjian.dbsetup import install_engine_hooks
        install_engine_hooks()                     # the same PRAGMAs (WAL) as every app's connections
        folder = tempfile.mkdtemp(prefix="tuanjian-schema-")
        atexit.register(shutil.rmtree, folder, True)
        path = Path(folder) / "template.sqlite3"
        engine = create_engine(f"sqlite:///{path}")
        Base.metadata.create_all(engine)
        engine.dispose()                           # the last connection closed: the WAL is folded into the file
        assert not Path(f"{path}-wal").exists(), "the schema template must be one self-contained file"
        _sqlite_template = path
    return _sqlite_template


def empty_all():
    """Delete every row and restart every id sequence (as TRUNCATE … RESTART IDENTITY, in a fraction of its time)."""
    global _pg_empty_statement
    with db.engine.begin() as conn:
        if _pg_empty_statement is None:
            sequences = [name for (name,) in conn.execute(text(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) FROM pg_sequences "
                "WHERE schemaname = current_schema() ORDER BY 1"))]
            statements = [f'DELETE FROM "{t.name}"' for t in reversed(Base.metadata.sorted_tables)]
            statements += [f"PERFORM setval('{name}', 1, false)" for name in sequences]
            _pg_empty_statement = "DO $$BEGIN " + "; ".join(statements) + "; END$$"
        conn.exec_driver_sql(_pg_empty_statement)


@pytest.fixture(params=DB_KINDS)
def db_kind(request):
    return request.param


@pytest.fixture
def app(db_kind, tmp_path):
    app = make_app(db_kind, tmp_path)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(app):
    return db.session


@pytest.fixture
def tree(app):
    """A small county: county → (township → (village branch), school → (grade general → class branch)), sibling.
    Built once per process and database kind, then written back as rows (tests/replay.py)."""
    return replayed("tree", db.session, factories.make_tree)


@pytest.fixture
def login(client):
    def _login(person_or_id, password=factories.PASSWORD, c=None):
        c = c or client
        number = person_or_id if isinstance(person_or_id, str) else person_or_id.id_number
        resp = c.post("/auth/login", data={"id_number": number, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        return c
    return _login


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (TUANJIAN_REQUIRE_BROWSER=1) a skipped test is a failure: no tool may silently be missing."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("TUANJIAN_REQUIRE_BROWSER") == "1" and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run every test: {report.longrepr}"
