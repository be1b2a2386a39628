"""Organisation tree, direct children, registration codes and admins of an organisation."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, flash, redirect, render_template, request, send_file, url_for

from .. import current_settings as _settings
from ..clock import to_local
from ..domain import policy
from ..domain.codes import CodeStatus
from ..domain.errors import ValidationFailed
from ..domain.orgtree import OrgKind, allowed_children, name_hints
from ..extensions import db
from ..models import Org, RegistrationCode, utcnow
from ..queries import active_posts, admin_counts, child_counts, latest_codes
from ..services import accounts as accounts_service
from ..services import codes as codes_service
from ..services import orgs as orgs_service
from ..spreadsheets.writer import write_table
from ..web.actions import flash_redirect, form_action
from ..web.crumbs import breadcrumb
from ..web.filters import local_time
from ..web.htmx import render
from ..web.scope import (
    admin_required,
    code_or_404,
    current_actor,
    current_org,
    grant_or_404,
    int_arg,
    org_or_404,
    post_or_404,
)
from . import bp
from . import queries as q
from .forms import CreateChildForm


@dataclass
class NodeInfo:
    org: Org
    n_children: int
    n_admins: int
    admin_limit: int
    code: RegistrationCode | None
    code_status: CodeStatus | None
    manage: bool      # the user may issue its codes (an admin of its parent): its code, order and admins' link


def node_infos(orgs: list[Org]) -> list[NodeInfo]:
    ids = [o.id for o in orgs]
    kids, admins, codes = child_counts(db.session, ids), admin_counts(db.session, ids), latest_codes(db.session, ids)
    scope = current_actor().scope_code
    now = utcnow()
    settings = _settings()
    out = []
    for o in orgs:
        code = codes.get(o.id)
        out.append(NodeInfo(org=o, n_children=kids.get(o.id, 0), n_admins=admins.get(o.id, 0),
                            admin_limit=settings.admin_limit(o.org_kind), code=code,
                            code_status=code.status(now) if code else None,
                            manage=policy.refusal("code.issue", scope, o.code) is None))
    return out


CHILDREN_PER_PAGE = 100          # direct children listed per page of the tree (a county may have hundreds)


def _detail_context(org: Org, form: CreateChildForm | None = None, hints: list[str] | None = None):
    """The org page: its facts and its direct children, a page at a time; with ``?q=`` instead the orgs anywhere
    below it whose name or code matches (plain GET form and links, so it works without JavaScript)."""
    scope = current_actor().scope_code
    q_text = " ".join(request.args.get("q", "").split())[:30]
    page = int_arg("page", 1) or 1
    if q_text:
        found = q.search_below(db.session, org, q_text, page, current_app.config["PAGE_SIZE"])
    else:
        found = q.children_page(db.session, org.id, page, CHILDREN_PER_PAGE)
    kinds = allowed_children(org.org_kind, _settings().placement)
    if form is None:
        form = CreateChildForm(formdata=None)
    may_create = not org.is_dissolved and policy.refusal("org.create_child", scope, org.code) is None
    infos = node_infos([org, *found.items])             # the org and its children in one set of queries
    return dict(org=org, kind_choices=[(k.value, k.label) for k in kinds], info=infos[0],
                nodes=infos[1:], crumbs=breadcrumb(org), form=form,
                can_create=may_create and bool(kinds),
                may_issue_batch=policy.refusal("code.issue_batch", scope, org.code) is None,
                hints=hints or [], q=q_text, page=found.page, pages=found.pages, total=found.total)


@bp.get("/")
@admin_required
def index():
    return redirect(url_for("orgs.detail", org_id=current_org().id))


@bp.get("/<int:org_id>")
@admin_required
def detail(org_id: int):
    org = org_or_404(org_id)
    return render("orgs/detail.html", block="children", **_detail_context(org))


@bp.get("/<int:org_id>/children")
@admin_required
def children(org_id: int):
    """Children of one node, for lazy expansion in the tree (a whole page without htmx)."""
    org = org_or_404(org_id)
    return render("orgs/detail.html", block="children", **_detail_context(org))


@bp.post("/<int:org_id>/children")
@admin_required
def create_child(org_id: int):
    org = org_or_404(org_id)
    form = CreateChildForm()
    actor = current_actor()

    def act():
        orgs_service.check_may_create_child(actor, org)      # a refusal comes before the fields' errors
        kind = OrgKind.from_label(form.kind.data) if form.kind.data else None
        if kind is None:
            # every field error at once (issue 16.8): the name is checked too, not only after a kind is chosen
            from ..domain.errors import Collector
            from ..domain.orgtree import validate_short_name
            errors = Collector()
            errors.check(validate_short_name, form.short_name.data or "")
            raise ValidationFailed({**errors.errors, "kind": ["请选择组织类别"]})
        return orgs_service.create_child(db.session, actor, org, short_name=form.short_name.data or "", kind=kind,
                                         settings=_settings(), is_township=form.is_township.data)

    def rerender(status: int, error: str | None):
        ctx = _detail_context(org, form)
        messages = [error] if error else []
        if status != 400 and not ctx["can_create"]:       # no form on this page to carry field errors
            messages = [m for field in form if field.name != "csrf_token" for m in field.errors] + messages
        for msg in messages:
            flash(msg, "error")
        return render("orgs/detail.html", status=status, **ctx)

    def done(child: Org):
        hints = name_hints(child.short_name, child.org_kind)
        return flash_redirect(
            f"已创建{child.kind_label}“{child.short_name}”，组织代码 {child.code}。下一步：为它生成管理员注册码。"
            + ("（提示：" + "；".join(hints) + "）" if hints else ""),
            url_for("orgs.detail", org_id=org.id) + f"#org-{child.id}")

    return form_action(form, act, rerender=rerender, done=done)


# ---------------------------------------------------------------- registration codes

@bp.post("/<int:org_id>/code")
@admin_required
def issue_code(org_id: int):
    org = org_or_404(org_id)
    code = codes_service.issue_code(db.session, current_actor(), org, _settings(), utcnow())
    flash(f"已为“{org.short_name}”生成管理员注册码 {code.code}，有效期至 {local_time(code.expires_at)}。"
          "请将注册码交给该组织的管理员。", "success")
    return redirect(url_for("orgs.detail", org_id=org.parent_id) + f"#org-{org.id}")


@bp.post("/codes/<int:code_id>/revoke")
@admin_required
def revoke_code(code_id: int):
    code = code_or_404(code_id)
    codes_service.revoke_code(db.session, current_actor(), code, utcnow())
    flash(f"已撤销“{code.org.short_name}”的注册码。", "success")
    return redirect(url_for("orgs.detail", org_id=code.org.parent_id) + f"#org-{code.org_id}")


@bp.post("/<int:org_id>/codes.xlsx")
@admin_required
def batch_codes(org_id: int):
    org = org_or_404(org_id)
    rows = codes_service.issue_batch(db.session, current_actor(), org, _settings(), utcnow())
    table = [(r.code.code if r.code else "", r.org.code, r.org.short_name, r.org.kind_label,
              local_time(r.code.expires_at) if r.code else "",
              r.note + (f"；该组织已有{r.admins}名管理员" if r.code and r.admins else "")) for r in rows]
    out = write_table(["管理员注册码", "组织代码", "组织简称", "组织类别", "有效期至", "说明"], table,
                      title="管理员注册码", text_columns=(0, 1), widths=(16, 26, 30, 14, 18, 24),
                      caption=f"{org.short_name} 直属下级组织管理员注册码（注册码区分大小写，每码限注册一名管理员）")
    name = f"管理员注册码_{org.short_name}_{to_local(utcnow()):%Y%m%d}.xlsx"
    return send_file(out, as_attachment=True, download_name=name,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/<int:org_id>/codes/slips")
@admin_required
def code_slips(org_id: int):
    """One slip per direct child with its unused code, to print on A4, cut and hand out (no code is issued here)."""
    org = org_or_404(org_id)
    slips, missing, full = codes_service.slips(db.session, current_actor(), org, _settings(), utcnow())
    # the address printed on the slips (issue 16.3): PUBLIC_URL; else this page's address, unless the page was
    # opened on the server itself (127.0.0.1, localhost): then ask for the address other computers use
    from ..domain.addresses import normalise_public_url
    from ..web.urls import configured_public_url, public_base, public_url_for
    base, typed, address_error = public_base(), request.args.get("address"), None
    if typed is not None and not configured_public_url():
        try:
            base = normalise_public_url(typed)
        except ValidationFailed as exc:
            base, address_error = None, exc.field_errors["address"][0]
    return render_template("orgs/code_slips.html", org=org, slips=slips, missing=missing, full=full,
                           register_url=public_url_for("registration.register", base) if base else None,
                           address=typed if typed is not None else "", address_error=address_error,
                           typed_address=typed is not None and base is not None, printed_at=utcnow())


@bp.post("/<int:org_id>/codes/slips")
@admin_required
def issue_slips(org_id: int):
    """Give every direct child that still needs one a code (unused ones are kept), then show the slips."""
    org = org_or_404(org_id)
    rows = codes_service.issue_batch(db.session, current_actor(), org, _settings(), utcnow())
    new = sum(1 for r in rows if r.note == "新生成")
    kept = sum(1 for r in rows if r.code is not None) - new
    staffed = sum(1 for r in rows if r.code is not None and r.admins)
    flash(f"已为 {new} 个直属下级组织新生成注册码，{kept} 个沿用尚未使用的注册码。"
          + (f"其中 {staffed} 个组织已有管理员，纸条上已注明，请确认确需增加管理员再分发。" if staffed else "")
          + "请打印本页，沿虚线剪开后分发。", "success")
    return redirect(url_for("orgs.code_slips", org_id=org.id, address=request.form.get("address") or None))


# ---------------------------------------------------------------- admins

def _admins_context(org: Org):
    from ..services import firstlogin
    grants = q.active_grants(db.session, org.id)
    actor, now = current_actor(), utcnow()
    may_manage = policy.refusal("admin.manage", actor.scope_code, org.code) is None
    # unclaimed accounts (never set a password of their own) need a 首次登录验证码: it is shown, and can be
    # regenerated, only by an admin whose reach covers every place of the person (issue 24, class 2)
    waiting = {g.person_id for g in grants if g.person.account is not None and not g.person.account.is_claimed}
    code_refusals = firstlogin.refusals(db.session, actor, [g.person for g in grants if g.person_id in waiting])
    usable = firstlogin.usable_codes(db.session, waiting, now)
    first_codes = {pid: c for pid, c in usable.items() if code_refusals.get(pid) is None}
    return dict(org=org, grants=grants, posts=active_posts(db.session, org.id),
                eligible=accounts_service.eligible_cadres(db.session, org),
                limit=_settings().admin_limit(org.org_kind), crumbs=breadcrumb(org),
                may_manage=may_manage, waiting=waiting, first_codes=first_codes, usable=usable,
                code_refusals=code_refusals,
                latest_codes=firstlogin.latest_codes(db.session, [g.person_id for g in grants]),
                first_code_hours=_settings().first_login_code_valid_hours)


def _admins_page(org: Org, status: int = 200, error: str | None = None):
    if error:
        flash(error, "error")
    return render("orgs/admins.html", status=status, **_admins_context(org))


@bp.get("/<int:org_id>/admins")
@admin_required
def admins(org_id: int):
    return _admins_page(org_or_404(org_id))


@bp.post("/<int:org_id>/admins")
@admin_required
def grant_admin(org_id: int):
    org = org_or_404(org_id)
    post_id = int_arg("post_id")
    if post_id is None:
        return _admins_page(org, 422, "请选择要设为管理员的团干部。")
    post = post_or_404(post_id)

    def done(grant):
        return flash_redirect(
            f"已设定 {grant.person.name} 为“{org.short_name}”管理员。"
            + ("其账号尚未启用（初始密码为身份证号后八位），登录还须填写首次登录验证码：请把下方的验证码当面告知本人，"
               "本人登录并设置新密码后账号即启用。" if not grant.person.account.is_claimed else ""),
            url_for("orgs.admins", org_id=org.id) + "#first-login")

    return form_action(None, lambda: accounts_service.grant_admin(db.session, current_actor(), org, post,
                                                                  settings=_settings(), now=utcnow()),
                       rerender=lambda status, error: _admins_page(org, status, error), done=done)


@bp.post("/admins/<int:grant_id>/first-login-code")
@admin_required
def issue_first_login_code(grant_id: int):
    """重新生成首次登录验证码 for an admin still on the default password (the earlier code is revoked)."""
    from ..services import firstlogin
    grant = grant_or_404(grant_id)
    org = grant.org
    return form_action(
        None, lambda: firstlogin.issue(db.session, current_actor(), grant, settings=_settings(), now=utcnow()),
        rerender=lambda status, error: _admins_page(org, status, error),
        done=lambda code: flash_redirect(f"已为 {grant.person.name} 生成首次登录验证码，有效期至 "
                                         f"{local_time(code.expires_at)}。请当面告知本人。",
                                         url_for("orgs.admins", org_id=org.id) + "#first-login"))


@bp.post("/admins/<int:grant_id>/revoke")
@admin_required
def revoke_admin(grant_id: int):
    grant = grant_or_404(grant_id)
    org = grant.org
    return form_action(
        None, lambda: accounts_service.revoke_admin(db.session, current_actor(), grant, now=utcnow()),
        rerender=lambda status, error: _admins_page(org, status, error),
        done=lambda _: flash_redirect(f"已解除 {grant.person.name} 的管理员身份（其团干部职务和账号保留）。",
                                      url_for("orgs.admins", org_id=org.id)))
