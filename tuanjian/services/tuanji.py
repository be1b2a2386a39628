"""团籍 use cases (issue 27): the batch 超龄离团 of a branch with one date. Each member leaves through
``members.leave_member`` (its checks, its audit entry, its 团籍变动 written by the memberships owner)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select

from ..clock import local_date
from ..domain import policy, register
from ..domain.errors import Conflict, ValidationFailed
from ..domain.orgtree import check_holds_members
from ..domain.settings import DEFAULT_SETTINGS, Settings
from ..models import CadrePost, Member, Org, Person, RegisterSnapshot
from . import audit
from .actor import Actor
from .members import leave_member


def leave_overage_batch(session, actor: Actor, branch: Org, member_ids: list[int], *, on: str, now: datetime,
                        settings: Settings = DEFAULT_SETTINGS) -> int:
    """超龄离团 for the chosen members of ``branch``, all on the date ``on`` (each must be 28 by then and hold no
    post; a Party member leaves as 入党后年满28周岁离团). Returns how many left."""
    policy.require("member.leave_batch", actor.scope_code, branch.code)
    check_holds_members(branch.org_kind, branch.short_name)
    wanted = sorted({int(i) for i in member_ids})
    has_post = exists().where(CadrePost.person_id == Member.person_id, CadrePost.ended_at.is_(None))
    rows = session.execute(select(Member, Person, has_post).join(Person, Member.person_id == Person.id).where(
        Member.id.in_(wanted), Member.org_id == branch.id, Member.deleted_at.is_(None))).all() if wanted else []
    if len(rows) != len(wanted):
        raise ValidationFailed.single("members", "所选团员中有人已不在本团支部，请刷新页面后重新勾选")
    day = register.validate_batch_overage(on, [(p.name, p.birth_date, p.political_status, bool(h)) for _, p, h in rows],
                                          today=local_date(now), years=settings.overage_years)
    for member, person, _ in rows:
        try:
            leave_member(session, actor, member, kind=register.overage_kind(person.political_status), on=day,
                         note="批量办理", now=now, settings=settings)
        except ValidationFailed as exc:
            raise ValidationFailed({"members": [f"{person.name}：{m}" for ms in exc.field_errors.values()
                                                for m in ms]}) from None
    audit.record(session, actor, "member.leave_batch", object_type="org", object_id=branch.id, org_id=branch.id,
                 summary=f"批量办理超龄离团：{branch.short_name}，{len(rows)} 人，离团日期 {day.isoformat()}",
                 after={"count": len(rows), "leave_on": day.isoformat()}, people=[p.id for _, p, _ in rows])
    return len(rows)


def snapshot_data(report) -> dict:
    """The figures of a ``tuanji.queries.Statistics`` as JSON (what a freeze keeps)."""
    def tables(group):
        return [[t.title, [[label, n] for label, n in t.rows]] for t in group]

    def row(c):
        return [c.last, c.arrivals, c.departures, c.this]

    return {"last_day": report.last_day.isoformat(),
            "members": tables(report.member_tables), "changes": tables(report.change_tables),
            "orgs": tables(report.org_tables), "cadres": tables(report.cadre_tables),
            "comparison": [[o.id, o.short_name, *row(c)] for o, c in report.comparison],
            "total": row(report.total),
            # 团青比例: each row org's own 14–28周岁青年数, the total's (youth, members counted against it); the
            # transfers between subordinates taken off the total
            "youth": [report.youth.get(o.id) for o, _ in report.comparison],
            "total_youth": list(report.total_youth), "internal": report.internal}


def freeze(session, actor: Actor, org: Org, report, *, now: datetime) -> RegisterSnapshot:
    """Keep ``report`` (the org's 团内统计 as of its day) as reported: later edits do not rewrite it. Only a day
    that is over, once per org and day."""
    policy.require("register.freeze", actor.scope_code, org.code)
    if report.day >= local_date(now):
        raise Conflict(f"{report.day.isoformat()} 还没有过去，不能冻结；请在该日之后冻结")
    if session.scalar(select(RegisterSnapshot.id).where(RegisterSnapshot.org_id == org.id,
                                                        RegisterSnapshot.on_date == report.day)):
        raise Conflict(f"{org.short_name} 截至 {report.day.isoformat()} 的团内统计已经冻结")
    snap = RegisterSnapshot(org_id=org.id, on_date=report.day, data=snapshot_data(report), frozen_at=now,
                            frozen_by_id=actor.person_id)
    session.add(snap)
    session.flush()
    audit.record(session, actor, "register.freeze", object_type="org", object_id=org.id, org_id=org.id,
                 summary=f"冻结团内统计：{org.short_name} 截至 {report.day.isoformat()}，团员 {report.total.this} 人",
                 after={"count": report.total.this})
    return snap


def record_export(session, actor: Actor, org: Org, day, *, frozen: bool, what: str) -> None:
    audit.record(session, actor, "export.register_stats" if what == "excel" else "register.print",
                 object_type="org", object_id=org.id, org_id=org.id,
                 summary=f"{'导出' if what == 'excel' else '打印'}团内统计（{'Excel' if what == 'excel' else 'A4'}）："
                         f"{org.short_name} 截至 {day.isoformat()}{'（已冻结的数字）' if frozen else ''}")


def record_roll_export(session, actor: Actor, org: Org, day, count: int) -> None:
    audit.record(session, actor, "export.register_roll", object_type="org", object_id=org.id, org_id=org.id,
                 summary=f"导出团籍名册（Excel）：{org.short_name} 及全部下级，截至 {day.isoformat()}，{count} 人，"
                         "身份证号码已隐去", after={"count": count, "full_id_numbers": False})
