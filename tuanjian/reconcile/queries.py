"""Reads of 对账 (issue 28): an organisation's last comparison, and 与智慧团建相符率 by direct subordinate."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..domain.orgtree import CODE_SEGMENT_WIDTH
from ..models import Org, ReconcileFigure, Reconciliation
from ..queries import within


def last_comparison(session, org: Org) -> Reconciliation | None:
    return session.scalar(select(Reconciliation).where(Reconciliation.org_id == org.id))


@dataclass
class MatchRate:
    people: int = 0
    matching: int = 0
    branches: int = 0                  # branches compared at least once
    compared_at: datetime | None = None    # the oldest of the branches' latest comparisons

    @property
    def rate(self) -> float | None:
        return self.matching / self.people if self.people else None


def match_rates(session, org: Org) -> dict[int, MatchRate]:
    """Direct subordinate id (and ``org.id`` for the whole subtree) -> the sums of each branch's latest comparison
    (by whichever admin of the branch or above compared it last)."""
    latest: dict[int, tuple] = {}
    for branch_id, code, at, people, matching in session.execute(
            select(ReconcileFigure.branch_id, Org.code, ReconcileFigure.compared_at, ReconcileFigure.people,
                   ReconcileFigure.matching).join(Org, ReconcileFigure.branch_id == Org.id)
            .where(within(Org.code, org.code), Org.dissolved_at.is_(None))
            .order_by(ReconcileFigure.compared_at, ReconcileFigure.id)):
        latest[branch_id] = (code, at, people, matching)
    width = len(org.code) + 1 + CODE_SEGMENT_WIDTH
    children = dict(session.execute(select(Org.code, Org.id).where(Org.parent_id == org.id)).all())
    out: dict[int, MatchRate] = {}
    for code, at, people, matching in latest.values():
        keys = [org.id] + ([children[code[:width]]] if code[:width] in children else [])
        for key in keys:
            r = out.setdefault(key, MatchRate())
            r.people += people
            r.matching += matching
            r.branches += 1
            r.compared_at = at if r.compared_at is None else min(r.compared_at, at)
    return out
