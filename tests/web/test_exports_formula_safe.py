"""Every workbook the app hands out neutralises formula injection: a string that starts like a formula
(= + - @, tab, CR) is a text cell with Excel's quote prefix, and no cell anywhere is a formula. The case
table is checked against the URL map: a new .xlsx route without a case fails."""
from __future__ import annotations

from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tuanjian.spreadsheets.writer import FORMULA_STARTS

from ..factories import make_member, text_workbook

DANGER = ("=HYPERLINK(\"http://x\",\"点我\")", "+SUM(1,2)", "-2+3", "@cmd|' /C calc'!A0", "=1+1")


def _poison(session, tree):
    """Data that reached the database before validation existed, or through a lax path: the exports must cope."""
    tree.school.full_name = DANGER[0] + "望江中学团委"
    tree.sibling.short_name = DANGER[1] + "团委"                  # appears on the registration-code sheet
    tree.village.short_name = DANGER[4] + "团支部"               # appears in the member template's branch list
    member = make_member(session, tree.village, name="公式甲")
    member.workplace = DANGER[3]
    session.commit()


def _upload(client, url, head, rows, sheet):
    resp = client.post(url, data={"file": (text_workbook(head, rows, sheet=sheet), "公式.xlsx")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[-800:]
    return int(resp.headers["Location"].rsplit("/", 1)[1])



def _reconciled(client, tree):
    """A 对账 of the county with a 智慧团建 list whose one row (nobody here) is all formulas: the poisoned member is
    only here, the row only there."""
    from ..factories import new_id
    resp = client.post(f"/reconcile/org/{tree.county.id}/compare",
                       data={"file": (text_workbook(["姓名", "身份证号码", "学习工作单位", "所在团支部"],
                                                    [[DANGER[0], new_id(), DANGER[1], DANGER[2]]], sheet="团员"),
                                      "公式.xlsx")}, content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[-800:]
    return {"org_id": tree.county.id}

BAD_ROW = [DANGER[0], DANGER[2], DANGER[3], DANGER[1]]


def _org_batch(client, tree):
    return {"batch_id": _upload(client, f"/orgs/{tree.county.id}/children/import", ["组织简称", "组织类别"],
                                [[DANGER[0], DANGER[3]]], "下级组织")}


def _cadre_batch(client, tree):
    return {"batch_id": _upload(client, f"/cadres/org/{tree.county.id}/import",
                                ["姓名", "身份证号码", "手机号码", "民族", "职务"], [BAD_ROW + [DANGER[4]]], "团干部")}


def _member_batch(client, tree):
    return {"batch_id": _upload(client, f"/members/org/{tree.township.id}/import",
                                ["姓名", "身份证号码", "民族", "所在团支部"], [BAD_ROW], "团员")}


def _excepted(client, tree):
    """A member entered by an approved 特殊情况录入 whose reason and vouching org look like formulas."""
    from tuanjian.extensions import db
    from tuanjian.models import ExceptionRequest, Member, Person
    member = db.session.scalar(select(Member).join(Person, Member.person_id == Person.id)
                               .where(Person.name == "公式甲"))
    req = ExceptionRequest(org_id=tree.village.id, approver_org_id=tree.county.id, name="公式甲",
                           id_number=member.person.id_number, data={}, rules="dev_number_missing", reason=DANGER[0],
                           voucher=DANGER[1], status="approved", requested_by_id=tree.branch_admin.id,
                           decided_by_id=tree.county_admin.id)
    db.session.add(req)
    db.session.flush()
    member.exception_id = req.id
    db.session.commit()
    return {"org_id": tree.county.id}


def _package_batch(client, tree):
    """A 上报文件 whose 团组织 table breaks a placement rule: its error workbook (the rows name codes and masked ID
    numbers only, so no poisoned value shows up in it)."""
    from io import BytesIO

    from tuanjian.extensions import db

    from ..exchange.helpers import branch_below_branch, township_package
    data = township_package(db.session, tree, branch_below_branch(tree))
    resp = client.post(f"/exchange/org/{tree.county.id}/upload", data={"file": (BytesIO(data), "上报文件.zip")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[-800:]
    return {"batch_id": int(resp.headers["Location"].rsplit("/", 1)[1])}


# endpoint -> (method, url kwargs builder(client, tree), whether poisoned data must show up in it)
CASES = {
    "orgs.batch_codes": ("POST", lambda c, t: {"org_id": t.county.id}, True),
    "orgs.children_template": ("GET", lambda c, t: {"org_id": t.township.id}, False),
    "orgs.batch_errors": ("GET", _org_batch, True),
    "cadres.template": ("GET", lambda c, t: {"org_id": t.township.id}, False),
    "cadres.batch_errors": ("GET", _cadre_batch, True),
    "members.template": ("GET", lambda c, t: {"org_id": t.township.id}, True),
    "members.batch_errors": ("GET", _member_batch, True),
    "supervision.export": ("GET", lambda c, t: {"org_id": t.county.id}, True),
    "supervision.export_exceptions": ("GET", lambda c, t: {"org_id": t.county.id, "key": "no_secretary"}, True),
    "members.export": ("GET", lambda c, t: {"org_id": t.county.id, "reveal": "1"}, True),
    "exchange.zhtj": ("GET", lambda c, t: {"org_id": t.county.id}, True),
    "exchange.errors": ("GET", _package_batch, False),
    "supervision.export_excepted": ("GET", _excepted, True),
    "reconcile.differences": ("GET", lambda c, t: _reconciled(c, t) | {"reveal": "1"}, True),
    "reconcile.zhtj": ("GET", _reconciled, True),
    # 团内统计: the comparison names the county's children (the sibling's poisoned short name)
    "tuanji.export_stats": ("GET", lambda c, t: {"org_id": t.county.id}, True),
    # 团籍名册 reads the 团籍变动 (the factory member has none): checked for inert cells only
    "tuanji.export_roll": ("GET", lambda c, t: {"org_id": t.county.id}, False),
}


def test_every_workbook_route_has_a_case(app):
    routes = {r.endpoint for r in app.url_map.iter_rules() if r.rule.endswith(".xlsx")}
    assert routes == set(CASES), f"workbook routes without a formula-safety case: {routes - set(CASES)}"


@pytest.mark.parametrize("endpoint", sorted(CASES))
def test_workbook_cells_are_inert(app, client, session, login, tree, endpoint):
    from flask import url_for
    _poison(session, tree)
    login(tree.county_admin)
    method, build, poisoned = CASES[endpoint]
    kwargs = build(client, tree)
    with app.test_request_context():
        url = url_for(endpoint, **kwargs)
    resp = client.open(url, method=method)
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet"), (endpoint, resp.status_code)
    wb = load_workbook(BytesIO(resp.data))
    risky = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{endpoint}: formula in {ws.title}!{cell.coordinate}"
                if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
                    risky += 1
                    assert cell.data_type == "s" and cell.quotePrefix, f"{endpoint}: {ws.title}!{cell.coordinate}"
    if poisoned:
        assert risky, f"{endpoint}: the poisoned values did not reach the workbook, so this case tests nothing"
