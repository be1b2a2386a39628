"""Test toolbox: an app per test on SQLite (and on PostgreSQL when TUANJIAN_TEST_DATABASE_URL is set)."""
from __future__ import annotations

import os

import pytest
from flask.globals import _cv_app
from flask.testing import FlaskClient
from sqlalchemy import text

from tuanjian import create_app
from tuanjian.config import normalise_database_url
from tuanjian.extensions import db
from tuanjian.models import Base

from . import factories

PG_URL = os.environ.get("TUANJIAN_TEST_DATABASE_URL")
DB_KINDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
_pg_schema_ready = False


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


def make_app(kind: str, tmp_path, **overrides):
    global _pg_schema_ready
    if kind == "sqlite":
        uri = f"sqlite:///{tmp_path}/test.sqlite3"
    else:
        uri = normalise_database_url(PG_URL)
    config = {"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": uri,
              "WTF_CSRF_ENABLED": False, "SERVER_NAME": None, "FORM_STASH_DIR": str(tmp_path / "form-stash")}
    config.update(overrides)
    app = create_app(config)
    app.test_client_class = FreshRequestClient
    with app.app_context():
        if kind == "sqlite":
            db.create_all()
        else:
            if not _pg_schema_ready:
                db.drop_all()
                with db.engine.begin() as conn:
                    conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
                db.create_all()
                _pg_schema_ready = True
            truncate_all()
    return app


def truncate_all():
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


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
