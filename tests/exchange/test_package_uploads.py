"""Malformed 上报文件 uploads: random bytes, truncated and renamed files, workbooks, zip bombs (honest and lying
sizes, thousands of members), JSON bombs and broken manifests. Each ends in a Chinese 4xx message on the page and
leaves the database unchanged; nothing is read beyond its cap."""
from __future__ import annotations

import io
import json
import random
import re
import zipfile

from tuanjian.domain import exchange as fmt

from ..web.test_malformed_uploads import (
    ENDPOINTS,
    Zeros,
    _flag_encrypted,
    deflate,
    joined,
    plain_book,
    raw_zip,
    table_counts,
)
from .helpers import KEY

CHINESE = re.compile(r"[\u4e00-\u9fff]")
ALERT = re.compile(r'role="alert">(.*?)</p>', re.S)
SEED = 8


def manifest(code, **over) -> bytes:
    fields = {"format": fmt.FORMAT, "schema_version": 1, "source": {"code": code, "short_name": "华阳镇团委"},
              "created_at": "2026-11-20T08:00:00", "counts": {}, "data_sha256": "0" * 64}
    fields.update(over)
    return json.dumps(fields, ensure_ascii=False).encode()


def package(parts: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return out.getvalue()


def signed(code, data: bytes, **over) -> dict:
    import hashlib
    m = manifest(code, data_sha256=hashlib.sha256(data).hexdigest(), **over)
    return {fmt.MANIFEST: m, fmt.DATA: data, fmt.SIGNATURE: fmt.sign(KEY, m)}


def corpus(code):
    rnd = random.Random(SEED)
    good = package(signed(code, json.dumps({"root_code": code, "tables": {}}).encode()))
    files = [(f"random {i}", "上报文件.zip", rnd.randbytes(rnd.choice((1, 50, 4000, 65536))), ()) for i in range(12)]
    files += [(f"PK+random {i}", "上报文件.zip", b"PK\x03\x04" + rnd.randbytes(rnd.randint(10, 4000)), ())
              for i in range(8)]
    files += [(f"cut at {n}", "上报文件.zip", good[:n], ()) for n in sorted({1, 2, 10, 100, len(good) // 2,
                                                                             len(good) - 1})]
    files += [
        ("empty", "上报文件.zip", b"", ("空的",)),
        ("an Excel workbook", "名单.xlsx", plain_book(ENDPOINTS["members"], [ENDPOINTS["members"].row]), ("三个部分",)),
        ("zip of a text file", "上报文件.zip", package({"说明.txt": "你好"}), ("三个部分",)),
        ("an extra member", "上报文件.zip", package({**signed(code, b"{}"), "x.exe": b"MZ"}), ("三个部分",)),
        ("manifest is not JSON", "上报文件.zip", package({fmt.MANIFEST: b"\xff\xfe<html>", fmt.DATA: b"{}",
                                                      fmt.SIGNATURE: b"x"}), ("无法读取",)),
        ("manifest nested 100,000 deep", "上报文件.zip", package({fmt.MANIFEST: b"[" * 60000 + b"]" * 60000,
                                                               fmt.DATA: b"{}", fmt.SIGNATURE: b"x"}),
         ("无法读取", "过大", "不是团建")),
        ("manifest of another program", "上报文件.zip", package({fmt.MANIFEST: b'{"format": "zip"}', fmt.DATA: b"{}",
                                                              fmt.SIGNATURE: b"x"}), ("不是团建",)),
        ("manifest from the future", "上报文件.zip", package({fmt.MANIFEST: manifest(code, schema_version=99),
                                                           fmt.DATA: b"{}", fmt.SIGNATURE: b"x"}), ("升级",)),
        ("manifest without a time", "上报文件.zip", package({fmt.MANIFEST: manifest(code, created_at="昨天"),
                                                          fmt.DATA: b"{}", fmt.SIGNATURE: b"x"}), ("不完整",)),
        ("manifest of 1 MB", "上报文件.zip", package({fmt.MANIFEST: b" " * (1 << 20), fmt.DATA: b"{}",
                                                   fmt.SIGNATURE: b"x"}), ("过大",)),
        ("data is not JSON (signed)", "上报文件.zip", package(signed(code, b"\x00\x01garbage")), ("无法读取",)),
        ("data nested deep (signed)", "上报文件.zip", package(signed(code, b"[" * 100000 + b"]" * 100000)),
         ("无法读取", "格式不对")),
        ("data without tables (signed)", "上报文件.zip", package(signed(code, b'{"root_code": "x"}')), ("格式不对",)),
        ("data of another org (signed)", "上报文件.zip",
         package(signed(code, json.dumps({"root_code": "000.999", "tables": {}}).encode())), ("不是同一组织",)),
        ("no tables (signed)", "上报文件.zip", good, ("缺少",)),
        ("rows of the wrong shape (signed)", "上报文件.zip",
         package(signed(code, json.dumps({"root_code": code,
                                          "tables": {"orgs": {"columns": ["code"], "rows": [[1, 2]]}}})
                        .encode())), ("栏目数不对", "缺少")),
        ("encrypted members", "上报文件.zip", _flag_encrypted(good), ("密码", "损坏")),
    ]
    files += zip_bombs(code)
    return files


def zip_bombs(code):
    sig_for = {}

    def bomb(data_stream, *, lie=None, copies=0):
        comp, crc, size = data_stream
        m = manifest(code, data_sha256="0" * 64)
        sig_for["m"] = m
        members = [(fmt.MANIFEST, *deflate(m), None), (fmt.SIGNATURE, *deflate(fmt.sign(KEY, m).encode()), None),
                   (fmt.DATA, comp, crc, lie or size, None)]
        members += [(f"copy{k}.json", comp, crc, size, fmt.DATA) for k in range(copies)]
        return raw_zip(members)
    mb = b" " * (1 << 20)
    return [
        ("bomb: 40 MB of data over an 8 MB cap", "炸弹.zip", bomb(joined((b"{", 1), (mb, 40), (b"}", 1))), ("过大",)),
        ("bomb: 40 MB of data claiming 1 KB", "炸弹.zip", bomb(joined((b"{", 1), (mb, 40), (b"}", 1)), lie=1024),
         ("损坏",)),
        ("bomb: 6000 members", "炸弹.zip", raw_zip([(f"{k}.json", *deflate(b"{}"), None) for k in range(6000)]),
         ("三个部分",)),
    ]


def test_bad_packages_get_a_chinese_4xx_and_change_nothing(client, login, tree, monkeypatch, app):
    from tuanjian.extensions import db
    from tuanjian.services import exchange
    monkeypatch.setattr(fmt, "MAX_DATA_BYTES", 8 * 1024 * 1024)
    login(tree.county_admin)
    client.post(f"/exchange/org/{tree.township.id}/key", data={"key": KEY})
    assert exchange.key_for(db.session, tree.township.code)
    before = table_counts()
    problems = []
    files = corpus(tree.township.code)
    assert len(files) >= 40
    for label, name, data, expect in files:
        resp = client.post(f"/exchange/org/{tree.county.id}/upload", data={"file": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")
        resp.request.environ["wsgi.input"].close()   # the test client spools bodies over 500 KB to a temporary file
        body = resp.get_data(as_text=True)
        found = ALERT.search(body)
        message = found.group(1).strip() if found else ""
        if not 400 <= resp.status_code < 500 or "Traceback" in body:
            problems.append(f"{label}: status {resp.status_code}")
        elif not CHINESE.search(message):
            problems.append(f"{label}: no Chinese message")
        elif expect and not any(e in message for e in expect):
            problems.append(f"{label}: {message!r} does not say any of {expect}")
        if table_counts() != before:
            problems.append(f"{label}: the database changed")
    assert not problems, "\n".join(problems)


def test_oversized_package_gets_the_413_page(client, login, tree, app):
    login(tree.county_admin)
    size = app.config["MAX_CONTENT_LENGTH"] + 1
    resp = client.post(f"/exchange/org/{tree.county.id}/upload",
                       data={"file": (io.BufferedReader(Zeros(size)), "大.zip")}, content_type="multipart/form-data")
    resp.request.environ["wsgi.input"].close()
    assert resp.status_code == 413 and "上传的文件太大" in resp.get_data(as_text=True)


def test_missing_file_is_a_422(client, login, tree):
    login(tree.county_admin)
    resp = client.post(f"/exchange/org/{tree.county.id}/upload", data={}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "请选择" in ALERT.search(resp.get_data(as_text=True)).group(1)
