"""重置密码验证码 (DOMAIN.md 2.3; pain points 8 and 17).

A one-person code an admin of the person's organisation, or of its direct parent, hands over when the
person forgot the password. It looks different from a 管理员注册码 ("P-" and 8 characters against 8
characters) so nobody types one into the other's form; the 8 characters come from the same unambiguous,
case-sensitive alphabet. Valid ``reset_code_valid_hours`` (48 by default [B: S22]), single use.
"""
from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta

from . import policy
from .codes import CodeStatus, code_status, generate_code, looks_like_code, normalise_entered_code
from .errors import Conflict, NotAllowed

PREFIX = "P-"
# Dashes an input method may produce instead of "-" (full-width, en/em dash, minus sign, underscore).
_DASHES = "－‐‑–—―−_"

__all__ = ["PREFIX", "CodeStatus", "check_may_issue", "generate_reset_code", "looks_like_reset_code",
           "normalise_reset_code", "reset_code_expiry", "reset_code_status"]


def generate_reset_code(rng: secrets.SystemRandom | None = None) -> str:
    """"P-" and a fresh 8-character code (the registration-code generator)."""
    return PREFIX + generate_code(rng)


def normalise_reset_code(raw) -> str:
    """What the user typed → the stored form. Spaces go, full-width characters become half-width, any dash
    becomes "-", a missing or lower-case "P-" prefix is supplied; the 8 characters keep their case.

    Codes issued before issue 16 may contain "P", so a leading P counts as the prefix only in front of 8 more
    characters.
    """
    text = unicodedata.normalize("NFKC", normalise_entered_code(raw))
    text = "".join("-" if ch in _DASHES else ch for ch in text)
    if not text:
        return ""
    if text[:2].upper() == PREFIX:
        body = text[2:]
    elif text[0] in "Pp" and len(text) == 9:
        body = text[1:]
    else:
        body = text
    return PREFIX + body


def looks_like_reset_code(text: str) -> bool:
    """Shape only (on the normalised text): "P-" and 8 letters or digits."""
    return text.startswith(PREFIX) and looks_like_code(text[len(PREFIX):])


def reset_code_expiry(issued_at: datetime, valid_hours: int) -> datetime:
    return issued_at + timedelta(hours=valid_hours)


def reset_code_status(*, now: datetime, expires_at: datetime, used_at: datetime | None,
                      revoked_at: datetime | None) -> CodeStatus:
    return code_status(now=now, expires_at=expires_at, used_at=used_at, revoked_at=revoked_at)


def check_may_issue(*, actor_person_id: int | None, scope_code: str | None, person_id: int,
                    place_codes: Iterable[str], has_account: bool) -> None:
    """Who may issue a code for a person (DOMAIN.md 2.3: an admin at the same level or the direct parent).

    ``place_codes``: the codes of EVERY organisation where the person has an active post, a membership or an admin
    grant, wherever it is. The person-ownership rule (domain.policy "person.reset_code") decides: every place must
    lie in the actor's subtree (else a code would hand the actor an account that also acts elsewhere), and one of
    them must be the actor's own organisation or a direct child (本组织或直属上级), or the actor's organisation is the
    lowest one above every place (a person under two townships: the county).
    """
    if scope_code is None:
        raise NotAllowed("只有管理员可以生成重置密码验证码")
    if person_id == actor_person_id:
        raise NotAllowed("不能为自己生成重置密码验证码；修改自己的密码请使用右上角的“修改密码”")
    policy.require_person("person.reset_code", scope_code, place_codes)
    if not has_account:
        raise Conflict("该人员尚未开通登录账号，无需重置密码")
