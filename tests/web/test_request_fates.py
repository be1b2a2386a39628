"""Every request has a visible fate (issue 26.1): the requester's 待办 and 我的申请 show pending, returned (with the
reason and a way to correct and resend) and recently approved requests, for 特殊情况录入 and 组织关系转接; the
approving level sees a count in its menu and on its landing page; the approval page shows the rule broken in words,
出生年月 and the age at joining, and the evidence, never the full ID number."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from tuanjian.models import ExceptionRequest, TransferRequest

from .test_exceptions import YOUNG, request_from_form
from .test_transfers import _offer_and_request


def _count_in_menu(page: str, label: str) -> int | None:
    m = re.search(label + r' <span class="count"[^>]*>(\d+)<', page)
    return int(m.group(1)) if m else None


def test_exception_fate_pending_returned_resent_approved(app, client, session, login, tree):
    login(tree.branch_admin)
    request_from_form(client, tree)
    req = session.scalar(select(ExceptionRequest))
    home = client.get(f"/members/org/{tree.village.id}").get_data(as_text=True)
    assert "待办：我的申请" in home and "等待审批（1 条）" in home and "李例外" in home
    assert "等待县团委审批" in home or f"等待{req.approver_org.short_name}审批" in home
    mine = client.get("/members/requests").get_data(as_text=True)
    assert f'data-request="exception-{req.id}" data-status="pending"' in mine

    county = login(tree.county_admin)
    landing = county.get(f"/orgs/{tree.county.id}").get_data(as_text=True)
    assert _count_in_menu(landing, "特殊情况录入") == 1
    assert "特殊情况录入申请 <strong>1</strong> 条待审批" in landing
    detail = county.get(f"/members/exceptions/{req.id}").get_data(as_text=True)
    assert "出生年月" in detail and "2004年3月" in detail
    assert "入团时 <strong>12 周岁</strong>" in detail
    assert "入团时须年满13周岁" in detail and "只有12周岁" in detail      # the rule broken, in the form's words
    assert "入团志愿书：未核实" in detail
    assert YOUNG not in detail and req.masked_id in detail
    county.post(f"/members/exceptions/{req.id}/refuse", data={"note": "请补充发展团组织的证明"})
    assert _count_in_menu(county.get(f"/orgs/{tree.county.id}").get_data(as_text=True), "特殊情况录入") is None

    branch = login(tree.branch_admin)
    home = branch.get(f"/members/org/{tree.village.id}").get_data(as_text=True)
    assert "已退回，请修改后重新申请（1 条）" in home and "请补充发展团组织的证明" in home
    again_url = f"/members/org/{tree.village.id}/new?again={req.id}"
    assert again_url.replace("&", "&amp;") in home or again_url in home
    form = branch.get(again_url).get_data(as_text=True)
    assert f'data-again="{req.id}"' in form and "请补充发展团组织的证明" in form
    assert f'value="{YOUNG}"' in form and 'value="2017-01"' in form           # the request's values, to correct
    # another branch's request (or a made-up id) is no prefill: out of scope is a 404
    assert branch.get(f"/members/org/{tree.village.id}/new?again=999999").status_code == 404

    resp = request_from_form(client, tree, reason="补充：有发展团组织华阳镇团委的证明")
    assert resp.status_code == 302
    home = branch.get(f"/members/org/{tree.village.id}").get_data(as_text=True)
    assert "已退回" not in home and "等待审批（1 条）" in home                # resent: the returned one is done
    second = session.scalars(select(ExceptionRequest).order_by(ExceptionRequest.id.desc())).first()
    county = login(tree.county_admin)
    county.post(f"/members/exceptions/{second.id}/approve", data={"note": ""})
    branch = login(tree.branch_admin)
    mine = branch.get("/members/requests").get_data(as_text=True)
    assert "近30天已批准（1 条）" in mine and f'data-request="exception-{second.id}" data-status="approved"' in mine
    session.expire_all()
    old = session.get(ExceptionRequest, second.id)
    old.decided_at -= timedelta(days=31)
    session.commit()
    mine = branch.get("/members/requests").get_data(as_text=True)
    assert "目前没有等待审批" in mine                                         # approved long ago: off the list


def test_transfer_fate_and_holder_count(app, client, session, login, tree):
    login(tree.branch_admin)
    held, req = _offer_and_request(client, session, tree, tree.sibling_branch, tree.village)
    home = client.get(f"/members/org/{tree.village.id}").get_data(as_text=True)
    assert f'data-request="transfer-{req.id}" data-status="pending"' in home
    assert tree.sibling_branch.short_name not in home                       # the holder is not named to the asker
    other = app.test_client()
    login(tree.sibling_admin, c=other)
    landing = other.get(f"/orgs/{tree.sibling.id}").get_data(as_text=True)          # the holder's parent
    assert _count_in_menu(landing, "组织关系转接") == 1
    assert "组织关系转接申请 <strong>1</strong> 条待处理" in landing
    other.post(f"/members/transfers/{req.id}/refuse", data={"note": "本人未同意"})
    assert _count_in_menu(other.get("/members/transfers").get_data(as_text=True), "组织关系转接") is None
    home = client.get(f"/members/org/{tree.village.id}").get_data(as_text=True)
    assert f'data-request="transfer-{req.id}" data-status="refused"' in home and "本人未同意" in home
    assert "重新申请" in home
    session.expire_all()
    assert session.get(TransferRequest, req.id).status == "refused"


def test_no_requests_no_box(client, login, tree):
    login(tree.branch_admin)
    home = client.get(f"/members/org/{tree.village.id}").get_data(as_text=True)
    assert "我的申请" in home                                               # the menu entry
    assert "待办：我的申请" not in home and "待本组织处理的申请" not in home
    assert "目前没有等待审批" in client.get("/members/requests").get_data(as_text=True)
