"""Apply a ``Plan`` in the caller's transaction: organisations directly, every person table through its owner
(``services/owners``, set-at-a-time), the subtree's stats touched, the link and the audit log updated.
Services never commit; the view or command does, once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, func, select

from ...clock import local_date, to_local
from ...models import CadrePost, ExchangeLink, Org, Person
from ...queries import among, within
from .. import audit, stats
from ..actor import Actor
from .keys import link_for
from .plan import Plan
from .wire import REFERENCED, RETIRED_REASON, SPEC, _fk_target, _label, decode, exported_columns, table


@dataclass
class Applied:
    totals: dict
    changed: bool


def _owner(name: str):
    """The owner module of a person table (services/owners): the only code that writes its rows."""
    from ..owners import grants, memberships, people, posts
    return {"people": people, "members": memberships, "cadre_posts": posts, "post_changes": posts,
            "admin_grants": grants}.get(name)


def apply_plan(session, actor: Actor, plan: Plan, *, now: datetime) -> Applied:
    """Write the plan in the caller's transaction (Core statements, executemany; stats touched)."""
    inc = plan.incoming
    root_code = inc.root_code
    events_written = 0
    if not plan.empty:
        ids = _Ids(session, plan)
        _apply_orgs(session, plan, ids, now)
        _upsert(session, plan, "people", ids, actor)
        ids.carried = frozenset(ids.resolve("people", e["person_id"]) for e in inc.events) - {None}
        for name in ("members", "cadre_posts", "admin_grants"):
            _retire(session, plan, name, now, actor, ids)
        _clear_moving_dev_numbers(session, plan, actor)
        for name in ("members", "cadre_posts", "post_changes", "admin_grants"):
            _upsert(session, plan, name, ids, actor)
        _retire(session, plan, "orgs", now, actor, ids)
        _fix_merged_into(session, plan, ids)
        events_written = _record_events(session, plan, ids, actor)
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
    if inc.events:
        summary += f"；团籍变动 {len(inc.events)} 条（按下级记录的日期和原因），新记入 {events_written} 条"
    audit.record(session, actor, "exchange.import", object_type="org", object_id=root.id, org_id=root.id,
                 summary=f"导入上报文件：{_label(inc)}，生成于 {to_local(inc.created_at):%Y-%m-%d %H:%M:%S}。{summary}",
                 after={"totals": totals, "sha256": inc.sha256, "events_written": events_written})
    return Applied(totals=totals, changed=True)


class _Ids:
    """Natural key -> id on this instance, for the referenced tables (filled as rows are inserted)."""

    def __init__(self, session, plan: Plan):
        self.session = session
        self.map = {name: dict(plan.target.ids.get(name, {})) for name in REFERENCED}
        self.carried: frozenset[int] = frozenset()       # people whose 团籍变动 the package carries

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
            owner.update_rows(session, actor, name, shape, rows, reach=(plan.incoming.root_code,), moved=moved,
                              **_carried(name, ids))


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
        _owner(name).insert_rows(session, actor, name, rows, reach=(plan.incoming.root_code,), **_carried(name, ids))
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


def _carried(name: str, ids: _Ids) -> dict:
    """For the members owner: the people whose events the package carries (no derived events for them)."""
    return {"carried": ids.carried} if name == "members" else {}


def _record_events(session, plan: Plan, ids: _Ids, actor: Actor) -> int:
    """The sender's 团籍变动 not here yet, through the memberships owner; only for people whose member record here
    lies in the package's subtree (one held elsewhere here keeps the history written here). Erasures travel too."""
    from ...models import Member
    from ..owners import memberships
    from .plan import event_key
    inc = plan.incoming
    if not inc.events:
        return 0
    people = sorted(ids.carried)
    inside = set()
    for cond in among(session, Member.person_id, people):
        inside.update(pid for pid, code in session.execute(
            select(Member.person_id, Org.code).join(Org, Member.org_id == Org.id).where(cond))
            if code == inc.root_code or code.startswith(inc.root_code + "."))

    def here(e):
        pid, org_id = ids.resolve("people", e["person_id"]), ids.resolve("orgs", e["org_id"])
        if pid is None or org_id is None or pid not in inside:
            return None
        return {**e, "person_id": pid, "org_id": org_id, "on_date": date.fromisoformat(e["on_date"])}

    new = [r for r in (here(e) for e in plan.new_events) if r is not None]
    new_keys = {event_key(e) for e in plan.new_events}
    erased = [(r["person_id"], r["org_id"], r["on_date"], r["kind"])
              for r in (here(e) for e in inc.events if e["erased"] and event_key(e) not in new_keys) if r is not None]
    return memberships.record_carried(session, actor, new, erased_keys=erased)


def _retire(session, plan: Plan, name: str, now: datetime, actor: Actor, ids: _Ids | None = None) -> None:
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
        values["ended_on"] = local_date(now)
    target_ids = [plan.target.ids[name][k] for k in keys]
    owner = _owner(name)
    if owner is not None:
        owner.set_where(session, actor, name, target_ids, values, **(_carried(name, ids) if ids else {}))
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

