from __future__ import annotations

import functools
import os
import struct

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


HELP_IMAGES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "static", "help")


@functools.lru_cache(maxsize=32)
def _png_size(name: str, mtime: float) -> tuple[int, int] | None:
    """(width, height) from a PNG's header, so the page reserves the picture's space before it loads."""
    try:
        with open(os.path.join(HELP_IMAGES, name), "rb") as f:
            head = f.read(24)
    except OSError:
        return None
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", head[16:24])


def help_image(name: str):
    path = os.path.join(HELP_IMAGES, name)
    size = _png_size(name, os.path.getmtime(path)) if os.path.exists(path) else None
    if size is None:
        return None
    return {"src": url_for("static", filename=f"help/{name}"), "width": size[0], "height": size[1]}


@bp.get("/help")
def help():
    return render_template("main/help.html", image=help_image)
