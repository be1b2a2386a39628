"""Slow-down and lockout arithmetic for repeated failures (login, registration-code guessing).

Pure: the caller loads and stores the counters (in the database, so the rule holds across workers).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass
class Counter:
    failures: int = 0
    window_start: datetime | None = None
    next_allowed_at: datetime | None = None
    locked_until: datetime | None = None


@dataclass(frozen=True)
class Policy:
    slowdown_after: int          # failures before each further attempt must wait
    lockout_after: int           # failures before the key is locked
    lockout: timedelta
    window: timedelta            # failures older than this are forgotten
    base_delay: timedelta = timedelta(seconds=5)


def wait_seconds(counter: Counter, now: datetime) -> int:
    """Seconds the caller must still wait before another attempt (0 = may try now)."""
    waits = [t for t in (counter.locked_until, counter.next_allowed_at) if t and t > now]
    if not waits:
        return 0
    return max(1, int((max(waits) - now).total_seconds() + 0.999))


def register_failure(counter: Counter, policy: Policy, now: datetime) -> Counter:
    if counter.window_start is None or now - counter.window_start > policy.window or (
            counter.locked_until is not None and counter.locked_until <= now
            and counter.failures >= policy.lockout_after):
        counter = Counter(failures=0, window_start=now)
    failures = counter.failures + 1
    locked_until = counter.locked_until
    next_allowed = None
    if failures >= policy.lockout_after:
        locked_until = now + policy.lockout
    elif failures >= policy.slowdown_after:
        # 5 s, 10 s, 20 s, ... doubling with every failure past the threshold
        next_allowed = now + policy.base_delay * (2 ** (failures - policy.slowdown_after))
    return Counter(failures=failures, window_start=counter.window_start, next_allowed_at=next_allowed,
                   locked_until=locked_until)


def format_wait(seconds: int) -> str:
    if seconds >= 60:
        return f"{(seconds + 59) // 60}分钟"
    return f"{seconds}秒"
