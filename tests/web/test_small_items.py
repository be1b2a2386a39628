"""The small items of issue 26.8 (here 26.6): the audit log keeps 操作人 and the IP address whole; the demo's
特殊情况录入 requests name an admin of the branch's own chain as 申请人; code slips for an org that already has
admins say so. (The 通报's 合计 row: tests/e2e/test_follow_through.py; favicon: test_paper_forms.py; the welcome box:
test_supervision.py.)"""
from __future__ import annotations

import re
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import select

from tuanjian.domain.orgtree import is_within
from tuanjian.models import AdminGrant, ExceptionRequest, Org, utcnow

from ..factories import make_code


def test_audit_log_keeps_actor_and_ip_on_one_line(client, login, tree):
    login(tree.county_admin)
    page = client.get("/audit/", follow_redirects=True).get_data(as_text=True)
    rows = re.findall(r"<tr><td class=\"nowrap\">[^<]*</td>(<td[^>]*>)[^<]*</td>(<td[^>]*>)", page)
    assert rows, "the log lists the login"
    for actor_cell, ip_cell in rows:
        assert "nowrap" in actor_cell and "nowrap" in ip_cell


def test_demo_requests_name_an_admin_of_the_branchs_own_chain(client, session, app):
    from tuanjian.demo import DEMO_PASSWORD, seed_demo
    logins = seed_demo(session, app.extensions["tuanjian_settings"], utcnow())
    session.commit()
    reqs = list(session.scalars(select(ExceptionRequest)))
    assert reqs, "the demo holds 特殊情况录入 requests"
    for req in reqs:
        grants = [g for g in session.scalars(select(AdminGrant).where(AdminGrant.person_id == req.requested_by_id))]
        orgs = [session.get(Org, g.org_id) for g in grants]
        assert any(is_within(req.org.code, o.code) and o.id != req.approver_org_id for o in orgs), \
            (req.org.short_name, [o.short_name for o in orgs])
        assert req.requested_by_id != req.decided_by_id
    # the county's approval page of each shows the facts (issue 26.1) and the 申请人
    county = next(x for x in logins if x.role == "县团委管理员")
    client.post("/auth/login", data={"id_number": county.id_number, "password": DEMO_PASSWORD})
    for req in reqs[:5]:
        page = client.get(f"/members/exceptions/{req.id}").get_data(as_text=True)
        assert "出生年月" in page and "发展团员编号（12位）" in page and req.requested_by.name in page


def test_code_slips_say_when_an_org_already_has_admins(client, session, tree, login, app):
    app.config["PUBLIC_URL"] = "http://192.168.1.20:5000"
    login(tree.county_admin)
    make_code(session, tree.township)                       # 华阳镇团委 already has 张镇 as admin
    session.commit()
    html = client.get(f"/orgs/{tree.county.id}/codes/slips").get_data(as_text=True).replace("<wbr>", "")
    assert 'data-staffed="1"' in html and "华阳镇团委（1名）" in html
    assert "本组织已有 1 名管理员；此码用于增加一名管理员" in html
    resp = client.post(f"/orgs/{tree.county.id}/codes/slips")
    page = client.get(resp.location).get_data(as_text=True)
    assert "其中 3 个组织已有管理员，纸条上已注明" in page
    ws = load_workbook(BytesIO(client.post(f"/orgs/{tree.county.id}/codes.xlsx").data)).active
    notes = [c.value for c in ws["F"] if c.value]
    assert any("该组织已有1名管理员" in n for n in notes)
