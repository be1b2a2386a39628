"""Real files, second pass (issue 25), class 3 — layout by rule, generated: instructions above the header (0 to 47
rows, some merged across the sheet), one- or two-row headers (labels merged down over both rows, group labels merged
across columns), data cells merged down over groups of rows (所在团支部, 入团年月), rows that carry only filled-down
defaults, hidden and filtered-out rows, in .xlsx (openpyxl) and .xls (BIFF with MERGEDCELLS and ROW records)."""
from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field
from datetime import date
from io import BytesIO

import pytest
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from tuanjian.demo import make_id

from .test_malformed_uploads import biff, xls
from .test_real_files import batch_of

LABELS = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "所在团支部", "是否为团干部"]
GROUPS = ["基本信息", "团员信息", "组织信息"]


@dataclass
class Layout:
    rows: list = field(default_factory=list)          # 0-based rows of cell values
    merges: list = field(default_factory=list)        # (r1, c1, r2, c2), 0-based, inclusive
    hidden: set = field(default_factory=set)          # Excel row numbers
    autofilter: bool = False
    header_last: int = 0                              # 0-based index of the header's last row
    people_rows: dict = field(default_factory=dict)   # ID number -> Excel row number
    ignored: int = 0


def build(rng: random.Random, people, *, hide: bool) -> Layout:
    lay = Layout()
    order = LABELS[:]
    rng.shuffle(order)
    width = len(order)
    for i in range(rng.choice([0, 1, 2, 9, 20, 47])):          # a title, instructions, a blank line or two
        text = rng.choice(["共青团望江县委员会团员信息采集表", f"填写说明{i + 1}：请按身份证填写姓名，入团年月写到月份",
                           "", "注：红色为必填项"])
        lay.rows.append([text] + [""] * (width - 1))
        if text and rng.random() < 0.5:
            lay.merges.append((i, 0, i, width - 1))
    top = len(lay.rows)
    if rng.random() < 0.5:                                     # one header row
        lay.rows.append(order[:])
    else:                                                      # two rows: groups across, single labels merged down
        upper, lower = [""] * width, [""] * width
        c = 0
        while c < width:
            span = rng.choice([1, 1, 2, 3])
            span = min(span, width - c)
            if span == 1:
                upper[c] = order[c]
                lay.merges.append((top, c, top + 1, c))
            else:
                upper[c] = rng.choice(GROUPS)
                lay.merges.append((top, c, top, c + span - 1))
                lower[c:c + span] = order[c:c + span]
            c += span
        lay.rows += [upper, lower]
    lay.header_last = len(lay.rows) - 1
    merge_cols = [order.index(label) for label in ("所在团支部", "入团年月") if rng.random() < 0.6]
    i = 0
    while i < len(people):
        size = min(rng.randint(1, 3), len(people) - i)
        first = len(lay.rows)
        for j, (name, number) in enumerate(people[i:i + size]):
            value = {"姓名": name, "身份证号码": number, "民族": rng.choice(["汉族", "汉", "回族"]),
                     "政治面貌": "共青团员", "入团年月": "2015-06", "所在团支部": "城东村团支部", "是否为团干部": "否"}
            row = [value[label] for label in order]
            if j:
                for c in merge_cols:
                    row[c] = ""
            lay.people_rows[number] = len(lay.rows) + 1
            lay.rows.append(row)
        if size > 1:
            lay.merges += [(first, c, first + size - 1, c) for c in merge_cols]
        i += size
    lay.ignored = rng.randint(0, 12)                           # WPS defaults filled down below the last person
    for _ in range(lay.ignored):
        defaults = {"民族": "汉族", "政治面貌": "共青团员", "是否为团干部": "否"}
        lay.rows.append([defaults.get(label, "") for label in order])
    if hide:
        chosen = rng.sample(sorted(lay.people_rows.values()), rng.randint(1, 2))
        lay.hidden = set(chosen)
        lay.autofilter = rng.random() < 0.5
    return lay


def as_xlsx(lay: Layout) -> BytesIO:
    wb = Workbook()
    ws = wb.active
    ws.title = "团员"
    for r, row in enumerate(lay.rows, start=1):
        for c, v in enumerate(row, start=1):
            if v != "":
                ws.cell(r, c).value = v
    for r1, c1, r2, c2 in lay.merges:
        ws.merge_cells(start_row=r1 + 1, start_column=c1 + 1, end_row=r2 + 1, end_column=c2 + 1)
    for r in lay.hidden:
        ws.row_dimensions[r].hidden = True
    if lay.autofilter:
        ws.auto_filter.ref = f"A{lay.header_last + 1}:{get_column_letter(len(lay.rows[-1]))}{len(lay.rows)}"
    out = BytesIO()
    wb.save(out)
    out.seek(0)
    return out


def as_xls(lay: Layout) -> BytesIO:
    merged = biff(0x00E5, struct.pack("<H", len(lay.merges))
                  + b"".join(struct.pack("<HHHH", r1, r2, c1, c2) for r1, c1, r2, c2 in lay.merges))
    # ROW records: fDyZero (0x20) on the hidden rows; AUTOFILTERINFO when the sheet is filtered
    rows = b"".join(biff(0x0208, struct.pack("<HHHHHHHH", r - 1, 0, len(lay.rows[0]), 0x0F0, 0, 0, 0x20 | 0x100, 0x0F))
                    for r in sorted(lay.hidden))
    filtered = biff(0x009D, struct.pack("<H", len(lay.rows[0]))) if lay.autofilter else b""
    return BytesIO(xls(lay.rows, sheet="团员", cells=rows + filtered + merged))


def people_for(seed: int, n: int):
    return [(f"{'赵钱孙李周吴郑王'[i % 8]}{'一二三四五六七八九十'[i % 10]}{chr(0x4e00 + seed * 50 + i)}",
             make_id(date(2001, 1 + i % 12, 1 + seed % 27), 300 + 2 * i + seed * 40, i % 2 == 0)) for i in range(n)]


def _upload(client, org_id, data, name, include_hidden=False):
    form = {"file": (data, name), **({"include_hidden": "1"} if include_hidden else {})}
    return client.post(f"/members/org/{org_id}/import", data=form, content_type="multipart/form-data")


@pytest.mark.parametrize("fmt,seed", [("xlsx", s) for s in range(10)] + [("xls", s) for s in range(10, 16)])
def test_layouts_read_by_rule(client, session, login, tree, fmt, seed):
    rng = random.Random(seed)
    people = people_for(seed, rng.randint(3, 8))
    hide = seed % 3 == 0
    lay = build(rng, people, hide=hide)
    include = hide and seed % 2 == 1
    data = as_xlsx(lay) if fmt == "xlsx" else as_xls(lay)
    login(tree.township_admin)
    batch, report = batch_of(session, _upload(client, tree.township.id, data, f"团员.{fmt}", include))
    assert not report.error_rows, [(r.number, r.errors) for r in report.error_rows]
    read = {r.number for r in report.rows}
    expected = {row for number, row in lay.people_rows.items() if include or row not in lay.hidden}
    assert read == expected
    assert all(r.kind == "new" for r in report.rows)
    notices = report.notices
    if lay.ignored:
        assert any(f"有 {lay.ignored} 行没有姓名也没有身份证号" in n for n in notices), notices
    else:
        assert not any("没有姓名也没有身份证号" in n for n in notices)
    if lay.hidden:
        note = next(n for n in notices if "在 Excel 中" in n)
        assert all(str(r) in note for r in lay.hidden)
        assert ("被筛选隐藏" if lay.autofilter else "被隐藏") in note
        assert ("已一并读取" in note) if include else ("没有导入" in note)
    page = client.get(f"/members/imports/{batch.id}").get_data(as_text=True)
    for n in notices:
        assert n in page
    # committing writes every person read, with the merged cells' values
    assert client.post(f"/members/imports/{batch.id}/commit", data={"mode": "all"}).status_code == 302


def test_header_not_found_says_what_was_looked_for(client, login, tree):
    rows = [["说明"]] * 55 + [LABELS, ["甲", make_id(date(2001, 1, 1), 11, True), "汉族", "共青团员", "2015-06",
                                       "城东村团支部", "否"]]
    lay = Layout(rows=[list(r) + [""] * (len(LABELS) - len(r)) for r in rows])
    login(tree.township_admin)
    resp = _upload(client, tree.township.id, as_xlsx(lay), "团员.xlsx")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "在前 50 行中没有找到表头" in text and "姓名、身份证号码" in text
