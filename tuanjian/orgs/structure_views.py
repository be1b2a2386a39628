"""Reorder, move, merge and dissolve organisations (调整顺序、迁移、合并、撤销)."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from sqlalchemy import func, select

from .. import current_settings as _settings
from ..domain.errors import DomainError
from ..domain.orgtree import OrgKind, is_strictly_below
from ..extensions import db
from ..models import Member, Org, OrgCodeChange, utcnow
from ..queries import children_of
from ..services import orgs as service
from ..web.crumbs import breadcrumb
from ..web.htmx import render
from ..web.scope import admin_required, current_actor, int_arg, org_or_404
from . import bp


def _context(org: Org, *, error: str | None = None):
    actor = current_actor()
    may_change = actor.scope_code is not None and is_strictly_below(org.code, actor.scope_code) and not org.is_dissolved
    siblings = []
    if may_change and org.org_kind is OrgKind.BRANCH and org.parent_id is not None:
        siblings = [o for o in db.session.scalars(children_of(org.parent_id))
                    if o.id != org.id and o.org_kind is OrgKind.BRANCH]
    n_children = db.session.scalar(select(func.count()).select_from(Org).where(Org.parent_id == org.id,
                                                                             Org.dissolved_at.is_(None)))
    n_members = db.session.scalar(select(func.count()).select_from(Member).where(Member.org_id == org.id,
                                                                               Member.deleted_at.is_(None)))
    history = list(db.session.scalars(select(OrgCodeChange).where(OrgCodeChange.org_id == org.id)
                                      .order_by(OrgCodeChange.id.desc())))
    return dict(org=org, crumbs=breadcrumb(org), may_change=may_change,
                targets=service.move_targets(db.session, actor, org, _settings()) if may_change else [],
                siblings=siblings, n_children=n_children, n_members=n_members, history=history, error=error)


@bp.get("/<int:org_id>/structure")
@admin_required
def structure(org_id: int):
    return render("orgs/structure.html", **_context(org_or_404(org_id)))


@bp.post("/<int:org_id>/reorder")
@admin_required
def reorder(org_id: int):
    org = org_or_404(org_id)
    service.reorder(db.session, current_actor(), org, request.form.get("direction", ""))
    db.session.commit()
    return redirect(url_for("orgs.detail", org_id=org.parent_id) + f"#org-{org.id}")


def _run(org: Org, action, success: str):
    try:
        action()
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return render("orgs/structure.html", status=exc.status, **_context(org_or_404(org.id), error=exc.message))
    flash(success, "success")
    return None


@bp.post("/<int:org_id>/move")
@admin_required
def move(org_id: int):
    org = org_or_404(org_id)
    target_id = int_arg("new_parent_id")
    if target_id is None:
        return render("orgs/structure.html", status=422, **_context(org, error="请选择新的上级组织"))
    target = org_or_404(target_id)
    old_code = org.code
    holder = {}
    failed = _run(org, lambda: holder.update(changes=service.move_org(
        db.session, current_actor(), org, target, settings=_settings(), now=utcnow())),
        f"已将“{org.short_name}”移到“{target.short_name}”之下。")
    if failed is not None:
        return failed
    n = len(holder["changes"])
    flash(f"组织代码 {old_code} → {holder['changes'][old_code]}"
          + (f"，连同 {n - 1} 个下级组织一并重新编码" if n > 1 else "") + "；原代码记录在“代码变更记录”中。", "info")
    return redirect(url_for("orgs.structure", org_id=org.id))


@bp.post("/<int:org_id>/merge")
@admin_required
def merge(org_id: int):
    org = org_or_404(org_id)
    target_id = int_arg("target_id")
    if target_id is None:
        return render("orgs/structure.html", status=422, **_context(org, error="请选择要并入的团支部"))
    target = org_or_404(target_id)
    parent_id = org.parent_id
    failed = _run(org, lambda: service.merge_branches(db.session, current_actor(), org, target, now=utcnow()),
                  f"已将“{org.short_name}”并入“{target.short_name}”，团员和团干部已转入，原团支部已撤销。")
    return failed or redirect(url_for("orgs.detail", org_id=parent_id))


@bp.post("/<int:org_id>/dissolve")
@admin_required
def dissolve(org_id: int):
    org = org_or_404(org_id)
    parent_id = org.parent_id
    failed = _run(org, lambda: service.dissolve(db.session, current_actor(), org,
                                                reason=request.form.get("reason", ""), now=utcnow()),
                  f"已撤销“{org.short_name}”。其历史记录仍保留在操作日志中。")
    return failed or redirect(url_for("orgs.detail", org_id=parent_id))


