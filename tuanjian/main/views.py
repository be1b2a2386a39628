from __future__ import annotations

from flask import abort, flash, redirect, render_template, session, url_for
from flask_login import current_user, login_required

from ..web.scope import active_grants, current_org, int_arg
from . import bp


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    org = current_org()
    if org is None:
        return render_template("errors/not_admin.html"), 200
    return redirect(url_for("orgs.detail", org_id=org.id))


@bp.post("/switch-org")
@login_required
def switch_org():
    org_id = int_arg("org_id")
    grant = next((g for g in active_grants() if g.org_id == org_id), None)
    if grant is None:
        abort(404)
    session["org_id"] = grant.org_id
    flash(f"已切换为 {grant.org.short_name} 管理员身份。", "info")
    return redirect(url_for("orgs.detail", org_id=grant.org_id))


@bp.get("/help")
def help():
    return render_template("main/help.html")
