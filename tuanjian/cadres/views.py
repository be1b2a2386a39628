"""本级团干部 pages: list, add, change position, end post, Excel import."""
from __future__ import annotations

from datetime import date

from flask import flash, url_for

from .. import current_settings as _settings
from ..clock import local_date, local_today
from ..domain import policy
from ..domain.cadres import NATURES, YES_NO, validate_cadre
from ..domain.errors import ValidationFailed
from ..domain.people import CADRE_POLITICAL_STATUSES, ETHNICITIES
from ..extensions import db
from ..models import utcnow
from ..queries import active_posts, is_admin
from ..services import cadres as service
from ..spreadsheets.writer import Column
from ..web.actions import flash_redirect, form_action
from ..web.crumbs import breadcrumb
from ..web.htmx import render
from ..web.importflow import ImportFlow
from ..web.scope import admin_required, current_actor, org_or_404, post_or_404
from . import bp
from . import queries as q
from .forms import CadreForm, ChangeForm, EndForm


def _may_manage(org) -> bool:
    return not org.is_dissolved and policy.refusal("cadre.manage", current_actor().scope_code, org.code) is None


def _context(org, form=None):
    return dict(org=org, crumbs=breadcrumb(org), posts=active_posts(db.session, org.id),
                admins=q.admin_person_ids(db.session, org.id), history=q.recent_changes(db.session, org.id),
                form=form or CadreForm(formdata=None), may_manage=_may_manage(org),
                positions=service.positions(org), natures=NATURES, yes_no=YES_NO, ethnicities=ETHNICITIES,
                political_statuses=CADRE_POLITICAL_STATUSES)


def _page(org, form, status: int, error: str | None):
    """The list page again after a refused entry; what the form's fields cannot carry is flashed."""
    if error:
        flash(error, "error")
    return render("cadres/index.html", status=status, **_context(org, form))


@bp.get("/org/<int:org_id>")
@admin_required
def index(org_id: int):
    return render("cadres/index.html", **_context(org_or_404(org_id)))


@bp.post("/org/<int:org_id>")
@admin_required
def add(org_id: int):
    org = org_or_404(org_id)
    form = CadreForm()

    def act():
        now = utcnow()
        data = validate_cadre(form.data, is_leading=org.org_kind.is_leading, settings=_settings(),
                              today=local_date(now))
        return service.add_cadre(db.session, current_actor(), org, data, now=now)

    def done(result):
        created, opened = result
        return flash_redirect(f"已录入团干部 {created.person.name}（{created.position}）。"
                              + ("已为其开通账号，初始密码为身份证号后八位，首次登录须修改。" if opened else ""),
                              url_for("cadres.index", org_id=org.id))

    return form_action(form, act, rerender=lambda status, error: _page(org, form, status, error), done=done)


def _post_page(post, change_form=None, end_form=None, status=200, error=None):
    org = post.org
    if change_form is None:
        change_form = ChangeForm(formdata=None)
        change_form.changed_on.data = local_today().isoformat()
    if end_form is None:
        end_form = EndForm(formdata=None)
        end_form.ended_on.data = local_today().isoformat()
    return render("cadres/post.html", status=status, post=post, org=org, crumbs=breadcrumb(org),
                  changes=q.post_changes(db.session, post.id), is_admin=is_admin(db.session, org.id, post.person_id),
                  change_form=change_form, end_form=end_form, positions=service.positions(org),
                  may_manage=_may_manage(org), error=error)


def _date(raw: str, field: str, label: str) -> date:
    try:
        return date.fromisoformat((raw or "").strip().replace("/", "-").replace(".", "-"))
    except ValueError:
        raise ValidationFailed.single(field, f"{label}格式应为 2026-05-01") from None


@bp.get("/<int:post_id>")
@admin_required
def post(post_id: int):
    return _post_page(post_or_404(post_id))


@bp.post("/<int:post_id>/change")
@admin_required
def change(post_id: int):
    post_ = post_or_404(post_id)
    form = ChangeForm()
    return form_action(
        form,
        lambda: service.change_position(db.session, current_actor(), post_, position=form.position.data,
                                        title=form.title.data, now=utcnow(),
                                        changed_on=_date(form.changed_on.data, "changed_on", "变更日期")),
        rerender=lambda status, error: _post_page(post_, change_form=form, status=status, error=error),
        done=lambda _: flash_redirect(f"已将 {post_.person.name} 的职务变更为 {post_.position}。",
                                      url_for("cadres.post", post_id=post_.id)))


@bp.post("/<int:post_id>/end")
@admin_required
def end(post_id: int):
    post_ = post_or_404(post_id)
    form = EndForm()
    return form_action(
        form,
        lambda: service.end_post(db.session, current_actor(), post_, reason=form.reason.data or "", now=utcnow(),
                                 ended_on=_date(form.ended_on.data, "ended_on", "卸任日期")),
        rerender=lambda status, error: _post_page(post_, end_form=form, status=status, error=error),
        done=lambda _: flash_redirect(f"{post_.person.name} 已卸任 {post_.position}，记录已保留。",
                                      url_for("cadres.index", org_id=post_.org_id)))


# ---------------------------------------------------------------- Excel import

def _columns(org) -> list[Column]:
    return [Column("姓名", "name", required=True, width=12),
            Column("身份证号码", "id_number", required=True, width=22, note="18位，须为文本格式（模板已设置）"),
            Column("手机号码", "phone", required=True, width=15),
            Column("民族", "ethnicity", required=True, width=10, choices=ETHNICITIES),
            Column("政治面貌", "political_status", required=True, width=12, choices=CADRE_POLITICAL_STATUSES),
            Column("入团年月", "join_date", width=10, note="如 2010-05；政治面貌为“群众”可不填"),
            Column("职务", "position", required=True, width=12, choices=service.positions(org)),
            Column("职务名称", "title", width=16, note="职务选“其他”时必填，如“组织部部长”"),
            Column("团干部性质", "nature", required=True, width=10, choices=NATURES),
            Column("任现职年月", "start_month", width=10, note="如 2023-09"),
            Column("是否同级党委成员", "party_committee", width=10, choices=YES_NO)]


FLOW = ImportFlow(
    kind="cadres", what="批量录入团干部", sheet=service.CADRE_SHEET,
    endpoints={"upload_page": "cadres.import_page", "template": "cadres.template", "upload": "cadres.upload",
               "batch": "cadres.batch", "commit": "cadres.commit_batch", "cancel": "cadres.cancel_batch",
               "errors": "cadres.batch_errors"},
    columns=_columns,
    instructions=lambda org: [
        "1. 在“团干部”工作表中从第2行起每行填写一名团干部；红色表头为必填。",
        "2. 身份证号码、手机号码、年月列已设为文本格式，请勿改成数字，否则身份证号末几位会丢失。",
        "3. 民族、政治面貌、职务、团干部性质请从下拉列表中选择；不要修改表头。",
        "4. 一人在本组织担任多个职务时，每个职务填一行。",
        "5. 新录入的团干部自动开通账号，初始密码为身份证号后八位。"],
    steps=["每行填写一名团干部；一人担任多个职务时每个职务一行。", "新团干部自动开通账号，初始密码为身份证号后八位。"],
    preview=service.preview_cadres, commit_rows=service.commit_cadres,
    result_columns={"name": "姓名", "position": "职务"},
    next_step=lambda org: (url_for("cadres.index", org_id=org.id), "查看本级团干部"),
    success=lambda posts: f"已录入 {len(posts)} 名团干部（新账号初始密码为身份证号后八位）。")


FLOW.register(bp, upload_rule="/org/<int:org_id>/import", template_rule="/org/<int:org_id>/template.xlsx")
