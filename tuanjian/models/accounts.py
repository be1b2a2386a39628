from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow


class Account(UserMixin, Base):
    """A login. The user name is the person's ID number."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), unique=True)
    # NULL: the account still has the default password (last 8 characters of the ID number). That password is
    # derivable from the ID, so hashing it protects nothing; storing no hash lets imports open thousands of
    # accounts without thousands of scrypt rounds. Any password the person sets is hashed.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)

    person: Mapped[Person] = relationship(back_populates="account")  # noqa: F821

    def get_id(self) -> str:
        # A password change bumps session_version, which ends every other session of this account.
        return f"{self.id}.{self.session_version}"


class AdminGrant(Base):
    """管理员: an account holds admin rights over one organisation until revoked (unbound)."""

    __tablename__ = "admin_grants"
    __table_args__ = (
        Index("uq_admin_grants_active", "org_id", "person_id", unique=True,
              sqlite_where=text("revoked_at IS NULL"), postgresql_where=text("revoked_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    granted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    code_id: Mapped[int | None] = mapped_column(ForeignKey("registration_codes.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))

    org: Mapped[Org] = relationship()  # noqa: F821
    person: Mapped[Person] = relationship(foreign_keys=[person_id])  # noqa: F821


class Throttle(Base):
    """Failure counters for login and registration-code attempts, keyed e.g. 'regcode:10.0.0.7'."""

    __tablename__ = "throttles"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime | None] = mapped_column(DateTime)
    next_allowed_at: Mapped[datetime | None] = mapped_column(DateTime)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)


class ResetCode(Base):
    """重置密码验证码: one person, issued by an admin of the person's org or its parent, valid 2 days, single use."""

    __tablename__ = "reset_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
