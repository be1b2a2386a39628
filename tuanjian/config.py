"""Configuration: defaults, then instance files, then TUANJIAN_* environment variables."""
from __future__ import annotations

import os
from pathlib import Path

DEFAULT_SECRET_KEY = "dev-only-insecure-key"


class DefaultSecretKeyError(RuntimeError):
    pass


def database_url_from_env(instance_path: str) -> str:
    url = os.environ.get("TUANJIAN_DATABASE_URL")
    if not url:
        return "sqlite:///" + str(Path(instance_path) / "tuanjian.sqlite3")
    return normalise_database_url(url)


def normalise_database_url(url: str) -> str:
    """Let users write postgresql://… or postgres://…; we drive PostgreSQL with psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def secret_key_from_instance(instance_path: str) -> str | None:
    path = Path(instance_path) / "secret_key"
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        return key or None
    return None


DEFAULTS = dict(
    SECRET_KEY=DEFAULT_SECRET_KEY,
    # personal data stays out of logs: database errors never echo the bound values (ID numbers, names)
    SQLALCHEMY_ENGINE_OPTIONS={"hide_parameters": True},
    MAX_CONTENT_LENGTH=20 * 1024 * 1024,
    WTF_CSRF_TIME_LIMIT=None,           # the token lives as long as the session (which idles out)
    SESSION_COOKIE_HTTPONLY=True,
    SESSION_COOKIE_SAMESITE="Lax",
    SESSION_COOKIE_SECURE=False,        # set TUANJIAN_SESSION_COOKIE_SECURE=true behind HTTPS
    SESSION_COOKIE_NAME="tuanjian_session",
    REMEMBER_COOKIE_DURATION=0,
    TIMEZONE_OFFSET_HOURS=8,            # display times in 北京时间
    PAGE_SIZE=50,
    # TUANJIAN_TRUST_PROXY=N behind N proxies (true = 1): rightmost N X-Forwarded-For
    TRUST_PROXY=False,
    EXCHANGE_SECRET=None,               # 交换密钥 for 上报文件 of any subtree without its own key (data exchange)
    PUBLIC_URL=None,                    # TUANJIAN_PUBLIC_URL=http://192.168.1.20:8000: the address slips and help print
)
