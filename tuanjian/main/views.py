from __future__ import annotations

import functools
import os
import struct

from flask import abort, flash, redirect, render_template, session, url_for
from flask_login import current_user, login_required

from ..web.scope import current_org, grant_for, int_arg
from . import bp


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    org = current_org()
    if org is None:
        return render_template("errors/not_admin.html"), 200
    return redirect(landing_url(org))


def landing_url(org) -> str:
    """Where an admin of ``org`` starts: a 团支部's home is its member list with its to-do list (issue 16.2);
    upper levels start on the organisation page (or, right after logging in, on the progress summary)."""
    if org.org_kind.holds_members:
        return url_for("members.index", org_id=org.id)
    return url_for("orgs.detail", org_id=org.id)


@bp.post("/switch-org")
@login_required
def switch_org():
    grant = grant_for(int_arg("org_id"))
    if grant is None:
        abort(404)
    session["org_id"] = grant.org_id
    flash(f"已切换为 {grant.org.short_name} 管理员身份。", "info")
    return redirect(landing_url(grant.org))


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
    from ..web.urls import public_url_for
    # the absolute address only when other computers can open it (PUBLIC_URL, or a non-loopback request)
    return render_template("main/help.html", image=help_image, register_url=public_url_for("registration.register"))


# ---------------------------------------------------------------- 本人信息 (self-service profile)

def _profile_page(form, *, status: int = 200, places=None):
    from .. import current_settings
    from ..domain.members import EDUCATIONS, OCCUPATIONS
    from ..domain.people import CADRE_POLITICAL_STATUSES, ETHNICITIES, MEMBER_POLITICAL_STATUSES
    from ..domain.profile import IDENTITY_LOCKED, JOIN_LOCKED
    from ..domain.progress import cadre_complete, member_facts, member_identity
    from ..extensions import db
    from ..services.profile import my_places
    person = current_user.person
    places = places or my_places(db.session, person)
    member = places.member
    settings = current_settings()
    gaps = []
    if places.posts and not cadre_complete(ethnicity=person.ethnicity, political_status=person.political_status,
                                           join_date=person.join_date, phone=person.phone):
        gaps.append("团干部资料未完整：请填写手机号码、民族、政治面貌和入团年月（群众可不填入团年月）")
    identity = None
    if member is not None:
        identity = member_identity(person.join_date, member.evidence)
        complete, dev_ok, _ = member_facts(ethnicity=person.ethnicity, political_status=person.political_status,
                                           join_date=person.join_date, dev_number=member.dev_number,
                                           evidence=member.evidence,
                                           required_from_year=settings.dev_number_required_from_year,
                                           excepted=member.exception.rule_codes if member.exception else ())
        if not dev_ok:
            gaps.append("发展团员编号缺失或不规范：请联系所在团支部管理员补录")
        if not identity[0]:
            gaps.append(f"团员身份待确认（{identity[1]}）：请把入团志愿书等材料交所在团支部管理员核实登记")
        elif not complete and not gaps:
            gaps.append("团员资料未完整：请核对民族、政治面貌")
    return render_template(
        "main/profile.html", form=form, person=person, places=places, member=member, identity=identity, gaps=gaps,
        identity_locked=IDENTITY_LOCKED, join_locked=JOIN_LOCKED, ethnicities=ETHNICITIES,
        political_statuses=MEMBER_POLITICAL_STATUSES if member is not None else CADRE_POLITICAL_STATUSES,
        educations=EDUCATIONS, occupations=OCCUPATIONS), status


@bp.get("/me")
@login_required
def profile():
    from .forms import ProfileForm
    person = current_user.person
    form = ProfileForm(formdata=None)
    form.name.data, form.id_number.data = person.name, person.id_number
    for key in ("phone", "ethnicity", "political_status", "join_date"):
        getattr(form, key).data = getattr(person, key) or ""
    from ..extensions import db
    from ..services.profile import my_places
    places = my_places(db.session, person)
    if places.member is not None:
        for key in ("education", "occupation", "workplace"):
            getattr(form, key).data = getattr(places.member, key) or ""
    return _profile_page(form, places=places)


@bp.post("/me")
@login_required
def save_profile():
    from .. import current_settings
    from ..extensions import db
    from ..models import utcnow
    from ..services import profile as service
    from ..web.actions import form_action
    from ..web.scope import current_actor
    from .forms import ProfileForm
    form = ProfileForm()
    person = current_user.person
    data = {name: field.data for name, field in form._fields.items() if name != "csrf_token"}

    def refused(status: int, error: str | None):
        if error:
            flash(error, "error")
        return _profile_page(form, status=status)

    def done(changed: bool):
        flash("已保存您的个人信息。" if changed else "信息没有变化。", "success" if changed else "info")
        return redirect(url_for("main.profile"))
    return form_action(form, lambda: service.update_own_profile(db.session, current_actor(), person, data,
                                                                settings=current_settings(), now=utcnow()),
                       rerender=refused, done=done)
