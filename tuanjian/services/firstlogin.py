"""首次登录验证码 (issue 14 class 8; issue 24 "Unclaimed accounts"): the read side for pages, and the issuing use
case. The rows are written by the accounts owner (``services/owners/accounts.py``): every unclaimed account needs
a code to log in, issued and shown only to an admin whose reach covers every place of the person, void once the
person's places change, spent when the new password is saved."""
from __future__ import annotations

from datetime import datetime

from ..domain.errors import Conflict
from ..domain.settings import Settings
from ..models import AdminGrant, FirstLoginCode, Person
from .actor import Actor
from .owners import accounts as owner

__all__ = ["issue", "issue_for_person", "latest_codes", "refusals", "usable_codes"]


def usable_codes(session, person_ids, now: datetime) -> dict[int, FirstLoginCode]:
    """Each person's usable code (unused, unrevoked, unexpired, issued for their present places). Callers show
    it only to those ``refusals`` allows."""
    return owner.current_first_codes(session, person_ids, now)


def latest_codes(session, person_ids) -> dict[int, FirstLoginCode]:
    return owner.latest_first_codes(session, person_ids)


def refusals(session, actor: Actor, people: list[Person]) -> dict[int, str | None]:
    """For each person: None when ``actor`` may see and issue a first-login code, else the Chinese reason."""
    return owner.first_code_refusals(session, actor, people)


def issue(session, actor: Actor, grant: AdminGrant, *, settings: Settings, now: datetime) -> FirstLoginCode:
    """A fresh code for the holder of ``grant`` (the admins page)."""
    if grant.revoked_at is not None:
        raise Conflict("该管理员已被解除，无需首次登录验证码")
    return owner.issue_first_login_code(session, actor, grant.person, settings=settings, now=now, grant=grant)


def issue_for_person(session, actor: Actor, person: Person, *, settings: Settings, now: datetime) -> FirstLoginCode:
    """A fresh code for ``person`` (the person's page: any unclaimed account, cadre, member or admin)."""
    return owner.issue_first_login_code(session, actor, person, settings=settings, now=now)
