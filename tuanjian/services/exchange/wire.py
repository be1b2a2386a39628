"""上报文件 on the wire: which columns travel and how their values are written, a subtree read in that form, the
signed package written (export) and read back (verified, every value checked and canonical: ``Incoming``).

Generic over the exchanged tables' columns: every column of orgs, people, members, cadre_posts, post_changes and
admin_grants travels, except surrogate ids, anything that looks like a secret (password hashes, tokens) and
references to tables that are not exchanged (registration codes). References to organisations, people and cadre
posts travel as natural keys (org code, ID number, the post's person/org/position/start), so the two instances'
database ids never matter and a column added later flows through without a change here. Nothing here writes a
person table.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, DateTime, Integer, LargeBinary, String, select
from sqlalchemy.types import TypeDecorator

from ... import __version__
from ...clock import to_local
from ...domain import exchange as fmt
from ...domain.canonical import canonical_dev_number, canonical_org_name, canonical_person_name
from ...domain.errors import ValidationFailed
from ...domain.exchange import PackageError
from ...domain.orgtree import OrgKind, parent_code, validate_code
from ...domain.people import mask_id_number, parse_id_number
from ...models import Base, CadrePost, Org, Person
from ...queries import among, within
from .. import audit
from ..actor import Actor
from .keys import key_for


@dataclass(frozen=True)
class Spec:
    name: str
    label: str
    key: tuple[str, ...]                    # natural key, in exported (mapped) columns
    retire: tuple[str, str | None] | None   # (time column, reason column) set when the row leaves the subtree


SPECS = (
    Spec("orgs", "团组织", ("code",), ("dissolved_at", "dissolved_reason")),
    Spec("people", "人员", ("id_number",), None),
    Spec("members", "团员", ("person_id",), ("deleted_at", "deleted_reason")),
    Spec("cadre_posts", "团干部职务", ("person_id", "org_id", "position", "created_at"), ("ended_at", "end_reason")),
    Spec("post_changes", "职务变更记录", ("post_id", "at"), None),
    Spec("admin_grants", "管理员", ("org_id", "person_id", "granted_at"), ("revoked_at", None)),
)
SPEC = {s.name: s for s in SPECS}
REFERENCED = ("orgs", "people", "cadre_posts")          # tables whose rows other rows may point at
SECRET_COLUMN = re.compile(r"password|secret|token|hash", re.I)
RETIRED_REASON = "以上报文件为准：下级数据中已无此项"
# 团籍变动 of the subtree (issue 27) travel beside the tables, as data["events"]: the sender's own dates and reasons.
# A package without them (an older version's) is read as before: the receiver then derives the changes.
EVENT_COLUMNS = ("person_id", "org_id", "on_date", "kind", "dev_number", "note", "erased")


def table(name: str):
    return Base.metadata.tables[name]


def _fk_target(column) -> str | None:
    for fk in column.foreign_keys:
        return fk.column.table.name
    return None


def exported_columns(name: str) -> list:
    """The columns of a table that travel (see the module docstring)."""
    cols = []
    for c in table(name).columns:
        if c.primary_key and c.name == "id":
            continue
        if SECRET_COLUMN.search(c.name):
            continue
        target = _fk_target(c)
        if target is not None and target not in REFERENCED:
            continue
        cols.append(c)
    return cols


def _base_type(column):
    t = column.type
    return t.impl if isinstance(t, TypeDecorator) else t


def encode(value):
    if value is None or isinstance(value, bool | int | str | float | dict | list):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return str(value)


class BadValue(ValueError):
    pass


def decode(column, value):
    """A package value back to the column's Python type; BadValue when it does not fit."""
    if value is None:
        if not column.nullable:
            raise BadValue("不能为空")
        return None
    t = _base_type(column)
    try:
        if isinstance(t, DateTime):
            out = datetime.fromisoformat(value)
            if out.tzinfo is not None:
                raise BadValue("时间格式不对")
            return out
        if isinstance(t, Date):
            return date.fromisoformat(value)
        if isinstance(t, Boolean):
            if not isinstance(value, bool):
                raise BadValue("应为是/否")
            return value
        if isinstance(t, Integer):
            if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= 2 ** 31:
                raise BadValue("应为整数")
            return value
        if isinstance(t, LargeBinary):
            return base64.b64decode(value, validate=True)
        if isinstance(t, String):
            if not isinstance(value, str):
                raise BadValue("应为文字")
            if t.length and len(value) > t.length:
                raise BadValue(f"超过 {t.length} 个字符")
            if "\x00" in value:
                raise BadValue("含有不可见字符")
            return value
    except (TypeError, ValueError) as exc:
        if isinstance(exc, BadValue):
            raise
        raise BadValue("格式不对") from None
    return value


# ---------------------------------------------------------------- reading a subtree (export, and the target side)

@dataclass
class Snapshot:
    """Rows of the exchanged tables in exported form: table -> natural key -> {column: encoded value}; ids beside."""

    rows: dict[str, dict[tuple, dict]] = field(default_factory=dict)
    ids: dict[str, dict[tuple, int]] = field(default_factory=dict)


def _key(spec: Spec, values: dict) -> tuple:
    return tuple(tuple(v) if isinstance(v, list) else v for v in (values[k] for k in spec.key))


class _Refs:
    """Database id -> natural key, loaded on demand."""

    def __init__(self, session):
        self.session = session
        self.maps = {"orgs": {}, "people": {}, "cadre_posts": {}}

    def need(self, target: str, ids) -> None:
        missing = sorted({i for i in ids if i is not None} - set(self.maps[target]))
        if not missing:
            return
        m = self.maps[target]
        for cond in among(self.session, table(target).c.id, missing):
            if target == "orgs":
                m.update(self.session.execute(select(Org.id, Org.code).where(cond)).all())
            elif target == "people":
                m.update(self.session.execute(select(Person.id, Person.id_number).where(cond)).all())
            else:
                for pid, idn, code, position, created in self.session.execute(
                        select(CadrePost.id, Person.id_number, Org.code, CadrePost.position, CadrePost.created_at)
                        .join(Person, CadrePost.person_id == Person.id).join(Org, CadrePost.org_id == Org.id)
                        .where(cond)):
                    m[pid] = [idn, code, position, created.isoformat()]

    def get(self, target: str, id_):
        return None if id_ is None else self.maps[target].get(id_)


def _read(session, name: str, where) -> list[dict]:
    t = table(name)
    return [dict(r._mapping) for r in session.execute(select(t).where(where))]


def _encode_rows(refs: _Refs, spec: Spec, raw: list[dict], snap: Snapshot) -> None:
    cols = exported_columns(spec.name)
    for c in cols:
        target = _fk_target(c)
        if target:
            refs.need(target, (r[c.name] for r in raw))
    rows, ids = snap.rows.setdefault(spec.name, {}), snap.ids.setdefault(spec.name, {})
    for r in raw:
        values = {}
        for c in cols:
            target = _fk_target(c)
            values[c.name] = refs.get(target, r[c.name]) if target else encode(r[c.name])
        key = _key(spec, values)
        rows[key], ids[key] = values, r["id"]


def read_subtree(session, root_code: str, *, extra_people=(), extra_member_people=()) -> Snapshot:
    """Everything of the subtree in exported form, plus every person its rows point at. ``extra_*``: ID numbers
    whose person (and membership, wherever it is) the importer needs to see too."""
    snap, refs = Snapshot(), _Refs(session)
    org_ids = select(Org.id).where(within(Org.code, root_code)).scalar_subquery()
    _encode_rows(refs, SPEC["orgs"], _read(session, "orgs", within(table("orgs").c.code, root_code)), snap)
    members = _read(session, "members", table("members").c.org_id.in_(org_ids))
    if extra_member_people:
        seen = {m["id"] for m in members}
        person_ids = list(session.scalars(select(Person.id).where(Person.id_number.in_(list(extra_member_people)))))
        for cond in among(session, table("members").c.person_id, person_ids):
            members += [m for m in _read(session, "members", cond) if m["id"] not in seen]
    _encode_rows(refs, SPEC["members"], members, snap)
    posts = _read(session, "cadre_posts", table("cadre_posts").c.org_id.in_(org_ids))
    _encode_rows(refs, SPEC["cadre_posts"], posts, snap)
    post_ids = select(CadrePost.id).where(CadrePost.org_id.in_(org_ids)).scalar_subquery()
    _encode_rows(refs, SPEC["post_changes"], _read(session, "post_changes",
                                                   table("post_changes").c.post_id.in_(post_ids)),
                 snap)
    _encode_rows(refs, SPEC["admin_grants"], _read(session, "admin_grants",
                                                   table("admin_grants").c.org_id.in_(org_ids)),
                 snap)
    person_ids = set(refs.maps["people"])
    if extra_people:
        for cond in among(session, Person.id_number, sorted(set(extra_people))):
            person_ids.update(session.scalars(select(Person.id).where(cond)))
    people = []
    for cond in among(session, table("people").c.id, sorted(person_ids)):
        people += _read(session, "people", cond)
    _encode_rows(refs, SPEC["people"], people, snap)
    return snap


# ---------------------------------------------------------------- export

def export_package(session, actor: Actor, org: Org, *, now: datetime, key: str | None = None,
                   default_key: str | None = None) -> tuple[bytes, dict]:
    """The 上报文件 of ``org``'s subtree, signed with ``key`` (else the stored 交换密钥, else ``default_key``, the
    configured one)."""
    key = fmt.check_key(key) if key else key_for(session, org.code, default_key)
    if not key:
        raise PackageError(f"尚未设置“{org.short_name}”的交换密钥：请在“数据交换”页面填写上级给出的交换密钥"
                           "（或由系统管理员设置 TUANJIAN_EXCHANGE_SECRET），再导出上报文件。")
    snap = read_subtree(session, org.code)
    tables = {}
    counts = {}
    for spec in SPECS:
        cols = [c.name for c in exported_columns(spec.name)]
        rows = [[values[c] for c in cols] for _, values in sorted(snap.rows.get(spec.name, {}).items(),
                                                                  key=lambda kv: repr(kv[0]))]
        tables[spec.name] = {"columns": cols, "rows": rows}
        counts[spec.name] = len(rows)
    active_members = sum(1 for v in snap.rows.get("members", {}).values() if v.get("deleted_at") is None)
    counts["active_members"] = active_members
    carried = {k[0] for k in snap.rows.get("people", {})}
    # the events of someone the package does not carry (now a member outside the subtree) stay home
    events = [e for e in read_events(session, org.code) if e[0] in carried]
    counts["membership_events"] = len(events)
    manifest = {"source": {"code": org.code, "short_name": org.short_name, "full_name": org.full_name,
                           "kind": org.kind},
                "created_at": now.isoformat(), "counts": counts, "app_version": __version__}
    data = {"root_code": org.code, "tables": tables, "events": {"columns": list(EVENT_COLUMNS), "rows": events}}
    package = fmt.build(manifest, data, key)
    audit.record(session, actor, "exchange.export", object_type="org", object_id=org.id, org_id=org.id,
                 summary=f"导出上报文件：{org.short_name}（{org.code}），组织 {counts['orgs']} 个，"
                         f"团员 {active_members} 人，团干部职务 {counts['cadre_posts']} 条")
    return package, counts


def read_events(session, root_code: str) -> list[list]:
    """The 团籍变动 recorded in the subtree (erased ones too, flagged), by date: person by ID number, org by code."""
    from ...models import MembershipEvent as E
    rows = session.execute(
        select(Person.id_number, Org.code, E.on_date, E.kind, E.dev_number, E.note, E.erased)
        .join(Person, E.person_id == Person.id).join(Org, E.org_id == Org.id)
        .where(within(Org.code, root_code)).order_by(E.on_date, E.id))
    return [[idn, code, on.isoformat(), kind, dev, note, bool(erased)]
            for idn, code, on, kind, dev, note, erased in rows]


def package_filename(org: Org, now: datetime) -> str:
    return f"上报文件_{org.short_name}_{org.code}_{to_local(now):%Y%m%d-%H%M%S}.zip"


# ---------------------------------------------------------------- import: read, verify, plan

@dataclass
class Incoming:
    root_code: str
    manifest: dict
    sha256: str
    created_at: datetime
    rows: dict[str, dict[tuple, dict]]          # table -> key -> {column: canonical encoded value}
    ignored_columns: dict[str, list[str]]
    # the sender's 团籍变动: {column: value} with EVENT_COLUMNS (person by ID number, org by code); empty for a package
    # of an older version
    events: list[dict] = field(default_factory=list)


def read_package(session, importer: Org, data: bytes, *, default_key: str | None = None) -> Incoming:
    """Open, check scope, verify the signature with the subtree's 交换密钥 (else ``default_key``, the configured
    one) and validate every row."""
    opened = fmt.open_package(data)
    m = opened.manifest
    check_fits(importer, m.root_code, m.source_label)
    key = key_for(session, m.root_code, default_key)
    if not key:
        raise PackageError(f"尚未设置“{m.source_label}”的交换密钥，无法核验这份上报文件。请先在该组织的“数据交换”页面"
                           "生成交换密钥并交给下级，下级用同一密钥导出后再导入。")
    content = fmt.verify(opened, key)
    return validate(content, manifest=m.fields, sha256=m.data_sha256, created_at=m.created_at, root_code=m.root_code)


def check_fits(importer: Org, root_code: str, label: str) -> None:
    if not fmt.within(root_code, importer.code):
        raise PackageError(f"这份上报文件来自 {label}，不是“{importer.short_name}”（{importer.code}）或其下级组织的"
                           "上报文件，不能在这里导入。请在与文件代码对应的组织的“数据交换”页面导入。")


def _problem(spec: Spec, n: int, what: str) -> PackageError:
    return PackageError(f"上报文件内容有误（{spec.label}第 {n} 行）：{what}。请下级核对后重新导出。")


def validate(content: dict, *, manifest: dict, sha256: str, created_at: datetime, root_code: str) -> Incoming:
    if content.get("root_code") != root_code:
        raise PackageError("上报文件的清单与数据不是同一组织，已拒绝。")
    try:
        validate_code(root_code)
    except ValidationFailed:
        raise PackageError(f"上报文件的组织代码“{root_code}”格式不对。") from None
    tables = content["tables"]
    rows: dict[str, dict[tuple, dict]] = {}
    ignored: dict[str, list[str]] = {}
    for spec in SPECS:
        part = tables.get(spec.name)
        if (not isinstance(part, dict) or not isinstance(part.get("columns"), list)
                or not isinstance(part.get("rows"), list)):
            raise PackageError(f"上报文件缺少{spec.label}数据，已拒绝。")
        names = part["columns"]
        if not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
            raise PackageError(f"上报文件的{spec.label}栏目有误，已拒绝。")
        known = {c.name: c for c in exported_columns(spec.name)}
        missing_key = [k for k in spec.key if k not in names]
        if missing_key:
            raise PackageError(f"上报文件的{spec.label}数据缺少栏目 {', '.join(missing_key)}，已拒绝。")
        ignored[spec.name] = [n for n in names if n not in known]
        out = rows.setdefault(spec.name, {})
        for n, raw in enumerate(part["rows"], start=1):
            if not isinstance(raw, list) or len(raw) != len(names):
                raise _problem(spec, n, "栏目数不对")
            values = {}
            for name, value in zip(names, raw, strict=True):
                column = known.get(name)
                if column is None:
                    continue
                target = _fk_target(column)
                if target is not None:
                    values[name] = _check_ref(spec, n, column, target, value)
                    continue
                try:
                    values[name] = encode(decode(column, value))
                except BadValue as exc:
                    raise _problem(spec, n, f"“{name}”{exc}") from None
                canonical = _CANONICAL.get((spec.name, name))
                if canonical is not None and isinstance(values[name], str):
                    values[name] = canonical(values[name]) or None
            key = _key(spec, values)
            if key in out:
                raise _problem(spec, n, "与前面的行重复")
            out[key] = values
    _check_structure(rows, root_code)
    return Incoming(root_code=root_code, manifest=manifest, sha256=sha256, created_at=created_at, rows=rows,
                    ignored_columns={k: v for k, v in ignored.items() if v},
                    events=_check_events(content.get("events"), rows))


def _check_events(part, rows: dict) -> list[dict]:
    """The package's 团籍变动, checked: each names a person and an organisation of the package, a known kind and
    a real date. None (an older package): none."""
    from ...domain import register
    if part is None:
        return []
    if (not isinstance(part, dict) or not isinstance(part.get("columns"), list)
            or not isinstance(part.get("rows"), list)):
        raise PackageError("上报文件的团籍变动数据格式不对，已拒绝。")
    names = part["columns"]
    if not all(isinstance(n, str) for n in names) or any(k not in names for k in EVENT_COLUMNS[:4]):
        raise PackageError("上报文件的团籍变动栏目有误，已拒绝。")
    out = []
    for n, raw in enumerate(part["rows"], start=1):
        def bad(what):
            return PackageError(f"上报文件内容有误（团籍变动第 {n} 行）：{what}。请下级核对后重新导出。")
        if not isinstance(raw, list) or len(raw) != len(names):
            raise bad("栏目数不对")
        v = {k: x for k, x in zip(names, raw, strict=True) if k in EVENT_COLUMNS}
        if not isinstance(v["person_id"], str) or (v["person_id"],) not in rows["people"]:
            raise bad("所指的人员不在上报文件中")
        if not isinstance(v["org_id"], str) or (v["org_id"],) not in rows["orgs"]:
            raise bad("所指的组织不在上报文件中")
        if v["kind"] not in register.KINDS:
            raise bad(f"变动类别“{str(v['kind'])[:20]}”无效")
        try:
            day = date.fromisoformat(v["on_date"]) if isinstance(v["on_date"], str) else None
        except ValueError:
            day = None
        if day is None:
            raise bad("变动日期格式不对")
        note, dev = v.get("note"), v.get("dev_number")
        if not (note is None or isinstance(note, str)) or not (dev is None or isinstance(dev, str)):
            raise bad("说明或发展团员编号格式不对")
        out.append({"person_id": v["person_id"], "org_id": v["org_id"], "on_date": day.isoformat(),
                    "kind": v["kind"], "dev_number": (dev or None) and dev[:20], "note": (note or None) and note[:200],
                    "erased": v.get("erased") is True})
    return out


# identity strings a package made by an older version may hold in another form (issue 15); ID numbers are keys and
# must already be canonical (checked in _check_structure)
_CANONICAL = {("people", "name"): canonical_person_name, ("members", "dev_number"): canonical_dev_number,
              ("orgs", "short_name"): canonical_org_name, ("orgs", "full_name"): canonical_org_name}


def _check_ref(spec, n, column, target, value):
    if value is None:
        if not column.nullable:
            raise _problem(spec, n, f"“{column.name}”不能为空")
        return None
    if target == "cadre_posts":
        if not (isinstance(value, list) and len(value) == 4 and all(isinstance(v, str) for v in value)):
            raise _problem(spec, n, f"“{column.name}”格式不对")
        return value
    if not isinstance(value, str) or len(value) > 40:
        raise _problem(spec, n, f"“{column.name}”格式不对")
    return value


def _check_structure(rows: dict, root_code: str) -> None:
    """Codes inside the root, parents present, kinds known, members in branches, every reference resolvable."""
    orgs = rows["orgs"]
    if (root_code,) not in orgs:
        raise PackageError("上报文件中没有上报单位本身的组织数据，已拒绝。")
    kinds = {k.value for k in OrgKind}
    spec = SPEC["orgs"]
    for n, ((code,), values) in enumerate(orgs.items(), start=1):
        try:
            validate_code(code)
        except ValidationFailed:
            raise _problem(spec, n, f"组织代码“{code}”格式不对") from None
        if not fmt.within(code, root_code):
            raise _problem(spec, n, f"组织代码 {code} 不在上报单位（{root_code}）之下")
        if values.get("kind") not in kinds:
            raise _problem(spec, n, f"组织类别“{values.get('kind')}”无效")
        if code != root_code:
            if values.get("parent_id") != parent_code(code) or (parent_code(code),) not in orgs:
                raise _problem(spec, n, f"组织 {code} 的上级组织不在上报文件中")
        merged = values.get("merged_into_id")
        if merged is not None and (merged,) not in orgs:
            values["merged_into_id"] = None         # merged into an organisation outside the subtree: not exchanged
    people = rows["people"]
    spec = SPEC["people"]
    for n, (idn,) in enumerate(people, start=1):
        try:
            if parse_id_number(idn).number != idn:
                raise ValidationFailed.single("id_number", "")
        except ValidationFailed:
            raise _problem(spec, n, f"身份证号码 {mask_id_number(str(idn))} 无效") from None
    posts = rows["cadre_posts"]
    for spec in SPECS[2:]:
        for n, values in enumerate(rows[spec.name].values(), start=1):
            for column in exported_columns(spec.name):
                target = _fk_target(column)
                value = values.get(column.name)
                if target is None or value is None:
                    continue
                ok = ((value,) in orgs if target == "orgs" else (value,) in people if target == "people"
                      else tuple(value) in posts)
                if not ok:
                    raise _problem(spec, n, f"“{column.name}”指向的{SPEC[target].label}不在上报文件中")
            if spec.name == "members" and orgs[(values["org_id"],)]["kind"] != OrgKind.BRANCH.value:
                raise _problem(spec, n, f"团员只能在团支部中，{values['org_id']} 不是团支部")


def _describe_key(spec: Spec, key: tuple) -> str:
    if spec.name == "people":
        return mask_id_number(key[0])
    return "，".join(mask_id_number(k) if isinstance(k, str) and len(k) == 18 else str(k) for k in key)


def _member_in_subtree(values: dict, root_code: str) -> bool:
    return values.get("org_id") is not None and fmt.within(values["org_id"], root_code)


def _label(incoming: Incoming) -> str:
    source = incoming.manifest.get("source") or {}
    return f"{source.get('full_name') or source.get('short_name') or ''}（{incoming.root_code}）"


def to_batch_report(incoming: Incoming) -> dict:
    return {"root_code": incoming.root_code, "manifest": incoming.manifest, "sha256": incoming.sha256,
            "created_at": incoming.created_at.isoformat(),
            "tables": {name: [[list(k), v] for k, v in rows.items()] for name, rows in incoming.rows.items()},
            "ignored": incoming.ignored_columns, "events": incoming.events}


def from_batch_report(report: dict) -> Incoming:
    def key(k):
        return tuple(tuple(x) if isinstance(x, list) else x for x in k)
    return Incoming(root_code=report["root_code"], manifest=report["manifest"], sha256=report["sha256"],
                    created_at=datetime.fromisoformat(report["created_at"]),
                    rows={name: {key(k): v for k, v in rows} for name, rows in report["tables"].items()},
                    ignored_columns=report.get("ignored") or {}, events=report.get("events") or [])

