"""Errors are seen (issue 26.2): a form that comes back with errors starts with a summary — how many, each a link
to its field — on every form page (shared macro in _macros/forms.html). The focus on the first wrong field is checked
in the browser (tests/e2e/test_field_follow_through.py)."""
from __future__ import annotations

import re

from .test_members import member as member_form


def _summary(page: str) -> tuple[int, list[tuple[str, str]]] | None:
    m = re.search(r'<div class="error-summary"[^>]*data-errors="(\d+)">(.*?)</div>', page, re.S)
    if m is None:
        return None
    return int(m.group(1)), re.findall(r'<a href="#([^"]+)">([^<]+)</a>', m.group(2))


def test_member_form_summary_links_every_wrong_field(client, login, tree):
    login(tree.branch_admin)
    resp = client.post(f"/members/org/{tree.village.id}/new",
                       data=member_form(phone="1391234", is_cadre="是", position=""))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    count, links = _summary(page)
    targets = [t for t, _ in links]
    assert count == len(links) >= 2 and "phone" in targets and "position" in targets
    assert "有 %d 处需要修改" % count in page
    assert all(f'id="{t}"' in page for t in targets)                     # every link lands on a field
    assert page.index('class="error-summary"') < page.index('id="name"')  # before the first field
    assert any(text.startswith("手机号码：") for _, text in links)


def test_no_summary_without_errors(client, login, tree):
    login(tree.branch_admin)
    assert _summary(client.get(f"/members/org/{tree.village.id}/new").get_data(as_text=True)) is None


def test_cadre_and_org_info_and_profile_forms_have_the_summary(client, login, tree):
    login(tree.county_admin)
    resp = client.post(f"/cadres/org/{tree.county.id}", data={"name": "", "id_number": "123"})
    assert resp.status_code in (400, 422)
    count, links = _summary(resp.get_data(as_text=True))
    assert count >= 2 and "name" in [t for t, _ in links] and "id_number" in [t for t, _ in links]
    resp = client.post(f"/orgs/{tree.county.id}/info", data={"phone": "abc"})
    count, links = _summary(resp.get_data(as_text=True))
    assert resp.status_code == 422 and count == len(links) >= 5 and ("short_name", "组织简称：请填写组织简称") in links
    resp = client.post("/me", data={"phone": "12"})
    assert resp.status_code in (400, 422) and _summary(resp.get_data(as_text=True)) is not None


def test_exception_request_text_errors_are_in_the_summary(client, login, tree):
    from .test_exceptions import member
    login(tree.branch_admin)
    resp = client.post(f"/members/org/{tree.village.id}/exception", data={**member(), "reason": "", "voucher": ""},
                       content_type="multipart/form-data")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    count, links = _summary(page)
    assert {"exc-reason", "exc-voucher"} <= {t for t, _ in links} and count == len(links)


def test_exceptable_errors_say_so_in_the_form_and_in_the_error_workbook(client, login, tree):
    """Issue 26.3: a message a 特殊情况录入 can except says so, in the page (the summary links the request's fieldset)
    and in the error workbook's 错误说明; a message no exception covers does not."""
    from datetime import date
    from io import BytesIO

    from openpyxl import load_workbook

    from tuanjian.demo import make_id

    from ..factories import text_workbook
    from .test_exceptions import HEAD, member
    login(tree.branch_admin)
    page = client.post(f"/members/org/{tree.village.id}/new", data=member(phone="139")).get_data(as_text=True)
    summary = re.search(r'<div class="error-summary".*?</div>', page, re.S).group(0)
    marked = r'入团时须年满13周岁[^<]*</a><span class="exceptable">（可申请特殊情况录入'
    assert re.search(marked + "：先改正其他各项", summary)
    assert not re.search(r'手机号码[^<]*</a><span class="exceptable">', summary)
    page = client.post(f"/members/org/{tree.village.id}/new", data=member()).get_data(as_text=True)
    summary = re.search(r'<div class="error-summary".*?</div>', page, re.S).group(0)
    assert re.search(marked + '，见<a href="#exception-offer">', summary) and 'id="exception-offer"' in page
    missing_id, bad_id = make_id(date(2003, 4, 1), 703, True), make_id(date(2003, 4, 1), 705, True)
    rows = [["乙缺号", missing_id, "汉族", "共青团员", "2019-05", "", "否", "", ""],
            ["丙民族", bad_id, "火星", "共青团员", "2019-05", "", "否", "", "201912345678"]]
    resp = client.post(f"/members/org/{tree.village.id}/import",
                       data={"file": (text_workbook(HEAD, rows, sheet="团员"), "团员.xlsx")},
                       content_type="multipart/form-data")
    batch_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    ws = load_workbook(BytesIO(client.get(f"/members/imports/{batch_id}/errors.xlsx").data)).active
    header = [c.value for c in ws[1]]
    notes = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=header.index("错误说明") + 1).value
             for r in range(2, ws.max_row + 1)}
    assert "缺少发展团员编号" in notes["乙缺号"] or "须填写发展团员编号" in notes["乙缺号"]
    assert "申请特殊情况录入" in notes["乙缺号"] and "上级批准后录入" in notes["乙缺号"]
    assert "申请特殊情况录入" not in notes["丙民族"]


def test_member_form_summary_follows_the_page_order(client, login, tree):
    login(tree.branch_admin)
    page = client.post(f"/members/org/{tree.village.id}/new",
                       data=member_form(phone="1391234", is_cadre="是", position="", join_date="2099-01")
                       ).get_data(as_text=True)
    targets = [t for t, _ in _summary(page)[1]]
    assert targets.index("join_date") < targets.index("position") < targets.index("phone")
    positions = [page.index(f'id="{t}"') for t in dict.fromkeys(targets)]
    assert positions == sorted(positions)
