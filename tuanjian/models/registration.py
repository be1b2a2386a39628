from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.codes import CodeStatus, code_status
from .base import Base, utcnow


class RegistrationCode(Base):
    """管理员注册码 issued by a parent's admin for one direct child organisation."""

    __tablename__ = "registration_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))

    org: Mapped[Org] = relationship()  # noqa: F821
    used_by: Mapped[Person | None] = relationship(foreign_keys=[used_by_id])  # noqa: F821

    def status(self, now: datetime | None = None) -> CodeStatus:
        return code_status(now=now or utcnow(), expires_at=self.expires_at, used_at=self.used_at,
                           revoked_at=self.revoked_at)
