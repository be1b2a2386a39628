"""Every route that takes an id × (own, descendant, sibling, ancestor) × (county, township, branch admin).

In scope (own, descendant) the route must work or refuse with a reason (never 404, never 500).
Out of scope (sibling subtree, ancestor) it must answer 404, exactly as for an id that does not exist,
and change nothing. The case table is checked against the app's URL map: a new route with an id and
no case here fails the suite.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tuanjian.clock import local_today
from tuanjian.domain.orgtree import OrgKind
from tuanjian.domain.settings import DEFAULT_SETTINGS
from tuanjian.models import AdminGrant, AuditEntry, CadrePost, Org, RegistrationCode
from tuanjian.services.actor import Actor
from tuanjian.services.orgs import create_child, create_root

from ..factories import make_admin, make_code
from ..replay import replayed


def _grant_of(session, org):
    return session.scalar(select(AdminGrant).where(AdminGrant.org_id == org.id, AdminGrant.revoked_at.is_(None)))


def _post_of(session, org):
    return session.scalar(select(CadrePost).where(CadrePost.org_id == org.id))


def _member_in(session, org):
    """A member of ``org`` (a plain record is enough for the loader; orgs that hold none get one via raw insert)."""
    from tuanjian.models import Member

    from ..factories import make_person
    person = make_person(session, name="矩阵团员")
    session.execute(Member.__table__.insert().values(person_id=person.id, org_id=org.id))
    return session.scalar(select(Member).where(Member.person_id == person.id))


def _transfer_between(session, org):
    """A transfer request whose both ends are ``org`` (the loader only asks whether either end is in scope)."""
    from tuanjian.models import TransferRequest
    req = TransferRequest(member_id=_member_in(session, org).id, from_org_id=org.id, to_org_id=org.id, status="pending")
    session.add(req)
    session.flush()
    return req


def _batch_of(session, org, kind="org_children"):
    from tuanjian.models import ImportBatch
    batch = ImportBatch(kind=kind, org_id=org.id, file_name="矩阵.xlsx", file_sha256="0" * 64,
                        status="pending", report={"rows": [], "totals": {"rows": 0, "ok": 0, "error": 0}})
    session.add(batch)
    session.flush()
    return batch


def _campaign_of(session, org):
    from datetime import date

    from tuanjian.models import Campaign
    campaign = Campaign(org_id=org.id, name="矩阵任务", deadline=date(2099, 12, 31), targets={"info": 100})
    session.add(campaign)
    session.flush()
    return campaign


def _frozen(session, org):
    """A frozen 团内统计 of ``org`` as of 2025-12-31 (what a 团内统计确认 task is published for)."""
    from datetime import date

    from tuanjian.models import RegisterSnapshot
    snap = session.scalar(select(RegisterSnapshot).where(RegisterSnapshot.org_id == org.id))
    if snap is None:
        snap = RegisterSnapshot(org_id=org.id, on_date=date(2025, 12, 31), data={"comparison": [], "total": [0] * 4})
        session.add(snap)
        session.flush()
    return snap


def _parent_campaign(session, org):
    """A campaign of ``org``'s parent (the one ``org`` confirms), or of ``org`` itself for a root."""
    return _campaign_of(session, session.get(Org, org.parent_id) if org.parent_id else org)


def _package_batch_of(session, org):
    """A verified 上报文件 waiting for confirmation whose root is ``org`` (its current data, so applying it \
is a no-op)."""
    from tuanjian.models import ImportBatch, utcnow
    from tuanjian.services import exchange
    snapshot = exchange.read_subtree(session, org.code)
    incoming = exchange.Incoming(root_code=org.code, manifest={"source": {"code": org.code,
                                                                          "short_name": org.short_name}},
                                 sha256="0" * 64, created_at=utcnow(),
                                 rows={s.name: snapshot.rows.get(s.name, {}) for s in exchange.SPECS},
                                 ignored_columns={})
    batch = ImportBatch(kind="package", org_id=org.id, file_name="矩阵.zip", file_sha256="0" * 64, status="pending",
                        report=exchange.to_batch_report(incoming))
    session.add(batch)
    session.flush()
    return batch


def _exception_row_batch(session, org):
    """A members import batch whose row 2 only breaks an exceptable rule (a missing 发展团员编号)."""
    from datetime import date

    from tuanjian.demo import make_id
    from tuanjian.models import ImportBatch
    cells = {"name": "矩阵例外", "id_number": make_id(date(2004, 3, 15), 5, True), "ethnicity": "汉族",
             "political_status": "共青团员", "join_date": "2019-05", "dev_number": "", "is_cadre": "否",
             "branch": org.short_name}
    row = {"number": 2, "cells": cells, "kind": "error", "data": {}, "note": "可申请特殊情况录入：缺少发展团员编号",
           "errors": {"dev_number": ["2017年及以后入团的团员须填写发展团员编号（12位）"]}}
    batch = ImportBatch(kind="members", org_id=org.id, file_name="矩阵.xlsx", file_sha256="0" * 64, status="pending",
                        report={"rows": [row], "totals": {"rows": 1, "ok": 0, "error": 1}})
    session.add(batch)
    session.flush()
    return batch


def _exception_of(session, org):
    """A pending 特殊情况录入 request of ``org`` that ``org`` itself approves (with a scan)."""
    from datetime import date

    from tuanjian.domain.exceptions import validate_excepted
    from tuanjian.models import ExceptionRequest

    from ..factories import new_id
    data = validate_excepted({"name": "矩阵例外", "id_number": new_id(date(2004, 3, 15)), "ethnicity": "汉族",
                              "political_status": "共青团员", "join_date": "2019-05", "dev_number": "",
                              "is_cadre": "否"}, rules={"dev_number_missing"}, settings=DEFAULT_SETTINGS,
                             today=date(2026, 11, 23))
    req = ExceptionRequest(org_id=org.id, approver_org_id=org.id, name="矩阵例外", id_number=data["id_number"],
                           data=data, rules="dev_number_missing", reason="矩阵测试", voucher="矩阵",
                           scan=b"%PDF-1.4 matrix", scan_type="application/pdf", scan_size=15, status="pending")
    session.add(req)
    session.flush()
    return req


def _reconciled(session, org):
    """The last 对账 of ``org`` (kept once per org): one member here that the 智慧团建 list lacks."""
    from tuanjian.models import Reconciliation, utcnow
    from tuanjian.services import reconcile
    rec = session.scalar(select(Reconciliation).where(Reconciliation.org_id == org.id))
    if rec is None:
        member = _member_in(session, org)
        result = reconcile.rules.compare([reconcile.rules.Here(member.person.id_number, member.person.name, org.id,
                                                               org.short_name, {})], [], elsewhere=set(), explained={})
        rec = reconcile.keep(session, Actor.system(), org, result, file_names="矩阵.xlsx", file_sha256="0" * 64,
                             now=utcnow())
    return rec


# endpoint -> (method, build(session, target_org) -> (url kwargs, form data))
CASES = {
    "orgs.detail": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "orgs.children": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "orgs.create_child": ("POST", lambda s, o: ({"org_id": o.id}, {"short_name": "矩阵测试团支部", "kind": "branch"})),
    "orgs.issue_code": ("POST", lambda s, o: ({"org_id": o.id}, {})),
    "orgs.revoke_code": ("POST", lambda s, o: ({"code_id": make_code(s, o).id}, {})),
    "orgs.batch_codes": ("POST", lambda s, o: ({"org_id": o.id}, {})),
    "orgs.code_slips": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "orgs.issue_slips": ("POST", lambda s, o: ({"org_id": o.id}, {})),
    "orgs.admins": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "orgs.grant_admin": ("POST", lambda s, o: ({"org_id": o.id}, {"post_id": _post_of(s, o).id})),
    "orgs.revoke_admin": ("POST", lambda s, o: ({"grant_id": _grant_of(s, o).id}, {})),
    "orgs.issue_first_login_code": ("POST", lambda s, o: ({"grant_id": _grant_of(s, o).id}, {})),
    "people.detail": ("GET", lambda s, o: ({"person_id": _grant_of(s, o).person_id}, None)),
    "people.issue_reset_code": ("POST", lambda s, o: ({"person_id": _grant_of(s, o).person_id}, {})),
    "people.issue_first_login_code": ("POST", lambda s, o: ({"person_id": _grant_of(s, o).person_id}, {})),
    "people.correct": ("POST", lambda s, o: ({"person_id": _grant_of(s, o).person_id},
                                             {"name": "矩阵更正", "id_number": "", "reason": "矩阵测试"})),
    "orgs.info": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "orgs.save_info": ("POST", lambda s, o: ({"org_id": o.id}, {"short_name": o.short_name})),
    "orgs.structure": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "orgs.reorder": ("POST", lambda s, o: ({"org_id": o.id}, {"direction": "down"})),
    "orgs.move": ("POST", lambda s, o: ({"org_id": o.id}, {"new_parent_id": o.id})),
    "orgs.merge": ("POST", lambda s, o: ({"org_id": o.id}, {"target_id": o.id})),
    "orgs.dissolve": ("POST", lambda s, o: ({"org_id": o.id}, {"reason": "矩阵测试"})),
    "orgs.import_children": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "orgs.children_template": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "orgs.upload_children": ("POST", lambda s, o: ({"org_id": o.id}, {})),
    "orgs.import_batch": ("GET", lambda s, o: ({"batch_id": _batch_of(s, o).id}, None)),
    "orgs.commit_batch": ("POST", lambda s, o: ({"batch_id": _batch_of(s, o).id}, {"mode": "valid"})),
    "orgs.cancel_batch": ("POST", lambda s, o: ({"batch_id": _batch_of(s, o).id}, {})),
    "orgs.batch_errors": ("GET", lambda s, o: ({"batch_id": _batch_of(s, o).id}, None)),
    "cadres.index": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "cadres.add": ("POST", lambda s, o: ({"org_id": o.id}, {"name": "矩阵"})),
    "cadres.post": ("GET", lambda s, o: ({"post_id": _post_of(s, o).id}, None)),
    "cadres.change": ("POST", lambda s, o: ({"post_id": _post_of(s, o).id},
                                            {"position": "委员", "changed_on": "2026-01-01"})),
    "cadres.end": ("POST", lambda s, o: ({"post_id": _post_of(s, o).id}, {"ended_on": "2026-01-01"})),
    "cadres.import_page": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "cadres.template": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "cadres.upload": ("POST", lambda s, o: ({"org_id": o.id}, {})),
    "cadres.batch": ("GET", lambda s, o: ({"batch_id": _batch_of(s, o, "cadres").id}, None)),
    "cadres.commit_batch": ("POST", lambda s, o: ({"batch_id": _batch_of(s, o, "cadres").id}, {"mode": "valid"})),
    "cadres.cancel_batch": ("POST", lambda s, o: ({"batch_id": _batch_of(s, o, "cadres").id}, {})),
    "members.index": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "members.reveal": ("POST", lambda s, o: ({"org_id": o.id}, {})),
    "members.print_list": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "members.paper_form": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "members.paper_check": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "members.new": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "members.create": ("POST", lambda s, o: ({"org_id": o.id}, {"name": "矩阵"})),
    "members.edit": ("GET", lambda s, o: ({"member_id": _member_in(s, o).id}, None)),
    "members.update": ("POST", lambda s, o: ({"member_id": _member_in(s, o).id}, {"ethnicity": "汉族"})),
    "members.delete": ("POST", lambda s, o: ({"member_id": _member_in(s, o).id},
                                          {"kind": "withdrawn", "on": local_today().isoformat(), "note": "矩阵测试"})),
    "members.import_page": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "members.template": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "members.upload": ("POST", lambda s, o: ({"org_id": o.id}, {})),
    "members.batch": ("GET", lambda s, o: ({"batch_id": _batch_of(s, o, "members").id}, None)),
    "members.commit_batch": ("POST", lambda s, o: ({"batch_id": _batch_of(s, o, "members").id}, {"mode": "valid"})),
    "members.cancel_batch": ("POST", lambda s, o: ({"batch_id": _batch_of(s, o, "members").id}, {})),
    "members.batch_errors": ("GET", lambda s, o: ({"batch_id": _batch_of(s, o, "members").id}, None)),
    "members.request_transfer": ("POST", lambda s, o: ({"org_id": o.id}, {"id_number": "x", "name": "x"})),
    "members.accept_transfer": ("POST", lambda s, o: ({"transfer_id": _transfer_between(s, o).id}, {})),
    "members.refuse_transfer": ("POST", lambda s, o: ({"transfer_id": _transfer_between(s, o).id}, {})),
    "members.cancel_transfer": ("POST", lambda s, o: ({"transfer_id": _transfer_between(s, o).id}, {})),
    "cadres.batch_errors": ("GET", lambda s, o: ({"batch_id": _batch_of(s, o, "cadres").id}, None)),
    "tuanji.overage": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "tuanji.leave_overage": ("POST", lambda s, o: ({"org_id": o.id}, {"on": "2026-01-01"})),
    "tuanji.roll": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "tuanji.export_roll": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "tuanji.stats": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "tuanji.print_stats": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "tuanji.export_stats": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "tuanji.freeze": ("POST", lambda s, o: ({"org_id": o.id}, {"on": "2025-12-31"})),
    "tuanji.publish_confirm_task": ("POST", lambda s, o: ({"org_id": _frozen(s, o).org_id},
                                                          {"on": "2025-12-31", "deadline": "2099-12-31"})),
    "supervision.index": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "supervision.print_report": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "supervision.export": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "supervision.exceptions": ("GET", lambda s, o: ({"org_id": o.id, "key": "no_admin"}, None)),
    "supervision.export_exceptions": ("GET", lambda s, o: ({"org_id": o.id, "key": "overage"}, None)),
    "supervision.campaigns": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "supervision.create_campaign": ("POST", lambda s, o: ({"org_id": o.id},
                                                          {"name": "矩阵任务", "deadline": "2099-12-31",
                                                                            "target_info": "100"})),
    "supervision.campaign": ("GET", lambda s, o: ({"campaign_id": _campaign_of(s, o).id}, None)),
    "supervision.reminders": ("GET", lambda s, o: ({"campaign_id": _campaign_of(s, o).id}, None)),
    "supervision.close_campaign": ("POST", lambda s, o: ({"campaign_id": _campaign_of(s, o).id}, {})),
    "supervision.confirm": ("POST", lambda s, o: ({"org_id": o.id, "campaign_id": _parent_campaign(s, o).id}, {})),
    "members.export": ("GET", lambda s, o: ({"org_id": o.id, "reveal": "1"}, None)),
    "members.request_exception": ("POST", lambda s, o: ({"org_id": o.id}, {"name": "矩阵", "reason": "矩阵测试",
                                                                          "voucher": "矩阵"})),
    "members.row_exception": ("GET", lambda s, o: ({"batch_id": _exception_row_batch(s, o).id, "row": 2}, None)),
    "members.request_row_exception": ("POST", lambda s, o: ({"batch_id": _exception_row_batch(s, o).id, "row": 2},
                                                            {"reason": "", "voucher": ""})),
    "members.exception_detail": ("GET", lambda s, o: ({"request_id": _exception_of(s, o).id}, None)),
    "members.approve_exception": ("POST", lambda s, o: ({"request_id": _exception_of(s, o).id}, {"note": ""})),
    "members.refuse_exception": ("POST", lambda s, o: ({"request_id": _exception_of(s, o).id}, {"note": ""})),
    "members.exception_scan": ("GET", lambda s, o: ({"request_id": _exception_of(s, o).id}, None)),
    "supervision.excepted": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "supervision.export_excepted": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "exchange.index": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "exchange.set_key": ("POST", lambda s, o: ({"org_id": o.id}, {"key": ""})),
    "exchange.export_package": ("POST", lambda s, o: ({"org_id": o.id}, {})),
    "exchange.upload": ("POST", lambda s, o: ({"org_id": o.id}, {})),
    "exchange.zhtj": ("GET", lambda s, o: ({"org_id": o.id}, None)),
    "exchange.preview": ("GET", lambda s, o: ({"batch_id": _package_batch_of(s, o).id}, None)),
    "exchange.apply": ("POST", lambda s, o: ({"batch_id": _package_batch_of(s, o).id}, {})),
    "exchange.cancel": ("POST", lambda s, o: ({"batch_id": _package_batch_of(s, o).id}, {})),
    "reconcile.index": ("GET", lambda s, o: ({"org_id": _reconciled(s, o).org_id}, None)),
    "reconcile.reveal": ("POST", lambda s, o: ({"org_id": _reconciled(s, o).org_id}, {"kind": "only_here"})),
    "reconcile.compare": ("POST", lambda s, o: ({"org_id": o.id}, {})),
    "reconcile.explain": ("POST", lambda s, o: ({"org_id": _reconciled(s, o).org_id},
                                                {"item": "0", "field": "presence", "note": "矩阵测试"})),
    "reconcile.differences": ("GET", lambda s, o: ({"org_id": _reconciled(s, o).org_id, "reveal": "1"}, None)),
    "reconcile.zhtj": ("GET", lambda s, o: ({"org_id": _reconciled(s, o).org_id}, None)),
    "reconcile.start_import": ("POST", lambda s, o: ({"org_id": _reconciled(s, o).org_id}, {})),
    "reconcile.transfer": ("POST", lambda s, o: ({"org_id": _reconciled(s, o).org_id}, {"item": "0"})),
    "exchange.errors": ("GET", lambda s, o: ({"batch_id": _package_batch_of(s, o).id}, None)),
}

ROLES = ("county", "township", "branch")
RELATIONS = ("own", "descendant", "sibling", "ancestor")


def id_routes(app):
    return sorted({r.endpoint for r in app.url_map.iter_rules() if re.search(r"<int:", r.rule)})


def test_every_id_route_has_a_scope_case(app):
    missing = [e for e in id_routes(app) if e not in CASES]
    assert not missing, f"routes that take an id but have no scope-matrix case: {missing}"


@pytest.fixture
def world(session, tree):
    """The test tree plus a neighbouring county (the county's sibling) and a second village branch (built once per
    process, then written back as rows: tests/replay.py)."""
    return replayed("scope_matrix.world", session, lambda s: _build_world(s, tree))


def _build_world(session, tree):
    actor = Actor.system("测试")
    other_county = create_root(session, actor, name="共青团邻县委员会", code="000.012.016.008")
    other_township = create_child(session, actor, other_county, short_name="邻镇团委", kind=OrgKind.COMMITTEE,
                                  settings=DEFAULT_SETTINGS)
    west = create_child(session, actor, tree.township, short_name="城西村团支部", kind=OrgKind.BRANCH,
                        settings=DEFAULT_SETTINGS)
    make_admin(session, other_county, name="邻县")
    make_admin(session, other_township, name="邻镇")
    make_admin(session, west, name="城西")
    session.commit()
    return {
        "county": (tree.county_admin, {"own": tree.county, "descendant": tree.township, "sibling": other_county,
                                       "ancestor": None}),
        "township": (tree.township_admin, {"own": tree.township, "descendant": tree.village, "sibling": tree.sibling,
                                           "ancestor": tree.county}),
        "branch": (tree.branch_admin, {"own": tree.village, "descendant": None, "sibling": west,
                                       "ancestor": tree.township}),
    }


def _writes(session):
    session.expire_all()
    return (session.scalar(select(func.count()).select_from(AuditEntry)),
            session.scalar(select(func.count()).select_from(Org)),
            session.scalar(select(func.count()).select_from(RegistrationCode)
                           .where(RegistrationCode.revoked_at.is_(None))),
            session.scalar(select(func.count()).select_from(AdminGrant).where(AdminGrant.revoked_at.is_(None))))


@pytest.mark.parametrize("endpoint", sorted(CASES))
@pytest.mark.parametrize("role", ROLES)
def test_scope_matrix(app, client, session, login, world, endpoint, role):
    from flask import url_for
    person, orgs = world[role]
    login(person)
    method, build = CASES[endpoint]
    for relation in RELATIONS:
        target = orgs[relation]
        if target is None:
            continue
        kwargs, data = build(session, target)
        session.commit()
        with app.test_request_context():
            url = url_for(endpoint, **kwargs)
        before = _writes(session)
        resp = client.open(url, method=method, data=data)
        label = f"{role} admin, {endpoint} on {relation} ({target.short_name}) → {resp.status_code}"
        assert resp.status_code != 500, label
        if relation in ("sibling", "ancestor"):
            assert resp.status_code == 404, label
            assert _writes(session) == before, label + ": data changed"
        else:
            assert resp.status_code != 404, label
            if resp.mimetype == "text/html":
                assert "Traceback" not in resp.get_data(as_text=True)


def test_unknown_ids_are_404(client, login, tree):
    login(tree.county_admin)
    for url in ("/orgs/999999", "/orgs/999999/children", "/orgs/999999/admins"):
        assert client.get(url).status_code == 404
    for url in ("/orgs/codes/999999/revoke", "/orgs/admins/999999/revoke", "/orgs/999999/code"):
        assert client.post(url).status_code == 404


ORG_FIELDS = {"new_parent_id", "target_id", "branch_id", "parent_id", "to_org_id"}


@pytest.mark.parametrize("role", ROLES)
def test_form_option_lists_stay_in_scope(app, client, session, login, world, role):
    """Every organisation or post a page offers in a dropdown or a hidden field lies in the user's subtree."""
    from flask import url_for

    from tuanjian.queries import within
    person, orgs = world[role]
    login(person)
    scope = orgs["own"]
    in_scope = set(session.scalars(select(Org.id).where(within(Org.code, scope.code))))
    posts_in_scope = set(session.scalars(select(CadrePost.id).join(Org, CadrePost.org_id == Org.id)
                                         .where(within(Org.code, scope.code))))
    checked = 0
    for endpoint, (method, build) in sorted(CASES.items()):
        if method != "GET":
            continue
        for relation in ("own", "descendant"):
            target = orgs[relation]
            if target is None:
                continue
            kwargs, _ = build(session, target)
            session.commit()
            with app.test_request_context():
                url = url_for(endpoint, **kwargs)
            resp = client.get(url)
            if resp.mimetype != "text/html":
                continue
            page = resp.get_data(as_text=True)
            for name, body in re.findall(r'<select[^>]*name="(\w+)"[^>]*>(.*?)</select>', page, re.S):
                values = [int(v) for v in re.findall(r'<option value="(\d+)"', body)]
                if name in ORG_FIELDS:
                    checked += len(values)
                    assert set(values) <= in_scope, f"{endpoint} offers {name} outside the subtree: {values}"
            for name, value in re.findall(r'<input type="hidden" name="(\w+_id)" value="(\d+)"', page):
                if name in ORG_FIELDS:
                    checked += 1
                    assert int(value) in in_scope, f"{endpoint}: hidden {name}={value} outside the subtree"
                elif name == "post_id":
                    checked += 1
                    assert int(value) in posts_in_scope, f"{endpoint}: hidden post_id={value} outside the subtree"
    if role == "township":         # its branch has a sibling branch to merge into: the merge list is offered
        assert checked, "no option lists were found: the test would pass vacuously"
