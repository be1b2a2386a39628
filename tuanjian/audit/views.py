"""The audit log of the user's subtree."""
from __future__ import annotations

from flask import current_app, request
from sqlalchemy import func, select

from ..extensions import db
from ..models import AuditEntry, AuditOrg, Org
from ..domain.orgtree import is_within as within_code
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
                  action=action, q=q, actions=ACTION_LABELS)
