"""Validate and plan a 上报文件 against this instance: what applying it would add, update and retire (``Plan``), its
row problems (held elsewhere, conflicts, placement, missing columns) and its totals. Reads only; never writes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import select

from ...domain import exchange as fmt
from ...domain import policy
from ...domain.errors import DomainError
from ...domain.exchange import PackageConflict, PackageError
from ...domain.imports import ERROR, NEW, RETIRE, UNCHANGED, UPDATE, ImportReport, RowOutcome
from ...domain.orgtree import OrgKind, check_placement, parent_code
from ...domain.people import mask_id_number
from ...models import Member, Org, Person
from ...queries import among, place_codes
from ..actor import Actor
from .keys import link_for
from .wire import (
    SPEC,
    SPECS,
    Incoming,
    Snapshot,
    Spec,
    _describe_key,
    _label,
    _member_in_subtree,
    _problem,
    check_fits,
    encode,
    exported_columns,
    read_subtree,
    table,
)


class Problem(NamedTuple):
    """A row of the package that cannot be applied here: its table, natural key and the message (Chinese)."""

    table: str
    key: tuple
    message: str


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
    problems: list[Problem] = field(default_factory=list)      # row problems, kept when planned with ``collect``
    # the sender's 团籍变动 (Incoming.events) this instance does not have yet: recorded when applying
    new_events: list[dict] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return all(c.empty for c in self.changes.values()) and not self.new_events

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


def plan_import(session, actor: Actor, importer: Org, incoming: Incoming, *, settings, collect: bool = False) -> Plan:
    """What applying ``incoming`` would add, update and retire here. Refused whole, with one answer that names
    nothing outside the importer's reach: a package that does not belong here (foreign, the importer's own, older,
    no parent), a person held elsewhere (issue 24), a member of a branch elsewhere, a 发展团员编号 held by someone
    else. A row this instance cannot take as it is (a placement rule, a missing required column) refuses the
    package too, or with ``collect`` is kept in ``Plan.problems`` for the preview's error rows (the web's
    ImportFlow: the error workbook lists them; the commit is refused while there are any)."""
    out: list[Problem] | None = [] if collect else None
    check_fits(importer, incoming.root_code, incoming.root_code)
    if actor.scope_code is not None and incoming.root_code == actor.scope_code:
        raise PackageError(f"这是 {_label(incoming)} 本级的上报文件：上报文件由上级组织导入，不能导入到本组织自己。")
    link = link_for(session, incoming.root_code)
    if link is not None:
        from ...clock import to_local
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
    _check_placements(incoming, target, settings, out=out)
    _check_complete(changes, incoming, out=out)
    if incoming.ignored_columns:
        cols = "；".join(f"{SPEC[t].label}：{'、'.join(c)}" for t, c in incoming.ignored_columns.items())
        notes.append(f"上报文件中有本系统没有的栏目（{cols}），这些栏目将被忽略。请把本系统升级到与下级相同的版本。")
    new_events = _new_events(session, incoming, target)
    if incoming.events:
        notes.append(f"上报文件带有 {len(incoming.events)} 条团籍变动（按下级记录的日期和原因），其中本系统还没有的 "
                     f"{len(new_events)} 条将在导入时记入；这些人员不再按导入当天另记变动。")
    return Plan(importer=importer, incoming=incoming, target=target, changes=changes, root=root, parent=parent,
                notes=notes, problems=out or [], new_events=new_events)


def event_key(e: dict) -> tuple:
    """What makes two 团籍变动 the same one: person (ID number), organisation (code), date and kind."""
    return (e["person_id"], e["org_id"], e["on_date"], e["kind"])


def _new_events(session, incoming: Incoming, target: Snapshot) -> list[dict]:
    """The package's events not recorded here yet (an erased one here that the package has not erased, or the
    reverse, counts as present: the erasure travels in ``apply``)."""
    if not incoming.events:
        return []
    from ...models import MembershipEvent as E
    ids = [target.ids["people"][(e["person_id"],)] for e in incoming.events
           if (e["person_id"],) in target.ids.get("people", {})]
    have = set()
    for cond in among(session, E.person_id, sorted(set(ids))):
        have.update((idn, code, on.isoformat(), kind) for idn, code, on, kind in session.execute(
            select(Person.id_number, Org.code, E.on_date, E.kind).join(Person, E.person_id == Person.id)
            .join(Org, E.org_id == Org.id).where(cond)))
    out, seen = [], set()
    for e in incoming.events:
        key = event_key(e)
        if key not in have and key not in seen:
            seen.add(key)
            out.append(e)
    return out


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


def _check_placements(incoming: Incoming, target: Snapshot, settings, out: list[Problem] | None = None) -> None:
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
            what = f"组织 {code} 的类别不能建在其上级组织之下：{exc.message}"
            if out is None:
                raise _problem(SPEC["orgs"], n, what) from None
            out.append(Problem("orgs", (code,), what))


COLUMN_LABELS = {"name": "姓名", "gender": "性别", "birth_date": "出生日期", "id_number": "身份证号码"}


def _check_complete(changes: dict[str, TableChanges], incoming: Incoming, out: list[Problem] | None = None) -> None:
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
            if missing and out is not None:
                out.append(Problem(spec.name, key, f"缺少“{'、'.join(missing)}”，"
                                   "请下级组织在其系统中补全后重新生成上报文件"))
            elif missing:
                raise PackageError(f"上报文件中{spec.label}“{_describe_key(spec, key)}”缺少“{'、'.join(missing)}”，"
                                   "无法导入，没有导入任何数据。请下级组织在其系统中补全后重新生成上报文件。")


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



# ---------------------------------------------------------------- the plan as an import report (web: ImportFlow)

RETIRED = {"orgs": "撤销", "members": "删除（上报文件中已没有）", "cadre_posts": "卸任", "admin_grants": "解除管理员"}

def to_report(plan: Plan) -> ImportReport:
    """One row per row of the package (new, update, unchanged, or an error with its problems), then one per row the
    subtree here will retire. A row's sheet is its table, its cells a label (ID numbers masked; an error row only
    its key, nothing read from here) and the change; ``number`` is its place in its table of the package (0 for a
    retired row, which the package does not have). ``meta``: the source, per-table counts and the plan's notes."""
    problems: dict[tuple[str, tuple], list[str]] = {}
    for p in plan.problems:
        problems.setdefault((p.table, p.key), []).append(p.message)
    rows = []
    for spec in SPECS:
        tc = plan.changes[spec.name]
        adds, updates = set(tc.adds), {key: changed for key, changed, _ in tc.updates}
        for n, key in enumerate(plan.incoming.rows[spec.name], start=1):
            errors = problems.pop((spec.name, key), None)
            if errors:          # the row as the package names it (ID numbers masked), nothing read from here
                rows.append(RowOutcome(n, {"item": _describe_key(spec, key), "change": ""}, ERROR,
                                       errors={"item": errors}, sheet=spec.label))
                continue
            kind = NEW if key in adds else UPDATE if key in updates else UNCHANGED
            change = f"{len(updates[key])} 个栏目" if kind == UPDATE else ""
            rows.append(RowOutcome(n, {"item": plan.describe(spec.name, key), "change": change}, kind,
                                   sheet=spec.label))
        for key in tc.retires:
            rows.append(RowOutcome(0, {"item": plan.describe(spec.name, key), "change": RETIRED[spec.name]}, RETIRE,
                                   sheet=spec.label))
    for (name, key), errors in problems.items():         # a problem about a row the package does not have
        rows.append(RowOutcome(0, {"item": _describe_key(SPEC[name], key), "change": ""}, ERROR,
                               errors={"item": errors}, sheet=SPEC[name].label))
    source = plan.incoming.manifest.get("source") or {}
    tables = {spec.name: {"file": len(plan.incoming.rows[spec.name]), "adds": 0, "updates": 0, "retires": 0,
                          "errors": 0} for spec in SPECS}
    by_label = {spec.label: tables[spec.name] for spec in SPECS}
    counted = {NEW: "adds", UPDATE: "updates", RETIRE: "retires", ERROR: "errors"}
    for row in rows:                # the rows' own counts: an add with an error counts as an error, not an add
        if row.kind in counted:
            by_label[row.sheet][counted[row.kind]] += 1
    return ImportReport(rows, meta={"source": {"code": plan.incoming.root_code,
                                               "name": source.get("full_name") or source.get("short_name") or ""},
                                    "created_at": plan.incoming.created_at.isoformat(), "tables": tables,
                                    "notes": list(plan.notes), "empty": plan.empty})
