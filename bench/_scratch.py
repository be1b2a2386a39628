"""Scratch databases for the benchmarks: a SQLite file in a temp dir, or a PostgreSQL database dropped and created
on TUANJIAN_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres, the server). When that URL
names a database other than ``postgres`` (e.g. one's own ``test_h17``), the scratch databases are named after it
(``test_h17_tuanjian_bench_load``), so runs against different databases of one server never meet."""
from __future__ import annotations

import os

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tuanjian.config import normalise_database_url


def server_url() -> str:
    return normalise_database_url(os.environ.get("TUANJIAN_BENCH_DATABASE_URL",
                                                 "postgresql://postgres@127.0.0.1:5432/postgres"))


def scratch_name(name: str) -> str:
    """The PostgreSQL name of the scratch database ``name``."""
    base = make_url(server_url()).database
    return name if base in (None, "", "postgres") else f"{base}_{name}"


def fresh_database(kind: str, name: str, tmp: str) -> str:
    """The URL of an empty database called ``name`` (on PostgreSQL: ``scratch_name(name)``)."""
    if kind == "sqlite":
        return f"sqlite:///{tmp}/{name}.sqlite3"
    name = scratch_name(name)
    server = server_url()
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)
