"""组织关系转接: the receiving branch asks (from the member form's offer), an admin over the holding branch accepts
or refuses, the asking side may withdraw; both sides follow the requests in one list."""
from __future__ import annotations

from flask import current_app, request, url_for

from ..domain import policy
from ..extensions import db
from ..models import utcnow
from ..services import transfers as transfer_service
from ..web.actions import flash_redirect, form_action
from ..web.htmx import render
from ..web.scope import admin_required, current_actor, current_org, int_arg, org_or_404, transfer_or_404
from . import bp
from . import queries as member_queries
from .views import search_text


def _shown(scope_code: str, org) -> bool:
    """An organisation at either end of a request is named only when it lies in the viewer's subtree."""
    return policy.refusal("org.view", scope_code, org.code) is None


@bp.get("/transfers")
@admin_required
def transfers():
    scope = current_org()
    q = search_text()
    found = member_queries.transfer_page(db.session, scope.code, q, int_arg("page", 1) or 1,
                                         current_app.config["PAGE_SIZE"])
    actor, reqs = current_actor(), found.items
    return render("members/transfers.html", block="transfer_table", reqs=reqs, q=q, page=found.page,
                  pages=found.pages, total=found.total,
                  shown_from={r.id: _shown(scope.code, r.from_org) for r in reqs},
                  shown_to={r.id: _shown(scope.code, r.to_org) for r in reqs},
                  may_decide={r.id: transfer_service.may_decide(actor, r) for r in reqs},
                  may_cancel={r.id: transfer_service.may_cancel(actor, r) for r in reqs})


def _act(act, message: str, category: str = "success", *, back: str | None = None):
    """Run a transfer action; on a refusal flash it and go ``back`` (default: the list)."""
    listing = url_for("members.transfers")
    return form_action(None, act, rerender=lambda status, error: flash_redirect(error, back or listing, "error"),
                       done=lambda _: flash_redirect(message, listing, category))


@bp.post("/org/<int:org_id>/transfer")
@admin_required
def request_transfer(org_id: int):
    org = org_or_404(org_id)
    return _act(lambda: transfer_service.request_transfer(
        db.session, current_actor(), org, id_number=request.form.get("id_number", ""),
        name=request.form.get("name", ""), reason=request.form.get("reason", ""), now=utcnow()),
        "已发出转接申请，等待转出团支部或其上级组织管理员处理。可在“组织关系转接”中查看进度。",
        back=url_for("members.new", org_id=org.id))


def _decide(transfer_id: int, accept: bool):
    req = transfer_or_404(transfer_id)
    name = req.member.person.name
    return _act(lambda: transfer_service.decide(db.session, current_actor(), req, accept=accept,
                                                note=request.form.get("note", ""), now=utcnow()),
                f"已{'同意' if accept else '拒绝'} {name} 的转接申请。")


@bp.post("/transfers/<int:transfer_id>/accept")
@admin_required
def accept_transfer(transfer_id: int):
    return _decide(transfer_id, True)


@bp.post("/transfers/<int:transfer_id>/refuse")
@admin_required
def refuse_transfer(transfer_id: int):
    return _decide(transfer_id, False)


@bp.post("/transfers/<int:transfer_id>/cancel")
@admin_required
def cancel_transfer(transfer_id: int):
    req = transfer_or_404(transfer_id)
    return _act(lambda: transfer_service.cancel_request(db.session, current_actor(), req, now=utcnow()),
                "已撤回转接申请。", "info")
