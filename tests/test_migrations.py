"""`flask db upgrade` builds the schema the models describe, on SQLite and PostgreSQL (no drift)."""
from __future__ import annotations

import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from tuanjian import create_app
from tuanjian.config import normalise_database_url
from tuanjian.extensions import db
from tuanjian.models import Base

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")


def _fresh_url(db_kind, tmp_path):
    if db_kind == "sqlite":
        return f"sqlite:///{tmp_path}/migrate.sqlite3"
    url = normalise_database_url(os.environ["TUANJIAN_TEST_DATABASE_URL"])
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS tuanjian_migrations"))
        conn.execute(text("CREATE DATABASE tuanjian_migrations"))
    engine.dispose()
    return url.rsplit("/", 1)[0] + "/tuanjian_migrations"


def test_upgrade_matches_models_and_downgrades(db_kind, tmp_path):
    url = _fresh_url(db_kind, tmp_path)
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        assert "orgs" in inspect(db.engine).get_table_names()
        downgrade(directory=MIGRATIONS, revision="base")
        assert "orgs" not in inspect(db.engine).get_table_names()
        db.engine.dispose()
