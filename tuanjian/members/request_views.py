"""我的申请 (issue 26.1): every request a branch (or the user) sent has a visible fate — waiting, returned with the
reason and a way to correct and resend, or recently approved — for 特殊情况录入 and 组织关系转接 alike. Shown on the
page below and in the branch home's 待办. Read only: deciding stays in exception_views / transfer_views."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from flask_login import current_user

from ..domain import exceptions as rules
from ..domain import policy
from ..extensions import db
from ..models import utcnow
from ..web.htmx import render
from ..web.scope import admin_required, current_org
from . import bp
from . import queries as member_queries


@dataclass
class MyRequests:
    exceptions: list = field(default_factory=list)
    transfers: list = field(default_factory=list)
    shown_from: dict = field(default_factory=dict)      # transfer id → the holding org lies in the viewer's subtree

    def of(self, exception_status: str, transfer_status: str) -> list[tuple[str, object]]:
        return ([("exception", r) for r in self.exceptions if r.status == exception_status]
                + [("transfer", r) for r in self.transfers if r.status == transfer_status])

    @property
    def pending(self):
        return self.of(rules.PENDING, "pending")

    @property
    def returned(self):
        return self.of(rules.REFUSED, "refused")

    @property
    def approved(self):
        return self.of(rules.APPROVED, "accepted")

    def __bool__(self) -> bool:
        return bool(self.exceptions or self.transfers)


def my_requests_of(org) -> MyRequests:
    since = utcnow() - timedelta(days=rules.RECENT_DAYS)
    person_id = current_user.person_id
    transfers = member_queries.requester_transfers(db.session, org, person_id, since=since)
    return MyRequests(
        exceptions=member_queries.requester_exceptions(db.session, org, person_id, since=since),
        transfers=transfers,
        shown_from={r.id: policy.refusal("org.view", org.code, r.from_org.code) is None for r in transfers})


@bp.get("/requests")
@admin_required
def my_requests():
    org = current_org()
    return render("members/my_requests.html", org=org, mine=my_requests_of(org), recent_days=rules.RECENT_DAYS)
