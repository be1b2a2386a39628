"""The audit log of the user's subtree."""
from __future__ import annotations

from flask import current_app, request
from sqlalchemy import func, select

from ..domain.orgtree import is_within as within_code
from ..extensions import db
from ..models import AuditEntry, AuditOrg, Org
from ..queries import within
from ..services.audit import ACTION_LABELS
from ..web.htmx import render
from ..web.scope import admin_required, current_org, int_arg
from . import bp


@bp.get("/")
@admin_required
def index():
    org = current_org()
    page = max(1, int_arg("page", 1) or 1)
    per_page = current_app.config["PAGE_SIZE"]
    action = request.args.get("action", "")
    q = " ".join(request.args.get("q", "").split())
    # filed under an org of the subtree, or also filed there because it touched a person who holds a place there
    also = (select(AuditOrg.entry_id).join(Org, AuditOrg.org_id == Org.id).where(within(Org.code, org.code)))
    stmt = (select(AuditEntry, Org).join(Org, AuditEntry.org_id == Org.id)
            .where(within(Org.code, org.code) | AuditEntry.id.in_(also)))
    if action in ACTION_LABELS:
        stmt = stmt.where(AuditEntry.action == action)
    if q:
        stmt = stmt.where(AuditEntry.summary.like(f"%{q}%") | AuditEntry.actor_name.like(f"%{q}%"))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = db.session.execute(stmt.order_by(AuditEntry.id.desc()).offset((page - 1) * per_page).limit(per_page)).all()
    pages = max(1, (total + per_page - 1) // per_page)
    # an entry filed elsewhere that is shown for a shared person does not name the outside organisation
    rows = [(e, o if within_code(o.code, org.code) else None) for e, o in rows]
    return render("audit/index.html", block="audit_table", rows=rows, page=page, pages=pages, total=total,
                  action=action, q=q, actions=ACTION_LABELS, **_display_helpers([e for e, _ in rows]))


def _display_helpers(entries) -> dict:
    """Chinese labels and display values for the shown entries (issue 16.4); organisation ids and codes the
    entries mention are named with one query."""
    from ..domain.auditview import display_changes, local_summary, referenced_orgs
    from ..services.audit import action_label
    ids, codes = set(), set()
    for e in entries:
        for values in (e.before, e.after):
            i, c = referenced_orgs(values)
            ids |= i
            codes |= c
    names: dict = {}
    if ids or codes:
        for o in db.session.scalars(select(Org).where(Org.id.in_(ids) | Org.code.in_(codes))):
            names[o.id] = names[o.code] = o.short_name
    offset = current_app.config.get("TIMEZONE_OFFSET_HOURS", 8)
    return {"changes": lambda values: display_changes(values, org_names=names, offset_hours=offset),
            "summary_of": lambda text: local_summary(text, offset_hours=offset), "action_label": action_label}
