"""管理员注册码 (DOMAIN.md 2.1): 8 characters, letters and digits, case-sensitive, single use, expiring."""
from __future__ import annotations

import enum
import secrets
from datetime import datetime, timedelta

from .canonical import canonical_code

CODE_LENGTH = 8
# Letters and digits without look-alikes (0/O/o, 1/l/I, 2/Z/z, 5/S/s, 8/B), so a code copied from
# paper is read right. Case still matters, as in 智慧团建.
ALPHABET = "3467ACDEFGHJKLMNPQRTUVWXYabcdefghijkmnpqrtuvwxy9"


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
        code = "".join(choice(ALPHABET) for _ in range(CODE_LENGTH))
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
