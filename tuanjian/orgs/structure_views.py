"""Reorder, move, merge and dissolve organisations (调整顺序、迁移、合并、撤销)."""
from __future__ import annotations

from flask import flash, redirect, request, url_for

from .. import current_settings as _settings
from ..domain import policy
from ..domain.orgtree import OrgKind
from ..extensions import db
from ..models import Org, utcnow
from ..services import orgs as service
from ..web.actions import flash_redirect, form_action
from ..web.crumbs import breadcrumb
from ..web.htmx import render
from ..web.scope import admin_required, current_actor, int_arg, org_or_404
from . import bp
from . import queries as q


def _context(org: Org, *, error: str | None = None):
    actor = current_actor()
    refusal = policy.refusal("org.restructure", actor.scope_code, org.code)
    may_change = refusal is None and not org.is_dissolved
    siblings = q.sibling_branches(db.session, org) if may_change and org.org_kind is OrgKind.BRANCH else []
    return dict(org=org, crumbs=breadcrumb(org), may_change=may_change, refusal=refusal,
                targets=service.move_targets(db.session, actor, org, _settings()) if may_change else [],
                siblings=siblings, n_children=q.live_child_count(db.session, org.id),
                n_members=q.member_count(db.session, org.id), history=q.code_changes(db.session, org.id), error=error)


def _page(org: Org, status: int = 200, error: str | None = None):
    return render("orgs/structure.html", status=status, **_context(org, error=error))


@bp.get("/<int:org_id>/structure")
@admin_required
def structure(org_id: int):
    return _page(org_or_404(org_id))


@bp.post("/<int:org_id>/reorder")
@admin_required
def reorder(org_id: int):
    org = org_or_404(org_id)
    service.reorder(db.session, current_actor(), org, request.form.get("direction", ""))
    return redirect(url_for("orgs.detail", org_id=org.parent_id) + f"#org-{org.id}")


def _rerender(org: Org):
    """The structure page again after a refusal (the org reloaded: the rollback expired it)."""
    return lambda status, error: _page(org_or_404(org.id), status, error)


@bp.post("/<int:org_id>/move")
@admin_required
def move(org_id: int):
    org = org_or_404(org_id)
    target_id = int_arg("new_parent_id")
    if target_id is None:
        return _page(org, 422, "请选择新的上级组织")
    target = org_or_404(target_id)
    old_code = org.code

    def done(changes: dict[str, str]):
        flash(f"已将“{org.short_name}”移到“{target.short_name}”之下。", "success")
        n = len(changes)
        return flash_redirect(f"组织代码 {old_code} → {changes[old_code]}"
                              + (f"，连同 {n - 1} 个下级组织一并重新编码" if n > 1 else "")
                              + "；原代码记录在“代码变更记录”中。", url_for("orgs.structure", org_id=org.id), "info")

    return form_action(None, lambda: service.move_org(db.session, current_actor(), org, target, settings=_settings(),
                                                      now=utcnow()),
                       rerender=_rerender(org), done=done)


@bp.post("/<int:org_id>/merge")
@admin_required
def merge(org_id: int):
    org = org_or_404(org_id)
    target_id = int_arg("target_id")
    if target_id is None:
        return _page(org, 422, "请选择要并入的团支部")
    target = org_or_404(target_id)
    parent_id = org.parent_id
    return form_action(None, lambda: service.merge_branches(db.session, current_actor(), org, target, now=utcnow()),
                       rerender=_rerender(org),
                       done=lambda _: flash_redirect(f"已将“{org.short_name}”并入“{target.short_name}”，"
                                                     "团员和团干部已转入，原团支部已撤销。",
                                                     url_for("orgs.detail", org_id=parent_id)))


@bp.post("/<int:org_id>/dissolve")
@admin_required
def dissolve(org_id: int):
    org = org_or_404(org_id)
    parent_id = org.parent_id
    return form_action(None, lambda: service.dissolve(db.session, current_actor(), org,
                                                      reason=request.form.get("reason", ""), now=utcnow()),
                       rerender=_rerender(org),
                       done=lambda _: flash_redirect(f"已撤销“{org.short_name}”。其历史记录仍保留在操作日志中。",
                                                     url_for("orgs.detail", org_id=parent_id)))
