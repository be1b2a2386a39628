"""Database-backed failure counters (hold across gunicorn workers)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..domain.settings import Settings
from ..domain.throttle import Counter, Policy, format_wait, register_failure, wait_seconds
from ..models import Throttle


def code_policy(settings: Settings) -> Policy:
    return Policy(slowdown_after=settings.code_attempts_before_slowdown,
                  lockout_after=settings.code_attempts_before_lockout,
                  lockout=timedelta(minutes=settings.code_lockout_minutes),
                  window=timedelta(minutes=settings.code_attempt_window_minutes))


def login_ip_policy(settings: Settings) -> Policy:
    """Per address, against guessing many ID numbers: generous, but it stops a scripted sweep."""
    return Policy(slowdown_after=10, lockout_after=30, lockout=timedelta(minutes=settings.login_lock_minutes),
                  window=timedelta(minutes=30), base_delay=timedelta(seconds=2))


def _load(session, key: str) -> Throttle | None:
    return session.get(Throttle, key)


def seconds_to_wait(session, key: str, now: datetime) -> int:
    row = _load(session, key)
    if row is None:
        return 0
    return wait_seconds(Counter(row.failures, row.window_start, row.next_allowed_at, row.locked_until), now)


def fail(session, key: str, policy: Policy, now: datetime) -> int:
    """Count one failure; returns the seconds the caller must now wait."""
    row = _load(session, key)
    if row is None:
        row = Throttle(key=key, failures=0)
        session.add(row)
    counter = register_failure(Counter(row.failures or 0, row.window_start, row.next_allowed_at, row.locked_until),
                               policy, now)
    row.failures, row.window_start = counter.failures, counter.window_start
    row.next_allowed_at, row.locked_until = counter.next_allowed_at, counter.locked_until
    session.flush()
    return wait_seconds(counter, now)


def clear(session, key: str) -> None:
    row = _load(session, key)
    if row is not None:
        session.delete(row)


@dataclass(frozen=True)
class CodeGuard:
    """The guessing limit for one kind of code (注册码, 重置密码验证码) typed from one address.

    The form views share the sequence: ``blocked()`` before trying; on a wrong code roll the attempt back,
    then ``wrong()`` and commit (the count must survive the rollback); ``passed()`` after a success. Like every
    service here it never commits itself.
    """

    key: str
    policy: Policy
    label: str                   # what the user typed, for messages: "注册码", "验证码"

    @classmethod
    def for_address(cls, kind: str, ip: str | None, settings: Settings, label: str) -> CodeGuard:
        return cls(key=f"{kind}:{ip}", policy=code_policy(settings), label=label)

    def blocked(self, session, now: datetime) -> str | None:
        """The Chinese reason to refuse without looking at the code, or None when the address may try."""
        wait = seconds_to_wait(session, self.key, now)
        return f"{self.label}错误次数过多，请{format_wait(wait)}后再试。" if wait else None

    def wrong(self, session, now: datetime) -> str | None:
        """Count a wrong code; returns the note to show when the address must now wait."""
        wait = fail(session, self.key, self.policy, now)
        return f"错误次数过多，请{format_wait(wait)}后再试。" if wait else None

    def passed(self, session) -> None:
        clear(session, self.key)
