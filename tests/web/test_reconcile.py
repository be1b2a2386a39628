"""与智慧团建对账 (issue 28): upload → differences → act on them, through the pages (both databases)."""
from __future__ import annotations

import re
from io import BytesIO
from urllib.parse import quote

from openpyxl import load_workbook
from sqlalchemy import func, select

from tuanjian.models import (
    AuditEntry,
    ImportBatch,
    Member,
    Person,
    ReconcileExplanation,
    ReconcileFigure,
    Reconciliation,
    TransferRequest,
)

from ..factories import make_member, new_id, text_workbook

HEADERS = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "所在团支部", "手机号码", "团内职务"]
FULL = str.maketrans("0123456789X", "０１２３４５６７８９ｘ")


def _row(m, *, branch=None, **changes):
    p = m.person
    row = {"姓名": p.name, "身份证号码": p.id_number, "民族": p.ethnicity, "政治面貌": p.political_status,
           "入团年月": p.join_date, "所在团支部": branch if branch is not None else m.org.short_name,
           "手机号码": p.phone, "团内职务": ""}
    row.update(changes)
    return [row[h] for h in HEADERS]


def _people(session, tree):
    """Five members of 城东村团支部 and two of 高一(1)班团支部."""
    east = [make_member(session, tree.village, name=n, phone=f"1380000000{i}") for i, n in enumerate(
        ["王芳", "李伟", "张敏", "刘洋", "阿依·买买提"])]
    klass = [make_member(session, tree.klass, name=n) for n in ["陈静", "杨帆"]]
    session.commit()
    return east, klass


def _upload(client, org, *files):
    data = {"file": [(content if isinstance(content, BytesIO) else BytesIO(content), name) for content, name in files]}
    return client.post(f"/reconcile/org/{org.id}/compare", data=data, content_type="multipart/form-data")


def _world(session, tree):
    east, klass = _people(session, tree)
    new_number = new_id()
    rows = [
        # near misses only: full-width digits, lower x, padded name, another dot, 团员, 汉, 2015.5
        _row(east[0], 身份证号码=east[0].person.id_number.translate(FULL), 姓名="王　芳", 政治面貌="团员", 民族="汉",
             入团年月="2015.5"),
        _row(east[1], 身份证号码=east[1].person.id_number.lower(), 手机号码=" 138 0000 0001 "),
        _row(east[2], 手机号码="13999999999"),                         # a difference
        _row(east[4], 姓名="阿依•买买提"),                                 # same name, other dot
        _row(klass[0], branch=tree.village.short_name),                  # in another branch in 智慧团建
        _row(klass[1]),
        ["新来的", new_number, "汉族", "共青团员", "2019-05", tree.village.short_name, "13700000000", ""],
        # east[3] (刘洋) is missing from the file: only here
    ]
    return east, klass, new_number, rows


def test_compare_lists_exactly_the_differences_and_writes_only_the_result(client, session, login, tree):
    east, klass, new_number, rows = _world(session, tree)
    login(tree.county_admin)
    people_before = session.scalar(select(func.count()).select_from(Person))
    resp = _upload(client, tree.county, (text_workbook(HEADERS, rows, sheet="团员"), "智慧团建导出.xlsx"))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Person)) == people_before
    rec = session.scalar(select(Reconciliation).where(Reconciliation.org_id == tree.county.id))
    t = rec.totals
    # 8 people: 4 match (王芳, 李伟, 阿依·买买提, 杨帆), 张敏 differs, 陈静 moved, 刘洋 only here, 新来的 only there
    assert (t["people"], t["matching"], t["differing"], t["moved"], t["only_here"], t["only_there"]) == \
        (8, 4, 2, 1, 1, 1)
    figures = {f.branch_id: (f.people, f.matching) for f in session.scalars(select(ReconcileFigure))}
    assert figures == {tree.village.id: (6, 3), tree.klass.id: (2, 1)}
    page = client.get(f"/reconcile/org/{tree.county.id}").get_data(as_text=True)
    assert "50.0%" in page and "张敏" in page and "13999999999" in page
    assert east[2].person.id_number not in page and east[2].person.masked_id in page
    assert ">张敏</td>" in page
    for name in ("王芳", "李伟", "阿依·买买提", "杨帆"):
        assert f">{name}</td>" not in page
    moved = client.get(f"/reconcile/org/{tree.county.id}?kind=moved").get_data(as_text=True)
    assert "陈静" in moved and "申请转接到城东村团支部" in moved
    assert "刘洋" in client.get(f"/reconcile/org/{tree.county.id}?kind=only_here").get_data(as_text=True)
    assert "新来的" in client.get(f"/reconcile/org/{tree.county.id}?kind=only_there").get_data(as_text=True)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "reconcile.compare"))
    assert "相符 4/8 人" in entry.summary
    # the same file again: the same figures
    _upload(client, tree.county, (text_workbook(HEADERS, rows, sheet="团员"), "智慧团建导出.xlsx"))
    session.expire_all()
    again = session.scalar(select(Reconciliation).where(Reconciliation.org_id == tree.county.id))
    assert again.totals == t and session.scalar(select(func.count()).select_from(Reconciliation)) == 1


def test_explain_then_compare_again_lists_only_what_is_new(client, session, login, tree):
    east, klass, new_number, rows = _world(session, tree)
    login(tree.township_admin)
    rows = [r for r in rows if r[5] == tree.village.short_name and r[1] != klass[0].person.id_number]
    _upload(client, tree.township, (text_workbook(HEADERS, rows, sheet="团员"), "城东.xlsx"))
    session.expire_all()
    rec = session.scalar(select(Reconciliation).where(Reconciliation.org_id == tree.township.id))
    from tuanjian.services.reconcile import comparison_of
    index = next(i for i, it in enumerate(comparison_of(rec).items) if it.name == "张敏")
    assert client.post(f"/reconcile/org/{tree.township.id}/explain",
                       data={"item": index, "field": "phone", "note": ""}).status_code == 422
    resp = client.post(f"/reconcile/org/{tree.township.id}/explain",
                       data={"item": index, "field": "phone", "note": "智慧团建中尚未更新"})
    assert resp.status_code == 302
    session.expire_all()
    e = session.scalar(select(ReconcileExplanation))
    assert (e.org_id, e.field, e.there_value, e.note) == (tree.village.id, "phone", "13999999999", "智慧团建中尚未更新")
    _upload(client, tree.township, (text_workbook(HEADERS, rows, sheet="团员"), "城东.xlsx"))
    session.expire_all()
    rec = session.scalar(select(Reconciliation).where(Reconciliation.org_id == tree.township.id))
    assert rec.totals["explained"] == 1 and rec.totals["differing"] == 0
    page = client.get(f"/reconcile/org/{tree.township.id}").get_data(as_text=True)
    assert ">张敏</td>" not in page and "已说明的差异 1 项" in page
    # the explanation is filed under the branch: its own admin's comparison sees it too
    login(tree.branch_admin)
    _upload(client, tree.village, (text_workbook(HEADERS, rows, sheet="团员"), "城东.xlsx"))
    session.expire_all()
    assert session.scalar(select(Reconciliation).where(Reconciliation.org_id == tree.village.id)).totals[
        "explained"] == 1


def test_exports_mask_unless_revealed_and_the_zhtj_file_holds_only_what_to_fix(client, session, login, tree):
    east, klass, new_number, rows = _world(session, tree)
    login(tree.county_admin)
    _upload(client, tree.county, (text_workbook(HEADERS, rows, sheet="团员"), "名单.xlsx"))
    resp = client.get(f"/reconcile/org/{tree.county.id}/differences.xlsx")
    ws = load_workbook(BytesIO(resp.data)).active
    ids = [r[3] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert east[2].person.masked_id in ids and east[2].person.id_number not in ids
    resp = client.get(f"/reconcile/org/{tree.county.id}/differences.xlsx?reveal=1")
    ids = [r[3] for r in load_workbook(BytesIO(resp.data)).active.iter_rows(min_row=2, values_only=True)]
    assert east[2].person.id_number in ids
    assert {e.action for e in session.scalars(select(AuditEntry))} >= {"export.reconcile", "export.reconcile_full"}
    resp = client.get(f"/reconcile/org/{tree.county.id}/zhtj.xlsx")
    wb = load_workbook(BytesIO(resp.data))
    written = {r[1] for ws in wb.worksheets[1:] for r in ws.iter_rows(min_row=2, values_only=True)}
    # 张敏 (differs), 陈静 (moved) and 刘洋 (only here); nobody who matches
    assert written == {east[2].person.id_number, klass[0].person.id_number, east[3].person.id_number}
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "export.reconcile_zhtj")) is not None
    revealed = client.post(f"/reconcile/org/{tree.county.id}/reveal", data={"kind": "differs"}).get_data(as_text=True)
    assert east[2].person.id_number in revealed
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "reconcile.reveal")) is not None


def test_only_there_rows_start_a_member_import_and_moved_people_a_transfer(client, session, login, tree):
    east, klass, new_number, rows = _world(session, tree)
    login(tree.county_admin)
    _upload(client, tree.county, (text_workbook(HEADERS, rows, sheet="团员"), "名单.xlsx"))
    members = session.scalar(select(func.count()).select_from(Member))
    resp = client.post(f"/reconcile/org/{tree.county.id}/import")
    assert resp.status_code == 302 and "/members/" in resp.headers["Location"]
    session.expire_all()
    batch = session.scalar(select(ImportBatch).where(ImportBatch.kind == "members"))
    assert batch.status == "pending" and batch.totals["rows"] == 1
    assert session.scalar(select(func.count()).select_from(Member)) == members     # previewed, not written
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "新来的" in page
    rec = session.scalar(select(Reconciliation).where(Reconciliation.org_id == tree.county.id))
    from tuanjian.services.reconcile import comparison_of
    index = next(i for i, it in enumerate(comparison_of(rec).items) if it.name == "陈静")
    resp = client.post(f"/reconcile/org/{tree.county.id}/transfer", data={"item": index})
    assert resp.status_code == 302
    session.expire_all()
    req = session.scalar(select(TransferRequest))
    assert (req.from_org_id, req.to_org_id, req.status) == (tree.klass.id, tree.village.id, "pending")
    # not a moved person: refused with a message
    other = next(i for i, it in enumerate(comparison_of(rec).items) if it.name == "张敏")
    resp = client.post(f"/reconcile/org/{tree.county.id}/transfer", data={"item": other})
    assert resp.status_code == 409 and "不能在此申请转接" in resp.get_data(as_text=True)


def test_held_outside_reach_is_reported_without_naming_it(client, session, login, tree):
    outsider = make_member(session, tree.sibling_branch, name="邻镇团员")
    session.commit()
    login(tree.township_admin)
    rows = [["邻镇团员", outsider.person.id_number, "汉族", "共青团员", "2015-05", tree.village.short_name,
             "13800000000", ""]]
    _upload(client, tree.township, (text_workbook(HEADERS, rows, sheet="团员"), "名单.xlsx"))
    page = client.get(f"/reconcile/org/{tree.township.id}?kind=elsewhere").get_data(as_text=True)
    assert "邻镇团员" in page and tree.sibling_branch.short_name not in page and tree.sibling.short_name not in page
    resp = client.post(f"/reconcile/org/{tree.township.id}/import")
    assert resp.status_code == 409          # nothing only there to import


def test_bad_uploads_get_a_chinese_message(client, session, login, tree):
    login(tree.county_admin)
    resp = client.post(f"/reconcile/org/{tree.county.id}/compare", data={}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "请选择" in resp.get_data(as_text=True)
    resp = _upload(client, tree.county, (b"not excel", "名单.txt"))
    assert resp.status_code == 422 and "名单.txt" in resp.get_data(as_text=True)
    resp = _upload(client, tree.county, (text_workbook(["姓名", "身份证号码"], [["王芳", 3.40827200005e17]],
                                                       sheet="团员"), "名单.xlsx"))
    assert resp.status_code == 422 and "文本" in resp.get_data(as_text=True)
    for url in ("explain", "import", "transfer"):
        assert client.post(f"/reconcile/org/{tree.county.id}/{url}", data={"item": "1"}).status_code == 409
    assert client.get(f"/reconcile/org/{tree.county.id}/zhtj.xlsx").status_code == 404


def test_one_file_per_branch_and_sheets_named_after_branches(client, session, login, tree):
    east, klass = _people(session, tree)
    login(tree.county_admin)
    blank = lambda m: _row(m, branch="")                     # noqa: E731  (智慧团建's per-branch export)
    by_file = text_workbook(HEADERS, [blank(m) for m in east], sheet="Sheet1")
    by_sheet = text_workbook(HEADERS, [blank(m) for m in klass], sheet=tree.klass.short_name)
    resp = _upload(client, tree.county, (by_file, f"{tree.village.short_name}.xlsx"), (by_sheet, "二.xlsx"))
    assert resp.status_code == 302
    session.expire_all()
    rec = session.scalar(select(Reconciliation).where(Reconciliation.org_id == tree.county.id))
    assert rec.totals["matching"] == rec.totals["people"] == 7


def test_the_progress_page_and_the_report_show_the_match_rate_per_subordinate(client, session, login, tree):
    east, klass, new_number, rows = _world(session, tree)
    login(tree.county_admin)
    page = client.get(f"/progress/org/{tree.county.id}").get_data(as_text=True)
    assert "与智慧团建相符率" not in page                    # nothing compared yet: no column
    _upload(client, tree.county, (text_workbook(HEADERS, rows, sheet="团员"), "名单.xlsx"))
    page = client.get(f"/progress/org/{tree.county.id}").get_data(as_text=True)
    # 华阳镇团委: 城东村团支部 3 of 6; 望江中学团委: 高一(1)班团支部 1 of 2; 高士镇团委: not compared
    assert "与智慧团建相符率" in page
    cells = re.findall(r'title="([^"]+)">[^<]+</a></th>.*?<td class="num" data-match>([^<]+)</td>', page, re.S)
    assert dict(cells) == {"华阳镇团委": "50.0%", "望江中学团委": "50.0%", "高士镇团委": "—"}
    report = client.get(f"/progress/org/{tree.county.id}/print").get_data(as_text=True)
    assert "与智慧团建相符率" in report and "50.0%" in report
    # the Excel export has the column too, as numbers formatted as percentages ("—" where nothing was compared)
    ws = load_workbook(BytesIO(client.get(f"/progress/org/{tree.county.id}/export.xlsx").data)).active
    sheet = [r for r in ws.iter_rows(values_only=True)]
    header = next(r for r in sheet if r and "与智慧团建相符率" in r)
    col = header.index("与智慧团建相符率")
    by_name = {r[1]: r[col] for r in sheet[sheet.index(header) + 1:]}
    assert by_name["华阳镇团委"] == 0.5 and by_name["望江中学团委"] == 0.5 and by_name["高士镇团委"] == "—"
    assert by_name["本级"] == "—" and by_name["合计（含本级）"] == 0.5        # 4 of 8 over the county
    # a later comparison by the branch itself replaces the branch's figures (the latest of each branch counts)
    login(tree.branch_admin)
    fixed = [r for r in rows if r[5] == tree.village.short_name]
    fixed = [r if r[1] != east[2].person.id_number else _row(east[2]) for r in fixed]
    _upload(client, tree.village, (text_workbook(HEADERS, fixed, sheet="团员"), "城东.xlsx"))
    login(tree.county_admin)
    page = client.get(f"/progress/org/{tree.county.id}").get_data(as_text=True)
    cells = dict(re.findall(r'title="([^"]+)">[^<]+</a></th>.*?<td class="num" data-match>([^<]+)</td>', page, re.S))
    # 城东村团支部 now: 王芳, 李伟, 张敏, 阿依·买买提 match; 刘洋 only here, 陈静 and 新来的 only there → 4 of 7
    assert cells["华阳镇团委"] == "57.1%"


def test_our_own_zhtj_export_compares_as_all_matching(client, session, login, tree):
    """The round trip: the 智慧团建-format export of a subtree (one sheet per branch, its 目录, the 本级团干部 sheets
    and a branch cadre without 团籍) compared with the same subtree → everybody matches."""
    from tuanjian.models import CadrePost
    east, klass = _people(session, tree)
    session.add(CadrePost(person_id=east[0].person_id, org_id=tree.village.id, position="书记"))
    from ..factories import make_cadre
    make_cadre(session, tree.village, name="群众干部", position="组织委员")
    session.commit()
    login(tree.county_admin)
    export = client.get(f"/exchange/org/{tree.county.id}/zhtj.xlsx").data
    assert _upload(client, tree.county, (export, "智慧团建导入_测试县.xlsx")).status_code == 302
    session.expire_all()
    rec = session.scalar(select(Reconciliation).where(Reconciliation.org_id == tree.county.id))
    assert rec.totals["people"] == rec.totals["matching"] == 7, rec.totals


def test_malformed_files_get_a_chinese_4xx_and_write_nothing(client, login, tree, monkeypatch):
    """The member import's corpus of broken, renamed, truncated and hostile files (tests/web/test_malformed_uploads.py),
    sent to the 对账 upload: a Chinese 4xx and no change, or (a readable file) only the kept comparison written."""
    from tuanjian.spreadsheets import reader

    from .test_malformed_uploads import ALERT, CHINESE, HANGS, corpus, table_counts
    login(tree.branch_admin)
    problems, timeout, seen = [], reader.PARSE_TIMEOUT, 0
    for category in ("random", "truncated", "renamed", "bombs", "content"):
        for label, name, data, _ in corpus("members", category):
            monkeypatch.setattr(reader, "PARSE_TIMEOUT", 1 if label == HANGS else timeout)
            before = table_counts()
            url = f"/reconcile/org/{tree.village.id}/compare"
            if re.search(r'["\\\x00-\x1f]', name):     # what the test client cannot encode: as a browser sends it
                boundary = "----malformed-upload-test"
                head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="upload.xlsx"; '
                        f"filename*=UTF-8''{quote(name, safe='')}\r\nContent-Type: application/octet-stream\r\n\r\n")
                resp = client.post(url, data=head.encode() + data + f"\r\n--{boundary}--\r\n".encode(),
                                   content_type=f"multipart/form-data; boundary={boundary}")
            else:
                resp = client.post(url, data={"file": (BytesIO(data), name)}, content_type="multipart/form-data")
                resp.request.environ["wsgi.input"].close()   # the test client spools bodies over 500 KB to a file
            body = resp.get_data(as_text=True)
            changed = {t for t, n in table_counts().items() if before.get(t) != n}
            seen += 1
            if resp.status_code == 302:
                if not changed <= {"reconciliations", "reconcile_figures", "audit_log", "audit_entries"}:
                    problems.append(f"{label}: accepted and changed {changed}")
            elif not (400 <= resp.status_code < 500) or not CHINESE.search(
                    (ALERT.search(body) or [None, ""])[1] or ""):
                problems.append(f"{label}: status {resp.status_code}, no Chinese message")
            elif changed:
                problems.append(f"{label}: refused but changed {changed}")
    assert seen >= 150 and not problems, "\n".join(problems[:20])
