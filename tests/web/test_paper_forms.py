"""Paper for a branch without a computer (issue 26.5, seed notice 000): the hand-filled 采集表 has the member
template's columns, the branch's name and code, empty rows and the allowed values; the 核对表 lists the branch's
members with masked ID numbers and room for corrections, and its print is audited. Both are plain pages (no script)
on A4 landscape; every print view asks for no /favicon.ico (issue 26.6). Chrome's PDF: tests/e2e."""
from __future__ import annotations

import re

from sqlalchemy import select

from tuanjian.domain.members import EDUCATIONS
from tuanjian.domain.people import ETHNICITIES, POSITIONS_GRASSROOTS
from tuanjian.members.import_views import _columns
from tuanjian.models import AuditEntry

from ..factories import make_member


def test_paper_form_has_the_template_columns_the_branch_and_the_allowed_values(client, login, tree):
    login(tree.township_admin)
    page = client.get(f"/members/org/{tree.village.id}/paper?rows=7").get_data(as_text=True)
    assert "团员基本信息采集表（手工填写）" in page and tree.village.display_name in page and tree.village.code in page
    for column in _columns(tree.village):
        if column.key != "branch":
            assert f'<th scope="col" class="c-{column.key}"' in page, column.header
    assert page.count('<tbody class="person">') == 7
    assert "□是" in page and "□否" in page
    for value in (ETHNICITIES[-1], EDUCATIONS[0], POSITIONS_GRASSROOTS[2], "共青团员"):
        assert value in page
    assert "page-a4-landscape.css" in page and "<script" not in page and 'rel="icon" href="data:,"' in page
    assert client.get(f"/members/org/{tree.village.id}/paper?rows=9999").get_data(as_text=True) \
        .count('<tbody class="person">') == 60
    assert client.get(f"/members/org/{tree.village.id}/paper?rows=abc").status_code == 400       # as every int_arg


def test_paper_is_per_branch(client, login, tree):
    login(tree.township_admin)
    resp = client.get(f"/members/org/{tree.township.id}/paper")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/members/org/{tree.township.id}")
    assert client.get(f"/members/org/{tree.township.id}/paper-check").status_code == 302
    assert client.get(f"/members/org/{tree.sibling_branch.id}/paper").status_code == 404


def test_check_sheet_lists_members_masked_and_is_audited(client, session, login, tree):
    m = make_member(session, tree.village, name="核对甲")
    session.commit()
    login(tree.township_admin)
    page = client.get(f"/members/org/{tree.village.id}/paper-check").get_data(as_text=True)
    assert "团员信息核对表" in page and "核对甲" in page and m.person.masked_id in page
    assert m.person.id_number not in page
    assert "需要更正的内容" in page and page.count("□新增") == 5 and "<script" not in page
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "member.print_check"))
    assert entry is not None and entry.org_id == tree.village.id and "1 人" in entry.summary
    assert "身份证号码部分隐藏" in entry.summary


def test_branch_page_links_to_both_papers(client, login, tree):
    login(tree.branch_admin)
    page = client.get(f"/members/org/{tree.village.id}").get_data(as_text=True)
    assert f"/members/org/{tree.village.id}/paper\"" in page and f"/members/org/{tree.village.id}/paper-check" in page
    login(tree.county_admin)
    assert "/paper\"" not in client.get(f"/members/org/{tree.county.id}").get_data(as_text=True)


def test_every_print_view_asks_for_no_favicon(client, login, tree):
    login(tree.county_admin)
    urls = [f"/members/org/{tree.village.id}/print", f"/members/org/{tree.village.id}/paper",
            f"/members/org/{tree.village.id}/paper-check", f"/progress/org/{tree.county.id}/print"]
    for url in urls:
        page = client.get(url).get_data(as_text=True)
        assert re.search(r'<link rel="icon" href="data:,">', page), url
