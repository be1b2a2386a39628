"""The audit log of the user's subtree."""
from __future__ import annotations

from flask import current_app, request

from ..extensions import db
from ..services.audit import ACTION_LABELS
from ..web.htmx import render
from ..web.scope import admin_required, current_org, int_arg
from . import bp
from .queries import entries, org_names


@bp.get("/")
@admin_required
def index():
    org = current_org()
    page = max(1, int_arg("page", 1) or 1)
    per_page = current_app.config["PAGE_SIZE"]
    action = request.args.get("action", "")
    q = " ".join(request.args.get("q", "").split())
    found = entries(db.session, org.code, action=action if action in ACTION_LABELS else None, q=q, page=page,
                    per_page=per_page)
    return render("audit/index.html", block="audit_table", rows=found.items, page=found.page, pages=found.pages,
                  total=found.total, action=action, q=q, actions=ACTION_LABELS,
                  **_display_helpers([e for e, _ in found.items]))


def _display_helpers(shown) -> dict:
    """Chinese labels and display values for the shown entries (issue 16.4); organisation ids and codes the
    entries mention are named with one query."""
    from ..domain.auditview import display_changes, local_summary, referenced_orgs
    from ..services.audit import action_label
    ids, codes = set(), set()
    for e in shown:
        for values in (e.before, e.after):
            i, c = referenced_orgs(values)
            ids |= i
            codes |= c
    names = org_names(db.session, ids, codes)
    offset = current_app.config.get("TIMEZONE_OFFSET_HOURS", 8)
    return {"changes": lambda values: display_changes(values, org_names=names, offset_hours=offset),
            "summary_of": lambda text: local_summary(text, offset_hours=offset), "action_label": action_label}
