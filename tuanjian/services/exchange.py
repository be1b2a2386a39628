"""上报文件: export a subtree as one signed package; preview and apply a package under the matching organisation.

Generic over the exchanged tables' columns: every column of orgs, people, members, cadre_posts, post_changes and
admin_grants travels, except surrogate ids, anything that looks like a secret (password hashes, tokens) and
references to tables that are not exchanged (registration codes). References to organisations, people and cadre
posts travel as natural keys (org code, ID number, the post's person/org/position/start), so the two instances'
database ids never matter and a column added later flows through without a change here.

Applying a package makes the subtree on this instance equal to the package: rows are added or updated by natural
key, rows of the subtree that the package no longer has are retired the way the app retires them (organisations
dissolved, members deleted, posts ended, admin rights revoked; nothing is hard-deleted). People are only added
or updated. Accounts and passwords never travel: an admin in the package cannot log in here. Services never
commit; the view or command does, once.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, DateTime, Integer, LargeBinary, String, bindparam, func, select
from sqlalchemy.types import TypeDecorator

from .. import __version__
from ..clock import to_local
from ..domain import exchange as fmt
from ..domain import policy
from ..domain.canonical import canonical_dev_number, canonical_org_name, canonical_person_name
from ..domain.errors import DomainError, NotAllowed, ValidationFailed
from ..domain.exchange import PackageConflict, PackageError
from ..domain.orgtree import OrgKind, check_placement, parent_code, validate_code
from ..domain.people import mask_id_number, parse_id_number
from ..models import Base, CadrePost, ExchangeLink, Member, Org, Person
from ..queries import among, place_codes, within
from . import audit, stats
from .actor import Actor


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


# ---------------------------------------------------------------- secrets

def settings_secret(secret: str | None) -> str | None:
    """The configured 交换密钥 for subtrees without their own (TUANJIAN_EXCHANGE_SECRET, passed in by the caller)."""
    return fmt.normalise_key(secret) or None if secret else None


def link_for(session, code: str) -> ExchangeLink | None:
    return session.scalar(select(ExchangeLink).where(ExchangeLink.root_code == code))


def key_for(session, code: str, default: str | None = None) -> str | None:
    link = link_for(session, code)
    return (link.secret if link is not None and link.secret else None) or settings_secret(default)


def key_refusal(actor: Actor, org: Org) -> str | None:
    """Only an admin above ``org`` sets its 交换密钥 here; at this instance's root its own admins (the lower side
    types in, in its own instance, the key its parent generated). The system actor (the server's command line, no
    person) is the operator and may."""
    if actor.person_id is None and actor.scope_code is None:
        return None
    return policy.exchange_key_refusal(actor.scope_code, org.code, is_root=org.parent_id is None)


def set_key(session, actor: Actor, org: Org, key: str | None, *, now: datetime) -> str:
    """Store the 交换密钥 of ``org`` and its parent (typed in, or a new one when ``key`` is empty)."""
    refusal = key_refusal(actor, org)
    if refusal is not None:
        raise NotAllowed(refusal)
    norm = fmt.check_key(key) if key and key.strip() else None
    shown = key.strip().upper() if norm else fmt.generate_key()
    link = link_for(session, org.code)
    if link is None:
        link = ExchangeLink(root_code=org.code, created_at=now)
        session.add(link)
    link.secret, link.secret_set_at, link.secret_set_by_id = fmt.normalise_key(shown), now, actor.person_id
    audit.record(session, actor, "exchange.key", object_type="org", object_id=org.id, org_id=org.id,
                 summary=f"{'填写' if norm else '生成'}交换密钥：{org.short_name}（{org.code}）")
    return shown


def display_key(stored: str | None) -> str:
    if not stored:
        return ""
    return "-".join(stored[i:i + fmt.KEY_GROUP_LEN] for i in range(0, len(stored), fmt.KEY_GROUP_LEN))


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
    manifest = {"source": {"code": org.code, "short_name": org.short_name, "full_name": org.full_name,
                           "kind": org.kind},
                "created_at": now.isoformat(), "counts": counts, "app_version": __version__}
    data = {"root_code": org.code, "tables": tables}
    package = fmt.build(manifest, data, key)
    audit.record(session, actor, "exchange.export", object_type="org", object_id=org.id, org_id=org.id,
                 summary=f"导出上报文件：{org.short_name}（{org.code}），组织 {counts['orgs']} 个，"
                         f"团员 {active_members} 人，团干部职务 {counts['cadre_posts']} 条")
    return package, counts


def package_filename(org: Org, now: datetime) -> str:
    from ..clock import to_local
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
                    ignored_columns={k: v for k, v in ignored.items() if v})


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


@dataclass
class TableChanges:
    spec: Spec
    adds: list[tuple] = field(default_factory=list)
    updates: list[tuple[tuple, list[str], list[str]]] = field(default_factory=list)   # key, changed, written
    retires: list[tuple] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.adds or self.updates or self.retires)


@dataclass
class Plan:
    importer: Org
    incoming: Incoming
    target: Snapshot
    changes: dict[str, TableChanges]
    root: Org | None                           # the subtree root here, None when the package creates it
    parent: Org | None
    notes: list[str]

    @property
    def empty(self) -> bool:
        return all(c.empty for c in self.changes.values())

    def totals(self) -> dict:
        return {name: {"adds": len(c.adds), "updates": len(c.updates), "retires": len(c.retires)}
                for name, c in self.changes.items()}

    def describe(self, name: str, key: tuple) -> str:
        """A short label of one row for the preview (ID numbers masked)."""
        values = self.incoming.rows[name].get(key) or self.target.rows.get(name, {}).get(key) or {}
        people = {**{k[0]: v for k, v in self.target.rows.get("people", {}).items()},
                  **{k[0]: v for k, v in self.incoming.rows["people"].items()}}
        orgs = {**{k[0]: v for k, v in self.target.rows.get("orgs", {}).items()},
                **{k[0]: v for k, v in self.incoming.rows["orgs"].items()}}

        def person(idn):
            p = people.get(idn) or {}
            return f"{p.get('name', '')}（{mask_id_number(idn)}）"

        def org(code):
            return f"{(orgs.get(code) or {}).get('short_name', '')}（{code}）"
        if name == "orgs":
            return org(key[0])
        if name == "people":
            return person(key[0])
        if name == "members":
            return f"{person(key[0])} · {org(values.get('org_id'))}"
        if name == "cadre_posts":
            return f"{person(key[0])} · {org(key[1])} · {key[2]}"
        if name == "post_changes":
            return (f"{person(key[0][0])} · {org(key[0][1])} · "
                    f"{values.get('from_position') or ''}→{values.get('to_position') or '卸任'}")
        return f"{person(key[1])} · {org(key[0])}"


ROOT_KEPT = ("parent_id", "sort_order", "short_name", "kind")   # the parent decides these for its child


def plan_import(session, actor: Actor, importer: Org, incoming: Incoming, *, settings) -> Plan:
    """What applying ``incoming`` would add, update and retire here; conflicts and an older package refused."""
    check_fits(importer, incoming.root_code, incoming.root_code)
    if actor.scope_code is not None and incoming.root_code == actor.scope_code:
        raise PackageError(f"这是 {_label(incoming)} 本级的上报文件：上报文件由上级组织导入，不能导入到本组织自己。")
    link = link_for(session, incoming.root_code)
    if link is not None:
        from ..clock import to_local
        fmt.check_not_older(incoming.created_at, incoming.sha256, last_created_at=link.last_created_at,
                            last_sha256=link.last_sha256, last_source=link.last_source_name,
                            label=_label(incoming), fmt=lambda t: to_local(t).strftime("%Y-%m-%d %H:%M:%S"))
    member_people = [k[0] for k in incoming.rows["members"]]
    target = read_subtree(session, incoming.root_code, extra_people=[k[0] for k in incoming.rows["people"]],
                          extra_member_people=member_people)
    root = session.scalar(select(Org).where(Org.code == incoming.root_code))
    notes: list[str] = []
    parent = None
    root_values = incoming.rows["orgs"][(incoming.root_code,)]
    if root is None:
        pcode = parent_code(incoming.root_code)
        parent = session.scalar(select(Org).where(Org.code == pcode)) if pcode else None
        if parent is None or not fmt.within(parent.code, importer.code) or parent.is_dissolved:
            raise PackageError(f"本系统中没有上报单位的上级组织（代码 {pcode}），无法接收 {_label(incoming)} "
                               "的上报文件。"
                               "请先建立对应的组织，或在上级组织的“数据交换”页面导入。")
        try:
            check_placement(parent.org_kind, OrgKind(root_values["kind"]), settings.placement)
        except DomainError as exc:
            raise PackageError(f"上报单位的组织类别不能建在“{parent.short_name}”之下：{exc.message}") from None
        notes.append(f"本系统中还没有 {_label(incoming)}，导入时将在“{parent.short_name}”下建立。")
    else:
        for col, label in (("short_name", "组织简称"), ("kind", "组织类别")):
            if root_values.get(col) != encode(getattr(root, col)):
                notes.append(f"上报文件中上报单位的{label}为“{_kind_label(col, root_values.get(col))}”，本系统为"
                             f"“{_kind_label(col, getattr(root, col))}”：{label}由上级确定，以本系统为准。")
    _check_conflicts(session, incoming, target, root_code=incoming.root_code)
    changes = {}
    for spec in SPECS:
        tc = TableChanges(spec)
        mine = target.rows.get(spec.name, {})
        theirs = incoming.rows[spec.name]
        for key, values in theirs.items():
            have = mine.get(key)
            if have is None:
                tc.adds.append(key)
                continue
            if (spec.name == "members" and not _member_in_subtree(have, incoming.root_code)
                    and have.get("deleted_at") is None):
                continue        # deleted here, a current member elsewhere: the package's old record stays out
            skip = ROOT_KEPT if spec.name == "orgs" and key == (incoming.root_code,) else ()
            changed = [c for c, v in values.items() if c not in skip and have.get(c) != v]
            if changed:
                # every column is written (not only the changed ones), so onupdate defaults never overwrite the
                # package's own timestamps
                tc.updates.append((key, changed, [c for c in values if c not in skip]))
        if spec.retire is not None:
            col = spec.retire[0]
            for key, have in mine.items():
                if key in theirs or have.get(col) is not None:
                    continue
                if spec.name == "members" and not _member_in_subtree(have, incoming.root_code):
                    continue
                tc.retires.append(key)
        changes[spec.name] = tc
    _check_people_owned(session, changes, target, root_code=incoming.root_code, plan_rows=incoming.rows)
    _check_placements(incoming, target, settings)
    _check_complete(changes, incoming)
    if incoming.ignored_columns:
        cols = "；".join(f"{SPEC[t].label}：{'、'.join(c)}" for t, c in incoming.ignored_columns.items())
        notes.append(f"上报文件中有本系统没有的栏目（{cols}），这些栏目将被忽略。请把本系统升级到与下级相同的版本。")
    return Plan(importer=importer, incoming=incoming, target=target, changes=changes, root=root, parent=parent,
                notes=notes)


TIMESTAMPS = frozenset({"created_at", "updated_at"})


PLACE_TABLES = ("members", "cadre_posts", "admin_grants")
PERSON_KEY = {"members": 0, "cadre_posts": 0, "admin_grants": 1}      # where the ID number is in each natural key


def _check_people_owned(session, changes: dict[str, TableChanges], target: Snapshot, *, root_code: str,
                        plan_rows: dict) -> None:
    """The person-ownership rule for packages (issue 24): a person known here who also holds a place outside the
    package's subtree cannot be given a place by it (a member row, a cadre post, an admin grant), nor have their
    fields changed, nor be carried at all when nothing in the subtree here ever held them; the package is refused
    with one answer, the same whatever name it carries, naming nothing but the masked ID number. A person held
    elsewhere whose row differs only in its timestamps keeps it as stored."""
    ids = target.ids.get("people", {})
    if not ids:
        return
    places = place_codes(session, ids.values())
    outside = {key for key, pid in ids.items()
               if any(not fmt.within(code, root_code) for code in places.get(pid, []))}
    if not outside:
        return
    known = set()                   # people the subtree here holds or held (any row, ended ones too)
    for name in PLACE_TABLES:
        for key, values in target.rows.get(name, {}).items():
            if name != "members" or _member_in_subtree(values, root_code):
                known.add((key[PERSON_KEY[name]],))
    problems = set()
    people = changes["people"]
    kept = []
    for key, changed, written in people.updates:
        if key in outside and not set(changed) <= TIMESTAMPS:
            problems.add(key)
        elif key not in outside:
            kept.append((key, changed, written))
    people.updates[:] = kept
    for name in PLACE_TABLES:
        tc = changes[name]
        retire_col = SPEC[name].retire[0]
        for key in tc.adds:
            problems.add((key[PERSON_KEY[name]],))
        for key, changed, _ in tc.updates:      # a place moved to another org, or one that comes back
            if "org_id" in changed or "person_id" in changed or (
                    retire_col in changed and plan_rows[name][key].get(retire_col) is None):
                problems.add((key[PERSON_KEY[name]],))
    problems = {k for k in problems if k in outside} | (set(ids) & outside - known)
    if problems:
        masked = sorted(mask_id_number(k[0]) for k in problems)
        shown = "、".join(masked[:20]) + (f" 等 {len(masked)} 人" if len(masked) > 20 else "")
        raise PackageConflict(f"上报文件中的 {shown}：{policy.HELD_ELSEWHERE_PACKAGE}。没有导入任何数据；"
                              "如需修改其个人信息，请由其全部所在组织的共同上级组织管理员核对后在本系统中直接修改，"
                              "再重新导入。")


def _check_placements(incoming: Incoming, target: Snapshot, settings) -> None:
    """The placement rules (which kind of org may stand under which) for every org of the package below its root,
    not only the root: a 团支部 below a 团支部 is refused, whatever the lower instance allowed."""
    orgs = incoming.rows["orgs"]
    for n, ((code,), values) in enumerate(orgs.items(), start=1):
        if code == incoming.root_code or values.get("dissolved_at") is not None:
            continue
        parent = orgs.get((parent_code(code),)) or {}
        try:
            check_placement(OrgKind(parent.get("kind")), OrgKind(values["kind"]), settings.placement)
        except DomainError as exc:
            raise _problem(SPEC["orgs"], n, f"组织 {code} 的类别不能建在其上级组织之下：{exc.message}") from None


COLUMN_LABELS = {"name": "姓名", "gender": "性别", "birth_date": "出生日期", "id_number": "身份证号码"}


def _check_complete(changes: dict[str, TableChanges], incoming: Incoming) -> None:
    """A row the package adds must carry every column this system requires (a new person with only some columns
    is refused with a clear message, never a database error)."""
    for spec in SPECS:
        adds = changes[spec.name].adds
        if not adds:
            continue
        required = [c for c in table(spec.name).columns if not c.nullable and not c.primary_key
                    and c.default is None and c.server_default is None and c.name in
                    {e.name for e in exported_columns(spec.name)}]
        rows = incoming.rows[spec.name]
        for n, key in enumerate(adds, start=1):
            missing = [COLUMN_LABELS.get(c.name, c.name) for c in required if rows[key].get(c.name) in (None, "")]
            if missing:
                raise PackageError(f"上报文件中{spec.label}“{_describe_key(spec, key)}”缺少“{'、'.join(missing)}”，"
                                   "无法导入，没有导入任何数据。请下级组织在其系统中补全后重新生成上报文件。")


def _describe_key(spec: Spec, key: tuple) -> str:
    if spec.name == "people":
        return mask_id_number(key[0])
    return "，".join(mask_id_number(k) if isinstance(k, str) and len(k) == 18 else str(k) for k in key)


def _member_in_subtree(values: dict, root_code: str) -> bool:
    return values.get("org_id") is not None and fmt.within(values["org_id"], root_code)


def _label(incoming: Incoming) -> str:
    source = incoming.manifest.get("source") or {}
    return f"{source.get('full_name') or source.get('short_name') or ''}（{incoming.root_code}）"


def _kind_label(col, value):
    if col == "kind":
        try:
            return OrgKind(value).label
        except ValueError:
            return str(value)
    return value


def _check_conflicts(session, incoming: Incoming, target: Snapshot, *, root_code: str) -> None:
    """A person the package lists as a member who is a current member of a branch outside the subtree, or a 发展团员编号
    held here by someone else, cannot be taken over silently: the admins settle it first (转接 or correction)."""
    problems = []
    mine = target.rows.get("members", {})
    for (idn,), values in incoming.rows["members"].items():
        have = mine.get((idn,))
        if (have is not None and have.get("deleted_at") is None and values.get("deleted_at") is None
                and not _member_in_subtree(have, root_code)):
            # the holding branch lies outside the package's subtree, possibly outside the importer's scope too:
            # it is not named
            problems.append(f"{mask_id_number(idn)} 在本系统中是上报单位以外的团支部的团员，请先办理组织关系转接")
    wanted = {v["dev_number"]: k[0] for k, v in incoming.rows["members"].items() if v.get("dev_number")}
    if wanted:
        for cond in among(session, Member.dev_number, sorted(wanted)):
            for dev, idn in session.execute(select(Member.dev_number, Person.id_number)
                                            .join(Person, Member.person_id == Person.id).where(cond)):
                if wanted[dev] != idn and (idn,) not in incoming.rows["members"]:
                    problems.append(f"发展团员编号 {dev} 在本系统中已属于 {mask_id_number(idn)}，"
                                    f"上报文件中属于 {mask_id_number(wanted[dev])}")
    if problems:
        shown = "；".join(problems[:20]) + (f"；另有 {len(problems) - 20} 处" if len(problems) > 20 else "")
        raise PackageConflict(f"上报文件与本系统的数据冲突，没有导入任何数据：{shown}。")


# ---------------------------------------------------------------- apply

@dataclass
class Applied:
    totals: dict
    changed: bool


def _owner(name: str):
    """The owner module of a person table (services/owners): the only code that writes its rows."""
    from .owners import grants, memberships, people, posts
    return {"people": people, "members": memberships, "cadre_posts": posts, "post_changes": posts,
            "admin_grants": grants}.get(name)


def apply_plan(session, actor: Actor, plan: Plan, *, now: datetime) -> Applied:
    """Write the plan in the caller's transaction (Core statements, executemany; stats touched)."""
    inc = plan.incoming
    root_code = inc.root_code
    if not plan.empty:
        ids = _Ids(session, plan)
        _apply_orgs(session, plan, ids, now)
        _upsert(session, plan, "people", ids, actor)
        for name in ("members", "cadre_posts", "admin_grants"):
            _retire(session, plan, name, now, actor)
        _clear_moving_dev_numbers(session, plan, actor)
        for name in ("members", "cadre_posts", "post_changes", "admin_grants"):
            _upsert(session, plan, name, ids, actor)
        _retire(session, plan, "orgs", now, actor)
        _fix_merged_into(session, plan, ids)
        subtree = list(session.scalars(select(Org.id).where(within(Org.code, root_code))))
        people = list(ids.map["people"].values())
        stats.touch(session, org_ids=subtree, people_ids=people, codes=[root_code])
        session.expire_all()
    link = link_for(session, root_code)
    same = (link is not None and link.last_created_at == inc.created_at and link.last_sha256 == inc.sha256)
    if plan.empty and same:
        return Applied(totals=plan.totals(), changed=False)
    if link is None:
        link = ExchangeLink(root_code=root_code, created_at=now)
        session.add(link)
    link.last_source_name = _label(inc)[:100]
    link.last_created_at, link.last_sha256 = inc.created_at, inc.sha256
    link.last_applied_at, link.last_applied_by_id = now, actor.person_id
    root = session.scalar(select(Org).where(Org.code == root_code))
    totals = plan.totals()
    summary = "；".join(f"{SPEC[n].label}新增{t['adds']}、更新{t['updates']}、移除{t['retires']}"
                       for n, t in totals.items() if any(t.values())) or "无改动"
    audit.record(session, actor, "exchange.import", object_type="org", object_id=root.id, org_id=root.id,
                 summary=f"导入上报文件：{_label(inc)}，生成于 {to_local(inc.created_at):%Y-%m-%d %H:%M:%S}。{summary}",
                 after={"totals": totals, "sha256": inc.sha256})
    return Applied(totals=totals, changed=True)


class _Ids:
    """Natural key -> id on this instance, for the referenced tables (filled as rows are inserted)."""

    def __init__(self, session, plan: Plan):
        self.session = session
        self.map = {name: dict(plan.target.ids.get(name, {})) for name in REFERENCED}

    def resolve(self, target: str, value):
        if value is None:
            return None
        key = tuple(value) if target == "cadre_posts" else (value,)
        found = self.map[target].get(key)
        if found is None and target == "orgs":
            found = self.session.scalar(select(Org.id).where(Org.code == value))
            if found is not None:
                self.map[target][key] = found
        return found


def _db_values(plan: Plan, name: str, values: dict, ids: _Ids, columns: list[str]) -> dict:
    cols = {c.name: c for c in exported_columns(name)}
    out = {}
    for c in columns:
        column = cols[c]
        target = _fk_target(column)
        out[c] = ids.resolve(target, values.get(c)) if target else decode(column, values.get(c))
    return out


def _apply_orgs(session, plan: Plan, ids: _Ids, now: datetime) -> None:
    t = table("orgs")
    inc = plan.incoming.rows["orgs"]
    tc = plan.changes["orgs"]
    all_cols = [c for c in inc[(plan.incoming.root_code,)]]
    adds = sorted(tc.adds, key=lambda k: (k[0].count("."), k[0]))
    for depth in sorted({k[0].count(".") for k in adds}):
        level = [k for k in adds if k[0].count(".") == depth]
        rows = []
        for key in level:
            values = _db_values(plan, "orgs", inc[key], ids, [c for c in all_cols if c != "merged_into_id"])
            if key == (plan.incoming.root_code,):
                values["parent_id"] = plan.parent.id
                values["sort_order"] = (session.scalar(select(func.max(Org.sort_order)).where(
                    Org.parent_id == plan.parent.id)) or 0) + 1
            rows.append(values)
        session.execute(t.insert(), rows)
        codes = [k[0] for k in level]
        for cond in among(session, Org.code, codes):
            for id_, code in session.execute(select(Org.id, Org.code).where(cond)):
                ids.map["orgs"][(code,)] = id_
    _update(session, plan, "orgs", ids, [(k, [c for c in cols if c != "merged_into_id"]) for k, _, cols in tc.updates])


def _update(session, plan: Plan, name: str, ids: _Ids, updates, actor: Actor | None = None) -> None:
    t = table(name)
    by_shape: dict[tuple, list[dict]] = {}
    moved = _moved_people(plan, name, ids)
    for key, cols in updates:
        if not cols:
            continue
        values = _db_values(plan, name, plan.incoming.rows[name][key], ids, cols)
        values["_id"] = plan.target.ids[name][key]
        by_shape.setdefault(tuple(sorted(cols)), []).append(values)
    for shape, rows in by_shape.items():
        rows = [{**{f"{c}": r[c] for c in shape}, "_id": r["_id"]} for r in rows]
        owner = _owner(name)
        if owner is None:
            stmt = t.update().where(t.c.id == bindparam("_id")).values({c: bindparam(c) for c in shape})
            session.execute(stmt, rows)
        else:
            owner.update_rows(session, actor, name, shape, rows, reach=(plan.incoming.root_code,), moved=moved)


def _moved_people(plan: Plan, name: str, ids: _Ids) -> list[int]:
    """People whose place in ``name`` changes organisation or comes back (the person rule applies to them)."""
    if name not in ("members", "cadre_posts", "admin_grants"):
        return []
    retire_col = SPEC[name].retire[0]
    keys = [key for key, changed, _ in plan.changes[name].updates
            if "org_id" in changed or "person_id" in changed
            or (retire_col in changed and plan.incoming.rows[name][key].get(retire_col) is None)]
    return [ids.resolve("people", plan.incoming.rows[name][k].get("person_id")) for k in keys]


def _upsert(session, plan: Plan, name: str, ids: _Ids, actor: Actor) -> None:
    tc = plan.changes[name]
    inc = plan.incoming.rows[name]
    if tc.adds:
        cols = list(next(iter(inc.values())).keys())
        rows = [_db_values(plan, name, inc[key], ids, cols) for key in tc.adds]
        _owner(name).insert_rows(session, actor, name, rows, reach=(plan.incoming.root_code,))
        if name in REFERENCED:
            _remember_ids(session, plan, name, ids, tc.adds)
    _update(session, plan, name, ids, [(k, cols) for k, _, cols in tc.updates], actor)


def _remember_ids(session, plan: Plan, name: str, ids: _Ids, keys) -> None:
    if name == "people":
        for cond in among(session, Person.id_number, [k[0] for k in keys]):
            for id_, idn in session.execute(select(Person.id, Person.id_number).where(cond)):
                ids.map["people"][(idn,)] = id_
    elif name == "cadre_posts":
        wanted = set(keys)
        org_ids = sorted({ids.resolve("orgs", k[1]) for k in keys})
        for cond in among(session, CadrePost.org_id, org_ids):
            for id_, idn, code, position, created in session.execute(
                    select(CadrePost.id, Person.id_number, Org.code, CadrePost.position, CadrePost.created_at)
                    .join(Person, CadrePost.person_id == Person.id).join(Org, CadrePost.org_id == Org.id).where(cond)):
                key = (idn, code, position, created.isoformat())
                if key in wanted:
                    ids.map["cadre_posts"][key] = id_


def _retire(session, plan: Plan, name: str, now: datetime, actor: Actor) -> None:
    spec = SPEC[name]
    keys = plan.changes[name].retires
    if not keys:
        return
    t = table(name)
    time_col, reason_col = spec.retire
    values = {time_col: now}
    if reason_col:
        values[reason_col] = RETIRED_REASON
    if name == "cadre_posts" and "ended_on" in t.c:
        from ..clock import local_date
        values["ended_on"] = local_date(now)
    target_ids = [plan.target.ids[name][k] for k in keys]
    owner = _owner(name)
    if owner is not None:
        owner.set_where(session, actor, name, target_ids, values)
        return
    for cond in among(session, t.c.id, target_ids):
        session.execute(t.update().where(cond).values(values))


def _clear_moving_dev_numbers(session, plan: Plan, actor: Actor) -> None:
    """发展团员编号 is unique: free the numbers of rows about to get another one, so swaps do not collide."""
    ids = [plan.target.ids["members"][key] for key, changed, _ in plan.changes["members"].updates
           if "dev_number" in changed]
    _owner("members").set_where(session, actor, "members", ids, {"dev_number": None}, only_set="dev_number")


def _fix_merged_into(session, plan: Plan, ids: _Ids) -> None:
    t = table("orgs")
    rows = []
    for key, values in plan.incoming.rows["orgs"].items():
        merged = values.get("merged_into_id")
        have = plan.target.rows.get("orgs", {}).get(key)
        if have is not None and have.get("merged_into_id") == merged:
            continue
        rows.append({"_id": ids.resolve("orgs", key[0]), "m": ids.resolve("orgs", merged)})
    if rows:
        session.execute(t.update().where(t.c.id == bindparam("_id")).values(merged_into_id=bindparam("m")), rows)


# ---------------------------------------------------------------- stored previews (web): the import batch lifecycle

BATCH_KIND = "package"
ALREADY_APPLIED = "这份上报文件已处理过，不能再次导入。需要时请重新上传。"


def upload_package(session, actor: Actor, importer: Org, data: bytes, *, filename: str, settings, now: datetime,
                   default_key: str | None = None):
    """Read, verify and check a 上报文件 (refused now rather than at the preview), and keep it as a pending import
    batch (``services.imports``) until the admin applies or cancels it."""
    from .imports import new_batch
    incoming = read_package(session, importer, data, default_key=default_key)
    plan_import(session, actor, importer, incoming, settings=settings)
    return new_batch(session, actor, importer, kind=BATCH_KIND, data=data, filename=filename or "上报文件.zip",
                     report=to_batch_report(incoming), now=now)


def apply_batch(session, actor: Actor, importer: Org, batch, *, settings, now: datetime) -> Applied:
    """Apply a pending 上报文件 batch, planned again against the current data, and close the batch."""
    from .imports import check_pending, mark_committed
    check_pending(batch, ALREADY_APPLIED)
    plan = plan_import(session, actor, importer, from_batch_report(batch.report), settings=settings)
    result = apply_plan(session, actor, plan, now=now)
    mark_committed(batch, now=now, result={"totals": result.totals, "changed": result.changed})
    return result


def to_batch_report(incoming: Incoming) -> dict:
    return {"root_code": incoming.root_code, "manifest": incoming.manifest, "sha256": incoming.sha256,
            "created_at": incoming.created_at.isoformat(),
            "tables": {name: [[list(k), v] for k, v in rows.items()] for name, rows in incoming.rows.items()},
            "ignored": incoming.ignored_columns}


def from_batch_report(report: dict) -> Incoming:
    def key(k):
        return tuple(tuple(x) if isinstance(x, list) else x for x in k)
    return Incoming(root_code=report["root_code"], manifest=report["manifest"], sha256=report["sha256"],
                    created_at=datetime.fromisoformat(report["created_at"]),
                    rows={name: {key(k): v for k, v in rows} for name, rows in report["tables"].items()},
                    ignored_columns=report.get("ignored") or {})


def last_links(session, scope: Org) -> list[ExchangeLink]:
    return list(session.scalars(select(ExchangeLink).where(within(ExchangeLink.root_code, scope.code))
                                .order_by(ExchangeLink.root_code)))

