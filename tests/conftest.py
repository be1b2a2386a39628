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

from . import factories

PG_URL = os.environ.get("TUANJIAN_TEST_DATABASE_URL")
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
              "WTF_CSRF_ENABLED": False, "SERVER_NAME": None, "FORM_STASH_DIR": str(tmp_path / "form-stash")}
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
    """A small county: county → (township → (village branch), school → (grade general → class branch)), sibling."""
    return factories.make_tree(db.session)


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
