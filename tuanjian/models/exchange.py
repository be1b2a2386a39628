from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class ExchangeLink(Base):
    """One subtree exchanged between two levels by 上报文件, keyed by the subtree root's code (the same code on
    both instances). ``secret`` is the 交换密钥 shared by that organisation and its parent: the parent's instance
    verifies packages with it, the child's instance signs with it. The last applied package (source, created
    time, checksum) lets a re-import change nothing and an older package be refused."""

    __tablename__ = "exchange_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    root_code: Mapped[str] = mapped_column(String(40), unique=True)
    secret: Mapped[str | None] = mapped_column(String(64))
    secret_set_at: Mapped[datetime | None] = mapped_column(DateTime)
    secret_set_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    last_source_name: Mapped[str | None] = mapped_column(String(100))
    last_created_at: Mapped[datetime | None] = mapped_column(DateTime)     # the package's own time (UTC)
    last_sha256: Mapped[str | None] = mapped_column(String(64))
    last_applied_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_applied_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
