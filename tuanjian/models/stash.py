from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class FormStash(Base):
    """A form typed when the session had expired (issue 16.1, issue 24 class 5): kept in the database so every app
    server can restore it, bound to the browser that posted it (``client_hash``: sha256 of the browser's random
    binding id, kept in an HttpOnly, SameSite=Strict cookie) and to the account whose session expired (NULL only
    for the public forms: 管理员注册, 忘记密码). Deleted when used and after ``web.stash.MAX_AGE``."""

    __tablename__ = "form_stashes"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    client_hash: Mapped[str] = mapped_column(String(64), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(500))
    page: Mapped[str] = mapped_column(String(2000))
    # {"fields": [[name, value], …], "secrets_dropped": bool, "files_dropped": [file names]}
    payload: Mapped[dict] = mapped_column(JSON)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
