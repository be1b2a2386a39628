"""Printable registration-code slips and member lists; gzip on the wire (SQLite and PostgreSQL)."""
from __future__ import annotations

import gzip
import re

from sqlalchemy import select

from tuanjian.models import AuditEntry, RegistrationCode

from ..factories import make_code, make_member


def _codes(session, org):
    return list(session.scalars(select(RegistrationCode).where(RegistrationCode.org_id == org.id)))


def test_slips_show_one_slip_per_child_with_a_usable_code(client, session, tree, login, app):
    app.config["PUBLIC_URL"] = "http://192.168.1.20:5000"     # the test client's localhost would be asked about
    login(tree.county_admin)
    kept = make_code(session, tree.township)
    make_code(session, tree.school, expired=True)          # expired: no slip, listed as needing a code
    session.commit()
    resp = client.get(f"/orgs/{tree.county.id}/codes/slips")
    html = resp.get_data(as_text=True).replace("<wbr>", "")      # org names carry line-break hints on paper
    assert resp.status_code == 200
    assert html.count('class="slip"') == 1
    assert kept.code in html and tree.township.short_name in html and tree.township.code in html
    assert "有效期至" in html and "http://192.168.1.20:5000/register/" in html
    assert re.search(r"还没有可用的注册码.*望江中学团委.*高士镇团委", html, re.S)
    assert _codes(session, tree.sibling) == [], "showing the slips issues nothing"


def test_issue_slips_keeps_unused_codes_and_fills_the_rest(client, session, tree, login, app):
    app.config["PUBLIC_URL"] = "http://192.168.1.20:5000"
    login(tree.county_admin)
    kept = make_code(session, tree.township)
    session.commit()
    resp = client.post(f"/orgs/{tree.county.id}/codes/slips")
    assert resp.status_code == 302 and resp.location.endswith(f"/orgs/{tree.county.id}/codes/slips")
    page = client.get(resp.location).get_data(as_text=True)
    assert "已为 2 个直属下级组织新生成注册码，1 个沿用尚未使用的注册码" in page
    assert page.count('class="slip"') == 3
    session.expire_all()
    assert [c.code for c in _codes(session, tree.township)] == [kept.code]
    for org in (tree.school, tree.sibling):
        (code,) = _codes(session, org)
        assert code.code in page
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "code.issue",
                                                   AuditEntry.org_id == tree.sibling.id)) is not None


def test_slips_of_a_descendant_are_refused_with_a_reason(client, session, tree, login):
    login(tree.county_admin)
    resp = client.get(f"/orgs/{tree.township.id}/codes/slips")
    assert resp.status_code == 403
    assert "只能打印本组织直属下级组织的注册码" in resp.get_data(as_text=True)


def test_member_print_lists_everyone_masked_and_is_audited(client, session, tree, login, app):
    app.config["PAGE_SIZE"] = 2                               # the screen list pages; the print does not
    people = [make_member(session, tree.village, name=f"印{n}").person for n in range(5)]
    session.commit()
    login(tree.township_admin)
    resp = client.get(f"/members/org/{tree.township.id}/print")
    html = resp.get_data(as_text=True).replace("<wbr>", "")      # org names carry line-break hints on paper
    assert resp.status_code == 200
    for p in people:
        assert p.name in html and p.masked_id in html and p.id_number not in html
    assert "共 5 人" in html and "城东村团支部" in html
    assert 'class="top"' not in html and "<nav" not in html, "no site navigation on the printout"
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "member.print"))
    assert entry is not None and "5 人" in entry.summary
    # a search prints only what it found
    html = client.get(f"/members/org/{tree.township.id}/print?q=印3").get_data(as_text=True)
    assert "印3" in html and "印1" not in html and "共 1 人" in html


def test_pages_and_assets_are_gzipped_for_browsers_that_ask(client, tree, login):
    login(tree.county_admin)
    plain = client.get(f"/orgs/{tree.county.id}")
    assert plain.headers.get("Content-Encoding") is None
    zipped = client.get(f"/orgs/{tree.county.id}", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    page = gzip.decompress(zipped.data).decode()
    # csrf token aside
    assert "<h1>共青团测试县委员会</h1>" in page and abs(len(page.encode()) - len(plain.data)) < 200
    assert len(zipped.data) < len(plain.data) / 3
    js = client.get("/static/vendor/htmx-2.0.11.min.js", headers={"Accept-Encoding": "gzip"})
    assert js.headers["Content-Encoding"] == "gzip" and len(js.data) < 20_000
    again = client.get("/static/vendor/htmx-2.0.11.min.js",
                       headers={"Accept-Encoding": "gzip", "If-None-Match": js.headers["ETag"]})
    assert again.status_code == 304, "revalidation still works on the compressed copy"
    again.close()
    refused = client.get("/static/css/app.css", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert refused.headers.get("Content-Encoding") is None
    refused.close()
    download = client.post(f"/orgs/{tree.county.id}/codes.xlsx", headers={"Accept-Encoding": "gzip"})
    assert download.status_code == 200 and download.headers.get("Content-Encoding") is None


def test_exception_lists_are_searchable(client, session, tree, login):
    from datetime import date
    for name in ("超龄甲", "超龄乙"):
        make_member(session, tree.village, name=name, birth=date(1990, 1, 1), join_date="2005-05")
    session.commit()
    login(tree.township_admin)
    url = f"/progress/org/{tree.township.id}/exceptions/overage"
    assert "共 2 条" in client.get(url).get_data(as_text=True)
    found = client.get(url + "?q=超龄乙").get_data(as_text=True)
    assert "共 1 条（查找“超龄乙”）" in found and "超龄甲" not in found
    none = client.get(url + "?q=没有这个人").get_data(as_text=True)
    assert "没有符合“没有这个人”的条目" in none
    fragment = client.get(url + "?q=超龄甲", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "超龄甲" in fragment and "<header" not in fragment
