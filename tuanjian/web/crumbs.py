"""Breadcrumbs: the ancestors of an org from the user's own org down (nothing above the user's scope is shown).
Templates draw them with the ``breadcrumbs()`` macro in ``_macros/nav.html``."""
from __future__ import annotations

from ..extensions import db
from ..models import Org
from ..queries import ancestors_in_scope
from .scope import current_org


def breadcrumb(org: Org) -> list[Org]:
    """Ancestors of ``org`` down from the user's own org, ``org`` last."""
    scope_code = current_org().code
    if org.code == scope_code:          # the user's own org: nothing to look up
        return [org]
    return ancestors_in_scope(db.session, org.code, scope_code)
