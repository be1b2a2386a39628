"""上报文件 (data package between two levels): the file format, the 交换密钥 and the signature. Pure: bytes in,
bytes out, no database.

A package is a zip with three members:

- ``manifest.json``: format name, schema version, source organisation (code, names, category), created time
  (UTC), row counts per table and the SHA-256 and size of ``data.json``;
- ``data.json``: the rows (see services/exchange.py);
- ``signature.txt``: ``HMAC-SHA256:<hex>`` of the manifest's exact bytes, keyed by the 交换密钥.

The manifest pins the data by its checksum, so the one signature covers both: an edited manifest, edited data
or a wrong key are all refused.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import secrets
import zipfile
from dataclasses import dataclass
from datetime import datetime

from .errors import DomainError

FORMAT = "tuanjian-package"
SCHEMA_VERSION = 1
MANIFEST, DATA, SIGNATURE = "manifest.json", "data.json", "signature.txt"
MAX_MANIFEST_BYTES = 64 * 1024
MAX_SIGNATURE_BYTES = 1024
MAX_DATA_BYTES = 256 * 1024 * 1024          # unpacked data.json (a province of 2.5 million members is ~1 GB: split)
KEY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"   # no 0/O, 1/I: read aloud or copied by hand without mistakes
KEY_GROUPS, KEY_GROUP_LEN = 5, 5
MIN_KEY_LENGTH = 16


class PackageError(DomainError):
    """The file is not a usable package (unreadable, tampered, wrong key, foreign, older…)."""

    status = 422


class PackageConflict(DomainError):
    status = 409


def generate_key() -> str:
    """A new 交换密钥: 25 characters from a 32-letter alphabet (125 bits), grouped by five for reading aloud."""
    raw = "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_GROUPS * KEY_GROUP_LEN))
    return "-".join(raw[i:i + KEY_GROUP_LEN] for i in range(0, len(raw), KEY_GROUP_LEN))


def normalise_key(key: str | None) -> str:
    """Spaces, dashes and letter case do not matter when a key is typed in."""
    return "".join(ch for ch in (key or "").upper() if not ch.isspace() and ch != "-")


def check_key(key: str | None) -> str:
    """A typed key, normalised; too short or with odd characters is refused."""
    norm = normalise_key(key)
    if len(norm) < MIN_KEY_LENGTH:
        raise PackageError(f"交换密钥至少 {MIN_KEY_LENGTH} 个字母或数字（不计空格和短横线），请核对上级给出的密钥。")
    if len(norm) > 64 or not norm.isascii() or not norm.isalnum():
        raise PackageError("交换密钥只能由字母和数字组成（可用空格或短横线分组），最长 64 个字符。")
    return norm


def sign(key: str, manifest_bytes: bytes) -> str:
    return "HMAC-SHA256:" + hmac.new(normalise_key(key).encode(), manifest_bytes, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Manifest:
    raw: bytes
    root_code: str
    root_name: str
    created_at: datetime
    counts: dict
    data_sha256: str
    schema_version: int
    fields: dict

    @property
    def source_label(self) -> str:
        return f"{self.root_name}（{self.root_code}）"


def build(manifest: dict, data: dict, key: str) -> bytes:
    """The package file. ``manifest`` gets the data's checksum and size added."""
    data_bytes = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    manifest = {**manifest, "format": FORMAT, "schema_version": SCHEMA_VERSION,
                "data_sha256": hashlib.sha256(data_bytes).hexdigest(), "data_size": len(data_bytes)}
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(MANIFEST, manifest_bytes)
        z.writestr(DATA, data_bytes)
        z.writestr(SIGNATURE, sign(key, manifest_bytes) + "\n")
    return out.getvalue()


NOT_A_PACKAGE = ("不是有效的上报文件：{}。请上传下级“数据交换”页面导出的上报文件（.zip），"
                 "不要解压、改名后再压缩，也不要用其他软件打开后保存。")


def _read_member(z: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """A member's bytes, never more than ``limit`` unpacked, whatever the zip directory claims."""
    try:
        info = z.getinfo(name)
    except KeyError:
        raise PackageError(NOT_A_PACKAGE.format(f"缺少 {name}")) from None
    if info.flag_bits & 0x1:
        raise PackageError(NOT_A_PACKAGE.format("文件加了密码"))
    if info.file_size > limit:
        raise PackageError(NOT_A_PACKAGE.format(f"{name} 解压后过大"))
    try:
        with z.open(info) as f:
            data = f.read(limit + 1)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
        raise PackageError(NOT_A_PACKAGE.format("文件已损坏")) from exc
    except Exception as exc:                    # zlib.error and friends from a damaged stream
        raise PackageError(NOT_A_PACKAGE.format("文件已损坏")) from exc
    if len(data) > limit:
        raise PackageError(NOT_A_PACKAGE.format(f"{name} 解压后过大"))
    return data


def _json(raw: bytes, what: str):
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise PackageError(NOT_A_PACKAGE.format(f"{what}内容无法读取")) from None


@dataclass(frozen=True)
class Opened:
    """A package read from disk whose manifest is parsed but not yet trusted."""

    manifest: Manifest
    signature: str
    zipped: bytes


def open_package(data: bytes) -> Opened:
    """Read the manifest (not yet verified: call ``verify``). Refuses anything that is not a package file."""
    if not data:
        raise PackageError("上传的文件是空的。")
    if not data.startswith(b"PK"):
        raise PackageError(NOT_A_PACKAGE.format("文件格式不对"))
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        names = z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise PackageError(NOT_A_PACKAGE.format("文件已损坏或不完整")) from None
    if sorted(names) != sorted((MANIFEST, DATA, SIGNATURE)):
        raise PackageError(NOT_A_PACKAGE.format("文件中的内容不是上报文件的三个部分"))
    raw = _read_member(z, MANIFEST, MAX_MANIFEST_BYTES)
    signature = _read_member(z, SIGNATURE, MAX_SIGNATURE_BYTES).decode("ascii", "replace").strip()
    fields = _json(raw, "清单")
    if not isinstance(fields, dict) or fields.get("format") != FORMAT:
        raise PackageError(NOT_A_PACKAGE.format("清单不是团建上报文件的清单"))
    version = fields.get("schema_version")
    if not isinstance(version, int) or version < 1:
        raise PackageError(NOT_A_PACKAGE.format("清单中的格式版本无效"))
    if version > SCHEMA_VERSION:
        raise PackageError(f"这份上报文件的格式版本为 {version}，本系统只能读取第 {SCHEMA_VERSION} 版及以前的文件。"
                           "请先把本系统升级到与下级相同或更新的版本。")
    source = fields.get("source")
    try:
        code, name = str(source["code"]), str(source.get("full_name") or source["short_name"])
        created = datetime.fromisoformat(fields["created_at"])
        counts = dict(fields["counts"])
        sha = str(fields["data_sha256"])
    except (TypeError, KeyError, ValueError):
        raise PackageError(NOT_A_PACKAGE.format("清单内容不完整")) from None
    if created.tzinfo is not None:
        raise PackageError(NOT_A_PACKAGE.format("清单中的生成时间无效"))
    manifest = Manifest(raw=raw, root_code=code, root_name=name, created_at=created, counts=counts,
                        data_sha256=sha, schema_version=version, fields=fields)
    return Opened(manifest=manifest, signature=signature, zipped=data)


def verify(opened: Opened, key: str) -> dict:
    """Check the signature with ``key`` and the data against the manifest; return the data."""
    expected = sign(key, opened.manifest.raw)
    if not hmac.compare_digest(expected.encode(), opened.signature.encode("utf-8", "replace")):
        raise PackageError("上报文件签名不符，已拒绝：文件在导出后被改动过，或者双方设置的交换密钥不一致。"
                           "请核对交换密钥；密钥无误时，请下级重新导出上报文件。")
    z = zipfile.ZipFile(io.BytesIO(opened.zipped))
    raw = _read_member(z, DATA, MAX_DATA_BYTES)
    if hashlib.sha256(raw).hexdigest() != opened.manifest.data_sha256:
        raise PackageError("上报文件的数据与清单不符，已拒绝：文件在导出后被改动过或已损坏。请下级重新导出上报文件。")
    data = _json(raw, "数据")
    if not isinstance(data, dict) or not isinstance(data.get("tables"), dict):
        raise PackageError(NOT_A_PACKAGE.format("数据部分格式不对"))
    return data


def within(code: str, scope_code: str) -> bool:
    return code == scope_code or code.startswith(scope_code + ".")


def check_not_older(created_at: datetime, sha256: str, *, last_created_at: datetime | None,
                    last_sha256: str | None, last_source: str | None, label: str, fmt=str) -> None:
    """A package older than the one last applied for the same subtree is refused; the same package again is fine
    (it changes nothing). ``fmt`` shows a time to the user."""
    if last_created_at is None:
        return
    if created_at < last_created_at or (created_at == last_created_at and sha256 != last_sha256):
        raise PackageConflict(
            f"这份上报文件（{label}，生成于 {fmt(created_at)}）不晚于已导入的上报文件"
            f"（{last_source or label}，生成于 {fmt(last_created_at)}），"
            "不能用旧数据覆盖新数据。请使用下级最新导出的上报文件。")
