"""Scratch databases for the benchmarks: a SQLite file in a temp dir, or a PostgreSQL database dropped and created
on TUANJIAN_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres, the server)."""
from __future__ import annotations

import os

from sqlalchemy import create_engine, text

from tuanjian.config import normalise_database_url


def fresh_database(kind: str, name: str, tmp: str) -> str:
    """The URL of an empty database called ``name``."""
    if kind == "sqlite":
        return f"sqlite:///{tmp}/{name}.sqlite3"
    server = normalise_database_url(os.environ.get("TUANJIAN_BENCH_DATABASE_URL",
                                                   "postgresql://postgres@127.0.0.1:5432/postgres"))
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return server.rsplit("/", 1)[0] + "/" + name
