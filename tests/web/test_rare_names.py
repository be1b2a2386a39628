"""Names as GB 18030-2022 has them, end to end (issue 25, class 2): names generated from extensions B–G (and A, the
compatibility ideographs, the name dot in all its forms) are imported, found by search, listed in name order,
exported (xlsx and the 智慧团建 export) and printed whole; the member, cadre, secretary and registration forms take
them too. The PDF text of the printout is checked in tests/e2e/test_rare_names_pdf.py."""
from __future__ import annotations

import random
from datetime import date
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tuanjian.demo import make_id
from tuanjian.models import CadrePost, Person

from ..factories import make_code, text_workbook
from .test_real_files import batch_of, upload

# one sample range per extension, inside the assigned part of each block
EXTENSIONS = {"B": (0x20000, 0x2A6DF), "C": (0x2A700, 0x2B739), "D": (0x2B740, 0x2B81D), "E": (0x2B820, 0x2CEA1),
              "F": (0x2CEB0, 0x2EBE0), "G": (0x30000, 0x3134A)}
DOTS = [".", "．", "。", "•", "‧", "・", "·"]
HEAD = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "是否为团干部"]


def rare_names(seed: int, n: int) -> list[tuple[str, str]]:
    """(as typed, as stored): each name holds characters of at least two extensions, some with a name dot."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        exts = rng.sample(sorted(EXTENSIONS), 2)
        chars = [chr(rng.randint(*EXTENSIONS[e])) for e in exts] + [rng.choice("明丽华")]
        rng.shuffle(chars)
        stored = "".join(chars)
        if i % 2:
            tail = "".join(chr(rng.randint(*EXTENSIONS[e])) for e in rng.sample(sorted(EXTENSIONS), 2))
            dot = rng.choice(DOTS)
            out.append((stored + dot + tail, stored + "·" + tail))
        else:
            out.append((stored, stored))
    return out


@pytest.mark.parametrize("seed", range(3))
def test_rare_names_imported_searched_sorted_exported_printed(client, session, login, tree, seed):
    names = rare_names(seed, 6)
    numbers = [make_id(date(2001, 3, 1 + i), 610 + 2 * i + seed * 20, i % 2 == 0) for i in range(len(names))]
    rows = [[typed, number, "维吾尔族", "共青团员", "2015-06", "否"] for (typed, _), number in zip(names, numbers,
                                                                                          strict=True)]
    login(tree.branch_admin)
    batch, report = batch_of(session, upload(client, tree.village.id, text_workbook(HEAD, rows, sheet="团员")))
    assert [r.kind for r in report.rows] == ["new"] * len(names), [r.errors for r in report.rows]
    assert client.post(f"/members/imports/{batch.id}/commit", data={"mode": "all"}).status_code == 302
    session.expire_all()
    stored = [session.scalar(select(Person.name).where(Person.id_number == n)) for n in numbers]
    assert stored == [s for _, s in names]
    # search: by the whole name, by one rare character, by the name typed with another dot
    listing = client.get(f"/members/org/{tree.village.id}").get_data(as_text=True)
    for typed, name in names:
        for q in (name, name[0], typed):
            page = client.get(f"/members/org/{tree.village.id}", query_string={"q": q}).get_data(as_text=True)
            assert name in page, (q, name)
    # sorted by name: the list shows every name whole, in the database's name order
    order = sorted(s for _, s in names)
    positions = [listing.index(n) for n in order]
    assert len(set(positions)) == len(order)
    expected = [n for n in session.scalars(select(Person.name).where(Person.id_number.in_(numbers))
                                           .order_by(Person.name, Person.id))]
    assert sorted(positions) == [listing.index(n) for n in expected]
    # the xlsx export and the 智慧团建 export keep every name whole
    for url in (f"/members/org/{tree.village.id}/export.xlsx", f"/exchange/org/{tree.village.id}/zhtj.xlsx"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        wb = load_workbook(BytesIO(resp.data))
        cells = {str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value}
        for _, name in names:
            assert name in cells, (url, name)
    # the print view
    printed = client.get(f"/members/org/{tree.village.id}/print").get_data(as_text=True)
    for _, name in names:
        assert name in printed


def test_forms_take_rare_names(client, session, login, tree):
    from .test_cadres import cadre
    from .test_members import member
    from .test_orginfo import info_form
    from .test_registration import form as registration_form

    names = [s for _, s in rare_names(99, 4)]
    typed = [t for t, _ in rare_names(99, 4)]
    login(tree.township_admin)
    number = make_id(date(2004, 3, 15), 871, True)
    resp = client.post(f"/members/org/{tree.village.id}/new", data=member(name=typed[1], id_number=number))
    assert resp.status_code == 302, resp.get_data(as_text=True)[-800:]
    assert session.scalar(select(Person.name).where(Person.id_number == number)) == names[1]
    number = make_id(date(1990, 3, 15), 873, True)
    resp = client.post(f"/cadres/org/{tree.township.id}", data=cadre(name=typed[2], id_number=number))
    assert resp.status_code == 302, resp.get_data(as_text=True)[-800:]
    person = session.scalar(select(Person).where(Person.id_number == number))
    assert person.name == names[2] and session.scalar(select(CadrePost).where(CadrePost.person_id == person.id))
    number = make_id(date(1993, 2, 3), 875, False)
    resp = client.post(f"/orgs/{tree.township.id}/info", data=info_form(secretary_name=typed[3],
                                                                        secretary_id_number=number, confirmed="1"))
    assert resp.status_code == 302, resp.get_data(as_text=True)[-800:]
    assert session.scalar(select(Person.name).where(Person.id_number == number)) == names[3]
    client.post("/logout")
    session.expire_all()
    code = make_code(session, tree.township)
    session.commit()
    number = make_id(date(1998, 7, 1), 877, True)
    resp = client.post("/register/", data=registration_form(tree.township, code.code, name=typed[0],
                                                             id_number=number))
    assert resp.status_code == 200 and "注册成功" in resp.get_data(as_text=True), resp.get_data(as_text=True)[-800:]
    assert session.scalar(select(Person.name).where(Person.id_number == number)) == names[0]
