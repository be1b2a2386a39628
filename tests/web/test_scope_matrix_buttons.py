"""The scope matrix's other half (issue 17): each action's button or form is shown exactly when the policy
(tuanjian/domain/policy.py) allows the action. For the county, township and branch admin and every org of their
subtree, the page that carries the button is rendered and the button's form target looked for; the expected answer
comes from ``policy.refusal`` alone, so a view that re-derives authority by hand and drifts from the table fails.
"""
from __future__ import annotations

import pytest
from flask import url_for
from sqlalchemy import select

from tuanjian.domain import policy
from tuanjian.models import AdminGrant, Org

from .test_scope_matrix import _frozen, _reconciled

ROLES = ("county", "township", "branch")


def _grant(session, org):
    return session.scalar(select(AdminGrant).where(AdminGrant.org_id == org.id, AdminGrant.revoked_at.is_(None))
                          .order_by(AdminGrant.id))


# action -> (the page that carries the button: endpoint and its org, the button's form target or a marker in the
# page); None: not applicable
BUTTONS = {
    "cadre.manage": lambda s, o: (("cadres.index", {"org_id": o.id}), url_for("cadres.add", org_id=o.id)),
    "admin.manage": lambda s, o: ((("orgs.admins", {"org_id": o.id}), url_for("orgs.revoke_admin",
                                                                             grant_id=_grant(s, o).id))
                                  if _grant(s, o) is not None else None),
    # (the 撤销 form itself also waits for an empty org: the section the policy decides is 迁移)
    "org.close": lambda s, o: (("orgs.structure", {"org_id": o.id}), "<h2>迁移到其他上级组织</h2>"),
    # the code buttons sit on the parent's page, beside the child in the tree
    "code.issue": lambda s, o: ((("orgs.detail", {"org_id": o.parent_id}), url_for("orgs.issue_code", org_id=o.id))
                                if o.parent_id is not None else None),
    "org.reorder": lambda s, o: ((("orgs.detail", {"org_id": o.parent_id}), url_for("orgs.reorder", org_id=o.id))
                                 if o.parent_id is not None else None),
    "org.create_child": lambda s, o: ((("orgs.detail", {"org_id": o.id}), url_for("orgs.create_child", org_id=o.id))
                                      if not o.org_kind.holds_members else None),
    "code.issue_batch": lambda s, o: ((("orgs.detail", {"org_id": o.id}), url_for("orgs.batch_codes", org_id=o.id))
                                      if not o.org_kind.holds_members else None),
    "reconcile.compare": lambda s, o: (("reconcile.index", {"org_id": o.id}),
                                       url_for("reconcile.compare", org_id=o.id)),
    # the explain form of each listed difference of the org's last comparison
    "reconcile.explain": lambda s, o: (("reconcile.index", {"org_id": _reconciled(s, o).org_id, "kind": "only_here"}),
                                       url_for("reconcile.explain", org_id=o.id)),
    # the batch 超龄离团 sits on a branch's 超龄 queue
    "member.leave_batch": lambda s, o: ((("tuanji.overage", {"org_id": o.id}), url_for("tuanji.leave_overage",
                                                                                      org_id=o.id))
                                        if o.org_kind.holds_members else None),
    # freezing sits on the 团内统计 of a day that is over (not yet frozen)
    "register.freeze": lambda s, o: (("tuanji.stats", {"org_id": o.id, "on": "2025-12-31"}),
                                     url_for("tuanji.freeze", org_id=o.id)),
    # 发布确认任务 sits on the frozen 团内统计 of an org with subordinates
    "register.confirm_task": lambda s, o: ((("tuanji.stats", {"org_id": _frozen(s, o).org_id, "on": "2025-12-31"}),
                                            url_for("tuanji.publish_confirm_task", org_id=o.id))
                                           if not o.org_kind.holds_members else None),
}


def _subtree(session, org):
    return list(session.scalars(select(Org).where((Org.code == org.code) | Org.code.startswith(org.code + "."))
                                .order_by(Org.code)))


@pytest.mark.parametrize("action", sorted(BUTTONS))
@pytest.mark.parametrize("role", ROLES)
def test_each_button_shows_exactly_when_the_policy_allows(app, client, session, login, tree, role, action):
    person, scope = {"county": (tree.county_admin, tree.county), "township": (tree.township_admin, tree.township),
                     "branch": (tree.branch_admin, tree.village)}[role]
    login(person)
    checked = 0
    for org in _subtree(session, scope):
        with app.test_request_context():
            case = BUTTONS[action](session, org)
        if case is None:
            continue
        (endpoint, kwargs), target = case
        with app.test_request_context():
            page_url = url_for(endpoint, **kwargs)
        resp = client.get(page_url)
        if resp.status_code == 404:         # the page itself lies outside the scope (the parent of one's own org)
            assert org.code == scope.code, page_url
            continue
        assert resp.status_code == 200, (page_url, resp.status_code)
        marker = target if target.startswith("<") else f'action="{target}"'
        shown = marker in resp.get_data(as_text=True)
        allowed = policy.refusal(action, scope.code, org.code) is None
        assert shown == allowed, (f"{role} admin on {org.short_name} ({policy.relation(scope.code, org.code)}): "
                                  f"{action} button {'shown' if shown else 'hidden'} but the policy "
                                  f"{'allows' if allowed else 'refuses'} it")
        checked += 1
    # a branch admin sees no page with a code button (its own codes are issued on the parent's page)
    branch_none = ("code.issue", "org.reorder", "org.create_child", "code.issue_batch", "register.confirm_task")
    assert checked or (role == "branch" and action in branch_none), "no page rendered for this role and action"
