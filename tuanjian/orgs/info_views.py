"""录入组织信息 (org info form with the first-save confirmation)."""
from __future__ import annotations

from flask import current_app, flash, request, url_for

from .. import current_settings
from ..domain.orginfo import (
    DEFAULT_INDUSTRIES,
    LOCKED_FIELDS,
    needs_contact,
    needs_industry,
    needs_staffing,
    required_fields,
)
from ..domain.orgtree import OrgKind, allowed_children
from ..extensions import db
from ..models import utcnow
from ..services import orginfo as service
from ..web.actions import flash_redirect, form_action
from ..web.crumbs import breadcrumb
from ..web.htmx import render
from ..web.scope import admin_required, current_actor, org_or_404
from . import bp
from .forms import OrgInfoForm


def _industries() -> tuple[str, ...]:
    return tuple(current_app.config.get("INDUSTRIES") or DEFAULT_INDUSTRIES)


def _kind_choices(org):
    if org.parent is None:
        return [(org.kind, org.kind_label)]
    kinds = allowed_children(org.parent.org_kind, current_settings().placement)
    return [(k.value, k.label) for k in kinds]


def _context(org, form, *, status_hints=None, confirm=None):
    actor = current_actor()
    kind = OrgKind(form.kind.data) if form.kind.data in {k.value for k in OrgKind} else org.org_kind
    secretary = service.current_secretary(db.session, org)
    return dict(org=org, form=form, crumbs=breadcrumb(org), kind_choices=_kind_choices(org), industries=_industries(),
                required=set(required_fields(kind)), show_staff=needs_staffing(kind),
                show_industry=needs_industry(kind),
                contact_required=needs_contact(kind), locked=service.locked_for(actor, org),
                locked_fields=LOCKED_FIELDS,
                first_save=service.confirms_first_save(actor, org), confirm=confirm,
                secretary=secretary, hints=status_hints or [], complete=service.is_info_complete(db.session, org),
                school_hint=_school_hint(org))


def _school_hint(org) -> str:
    """Where the 学校标识码 goes: the organisation standing for the whole school, not its 团总支/团支部."""
    from ..domain.orginfo import SCHOOL_INDUSTRIES, is_school
    if org.parent is not None and is_school(org.parent.industry):
        return "学校标识码填在代表整个学校的组织（如学校团委）上，学校内的团总支、团支部不用填"
    return "行业类别为" + "、".join(SCHOOL_INDUSTRIES) + "的，填写教育部颁发的10位学校标识码；其他单位不填"


def _prefill(org, form):
    for key, value in service.info_values(org).items():
        getattr(form, key).data = ("" if value is None
                                   else value.isoformat() if hasattr(value, "isoformat") else str(value))
    secretary = service.current_secretary(db.session, org)
    if secretary is not None:
        form.secretary_name.data = secretary.person.name
        # masked like every list: the page is no way round a reveal (issue 14); saving it unchanged keeps him
        form.secretary_id_number.data = secretary.person.masked_id
        form.secretary_phone.data = secretary.person.phone or ""
    form.secretary_presiding.data = org.secretary_presiding


@bp.get("/<int:org_id>/info")
@admin_required
def info(org_id: int):
    org = org_or_404(org_id)
    form = OrgInfoForm(formdata=None)
    _prefill(org, form)
    return render("orgs/info.html", **_context(org, form))


@bp.post("/<int:org_id>/info")
@admin_required
def save_info(org_id: int):
    org = org_or_404(org_id)
    form = OrgInfoForm()
    actor = current_actor()

    def act():
        data = _posted(org, form, actor)
        try:
            return service.save_org_info(db.session, actor, org, data, settings=current_settings(), now=utcnow(),
                                         confirmed=form.confirmed.data == "1", industries=_industries())
        except service.NeedsConfirmation as exc:      # raised before anything is written: ask first
            return exc

    def rerender(status: int, error: str | None):
        if error:
            flash(error, "error")
        return render("orgs/info.html", status=status, **_context(org, form))

    def done(saved):
        if isinstance(saved, service.NeedsConfirmation):
            return render("orgs/info.html", **_context(org, form, confirm=saved.locked))
        note = "（已为书记开通账号，初始密码为身份证号后八位）" if saved.secretary_created else ""
        return flash_redirect(f"已保存“{org.short_name}”的组织信息{note}。"
                              + ("提示：" + "；".join(saved.hints) if saved.hints else ""),
                              url_for("orgs.info", org_id=org.id))

    return form_action(form, act, rerender=rerender, done=done)


def _posted(org, form, actor) -> dict:
    """The posted values as the service takes them (locked fields are shown read-only and not posted: the saved
    values are kept; the secretary's masked ID number left unchanged stands for the stored one)."""
    if service.locked_for(actor, org):
        for key in LOCKED_FIELDS:
            if not request.form.get(key):
                getattr(form, key).data = service.info_values(org)[key] or ""
    data = {name: field.data for name, field in form._fields.items() if name not in ("csrf_token", "confirmed")}
    secretary = service.current_secretary(db.session, org)
    if secretary is not None and "".join(str(data.get("secretary_id_number") or "").split()).upper() \
            == secretary.person.masked_id.upper():
        data["secretary_id_number"] = secretary.person.id_number      # the masked number shown, left unchanged
    return data
