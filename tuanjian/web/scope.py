"""The scope chokepoint: every id in a URL or form is resolved here. Out of scope answers 404."""
from __future__ import annotations

import functools

from flask import abort, g, redirect, render_template, request, session, url_for
from flask_login import current_user

from .. import queries
from ..extensions import db
from ..models import AdminGrant, CadrePost, ImportBatch, Member, Org, Person, RegistrationCode
from ..services.actor import Actor
from .net import client_ip


def active_grants() -> list[AdminGrant]:
    """The current user's admin grants, highest organisation first (cached per request; the user loader reads them
    with the account, in the same statement)."""
    if "active_grants" not in g:
        authenticated = current_user.is_authenticated          # loading the user may set g.active_grants
        if "active_grants" not in g:
            g.active_grants = (queries.admin_grants_of(db.session, current_user.person_id) if authenticated
                               else [])
    return g.active_grants


def requests_waiting() -> tuple[int, int]:
    """(特殊情况录入, 组织关系转接) requests waiting for the current org's decision, for the menu (per request)."""
    if "requests_waiting" not in g:
        org = current_org()
        g.requests_waiting = (0, 0) if org is None else queries.requests_waiting(db.session, org,
                                                                                 current_user.person_id)
    return g.requests_waiting


def grant_for(org_id: int | None) -> AdminGrant | None:
    """The current user's active admin grant on ``org_id``: None when they are not its admin."""
    return next((grant for grant in active_grants() if grant.org_id == org_id), None)


def current_org() -> Org | None:
    """The organisation the user is acting as admin of (chosen in the session, else the highest)."""
    grants = active_grants()
    if not grants:
        return None
    return (grant_for(session.get("org_id")) or grants[0]).org


def current_actor() -> Actor:
    org = current_org()
    return Actor(person_id=current_user.person_id, name=current_user.person.name, ip=client_ip(),
                 org_id=org.id if org else None, scope_code=org.code if org else None)


def scope_code_or_404() -> str:
    org = current_org()
    if org is None:
        abort(404)
    return org.code


def admin_required(view):
    """Logged in, password changed, and admin of at least one organisation."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            from ..extensions import login_manager
            return login_manager.unauthorized()
        if current_org() is None:
            return render_template("errors/not_admin.html"), 403
        return view(*args, **kwargs)
    return wrapped


# ---------------------------------------------------------------- loaders (the only way views load by id)

def org_or_404(org_id: int) -> Org:
    me = current_org()
    if me is not None and me.id == org_id:          # the user's own org (most pages): the root of the scope, loaded
        return me                                   # with the grants already
    org = queries.org_in_scope(db.session, org_id, scope_code_or_404())
    if org is None:
        abort(404)
    return org


def _owned_by_org_or_404(model, obj_id: int):
    """Load a row that belongs to an organisation (``model.org_id``) when that organisation is in scope."""
    obj = queries.owned_in_scope(db.session, model, obj_id, scope_code_or_404())
    if obj is None:
        abort(404)
    return obj


def code_or_404(code_id: int) -> RegistrationCode:
    return _owned_by_org_or_404(RegistrationCode, code_id)


def grant_or_404(grant_id: int) -> AdminGrant:
    return _owned_by_org_or_404(AdminGrant, grant_id)


def post_or_404(post_id: int) -> CadrePost:
    return _owned_by_org_or_404(CadrePost, post_id)


def member_or_404(member_id: int) -> Member:
    return _owned_by_org_or_404(Member, member_id)


def transfer_or_404(transfer_id: int):
    """A transfer request is visible to both sides: either branch within the user's subtree."""
    req = queries.transfer_in_scope(db.session, transfer_id, scope_code_or_404())
    if req is None:
        abort(404)
    return req


def exception_or_404(request_id: int):
    """A 特殊情况录入 request is seen by the admins of its branch and of every org above it (the approving org among
    them: it is an ancestor of the branch)."""
    from ..models import ExceptionRequest
    return _owned_by_org_or_404(ExceptionRequest, request_id)


def campaign_or_404(campaign_id: int):
    """A campaign set by an organisation in the user's subtree (the setter's view)."""
    from ..models import Campaign
    return _owned_by_org_or_404(Campaign, campaign_id)


def batch_or_404(batch_id: int) -> ImportBatch:
    return _owned_by_org_or_404(ImportBatch, batch_id)


def parents_campaign_or_404(org: Org, campaign_id: int):
    """A campaign to confirm for ``org`` (in scope): one its parent set, although the parent lies outside the user's
    subtree; else any campaign in scope (the service then explains why this org cannot confirm it)."""
    return queries.parents_campaign(db.session, campaign_id, org) or campaign_or_404(campaign_id)


def person_or_404(person_id: int) -> Person:
    """A person with an active post, a current membership or an active admin grant in the user's subtree."""
    person = queries.person_by_id_in_scope(db.session, person_id, scope_code_or_404())
    if person is None:
        abort(404)
    return person


INT_ARG_LIMIT = 2**31 - 1


def int_arg(name: str, default: int | None = None, source=None) -> int | None:
    """An integer from the query string or form; garbage becomes a 400 with a Chinese message."""
    raw = (source if source is not None else request.values).get(name, "")
    if raw in ("", None):
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        abort(400, description=f"参数“{name}”应为数字")
    if not -INT_ARG_LIMIT <= value <= INT_ARG_LIMIT:      # a page or an id past any database integer
        abort(400, description=f"参数“{name}”的数值超出范围")
    return value


def is_local_path(target) -> bool:
    """``target`` is a path on this site, as a browser will read it once Werkzeug has written it into the
    Location header: no control characters or spaces (browsers drop tabs and newlines, so ``/\t/evil`` would
    become ``//evil``; a newline cannot go into a header at all), no backslash (read as ``/``), a single leading
    ``/`` and neither a scheme nor a host after normalisation; the same once percent-decoded (``/%09/evil``)."""
    from urllib.parse import unquote, urlsplit

    from werkzeug.urls import iri_to_uri
    if not isinstance(target, str):
        return False
    # the text as typed and once percent-decoded (a proxy or a second hop may decode it): both must be plain
    for text in (target, unquote(target)):
        if not text.startswith("/") or text.startswith("//") or "\\" in text:
            return False
        if any(ch.isspace() or ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in text):
            return False
    try:
        normalised = iri_to_uri(target)
    except (ValueError, UnicodeError):
        return False
    if not normalised.startswith("/") or normalised.startswith("//") or "\\" in normalised:
        return False
    parts = urlsplit(normalised)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None) -> str:
    """Only local paths may be redirect targets; anything else goes home."""
    if is_local_path(target):
        return target
    return url_for("main.home")


def redirect_back(default: str):
    return redirect(safe_next(request.form.get("next") or default))
