"""首次登录验证码 (issue 14 class 8; issue 24 "Unclaimed accounts"; issue 26 point 4).

The seed gives accounts opened by others the default password: the last 8 characters of the ID number. ID
numbers are widely known, so no account may be taken with that password alone: while its holder has never set a
password of their own (the account is *unclaimed*), logging in also takes a one-time code that an admin whose
reach covers every place of the person hands over in person. That holds for every unclaimed account, cadre,
member or admin.

The code is 8 characters from the registration-code alphabet (case-sensitive), valid
``first_login_code_valid_hours`` (48 by default); issuing a new one revokes the old one; it is void once the
person's places change, and spent only when the new password is saved (until then it opens the account again).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from .codes import CodeStatus, code_status, generate_code, looks_like_code, normalise_entered_code

__all__ = ["CodeStatus", "first_login_code_expiry", "first_login_code_status", "generate_first_login_code",
           "looks_like_first_login_code", "needs_first_login_code", "normalise_first_login_code"]


def needs_first_login_code(*, is_claimed: bool) -> bool:
    """An account needs the code to log in while it is unclaimed (its holder never set a password), admin or not."""
    return not is_claimed


def generate_first_login_code(rng=None) -> str:
    return generate_code(rng)


def normalise_first_login_code(raw) -> str:
    return normalise_entered_code(raw)


def looks_like_first_login_code(text: str) -> bool:
    return looks_like_code(text)


def first_login_code_expiry(issued_at: datetime, valid_hours: int) -> datetime:
    return issued_at + timedelta(hours=valid_hours)


def first_login_code_status(*, now: datetime, expires_at: datetime, used_at: datetime | None,
                            revoked_at: datetime | None) -> CodeStatus:
    return code_status(now=now, expires_at=expires_at, used_at=used_at, revoked_at=revoked_at)
