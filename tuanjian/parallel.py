"""Pure Python work on a long list in two halves at the same time: the second half in a forked copy of this process
(the member import's row checks of a 50,000-row file take a second of one CPU while the other waits)."""
from __future__ import annotations

import logging
import marshal
import os
import pickle
import signal
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)

MIN_ITEMS = 5000          # below this a fork costs more than half the work saves


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:                        # no affinity on this platform
        return os.cpu_count() or 1


def _idle_cpus() -> float:
    """CPUs left idle by the last minute's load average (this process counts in it): a second process only helps
    when a CPU is idle (on a loaded server it would only add the cost of the fork and of sending the half back)."""
    try:
        return _cpus() - os.getloadavg()[0]
    except (AttributeError, OSError):             # no load average on this platform
        return _cpus() - 1.0


def splits(n: int) -> bool:
    """Whether in_two would now compute ``n`` items in two processes."""
    return n >= MIN_ITEMS and hasattr(os, "fork") and _cpus() >= 2 and _idle_cpus() >= 0.25


def in_two(fn: Callable[[Sequence], list], items: Sequence, pack: Callable = lambda x: x,
           unpack: Callable = lambda x: x) -> list:
    """``fn(items)``, computed as ``fn(first half) + fn(second half)`` with the second half in a forked child while
    this process does the first. ``fn`` must be pure (the child's side effects are lost) and give one result per
    item; ``pack`` turns a result into plain data (marshal's types, else pickled) for the trip back, ``unpack``
    makes the result again. One pass here instead for fewer than MIN_ITEMS items, on one CPU, when less than
    a quarter of a CPU is idle, where fork is missing, and whenever the child fails (its half is then done here: the
    answer is the same either way)."""
    if not splits(len(items)):
        return fn(items)
    half = len(items) // 2
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return fn(items)
    if pid == 0:                                                    # the child: compute, send, leave at once
        status = 1
        try:
            os.close(read_end)
            payload = _dumps([pack(x) for x in fn(items[half:])])
            with os.fdopen(write_end, "wb") as out:
                out.write(payload)
            status = 0
        finally:
            os._exit(status)             # no clean-up of the parent's state (database connections, files)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as got:
        try:
            first = fn(items[:half])
            payload = got.read()
        except BaseException:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise
    _, status = os.waitpid(pid, 0)
    if status != 0 or not payload:
        log.warning("in_two: the child failed (status %s); its half is done here", status)
        return first + fn(items[half:])
    return first + [unpack(x) for x in _loads(payload)]


def _dumps(values: list) -> bytes:
    try:
        return b"m" + marshal.dumps(values)
    except ValueError:                            # a type marshal does not take (a date): pickle
        return b"p" + pickle.dumps(values, protocol=pickle.HIGHEST_PROTOCOL)


def _loads(payload: bytes) -> list:
    return marshal.loads(payload[1:]) if payload[:1] == b"m" else pickle.loads(payload[1:])
