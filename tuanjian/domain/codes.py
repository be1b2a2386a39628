"""管理员注册码 (DOMAIN.md 2.1): 8 characters, letters and digits, case-sensitive, single use, expiring."""
from __future__ import annotations

import enum
import secrets
from datetime import datetime, timedelta

from .canonical import canonical_code

CODE_LENGTH = 8
# Characters whose capital and small forms look alike (C/c K/k O/o P/p S/s U/u V/v W/w X/x Z/z) and the
# look-alike groups 0/O/o, 1/l/I and 8/B are left out, so a code read over the phone or copied from paper
# is typed right. Case still matters, as in 智慧团建. The one alphabet for every code a person types
# (管理员注册码, 重置密码验证码 and any later one-time code): use ``code_alphabet()`` / ``generate_code()``.
LOOK_ALIKES = "CcKkOoPpSsUuVvWwXxZz0lI1B"
ALPHABET = "ADEFGHJLMNQRTY" "abdefghijmnqrty" "2345679"


def code_alphabet() -> str:
    """The characters a new one-time code is made of (no look-alikes; see ``LOOK_ALIKES``)."""
    return ALPHABET


class CodeStatus(enum.StrEnum):
    UNUSED = "unused"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"

    @property
    def label(self) -> str:
        return {"unused": "未使用", "used": "已使用", "expired": "已过期", "revoked": "已撤销"}[self.value]


def generate_code(rng: secrets.SystemRandom | None = None) -> str:
    """A fresh code from a cryptographic source, always containing both a letter and a digit."""
    choice = (rng or secrets.SystemRandom()).choice
    while True:
        alphabet = code_alphabet()
        code = "".join(choice(alphabet) for _ in range(CODE_LENGTH))
        if any(c.isdigit() for c in code) and any(c.isalpha() for c in code):
            return code


def normalise_entered_code(raw) -> str:
    """Strip the spaces people type around a code; never change case (codes are case-sensitive)."""
    return canonical_code(raw)


def looks_like_code(text: str) -> bool:
    return len(text) == CODE_LENGTH and text.isascii() and text.isalnum()


def expiry(issued_at: datetime, valid_days: int) -> datetime:
    return issued_at + timedelta(days=valid_days)


def code_status(*, now: datetime, expires_at: datetime, used_at: datetime | None,
                revoked_at: datetime | None) -> CodeStatus:
    if used_at is not None:
        return CodeStatus.USED
    if revoked_at is not None:
        return CodeStatus.REVOKED
    if now >= expires_at:
        return CodeStatus.EXPIRED
    return CodeStatus.UNUSED
