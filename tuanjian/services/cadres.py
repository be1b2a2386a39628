"""本级团干部: add cadres singly or from a workbook, change or end posts with history."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from ..clock import local_date
from ..domain import policy
from ..domain.cadres import CADRE_READ_COLUMNS, validate_cadre_rows, validate_post
from ..domain.canonical import canonical_id_number
from ..domain.errors import Conflict, ValidationFailed
from ..domain.imports import ImportReport
from ..domain.people import positions_for
from ..domain.settings import Settings
from ..domain.vocabulary import FILE_KINDS
from ..models import CadrePost, ImportBatch, Org, Person, PostChange
from ..queries import is_admin
from ..spreadsheets.reader import Book, RawRow, read_sheet
from . import audit, ownership
from .accounts import ensure_account
from .actor import Actor
from .imports import check_pending, mark_committed, new_batch
from .owners import people
from .owners import posts as post_owner

CADRE_SHEET = "团干部"


def check_may_manage(actor: Actor, org: Org) -> None:
    """An org's own admins enter its cadres; so do the admins of its direct parent."""
    policy.require("cadre.manage", actor.scope_code, org.code)
    if org.is_dissolved:
        raise Conflict(f"“{org.short_name}”已撤销")


def _person_for(session, actor: Actor, data: dict) -> tuple[Person, bool]:
    person = session.scalar(select(Person).where(Person.id_number == data["id_number"]))
    # a person not wholly in the actor's reach is neither named nor changed, whatever name was typed
    ownership.check_entry(session, actor, person, "cadre", typed_name=data["name"])
    created = person is None
    shared = {"phone": data["phone"], "ethnicity": data["ethnicity"], "political_status": data["political_status"]}
    if data.get("join_date"):
        shared["join_date"] = data["join_date"]
    if created:
        person = people.create(session, actor, id_number=data["id_number"], name=data["name"], gender=data["gender"],
                               birth_date=data["birth_date"], **shared)
    else:
        people.update(session, actor, person, shared)
    return person, created


def add_cadre(session, actor: Actor, org: Org, data: dict, *, now: datetime) -> tuple[CadrePost, bool]:
    """``data``: the cleaned person block and post block (domain.cadres). Returns the post and whether an
    account was opened (with the default password)."""
    check_may_manage(actor, org)
    person, _ = _person_for(session, actor, data)
    if session.scalar(select(CadrePost.id).where(CadrePost.org_id == org.id, CadrePost.person_id == person.id,
                                                 CadrePost.position == data["position"], CadrePost.ended_at.is_(None))):
        raise ValidationFailed.single("position", f"{person.name}已是{org.short_name}的{data['position']}")
    post = post_owner.open_post(session, actor, person, org, position=data["position"], now=now,
                                title=data.get("title"), nature=data.get("nature"),
                                start_month=data.get("start_month"), party_committee=data.get("party_committee"))
    _, opened = ensure_account(session, person)
    session.flush()
    audit.record(session, actor, "cadre.add", object_type="cadre_post", object_id=post.id, org_id=org.id,
                 summary=f"录入团干部：{person.name}，{org.short_name} {post.position}"
                         + ("（已开通账号，初始密码为身份证号后八位）" if opened else ""),
                 after={"person": person.masked_id, "position": post.position, "nature": post.nature},
                 people=[person.id])
    return post, opened


def change_position(session, actor: Actor, post: CadrePost, *, position: str, title: str | None,
                    changed_on: date, now: datetime) -> PostChange:
    """团干部职务变更: the post keeps its id; the change (from, to, date, by whom) is kept."""
    org = post.org
    check_may_manage(actor, org)
    if post.ended_at is not None:
        raise Conflict("该职务已卸任，不能再变更")
    cleaned = validate_post(position=position, title=title, nature=post.nature or "兼职", start_month=None,
                            party_committee=None, is_leading=org.org_kind.is_leading, today=local_date(now))
    if changed_on > local_date(now):
        raise ValidationFailed.single("changed_on", "变更日期不能晚于今天")
    if cleaned["position"] == post.position and cleaned["title"] == post.title:
        raise ValidationFailed.single("position", "新职务与现任职务相同")
    if session.scalar(select(CadrePost.id).where(CadrePost.org_id == org.id, CadrePost.person_id == post.person_id,
                                                 CadrePost.position == cleaned["position"],
                                                 CadrePost.ended_at.is_(None), CadrePost.id != post.id)):
        raise ValidationFailed.single("position", f"{post.person.name}已担任{cleaned['position']}")
    before = post.position
    change = post_owner.rename(session, actor, post, position=cleaned["position"], now=now, changed_on=changed_on,
                               title=cleaned["title"], start_month=f"{changed_on:%Y-%m}")
    audit.record(session, actor, "cadre.change", object_type="cadre_post", object_id=post.id, org_id=org.id,
                 summary=f"团干部职务变更：{post.person.name}，{org.short_name} {before} → {post.position}",
                 before={"position": before}, after={"position": post.position, "date": changed_on.isoformat()},
                 people=[post.person_id])
    return change


def open_posts(session, member) -> list[CadrePost]:
    """The member's posts in their own org that have not ended, oldest first (what a deletion, a transfer or a
    member edit may end)."""
    return list(session.scalars(select(CadrePost).where(CadrePost.org_id == member.org_id,
                                                        CadrePost.person_id == member.person_id,
                                                        CadrePost.ended_at.is_(None)).order_by(CadrePost.id)))


def close_post(session, actor: Actor, post: CadrePost, *, now: datetime, reason: str, ended_on: date | None = None,
               note: str | None = None) -> None:
    """The one way a cadre post ends:卸任 here, and whenever a member stops being a cadre, is deleted or transferred,
    an org is dissolved or merged, or its 书记 changes. Sets the end (``ended_on`` defaults to today) and keeps a
    PostChange (position → none, ``note`` defaulting to ``reason``) by the actor, so the post's 变更记录 always says
    when and why it ended. No authority check and no audit entry: the calling use case does both."""
    post_owner.close(session, actor, post, now=now, reason=reason, ended_on=ended_on, note=note)


def end_post(session, actor: Actor, post: CadrePost, *, ended_on: date, reason: str, now: datetime) -> None:
    org = post.org
    check_may_manage(actor, org)
    if post.ended_at is not None:
        raise Conflict("该职务已卸任")
    if ended_on > local_date(now):
        raise ValidationFailed.single("ended_on", "卸任日期不能晚于今天")
    if is_admin(session, org.id, post.person_id):
        raise Conflict(f"{post.person.name}是{org.short_name}的管理员。管理员必须是本组织团干部，"
                       "请先在“本组织管理员”中设定其他管理员并解除其管理员身份，再办理卸任")
    reason = " ".join((reason or "").split())[:100] or "卸任"
    close_post(session, actor, post, now=now, ended_on=ended_on, reason=reason)
    audit.record(session, actor, "cadre.end", object_type="cadre_post", object_id=post.id, org_id=org.id,
                 summary=f"团干部卸任：{post.person.name}，{org.short_name} {post.position}（{reason}）",
                 before={"position": post.position}, after={"ended_on": ended_on.isoformat()}, people=[post.person_id])


# ---------------------------------------------------------------- import

def preview_cadres(session, actor: Actor, org: Org, *, data: bytes, filename: str, settings: Settings,
                   now: datetime, include_hidden: bool = False) -> ImportBatch:
    check_may_manage(actor, org)
    sheet = read_sheet(data, filename, CADRE_READ_COLUMNS, required=("name", "id_number", "position"),
                       prefer_sheet=CADRE_SHEET, max_rows=settings.import_max_rows, kinds=FILE_KINDS,
                       own_kind="cadres", identity=("name", "id_number"), include_hidden=include_hidden)
    if not sheet.rows:
        raise ValidationFailed.single("file", "表格中没有数据行：请在模板的“团干部”工作表中从第2行起填写")
    report = _validate(session, org, sheet.rows, settings, now, actor.scope_code)
    report.meta = {"unused_columns": sheet.unknown_headers, "layout_notices": Book([sheet]).layout_notices}
    return new_batch(session, actor, org, kind="cadres", data=data, filename=filename, report=report, now=now)


def _validate(session, org: Org, rows, settings: Settings, now: datetime, scope_code: str | None) -> ImportReport:
    numbers = set()
    for r in rows:
        v = r.cells.get("id_number")
        if isinstance(v, str):
            numbers.add(canonical_id_number(v))
    known = {n: name for n, name in session.execute(
        select(Person.id_number, Person.name).where(Person.id_number.in_(numbers)))} if numbers else {}
    reach = ownership.reach_by_id_number(session, scope_code, known)
    existing = {(n, pos) for n, pos in session.execute(
        select(Person.id_number, CadrePost.position).join(CadrePost, CadrePost.person_id == Person.id)
        .where(CadrePost.org_id == org.id, CadrePost.ended_at.is_(None)))}
    return validate_cadre_rows(rows, is_leading=org.org_kind.is_leading, settings=settings, today=local_date(now),
                               known_names=known, existing_posts=existing,
                               foreign={n for n, ok in reach.items() if not ok})


def commit_cadres(session, actor: Actor, batch: ImportBatch, *, mode: str, settings: Settings,
                  now: datetime) -> list[CadrePost]:
    org = session.get(Org, batch.org_id)
    check_may_manage(actor, org)
    check_pending(batch)
    if mode not in ("all", "valid"):
        raise ValidationFailed.single("mode", "请选择导入方式")
    stored = ImportReport.from_json(batch.report)
    # the stored cells are text; an ID that arrived as a number was already an error and stays one
    report = _validate(session, org, [RawRow(r.number, r.cells) for r in stored.rows], settings, now,
                       actor.scope_code)
    for old, new in zip(stored.rows, report.rows, strict=True):
        if old.kind == "error" and new.kind == "ok":
            new.kind, new.errors = "error", old.errors
    if mode == "all" and report.error_rows:
        raise Conflict(f"有 {len(report.error_rows)} 行有错误，按“全部无误才导入”的选择，本次没有导入任何数据")
    report.meta = stored.meta
    posts = [add_cadre(session, actor, org, row.data, now=now)[0] for row in report.ok_rows]
    mark_committed(batch, now=now)
    batch.store_report(report)
    batch.result = {"created": [{"id": p.id, "name": p.person.name, "position": p.position} for p in posts],
                    "skipped": len(report.error_rows), "mode": mode}
    audit.record(session, actor, "import.cadres", object_type="import_batch", object_id=batch.id, org_id=org.id,
                 summary=f"批量录入团干部：{batch.file_name}，新增 {len(posts)} 人次，"
                         f"未导入 {len(report.error_rows)} 行",
                 after={"created": len(posts), "skipped": len(report.error_rows)},
                 people=[p.person_id for p in posts])
    return posts


def positions(org: Org) -> tuple[str, ...]:
    return positions_for(org.org_kind.is_leading)
