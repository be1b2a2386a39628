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
