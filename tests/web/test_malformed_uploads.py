"""Malformed uploads (issue 6): more than 200 bad files, made here from a fixed seed, go to every upload endpoint.

Each must end in a clear Chinese 4xx message (the upload page's alert, or the 413 page), never a 500 or a
traceback, with the database unchanged. A file that is a readable workbook with bad rows (formulas, control
characters, odd cell types) may instead give the usual preview (302): then nothing is written but the pending
import batch, the stored and shown text is inert, and the error workbook holds it as plain string cells.

Categories: random bytes, truncated files, renamed files, bombs (zip, XML entity, cell-coordinate, 1,000,000
formatted rows, huge cells, a file that makes the reader hang), a 100 MB upload, and workbook content
(formulas, control characters, wrong/duplicate/merged headers, empty and hidden sheets, password, cell types).
"""
from __future__ import annotations

import io
import os
import random
import re
import resource
import socket
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dtime
from functools import cache
from urllib.parse import quote
from xml.sax.saxutils import escape

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import text

from tuanjian.demo import make_id
from tuanjian.extensions import db
from tuanjian.models import Base
from tuanjian.spreadsheets import reader

SEED = 20240606
PREVIEW, EITHER = "preview", "either"           # expectations besides "a 4xx whose message contains ..."
HANGS = ".ods whose table is never closed (calamine loops forever on it)"      # cut off by the reader's timeout
# every message the reader gives for a file that is not a usable workbook
UNREADABLE = ("不是有效的 Excel", "已损坏", "内容异常", "超时", "过大", "打开密码", "XML 声明", "没有找到表头",
              "没有数据行", "没有工作表", "请在对应的页面导入")
CHINESE = re.compile(r"[\u4e00-\u9fff]")
ALERT = re.compile(r'role="alert">(.*?)</p>', re.S)
INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\u202a-\u202e\u2066-\u2069\u200b\ufeff]")
FORMULAS = ("=cmd|' /C calc'!A0", '=HYPERLINK("http://evil.example/","点我")', "+SUM(1,2)", "-2+3*cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0")


# ---------------------------------------------------------------- the three upload endpoints

@dataclass(frozen=True)
class Endpoint:
    key: str
    prefix: str                 # url = prefix.format(org_id)
    org: str                    # Tree attribute of the org uploaded to
    admin: str                  # Tree attribute of the admin who uploads
    sheet: str
    headers: tuple
    row: tuple                  # one valid data row
    text_col: int               # a free-text column that ends up in the preview and the error workbook

    def url(self, tree) -> str:
        return self.prefix.format(getattr(tree, self.org).id)


ID1, ID2 = make_id(date(1995, 5, 5), 611, True), make_id(date(2004, 3, 8), 613, True)
ENDPOINTS = {
    "orgs": Endpoint("orgs", "/orgs/{}/children/import", "school", "school_admin", "下级组织",
                     ("组织简称", "组织类别", "上级组织", "是否为乡镇（街道）团委（团工委）"),
                     ("高二年级团总支", "团总支", "", "否"), 0),
    "cadres": Endpoint("cadres", "/cadres/org/{}/import", "school", "school_admin", "团干部",
                       ("姓名", "身份证号码", "手机号码", "民族", "政治面貌", "入团年月", "职务", "职务名称",
                        "团干部性质",
                        "任现职年月", "是否同级党委成员"),
                       ("孙一", ID1, "13500000001", "汉族", "共青团员",
                        "2010-05", "宣传委员", "", "兼职", "2024-01", "否"), 0),
    "members": Endpoint("members", "/members/org/{}/import", "village", "branch_admin", "团员",
                        ("姓名", "身份证号码", "民族", "政治面貌", "入团年月", "所在团支部", "是否为团干部", "团内职务",
                         "发展团员编号", "手机号码", "学历", "职业", "学习工作单位"),
                        ("新一", ID2, "汉族", "共青团员", "2018-05", "", "否", "", "201800100001", "13900000000",
                         "普通高中在读", "学生", "望江中学"), 0),
}


# ---------------------------------------------------------------- file builders

def col(i: int) -> str:
    """Column letters of a 0-based index (A, …, Z, AA, …)."""
    from openpyxl.utils import get_column_letter
    return get_column_letter(i + 1)


def xml_cell(ref: str, value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(value))}</t></is></c>'


def sheet_xml(rows, *, first_row: int = 1, extra: str = "", raw_rows: str = "", head: str = "") -> str:
    body = "".join(f'<row r="{n}">' + "".join(xml_cell(f"{col(i)}{n}", v) for i, v in enumerate(r)) + "</row>"
                   for n, r in enumerate(rows, start=first_row))
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n{head}'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f"<sheetData>{body}{raw_rows}</sheetData>{extra}</worksheet>")


def xlsx(sheets, *, shared: str | None = None, content_types_head: str = "") -> bytes:
    """``sheets``: [(name, sheet xml, state)], state '' / 'hidden' / 'veryHidden'. Hand-written parts, so any
    XML (entities, NaN, error cells, formulas with cached values) can be tried."""
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{kind}"/>'
                        for i in range(1, len(sheets) + 1))
    ct = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n{content_types_head}'
          '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
          'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/'
          f'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>{overrides}</Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats'
            '.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    entries = "".join(f'<sheet name="{escape(name)}" sheetId="{i}"' + (f' state="{state}"' if state else "")
                      + f' r:id="rId{i}"/>' for i, (name, _, state) in enumerate(sheets, start=1))
    wb = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="http://schemas.openxmlformats.org'
          '/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
          f"<sheets>{entries}</sheets></workbook>")
    wb_rels = "".join(f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                      f'relationships/worksheet" Target="worksheets/sheet{i}.xml"/>' for i in range(1, len(sheets) + 1))
    wb_rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.'
               f'openxmlformats.org/package/2006/relationships">{wb_rels}<Relationship Id="rIdS" Type="http://schemas.'
               'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
               '</Relationships>')
    shared = shared or ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.'
                        'openxmlformats.org/spreadsheetml/2006/main" count="0" uniqueCount="0"></sst>')
    parts = {"[Content_Types].xml": ct, "_rels/.rels": rels, "xl/workbook.xml": wb,
             "xl/_rels/workbook.xml.rels": wb_rels, "xl/sharedStrings.xml": shared}
    parts.update((f"xl/worksheets/sheet{i}.xml", xml) for i, (_, xml, _) in enumerate(sheets, start=1))
    return make_zip(parts)


def make_zip(parts: dict) -> bytes:
    """Deflated members with a fixed date, so every file in the corpus is the same from run to run."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(2024, 6, 6, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def openpyxl_book(build) -> bytes:
    wb = Workbook()
    wb.properties.created = datetime(2024, 6, 6)
    build(wb)
    out = io.BytesIO()
    wb.save(out)
    # openpyxl stamps the time of saving: fix it (and the member dates) so the corpus is the same every run
    stamp = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*")
    return rezip(out.getvalue(), lambda name, data: stamp.sub(rb"\g<1>2024-06-06T00:00:00Z", data)
                 if name == "docProps/core.xml" else data)


def plain_book(ep: Endpoint, rows, *, headers=None, sheet=None) -> bytes:
    """Like the clerk's workbook in tests/factories.py: strings are string cells, never formulas."""
    def build(wb):
        ws = wb.active
        ws.title = sheet or ep.sheet
        ws.append(list(headers or ep.headers))
        for r in rows:
            ws.append(list(r))
            for cell in ws[ws.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
    return openpyxl_book(build)


def with_text(ep: Endpoint, value) -> tuple:
    row = list(ep.row)
    row[ep.text_col] = value
    return tuple(row)


def ods(table_xml: str, *, sheet: str = "Sheet1", close: bool = True) -> bytes:
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:'
               'opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body>'
               f'<office:spreadsheet><table:table table:name="{escape(sheet)}">{table_xml}')
    if close:
        content += "</table:table></office:spreadsheet></office:body></office:document-content>"
    return make_zip({"mimetype": "application/vnd.oasis.opendocument.spreadsheet",
                     "META-INF/manifest.xml": '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
                     '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry '
                     'manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                     '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                     "</manifest:manifest>",
                     "content.xml": content})


def ods_cell(value, repeat: int = 1) -> str:
    rep = f' table:number-columns-repeated="{repeat}"' if repeat > 1 else ""
    return f'<table:table-cell office:value-type="string"{rep}><text:p>{escape(str(value))}</text:p></table:table-cell>'


def ods_row(cells: str, repeat: int = 1) -> str:
    rep = f' table:number-rows-repeated="{repeat}"' if repeat > 1 else ""
    return f"<table:table-row{rep}>{cells}</table:table-row>"


def ods_book(ep: Endpoint, rows, **kw) -> bytes:
    return ods("".join(ods_row("".join(ods_cell(v) for v in r)) for r in [ep.headers, *rows]), sheet=ep.sheet, **kw)


# .xls: a minimal OLE compound file holding a BIFF8 workbook stream
END, FREE = 0xFFFFFFFE, 0xFFFFFFFF


def ole(streams: dict[str, bytes]) -> bytes:
    """Every stream padded to >= 4096 bytes (so none lives in the mini stream), FAT sectors listed in the header."""
    data, starts, sizes, chains = b"", [], [], []
    for payload in streams.values():
        payload = payload.ljust(4096, b"\0")
        n = -(-len(payload) // 512)
        starts.append(len(data) // 512)
        sizes.append(len(payload))
        chains.append(n)
        data += payload.ljust(n * 512, b"\0")
    nsec = len(data) // 512
    nfat = 1
    while nfat + 1 + nsec > nfat * 128:
        nfat += 1
    first = nfat + 1                                   # FAT sectors, one directory sector, then the streams
    fat = [0xFFFFFFFD] * nfat + [END]
    for start, n in zip(starts, chains, strict=True):
        fat += [first + start + i + 1 for i in range(n - 1)] + [END]
    fat += [FREE] * (nfat * 128 - len(fat))
    header = (reader.OLE_MAGIC + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<9I", 0, nfat, nfat, 0, 4096, END, 0, END, 0)
              + struct.pack("<109I", *(list(range(nfat)) + [FREE] * (109 - nfat))))

    def entry(name, kind, left, right, child, start, size):
        raw = name.encode("utf-16-le") + b"\0\0"
        return (raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), kind, 1) + struct.pack("<III", left, right, child)
                + b"\0" * 36 + struct.pack("<IQ", start, size))
    names = list(streams)
    dirs = entry("Root Entry", 5, FREE, FREE, 1, END, 0)
    for i, name in enumerate(names):                   # a right-leaning chain is a valid (if unbalanced) tree
        dirs += entry(name, 2, FREE, i + 2 if i + 1 < len(names) else FREE, FREE, first + starts[i], sizes[i])
    return header + struct.pack(f"<{nfat * 128}I", *fat) + dirs.ljust(512, b"\0") + data


def biff(kind, payload=b""):
    return struct.pack("<HH", kind, len(payload)) + payload


def biff_cell(r: int, c: int, value) -> bytes:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return biff(0x0203, struct.pack("<HHHd", r, c, 0, float(value)))
    value = str(value)
    return biff(0x0204, struct.pack("<HHHHB", r, c, 0, len(value), 1) + value.encode("utf-16-le"))


def xls(rows, *, sheet: str = "Sheet1", hidden: int = 0, cells: bytes = b"") -> bytes:
    name = sheet.encode("utf-16-le")

    def globals_(pos):
        return (biff(0x0809, struct.pack("<HHHHII", 0x0600, 5, 0x0DBB, 0x07CC, 0, 6)) + biff(0x0042, b"\xb0\x04")
                + biff(0x0085, struct.pack("<IBBBB", pos, hidden, 0, len(sheet), 1) + name) + biff(0x000A))
    g = globals_(len(globals_(0)))
    body = b"".join(biff_cell(r, c, v) for r, row in enumerate(rows) for c, v in enumerate(row) if v not in ("", None))
    ws = biff(0x0809, struct.pack("<HHHHII", 0x0600, 0x10, 0x0DBB, 0x07CC, 0, 6)) + body + cells + biff(0x000A)
    return ole({"Workbook": g + ws})


def raw_zip(members) -> bytes:
    """``members``: (name, deflated bytes, crc, declared size, local offset or None). Lets a test lie about sizes
    and point several entries at the same data."""
    out, central, offsets = bytearray(), bytearray(), {}
    for name, comp, crc, size, shared in members:
        nm = name.encode()
        if shared is None:
            offsets[name] = len(out)
            out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(comp), size, len(nm), 0) + nm + comp
        offset = offsets[shared or name]
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(comp), size, len(nm),
                               0, 0, 0, 0, 0, offset) + nm
    start = len(out)
    out += central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), start, 0)
    return bytes(out)


def deflate(data: bytes) -> tuple[bytes, int, int]:
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    return comp.compress(data) + comp.flush(), zlib.crc32(data), len(data)


def rezip(data: bytes, change) -> bytes:
    """Copy a zip, passing each member through ``change(name, bytes) -> bytes``."""
    src = zipfile.ZipFile(io.BytesIO(data))
    return make_zip({info.filename: change(info.filename, src.read(info)) for info in src.infolist()})


def mutate(rnd: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rnd.randint(1, 8)):
        i, op = rnd.randrange(len(b)), rnd.random()
        if op < 0.4:
            b[i] = rnd.randrange(256)
        elif op < 0.6:
            del b[i:i + rnd.randint(1, 20)]
        elif op < 0.8:
            b[i:i] = rnd.randbytes(rnd.randint(1, 10))
        else:
            j = rnd.randrange(len(b))
            b[i:i] = b[j:j + rnd.randint(1, 50)]
    return bytes(b)


# ---------------------------------------------------------------- the corpus, per category

def cat_random(ep: Endpoint):
    rnd = random.Random(SEED)
    names = ("数据.xlsx", "数据.xls", "数据.xlsm", "数据.ods", "DATA.XLSX")
    files = []
    for i in range(14):
        size = rnd.choice((1, 7, 100, 1000, 5000, 65536))
        files.append((f"random {i}", names[i % 5], rnd.randbytes(size), UNREADABLE))
    for i in range(8):        # looks like a zip, a (non-encrypted) .xls, a text file
        files.append((f"PK+random {i}", names[i % 5], b"PK\x03\x04" + rnd.randbytes(rnd.randint(10, 5000)), UNREADABLE))
        files.append((f"OLE+random {i}", "数据.xls", reader.OLE_MAGIC + rnd.randbytes(rnd.randint(10, 9000)),
                      UNREADABLE))
        files.append((f"text {i}", names[i % 5], "".join(rnd.choice("姓名身份证号码,;\t\n0123456789abcXYZ ")
                                                        for _ in range(rnd.randint(5, 3000))).encode(), UNREADABLE))
    book = plain_book(ep, [ep.row])
    for i in range(10):       # a valid workbook whose XML parts were damaged, re-zipped with correct CRCs
        target = rnd.choice(["xl/worksheets/sheet1.xml", "xl/workbook.xml", "xl/styles.xml", "[Content_Types].xml",
                             "xl/_rels/workbook.xml.rels"])
        files.append((f"damaged part {target} {i}", "数据.xlsx",
                      rezip(book, lambda name, data, t=target: mutate(rnd, data) if name == t else data), EITHER))
    sheet = xls([ep.headers, ep.row], sheet=ep.sheet)
    for i in range(10):       # damaged .xls: calamine panics or allocates wildly on some of these
        files.append((f"damaged xls {i}", "数据.xls", mutate(rnd, sheet), EITHER))
    return files


def cat_truncated(ep: Endpoint):
    files = []
    book = plain_book(ep, [ep.row] * 3)
    cuts = sorted({1, 2, 4, 30, 100, 500, len(book) - 1, len(book) - 22, len(book) - 100}
                  | {len(book) * k // 28 for k in range(1, 28)})
    files += [(f"xlsx cut at {n}/{len(book)}", "数据.xlsx", book[:n], UNREADABLE) for n in cuts]
    sheet = xls([ep.headers, ep.row], sheet=ep.sheet)
    files += [(f"xls cut at {n}/{len(sheet)}", "数据.xls", sheet[:n], EITHER)
              for n in sorted({8, 100, 511, 512, 513, 1024, 1536, 2000, 3000, len(sheet) - 2048, len(sheet) - 1})]
    spread = ods_book(ep, [ep.row])
    files += [(f"ods cut at {n}/{len(spread)}", "数据.ods", spread[:n], UNREADABLE)
              for n in (10, 60, 200, len(spread) // 2, len(spread) - 30, len(spread) - 1)]
    # one member cut short inside a zip whose directory is intact: only that member's data is missing
    src = zipfile.ZipFile(io.BytesIO(book))
    for info in src.infolist()[:10]:
        comp, crc, size = deflate(src.read(info))
        members = [(i.filename, *deflate(src.read(i)), None) if i is not info
                   else (info.filename, comp[:len(comp) // 2], crc, size, None) for i in src.infolist()]
        files.append((f"member {info.filename} cut in half", "数据.xlsx", raw_zip(members), UNREADABLE))
    return files


def cat_renamed(ep: Endpoint):
    book = plain_book(ep, [ep.row])
    csv = ",".join(ep.headers) + "\n" + ",".join(map(str, ep.row)) + "\n"
    html = ("<html><head><meta charset='gbk'></head><body><table><tr>" + "".join(f"<td>{h}</td>" for h in ep.headers)
            + "</tr></table></body></html>")
    docx = make_zip({"[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                                            'package/2006/content-types"/>',
                     "word/document.xml": '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                     'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>姓名</w:t></w:r></w:p></w:body></w:document>'})
    text_zip = make_zip({"名单.txt": csv})
    xml_2003 = ('<?xml version="1.0"?><?mso-application progid="Excel.Sheet"?><Workbook xmlns="urn:schemas-microsoft-'
                'com:office:spreadsheet"><Worksheet><Table><Row><Cell><Data>姓名</Data></Cell></Row></Table>'
                "</Worksheet></Workbook>")
    not_excel = ("不是有效的 Excel",)
    return [
        ("PNG named .xlsx", "照片.xlsx", b"\x89PNG\r\n\x1a\n" + zlib.compress(b"\0" * 4000), not_excel),
        ("JPEG named .xls", "照片.xls", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8, not_excel),
        ("GIF named .xlsx", "动图.xlsx", b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + b"\0" * 40, not_excel),
        ("PDF named .xlsx", "名单.xlsx", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
         not_excel),
        ("CSV named .xlsx", "名单.xlsx", csv.encode(), not_excel),
        ("GBK CSV named .xls", "名单.xls", csv.encode("gbk"), not_excel),
        ("CSV with BOM named .xlsx", "名单.xlsx", b"\xef\xbb\xbf" + csv.encode(), not_excel),
        ("zip of a text file named .xlsx", "名单.xlsx", text_zip, not_excel),
        ("docx named .xlsx", "名单.xlsx", docx, not_excel),
        ("gzip named .xlsx", "名单.xlsx", b"\x1f\x8b\x08\x00" + zlib.compress(csv.encode()), not_excel),
        ("7z named .xls", "名单.xls", b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(100), not_excel),
        ("HTML table saved as .xls", "导出.xls", html.encode("gbk"), ("网页（HTML）",)),
        ("UTF-16 HTML saved as .xls", "导出.xls", "\ufeff".encode("utf-16-le") + html.encode("utf-16-le"),
         ("网页（HTML）",)),
        ("XML Spreadsheet 2003 as .xls", "导出.xls", xml_2003.encode(), ("Excel 2003 XML",)),
        ("an RSS feed named .xls", "导出.xls", b'<?xml version="1.0"?><rss><channel/></rss>', ("XML 文本",)),
        ("xlsx named .txt", "名单.txt", book, ("只能上传 Excel",)),
        ("xlsx named .csv", "名单.csv", book, ("只能上传 Excel",)),
        ("xlsx without an extension", "名单", book, ("只能上传 Excel",)),
        ("xlsx named .xlsx.exe", "名单.xlsx.exe", book, ("只能上传 Excel",)),
        ("empty .xlsx", "名单.xlsx", b"", ("空的",)),
    ]


def billion_laughs(root: str) -> str:
    ents = '<!ENTITY lol "lol">' + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
                                           for i in range(1, 10))
    return f"<!DOCTYPE {root} [{ents}]>"


def joined(*pieces) -> tuple[bytes, int, int]:
    """Deflate ``chunk * times`` pieces one after the other without ever holding the whole: (stream, crc, size)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    out, crc, size = [], 0, 0
    for chunk, times in pieces:
        for _ in range(times):
            out.append(comp.compress(chunk))
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
    out.append(comp.flush())
    return b"".join(out), crc, size


@cache
def zip_bombs():
    """The same for every endpoint (they never get as far as the headers), so built once: about 2 s."""
    ep = ENDPOINTS["members"]
    head_row = '<row r="1">' + "".join(xml_cell(f"{col(i)}1", h) for i, h in enumerate(ep.headers)) + "</row>"
    start = ('<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/'
             f'spreadsheetml/2006/main"><sheetData>{head_row}').encode()
    end, mb = b"</sheetData></worksheet>", b" " * (1 << 20)
    src = zipfile.ZipFile(io.BytesIO(plain_book(ep, [ep.row])))
    parts = [(i.filename, src.read(i)) for i in src.infolist()]

    def bomb(sheet, *, lie=None, copies=1):
        """The workbook with its sheet replaced by ``sheet`` (a deflated stream); ``lie``: the size claimed."""
        members = []
        for name, data in parts:
            if name == "xl/worksheets/sheet1.xml":
                comp, crc, size = sheet
                members.append((name, comp, crc, lie or size, None))
                members += [(f"xl/worksheets/copy{k}.xml", comp, crc, size, name) for k in range(copies - 1)]
            else:
                members.append((name, *deflate(data), None))
        return raw_zip(members)

    huge = joined((start, 1), (mb, 300), (end, 1))
    return [
        ("zip bomb: 300 MB sheet", "炸弹.xlsx", bomb(huge), ("过大",)),
        ("zip bomb: 300 MB sheet claiming 1 KB", "炸弹.xlsx", bomb(huge, lie=1024), ("已损坏",)),
        ("zip bomb: 60 entries sharing one 10 MB stream", "炸弹.xlsx",
         bomb(joined((start, 1), (mb, 10), (end, 1)), copies=60), ("过大",)),
        ("zip bomb: 120 MB of whitespace, under the cap", "炸弹.xlsx",
         bomb(joined((start, 1), (mb, 120), (end, 1))), ("没有数据行", "没有找到表头", "请在对应的页面导入")),
        ("zip with 6000 members", "多.xlsx", raw_zip([(n, *deflate(d), None) for n, d in parts]
                                                     + [(f"x/{k}.xml", *deflate(b"<a/>"), None) for k in range(6000)]),
         ("过大",)),
    ]


@cache
def million_styled_rows() -> bytes:
    return "".join(f'<row r="{n}" s="1" customFormat="1"><c r="A{n}" s="1"/><c r="M{n}" s="1"/></row>'
                   for n in range(2, 1_000_001)).encode()


def cat_bombs(ep: Endpoint):
    book = plain_book(ep, [ep.row])
    styled = rezip(book, lambda name, data: data.replace(b"</sheetData>", million_styled_rows() + b"</sheetData>")
                   if name == "xl/worksheets/sheet1.xml" else data)
    lol_shared = ('<?xml version="1.0" encoding="UTF-8"?>\n' + billion_laughs("sst")
                  + '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
                  "<si><t>&lol9;</t></si></sst>")
    shared_ref = sheet_xml([ep.headers], raw_rows='<row r="2"><c r="A2" t="s"><v>0</v></c></row>')
    amplify = ('<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
               f'2006/main" count="1" uniqueCount="1"><si><t>{"A" * 30000}</t></si></sst>')
    amplify_rows = "".join(f'<row r="{n}">' + "".join(f'<c r="{col(i)}{n}" t="s"><v>0</v></c>'
                                                       for i in range(len(ep.headers))) + "</row>"
                           for n in range(2, 1002))
    corner = sheet_xml([ep.headers], raw_rows=f'<row r="1048576">{xml_cell("XFD1048576", "x")}</row>')
    nested = sheet_xml([ep.headers], raw_rows='<row r="2">' + "<x>" * 100000 + "</x>" * 100000 + "</row>")
    return zip_bombs() + [
        ("billion laughs in sharedStrings", "实体.xlsx", xlsx([(ep.sheet, shared_ref, "")], shared=lol_shared),
         ("XML 声明",)),
        ("billion laughs in the sheet", "实体.xlsx", lol_book(ep), ("XML 声明",)),
        ("external entity (XXE)", "实体.xlsx", xxe_book(ep), ("XML 声明",)),
        ("DTD in [Content_Types].xml", "实体.xlsx",
         xlsx([(ep.sheet, sheet_xml([ep.headers, ep.row]), "")], content_types_head=billion_laughs("Types")),
         ("XML 声明",)),
        ("cells at A1 and XFD1048576 (a 17-billion-cell rectangle)", "角落.xlsx",
         xlsx([(ep.sheet, corner, "")]), ("内容异常",)),
        (".xls with a cell at column 65535", "角落.xls",
         xls([ep.headers], sheet=ep.sheet, cells=biff_cell(65535, 65535, 1)), ("内容异常",)),
        (".ods with a cell repeated 16384 x 1,048,000 times", "重复.ods",
         ods(ods_row("".join(ods_cell(h) for h in ep.headers)) + ods_row(ods_cell("x", 16384), 1048000),
             sheet=ep.sheet),
         UNREADABLE),
        (HANGS, "未闭合.ods",
         ods_book(ep, [ep.row], close=False), ("超时",)),
        ("1,000,000 empty formatted rows after one real row", "百万行.xlsx", styled, PREVIEW),
        ("a 40,000-character cell", "长.xlsx",
         xlsx([(ep.sheet, sheet_xml([ep.headers, with_text(ep, "长" * 40000)]), "")]), ("超过 32767 个字符",)),
        ("a 5 MB cell", "长.xlsx", xlsx([(ep.sheet, sheet_xml([ep.headers, with_text(ep, "x" * 5_000_000)]), "")]),
         ("超过 32767 个字符",)),
        ("one 30,000-character shared string in 13,000 cells", "放大.xlsx",
         xlsx([(ep.sheet, sheet_xml([ep.headers], raw_rows=amplify_rows), "")], shared=amplify), ("文字内容过多",)),
        ("100,000 nested elements", "嵌套.xlsx", xlsx([(ep.sheet, nested, "")]), UNREADABLE),
    ]


def lol_book(ep: Endpoint) -> bytes:
    xml = sheet_xml([ep.headers, with_text(ep, "&lol9;")]).replace("&amp;lol9;", "&lol9;")
    return xlsx([(ep.sheet, xml.replace("<worksheet", billion_laughs("worksheet") + "<worksheet", 1), "")])


def xxe_book(ep: Endpoint) -> bytes:
    xml = sheet_xml([ep.headers, with_text(ep, "&xxe;")]).replace("&amp;xxe;", "&xxe;")
    xml = xml.replace("<worksheet", '<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><worksheet', 1)
    return xlsx([(ep.sheet, xml, "")])


def cat_content(ep: Endpoint):
    files = []
    for f in FORMULAS:
        files.append((f"formula text {f}", "公式.xlsx", plain_book(ep, [with_text(ep, f), ep.row]), PREVIEW))
    real = sheet_xml([ep.headers],
                     raw_rows='<row r="2"><c r="A2" t="str"><f>HYPERLINK("http://evil.example/","点我")</f>'
                     '<v>=cmd|\' /C calc\'!A0</v></c><c r="B2"><f>1+1</f></c></row>')
    files.append(("real formula cells (cached value looks like a formula)", "公式.xlsx", xlsx([(ep.sheet, real, "")]),
                  PREVIEW))
    files.append(("formula cells without cached values", "公式.xlsx",
                  openpyxl_book(lambda wb: (setattr(wb.active, "title", ep.sheet), wb.active.append(list(ep.headers)),
                                            wb.active.append(["=1+1", "=A1"] + list(ep.row[2:])))), EITHER))
    controls = "".join(chr(c) for c in range(32) if chr(c) not in "\t\n\r")
    for label, value in [("C0 controls", f"张{controls}三"), ("NUL", "张\x00三"), ("RLO U+202E", "张\u202e三gpj.exe"),
                         ("zero-width and BOM", "\ufeff张\u200b三"), ("DEL and C1", "张\x7f\x85\x9f三"),
                         ("bidi isolates", "\u2066张\u2069三")]:
        files.append((f"control characters: {label}", "控制字符.xlsx",
                      xlsx([(ep.sheet, sheet_xml([ep.headers, with_text(ep, value)]), "")]), PREVIEW))
    files.append(("control characters in the ID column", "控制字符.xlsx",
                  xlsx([(ep.sheet, sheet_xml([ep.headers, [v if i != 1 else f"\x00{v}\u202e" for i, v in
                                                           enumerate(ep.row)]]), "")]), PREVIEW))
    files.append(("control characters in a header cell", "控制字符.xlsx",
                  xlsx([(ep.sheet, sheet_xml([[f"\x01{h}\u202e" for h in ep.headers], ep.row]), "")]), PREVIEW))
    files.append(("control characters in the sheet name", "控制字符.xlsx",
                  xlsx([(f"\u202e{ep.sheet}", sheet_xml([ep.headers, ep.row]), "")]), PREVIEW))
    files.append(("HTML in a cell", "脚本.xlsx", plain_book(ep, [with_text(ep, "<script>alert(1)</script>")]), PREVIEW))
    files.append(("English headers", "表头.xlsx", plain_book(ep, [ep.row], headers=[f"col{i}" for i in ep.headers]),
                  ("没有找到表头",)))
    files.append(("another import's headers", "表头.xlsx",
                  plain_book(ep, [ENDPOINTS["orgs" if ep.key != "orgs" else "cadres"].row],
                             headers=ENDPOINTS["orgs" if ep.key != "orgs" else "cadres"].headers),
                  ("没有找到表头", "请在对应的页面导入")))       # the other kind of file is named (issue 15)
    files.append(("headers typed with mistakes", "表头.xlsx",
                  plain_book(ep, [ep.row], headers=[h[::-1] for h in ep.headers]), ("没有找到表头",)))
    files.append(("no header row, only data", "表头.xlsx",
                  xlsx([(ep.sheet, sheet_xml([ep.row, ep.row]), "")]), ("没有找到表头",)))
    files.append(("header below row 50", "表头.xlsx",
                  xlsx([(ep.sheet, sheet_xml([ep.headers, ep.row], first_row=52), "")]), ("在前 50 行中没有找到表头",)))
    files.append(("duplicate header columns", "重复列.xlsx",
                  plain_book(ep, [tuple(ep.row) + (ep.row[0],)], headers=tuple(ep.headers) + (ep.headers[0],)),
                  ("出现了不止一次",)))
    files.append(("duplicate header with decoration (*姓名（必填）)", "重复列.xlsx",
                  plain_book(ep, [tuple(ep.row) + (ep.row[0],)],
                             headers=tuple(ep.headers) + (f"*{ep.headers[0]}（必填）",)),
                  ("出现了不止一次",)))
    files.append(("workbook without sheets", "空.xlsx", xlsx([]), ("没有工作表",)))
    files.append(("empty sheet", "空.xlsx", xlsx([(ep.sheet, sheet_xml([]), "")]), ("没有找到表头",)))
    files.append(("empty sheets x3", "空.xlsx", openpyxl_book(lambda wb: (wb.create_sheet("二"),
                                                                          wb.create_sheet("三"))),
                  ("没有找到表头",)))
    files.append(("header only", "空.xlsx", plain_book(ep, []), ("没有数据行",)))
    files.append(("header and blank rows", "空.xlsx",
                  plain_book(ep, [[""] * len(ep.headers)] * 5 + [[None, " ", "\u3000"]]), ("没有数据行",)))
    files.append(("empty .ods", "空.ods", ods("", sheet=ep.sheet), ("没有找到表头",)))
    files.append(("empty .xls", "空.xls", xls([], sheet=ep.sheet), ("没有找到表头",)))
    files.append(("data only in a hidden sheet", "隐藏.xlsx",
                  xlsx([("说明", sheet_xml([["请看另一张表"]]), ""),
                        (ep.sheet, sheet_xml([ep.headers, ep.row]), "hidden")]),
                  ("隐藏",)))
    files.append(("data only in a very hidden sheet", "隐藏.xlsx",
                  xlsx([("空", sheet_xml([]), ""), (ep.sheet, sheet_xml([ep.headers, ep.row]), "veryHidden")]),
                  ("隐藏",)))
    files.append(("only hidden sheets (openpyxl)", "隐藏.xlsx", openpyxl_book(lambda wb: _hidden_only(wb, ep)),
                  ("隐藏",)))
    files.append(("data only in a hidden .xls sheet", "隐藏.xls", xls([ep.headers, ep.row], sheet=ep.sheet, hidden=1),
                  ("隐藏", "没有工作表", "没有找到表头")))
    files.append(("merged header cells", "合并.xlsx", openpyxl_book(lambda wb: _merged(wb, ep, across=True)), EITHER))
    files.append(("header merged with the row below", "合并.xlsx",
                  openpyxl_book(lambda wb: _merged(wb, ep, across=False)), EITHER))
    files.append(("title row merged across the header", "合并.xlsx", openpyxl_book(lambda wb: _merged_title(wb, ep)),
                  PREVIEW))
    encrypted = ole({"EncryptionInfo": b"\x04\x00\x04\x00\x40\x00\x00\x00" + b"\0" * 200,
                     "EncryptedPackage": random.Random(SEED).randbytes(6000)})
    files.append(("password-protected .xlsx (OLE box)", "加密.xlsx", encrypted, ("打开密码",)))
    files.append(("password-protected .xlsx renamed .xls", "加密.xls", encrypted, ("打开密码",)))
    files.append(("zip member with the encryption flag", "加密.xlsx",
                  _flag_encrypted(plain_book(ep, [ep.row])), ("打开密码", "已损坏")))
    book = plain_book(ep, [with_text(ep, FORMULAS[0])])
    for label, name in [("NUL", "名单\x00.xlsx"), ("RLO", "名单\u202exslx.xlsx"), ("tab and CR", "名\t单\r.xlsx"),
                        ("a Windows path", "C:\\Users\\张\\名单.xlsx"), ("a relative path", "../../etc/名单.xlsx"),
                        ("300 characters", "名" * 300 + ".xlsx"), ("300 ASCII characters", "x" * 300 + ".xlsx"),
                        ("quotes and semicolons", '名"单;x=1.xlsx'), ("a newline", "名单\r\nX-Injected: 1.xlsx")]:
        files.append((f"file name with {label}", name, book, PREVIEW))
    files.append(("file name of only control characters", "\x00\x01", book, ("只能上传 Excel",)))
    typed = [True, 3.5, datetime(2020, 1, 2, 3, 4), date(1999, 9, 9), dtime(10, 30), timedelta(days=400, hours=3),
             -1e308, 12345678901234567890, False, 0.1, -0.0, 1e-300, 7]
    files.append(("typed cells in every column", "类型.xlsx",
                  openpyxl_book(lambda wb: (setattr(wb.active, "title", ep.sheet), wb.active.append(list(ep.headers)),
                                            wb.active.append(typed[:len(ep.headers)]),
                                            wb.active.append(list(reversed(typed))[:len(ep.headers)]))), PREVIEW))
    odd = ('<row r="2"><c r="A2"><v>NaN</v></c><c r="B2"><v>inf</v></c><c r="C2" t="e"><v>#DIV/0!</v></c>'
           '<c r="D2"><v>-inf</v></c><c r="E2" t="n"><v>1e400</v></c><c r="F2" t="d"><v>2020-13-45T99:99:99</v></c>'
           '<c r="G2" t="b"><v>7</v></c></row><row r="3"><c r="A3" t="e"><v>#REF!</v></c><c r="B3" t="s"><v>99</v></c>'
           '<c r="C3"><v>not a number</v></c></row>')
    files.append(("NaN, infinity, error and broken typed cells", "类型.xlsx",
                  xlsx([(ep.sheet, sheet_xml([ep.headers], raw_rows=odd), "")]), EITHER))
    return files


def _hidden_only(wb, ep):
    ws = wb.active
    ws.title = ep.sheet
    ws.append(list(ep.headers))
    ws.append(list(ep.row))
    ws.sheet_state = "hidden"
    wb.create_sheet("空白")
    wb.active = 1


def _merged(wb, ep, *, across):
    ws = wb.active
    ws.title = ep.sheet
    ws.append(list(ep.headers))
    ws.append(list(ep.row))
    ws.append(list(ep.row))
    if across:
        ws.merge_cells("A1:C1")          # the first header now spans three columns; the others vanish
    else:
        ws.merge_cells("A1:A2")          # and the first data row loses its first cell


def _merged_title(wb, ep):
    ws = wb.active
    ws.title = ep.sheet
    ws.append(["导入表"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(ep.headers))
    ws.append(list(ep.headers))
    ws.append(list(ep.row))


def _flag_encrypted(data: bytes) -> bytes:
    """Set the 'encrypted' bit of every member (local header and central directory)."""
    b = bytearray(data)
    for sig, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = b.find(sig)
        while i != -1:
            b[i + at] |= 1
            i = b.find(sig, i + 4)
    return bytes(b)


CATEGORIES = {"random": cat_random, "truncated": cat_truncated, "renamed": cat_renamed, "bombs": cat_bombs,
              "content": cat_content}


@cache
def corpus(ep_key: str, category: str):
    ep = ENDPOINTS[ep_key]
    return CATEGORIES[category](ep)


# ---------------------------------------------------------------- checking

def table_counts() -> dict[str, int]:
    db.session.rollback()
    sql = " UNION ALL ".join(f"SELECT '{t.name}', COUNT(*) FROM \"{t.name}\"" for t in Base.metadata.sorted_tables)
    counts = dict(db.session.execute(text(sql)).all())
    db.session.rollback()
    return counts


def alert(body: str) -> str:
    m = ALERT.search(body)
    return m.group(1).strip() if m else ""


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the isolated workbook reader): unlike wall time it does
    not grow when other work loads the machine, so the bound below catches a file that makes us spin, not a busy CI."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def check_one(client, ep: Endpoint, tree, label: str, name: str, data: bytes, expect, before: dict):
    """Post one file; ``before``: the table counts before. Returns the problems found (empty when all is well) and
    the table counts now."""
    started = _cpu_seconds()
    if re.search(r'["\\\x00-\x1f]', name):        # what the test client cannot encode: as a browser would send it
        boundary = "----malformed-upload-test"
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="upload.xlsx"; '
                f"filename*=UTF-8''{quote(name, safe='')}\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
        resp = client.post(ep.url(tree), data=body + data + f"\r\n--{boundary}--\r\n".encode(),
                           content_type=f"multipart/form-data; boundary={boundary}")
    else:
        resp = client.post(ep.url(tree), data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")
        resp.request.environ["wsgi.input"].close()   # the test client spools bodies over 500 KB to a temporary file
    took = _cpu_seconds() - started
    body = resp.get_data(as_text=True)
    problems = []
    where = f"[{ep.key}] {label}"
    if took > 20:                  # CPU seconds (this process and the reader process): a file must not make us spin
        problems.append(f"{where}: took {took:.1f} s of CPU")
    if resp.status_code >= 500 or "Traceback" in body or "服务器内部错误" in body:
        return [f"{where}: status {resp.status_code}: {alert(body) or body[-300:]}"], table_counts()
    if resp.status_code == 302:
        if expect not in (PREVIEW, EITHER):
            problems.append(f"{where}: accepted (302), expected a 4xx with one of {expect}")
        problems += check_preview(client, resp.headers["Location"], where, before)
        return problems, table_counts()
    message = alert(body)
    if not 400 <= resp.status_code < 500:
        problems.append(f"{where}: status {resp.status_code}")
    if not CHINESE.search(message):
        problems.append(f"{where}: no Chinese message shown ({message!r})")
    if expect == PREVIEW:
        problems.append(f"{where}: expected a preview, got {resp.status_code} {message}")
    elif expect != EITHER and not any(fragment in message for fragment in expect):
        problems.append(f"{where}: message {message!r} does not say any of {expect}")
    elif expect == EITHER and not any(fragment in message for fragment in UNREADABLE
                                      + ("出现了不止一次", "隐藏", "字符")):
        problems.append(f"{where}: unexpected message {message!r}")
    after = table_counts()
    if after != before:
        problems.append(f"{where}: database changed: {diff(before, after)}")
    return problems, after


def strings(value):
    """Every string inside a JSON-like value (keys included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from strings(v)


def diff(before, after):
    return {t: (before.get(t), after.get(t)) for t in set(before) | set(after) if before.get(t) != after.get(t)}


def check_preview(client, location: str, where: str, before) -> list[str]:
    problems = []
    after = table_counts()
    changed = diff(before, after)
    if changed != {"import_batches": (before["import_batches"], before["import_batches"] + 1)}:
        problems.append(f"{where}: a preview must add one pending batch and nothing else: {changed}")
    from tuanjian.models import ImportBatch
    batch = db.session.get(ImportBatch, int(location.rstrip("/").rsplit("/", 1)[1]))
    stored = list(strings([batch.file_name, batch.report]))
    db.session.rollback()
    if any(INVISIBLE.search(text) for text in stored):
        problems.append(f"{where}: control/invisible characters stored in the import batch")
    page = client.get(location)
    html = page.get_data(as_text=True)
    if page.status_code != 200 or "Traceback" in html or not CHINESE.search(html):
        problems.append(f"{where}: preview page status {page.status_code}")
    if INVISIBLE.search(html):
        problems.append(f"{where}: control/invisible characters reached the preview page")
    if "<script>alert(1)" in html:
        problems.append(f"{where}: cell text reached the page as HTML")
    errors = client.get(location.rstrip("/") + "/errors.xlsx")
    disposition = errors.headers.get("Content-Disposition", "")
    if INVISIBLE.search(disposition) or "/" in disposition.split("filename", 1)[-1].replace("%2F", "/"):
        problems.append(f"{where}: error workbook download name {disposition!r}")
    if errors.status_code != 200:
        problems.append(f"{where}: error workbook status {errors.status_code}")
        return problems
    with zipfile.ZipFile(io.BytesIO(errors.data)) as z:
        sheets = [z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/")]
    if any(b"<f>" in s or b"<f " in s for s in sheets):
        problems.append(f"{where}: the error workbook contains a formula")
    wb = load_workbook(io.BytesIO(errors.data))
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                value = cell.value
                if isinstance(value, str) and value.startswith(("=", "+", "-", "@")):
                    if cell.data_type != "s" or not cell.quotePrefix:
                        problems.append(f"{where}: error workbook cell {cell.coordinate} {value!r} is not quoted text")
                if isinstance(value, str) and INVISIBLE.search(value):
                    problems.append(f"{where}: error workbook cell {cell.coordinate} keeps control characters")
    return problems


@pytest.fixture
def uploader(client, login, tree):
    """Logs in the endpoint's admin; returns post(label, name, data, expect) -> problems."""
    def _for(ep: Endpoint):
        login(getattr(tree, ep.admin))
        counts = table_counts()

        def post(label, name, data, expect):
            nonlocal counts
            problems, counts = check_one(client, ep, tree, label, name, data, expect, counts)
            return problems
        return post
    return _for


# ---------------------------------------------------------------- tests

def test_every_upload_endpoint_is_covered(app):
    """A new upload route (an ImportFlow, or any view reading request.files) must be added to ENDPOINTS."""
    import inspect
    from pathlib import Path

    import tuanjian
    from tuanjian.web.importflow import ImportFlow
    uploads = {rule.rule for rule in app.url_map.iter_rules()
               if getattr(inspect.unwrap(app.view_functions[rule.endpoint]), "__func__", None) is ImportFlow.upload}
    # the 上报文件 upload is an ImportFlow too (a zip, not a workbook: its own corpus, see below)
    assert uploads == {ep.prefix.format("<int:org_id>") for ep in ENDPOINTS.values()} | {
        "/exchange/org/<int:org_id>/upload"}
    root = Path(tuanjian.__file__).parent
    readers = {p.relative_to(root).as_posix() for p in root.rglob("*.py") if "request.files" in p.read_text("utf-8")}
    # the 上报文件 upload (a zip, not a workbook) has its own malformed corpus: tests/exchange/test_package_uploads.py;
    # the 特殊情况录入 scan (a PDF or image, not a workbook) has its own: tests/web/test_exceptions.py;
    # web/stash.py reads only the *names* of the files of a POST refused for an expired session, to say which file
    # to choose again (issue 16.1); it never opens their contents
    # the 对账 upload (智慧团建's member lists, read by the member import's reader) runs this corpus in
    # tests/web/test_reconcile.py::test_malformed_files_get_a_chinese_4xx_and_write_nothing
    assert readers == {"web/importflow.py", "web/stash.py", "members/exception_views.py",
                       "reconcile/views.py"}
    stash = (root / "web" / "stash.py").read_text("utf-8")
    assert "f.filename for f in request.files.values()" in stash and ".read(" not in stash.split("def load")[0]


def test_corpus_has_at_least_200_files_per_endpoint():
    for key in ENDPOINTS:
        sizes = {cat: len(corpus(key, cat)) for cat in CATEGORIES}
        total = sum(sizes.values()) + 2                      # + the two oversized uploads below
        assert total >= 200, (key, sizes)
        labels = [label for cat in CATEGORIES for label, *_ in corpus(key, cat)]
        assert len(labels) == len(set(labels)), "labels name the files in failure reports: keep them unique"


@pytest.mark.parametrize("category", list(CATEGORIES))
@pytest.mark.parametrize("ep_key", list(ENDPOINTS))
def test_bad_files_get_a_chinese_4xx_and_change_nothing(uploader, monkeypatch, ep_key, category):
    post = uploader(ENDPOINTS[ep_key])
    problems, timeout = [], reader.PARSE_TIMEOUT
    for label, name, data, expect in corpus(ep_key, category):
        # the production timeout for every file but the one that hangs: 1 s is enough to show it is cut off
        monkeypatch.setattr(reader, "PARSE_TIMEOUT", 1 if label == HANGS else timeout)
        problems += post(label, name, data, expect)
    assert not problems, "\n".join(problems)


class Zeros(io.RawIOBase):
    """A file of ``size`` zero bytes that never sits in memory."""

    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buf):
        n = min(len(buf), self.left)
        buf[:n] = bytes(n)
        self.left -= n
        return n


@pytest.mark.parametrize("ep_key", list(ENDPOINTS))
def test_oversized_uploads_get_the_chinese_413_page(app, client, login, tree, ep_key):
    ep = ENDPOINTS[ep_key]
    login(getattr(tree, ep.admin))
    limit = app.config["MAX_CONTENT_LENGTH"]
    for size in (100 * 1024 * 1024, limit + 1):
        before = table_counts()
        resp = client.post(ep.url(tree), data={"file": (io.BufferedReader(Zeros(size)), "大文件.xlsx")},
                           content_type="multipart/form-data")
        resp.request.environ["wsgi.input"].close()          # the test client's spooled body, never read
        body = resp.get_data(as_text=True)
        assert resp.status_code == 413, (size, resp.status_code)
        assert "上传的文件太大" in body and f"超过 {limit // (1024 * 1024)} MB 上限" in body and "Traceback" not in body
        assert table_counts() == before


def test_100mb_upload_to_gunicorn_gets_the_413_page_not_a_reset(tmp_path):
    """The production server: the Chinese 413 page comes back although the client is still sending."""
    env = {**os.environ, "TUANJIAN_INSTANCE_PATH": str(tmp_path), "TUANJIAN_SECRET_KEY": "malformed-upload-test",
           "TUANJIAN_DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([gunicorn, "-c", "python:tuanjian.gunicorn_conf", "--workers", "1", "--bind",
                                 f"127.0.0.1:{port}", "tuanjian:create_app()"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(0.1)
        import http.client
        size, boundary = 100 * 1024 * 1024, "malformed"
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.xlsx"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n").encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.putrequest("POST", "/members/org/1/import")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(head) + size + len(tail)))
        conn.endheaders()
        chunk = bytes(1 << 20)
        try:
            conn.send(head)
            for _ in range(size // len(chunk)):
                conn.send(chunk)
            conn.send(tail)
        except (BrokenPipeError, ConnectionResetError):
            pass                                  # the server answered early and stopped reading: fine
        resp = conn.getresponse()
        body = resp.read().decode()
        assert resp.status == 413 and "超过 20 MB 上限" in body
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_reading_process_itself_does_not_expand_entities_or_read_local_files():
    """Stage 1 refuses any DTD; behind it, calamine must not expand entities either (checked without stage 1).
    Where openpyxl parses XML (the error workbooks read back in tests), defusedxml, a dependency, guards it."""
    import defusedxml
    from openpyxl.xml import DEFUSEDXML
    assert defusedxml and DEFUSEDXML
    ep = ENDPOINTS["members"]
    wanted = {reader.header_key(h): k for h, k in zip(ep.headers, ("name", "id_number", *[f"c{i}" for i in range(11)]),
                                                       strict=True)}
    for data in (lol_book(ep), xxe_book(ep)):
        started = time.monotonic()
        result = reader._run_child({"data": data, "wanted": wanted, "required": ("name",), "prefer_sheet": None,
                                    "max_rows": 10, "need": "姓名"})
        assert time.monotonic() - started < 10
        assert "lollol" not in repr(result) and "root:" not in repr(result)


def test_control_characters_are_removed_and_formula_text_stays_text(client, login, tree, session):
    """What the preview stores: the cleaned text, formula-looking text as plain text."""
    from tuanjian.domain.imports import ImportReport
    from tuanjian.models import ImportBatch
    ep = ENDPOINTS["members"]
    login(tree.branch_admin)
    rows = [ep.headers, with_text(ep, "张\x00\x07三\u202e"), with_text(ep, FORMULAS[0])]
    resp = client.post(ep.url(tree), data={"file": (io.BytesIO(xlsx([(ep.sheet, sheet_xml(rows), "")])), "a.xlsx")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302
    batch = session.get(ImportBatch, int(resp.headers["Location"].rsplit("/", 1)[1]))
    names = [r.cells["name"] for r in ImportReport.from_json(batch.report).rows]
    assert names == ["张三", FORMULAS[0]]


def test_reader_answer_round_trips_every_cell_type():
    """The reading process answers with marshal; dates and times are taken out of the rows as they are read
    (_rows), travel beside them and are put back (_unpack). Blank rows are dropped, NaN becomes text."""
    import datetime as dt

    from tuanjian.spreadsheets.reader import _find_header, _pack, _rows, _unpack
    rows = [(2, ["张三", "340827200001011234", 13900000000, 1.5, True, None, dt.datetime(2015, 6, 1, 8, 30)]),
            (4, [dt.date(2015, 6, 1), dt.time(1, 2, 3), dt.timedelta(days=1, seconds=5), "", 0, False, "=1+1"]),
            (5, ["a\u202eb", float("nan"), None, None, None, None, None])]
    sheet = [list("abcdefg") + ["多余"], rows[0][1] + [None], ["", " ", None, None, None, None, None, None],
             rows[1][1] + [None], rows[2][1] + [None]]
    wanted = {k: k for k in "abcdefg"}
    answer = _rows("团员", sheet, _find_header(sheet, wanted, ("a",)), wanted, 100)
    expected = ("ok", "团员", list("abcdefg"),
                [(2, rows[0][1]), (4, rows[1][1]), (5, ["ab", "nan", None, None, None, None, None])], ["多余"],
                {"ignored": 0, "hidden": [], "filtered": False, "header_rows": (1, 1)})
    assert _unpack(_pack(answer)) == expected
    assert _unpack(_pack(("error", "无法读取"))) == ("error", "无法读取")


def test_streamed_rows_are_the_rows_read_in_one_piece(monkeypatch):
    """The reading process sends a sheet's rows in chunks (STREAM_CHUNK) that the web process turns into rows as
    they arrive: the same rows, cells and dates as one chunk gives, on every sheet; on_chunk sees each chunk once;
    an error found after some chunks were sent (too many rows) is still the answer."""
    import datetime as dt
    wb = Workbook()
    first = wb.active
    first.title = "一班"
    for ws in (first, wb.create_sheet("二班")):
        ws.append(["姓名", "身份证号码", "入团年月", "手机号码"])
        for i in range(23):
            ws.append([f"张{ws.title}{i}", f"3408272000010{i:05d}", dt.datetime(2015, 1 + i % 12, 1) if i % 5 else
                       f"2015-0{1 + i % 9}", 13900000000 + i if i % 3 else None])
    out = io.BytesIO()
    wb.save(out)
    data = out.getvalue()
    columns = {"姓名": "name", "身份证号码": "id_number", "入团年月": "join_date", "手机号码": "phone"}

    def read(chunk, **kwargs):
        monkeypatch.setattr(reader, "STREAM_CHUNK", chunk)
        seen = []
        book = reader.read_workbook(data, "a.xlsx", columns, required=("name",), identity=("name", "id_number"),
                                    on_chunk=lambda name, rows: seen.append((name, len(rows))), **kwargs)
        return [(s.name, [(r.number, r.cells, r.sheet) for r in s.rows]) for s in book.sheets], seen

    whole, whole_chunks = read(100000)
    streamed, chunks = read(4)
    assert streamed == whole and [len(rows) for _, rows in whole] == [23, 23]
    assert whole_chunks == [("一班", 23), ("二班", 23)]
    assert chunks == [("一班", 4)] * 5 + [("一班", 3)] + [("二班", 4)] * 5 + [("二班", 3)]
    assert any(isinstance(cells["join_date"], dt.date) for _, rows in streamed for _, cells, _ in rows[20:])
    with pytest.raises(reader.ImportFileError, match="一次最多导入 30 行"):
        read(4, max_rows=30)
    with pytest.raises(reader.ImportFileError, match="一次最多导入 10 行"):
        read(4, max_rows=10)


def test_reader_frames_that_are_not_the_reading_process_s_are_refused():
    """The web process takes the reading process's output frame by frame (reader._Frames): anything but its frames
    (bytes that do not unpack, rows of a sheet never started, a frame after the answer) breaks the answer, which
    the upload then gets as the unreadable-file message."""
    import marshal

    def frame(tag, value):
        data = marshal.dumps(value)
        return tag + len(data).to_bytes(8, "little") + data
    good = frame(b"F", ("sheet", 0, "团员", ["name"])) + frame(b"F", ("rows", 0, [(2, ["张三"])], []))
    seen = []
    frames = reader._Frames(lambda *chunk: seen.append(chunk))
    for i in range(0, len(good), 7):                                     # arrives in pieces
        frames.feed(good[i:i + 7])
    frames.feed(frame(b"L", ("ok", "团员", ["name"], ("sent", 0), [], [], {})))
    assert not frames.broken and seen == [(0, "团员", ["name"], [(2, ["张三"])])]
    assert reader._assemble(reader._unpack(frames.answer), frames.sheets)[3] == [(2, ["张三"])]
    for bad in (b"F" + (5).to_bytes(8, "little") + b"\xff\xff\xff\xff\xff", frame(b"F", ("rows", 9, [], [])),
                frame(b"X", ("sheet", 0, "a", []))):
        broken = reader._Frames(None)
        broken.feed(bad)
        assert broken.broken
    after = reader._Frames(None)
    after.feed(frame(b"L", ("error", "无法读取")) + good)
    assert after.broken


def test_clean_text_shortcut_drops_every_invisible_character():
    """clean_text skips its regex for printable text: that is only safe while every character the regex drops is
    one Python counts as not printable (checked over all of Unicode, and on text mixing them with Chinese)."""
    from tuanjian.spreadsheets.reader import _INVISIBLE, clean_text
    dropped = [chr(c) for c in range(0x110000) if _INVISIBLE.match(chr(c))]
    assert len(dropped) > 60 and not [c for c in dropped if c.isprintable()]
    for c in dropped:
        assert clean_text(f"张{c}三") == "张三"
    assert clean_text("张三\t13900000000\u3000") == "张三\t13900000000\u3000"      # kept: not invisible
