from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, text
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
    # When the holder first set a password of their own. NULL: the account is *unclaimed* (issue 24): it still has
    # the default password, and it opens only with that password AND a 首次登录验证码 from an admin whose reach
    # covers every place of the person; the code is spent when the new password is saved, which claims it.
    # Written only by services/owners/accounts.py.
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)

    person: Mapped[Person] = relationship(back_populates="account")  # noqa: F821

    @property
    def is_claimed(self) -> bool:
        return self.claimed_at is not None

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


class FirstLoginCode(Base):
    """首次登录验证码: an unclaimed account (the default password, last 8 of the ID number, which anyone who knows
    the ID can work out) needs this code as well to log in. Issued only by an admin whose reach covers every place
    of the person, handed over in person; 8 characters, valid 48 hours. It works for logging in again until the
    new password is saved (then ``used_at``), and is void once the person's places differ from
    ``places_fingerprint`` (taken when it was issued)."""

    __tablename__ = "first_login_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("admin_grants.id"))
    code: Mapped[str] = mapped_column(String(16), unique=True)
    # sha256 of the person's places (kind, org id) when the code was issued; NULL (codes of before issue 24) is void
    places_fingerprint: Mapped[str | None] = mapped_column(String(64))
    # the first login made with this code (the admins page: "已凭验证码登录，尚未设置新密码")
    logged_in_at: Mapped[datetime | None] = mapped_column(DateTime)
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
