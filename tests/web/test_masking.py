"""Issue 14, class 6: masking you cannot undo. A masked view shows the ID number's region and last 4 and, of the
birth date (the 8 hidden digits), only the year; ID searches take the full number or the last 4 only, are
audited, and full numbers that find nobody are throttled. The reconstruction test gathers everything a
non-revealing admin can see about one person and shows no full ID number can be assembled from it."""
import calendar
import re
from datetime import date
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import select

from tuanjian.domain.people import id_check_char
from tuanjian.models import AuditEntry, CadrePost

from ..factories import make_cadre, make_member

BORN = date(1990, 7, 23)


def _text_of(resp) -> str:
    if resp.mimetype.endswith("spreadsheetml.sheet"):
        wb = load_workbook(BytesIO(resp.data))
        return "\n".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row
                         if c.value is not None)
    return resp.get_data(as_text=True)


def _birth_forms(born: date) -> list[str]:
    return [born.isoformat(), born.strftime("%Y%m%d"), f"{born.year}年{born.month}月{born.day}日",
            f"{born.year}/{born.month}/{born.day}", f"{born.year}.{born.month:02d}.{born.day:02d}",
            f"{born.month}月{born.day}日"]


def _world(session, tree):
    target = make_member(session, tree.village, name="重建甲", birth=BORN, join_date="2005-05",
                         evidence=(None, None, None, None))        # overage, unconfirmed: on two exception lists
    secretary = make_cadre(session, tree.village, name="重建乙", position="书记")
    secretary.person.birth_date = BORN
    session.commit()
    return target, secretary


def _visible(client, tree, target, secretary) -> dict[str, str]:
    """Everything the township admin (no reveal) can open that concerns the two people."""
    t, v = tree.township.id, tree.village.id
    urls = [f"/members/org/{t}", f"/members/org/{v}", f"/members/org/{t}?q=重建", f"/members/org/{t}/print",
            f"/members/org/{t}/export.xlsx", f"/members/{target.id}", "/people/?q=重建",
            f"/people/{target.person_id}", f"/people/{secretary.person_id}", f"/cadres/org/{v}",
            f"/cadres/{secretary.id}", f"/orgs/{v}/info", f"/orgs/{v}/admins",
            f"/progress/org/{t}/exceptions/overage", f"/progress/org/{t}/exceptions/unconfirmed",
            f"/progress/org/{t}/exceptions/overage/export.xlsx", "/audit/"]
    # searches by every piece of the number an attacker might try, and by the name
    number = target.person.id_number
    queries = ([number[:k] for k in range(2, 18)] + [number[-k:] for k in range(2, 18)]
               + [number[6:14], number[6:10], number[10:14]])
    seen = {}
    for url in urls:
        resp = client.get(url)
        assert resp.status_code == 200, url
        seen[url] = _text_of(resp)
    for q in queries:
        for base in (f"/members/org/{t}", "/people/", f"/members/org/{t}/print"):
            resp = client.get(base, query_string={"q": q})
            assert resp.status_code == 200
            # the query the attacker typed is echoed back (search box, links): that is no disclosure
            seen[f"{base}?q={q}"] = _text_of(resp).replace(q, "<Q>")
    return seen


def test_reconstruction_fails(client, session, login, tree):
    """As a non-revealing admin, gather every list, page, print, masked export, exception list, audit page and
    search about a known person: the full ID number appears nowhere, the hidden birth date never appears
    (only its year), no search by a part of the number other than the last 4 finds the person, and the pieces
    that are visible leave many candidate numbers."""
    target, secretary = _world(session, tree)
    login(tree.township_admin)
    # some writes, so the audit page has entries about the person
    client.post(f"/members/{target.id}", data={"ethnicity": "汉族", "political_status": "共青团员",
                                               "join_date": "2005-05", "phone": "13900001111", "is_cadre": "否"})
    seen = _visible(client, tree, target, secretary)
    for person in (target.person, secretary.person):
        number = person.id_number
        for where, text in seen.items():
            assert number not in text, f"full ID in {where}"
            assert number.lower() not in text, f"full ID in {where}"
            for form in _birth_forms(person.birth_date):
                assert form not in text, f"birth date {form} in {where}"
        masked = number[:6] + "*" * 8 + number[-4:]
        assert any(masked in text for text in seen.values())
    # the searches: only the full number or its last 4 find anyone; every other piece finds nobody
    number = target.person.id_number
    for where, text in seen.items():
        if "?q=" not in where or "重建" in where.split("?q=")[1]:
            continue
        q = where.split("?q=")[1]
        if q != number[-4:]:
            assert "重建甲" not in text, f"search {where} found the person: a digit oracle"
    assert "重建甲" in client.get(f"/members/org/{tree.township.id}",
                                  query_string={"q": number[-4:]}).get_data(as_text=True)

    # what is visible: region and last 4 from the mask, the birth year from the pages. Enumerate the numbers
    # that agree with all of it (valid dates, right check character): the person is hidden among many.
    region, last4 = number[:6], number[-4:]
    year_shown = [int(y) for y in re.findall(r"(\d{4}) 年", seen[f"/people/{target.person_id}"])]
    assert BORN.year in year_shown
    candidates = []
    for month in range(1, 13):
        for day in range(1, calendar.monthrange(BORN.year, month)[1] + 1):
            first17 = f"{region}{BORN.year}{month:02d}{day:02d}{last4[:3]}"
            if id_check_char(first17) == last4[3]:
                candidates.append(first17 + last4[3])
    assert number in candidates and len(candidates) >= 10

    # trying candidates with the full-number search: each try is audited (masked), and after 3 misses the
    # search is slowed, so not even the right number can be confirmed straight away
    wrong = [c for c in candidates if c != number][:3]
    for c in wrong:
        page = client.get("/people/", query_string={"q": c}).get_data(as_text=True)
        assert "重建甲" not in page
    page = client.get("/people/", query_string={"q": number}).get_data(as_text=True)
    assert "重建甲" not in page and "未找到的次数过多" in page
    page = client.get(f"/members/org/{tree.township.id}", query_string={"q": number}).get_data(as_text=True)
    assert "重建甲" not in page and "未找到的次数过多" in page
    entries = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "member.search_id")))
    assert len(entries) >= 3 + 2                      # the 3 misses and the earlier last-4 searches
    for e in entries:
        assert number not in (e.summary or "") and number not in str(e.after)
        for c in wrong:
            assert c not in (e.summary or "")
    # the name search is not affected
    assert "重建甲" in client.get("/people/", query_string={"q": "重建甲"}).get_data(as_text=True)


def test_prefix_search_cannot_rebuild_an_id(client, session, login, tree):
    """The reported attack: ?q= prefix after prefix used to rebuild a full ID in about 24 queries. Now no
    prefix (nor any ending longer than 4) matches, so there is nothing to extend digit by digit."""
    target = make_member(session, tree.village, name="前缀乙", birth=BORN)
    session.commit()
    login(tree.branch_admin)
    number = target.person.id_number
    known = ""
    for _ in range(18):
        extended = None
        for ch in "0123456789X":
            page = client.get(f"/members/org/{tree.village.id}", query_string={"q": known + ch}).get_data(as_text=True)
            if "前缀乙" in page and len(known) + 1 < 18:
                extended = known + ch
                break
        if extended is None:
            break
        known = extended
    assert known == ""                      # not even the first digit can be confirmed
    # the full number finds them (and that search is in the audit log, masked)
    page = client.get(f"/members/org/{tree.village.id}", query_string={"q": number}).get_data(as_text=True)
    assert "前缀乙" in page
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "member.search_id")
                           .order_by(AuditEntry.id.desc()))
    assert entry is not None and number not in entry.summary and number[-4:] in entry.summary


def test_masked_export_has_birth_year_revealed_export_has_the_date(client, session, login, tree):
    target = make_member(session, tree.village, name="导出丙", birth=BORN)
    session.commit()
    login(tree.township_admin)
    masked = load_workbook(BytesIO(client.get(f"/members/org/{tree.township.id}/export.xlsx").data)).active
    values = [c.value for row in masked.iter_rows() for c in row]
    assert "出生年份" in values and "出生日期" not in values and "1990" in values
    assert BORN.isoformat() not in values and target.person.id_number not in values
    full = load_workbook(BytesIO(client.get(f"/members/org/{tree.township.id}/export.xlsx?reveal=1").data)).active
    values = [c.value for row in full.iter_rows() for c in row]
    assert "出生日期" in values and BORN.isoformat() in values and target.person.id_number in values


def test_org_info_shows_the_secretary_masked_and_saving_unchanged_keeps_him(client, session, login, tree):
    secretary = make_cadre(session, tree.village, name="书记丁", position="书记")
    session.commit()
    login(tree.township_admin)
    page = client.get(f"/orgs/{tree.village.id}/info").get_data(as_text=True)
    assert secretary.person.id_number not in page and secretary.person.masked_id in page
    session.expire_all()
    assert session.scalar(select(CadrePost).where(CadrePost.org_id == tree.village.id, CadrePost.position == "书记",
                                                  CadrePost.ended_at.is_(None))).person_id == secretary.person_id
