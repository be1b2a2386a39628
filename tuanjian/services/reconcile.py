"""对账 with 智慧团建 (issue 28): read the member lists exported from 智慧团建 with the member import's reader and
header rules, load what the subtree holds, compare (domain.reconcile), and keep the result as the organisation's last
comparison. Nothing else is written by a comparison. Acting on the result goes through the existing services: the
智慧团建-format export (services.zhtj), the member import (services.member_imports: preview, rules, exceptions) and
组织关系转接 (services.transfers); an explained difference is kept so the next comparison lists only what is new."""
from __future__ import annotations

import hashlib
from datetime import datetime
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ..domain import policy
from ..domain import reconcile as rules
from ..domain.canonical import canonical_org_name
from ..domain.errors import Conflict, ValidationFailed
from ..domain.member_import import COLUMNS as TEMPLATE_COLUMNS
from ..domain.member_import import READ_COLUMNS
from ..domain.orgtree import OrgKind
from ..domain.people import POSITION_SEPARATOR, mask_id_number
from ..domain.settings import Settings
from ..domain.vocabulary import FILE_KINDS, synonym
from ..models import CadrePost, ImportBatch, Member, Org, Person, ReconcileExplanation, ReconcileFigure, Reconciliation
from ..queries import among, within
from ..spreadsheets.reader import ImportFileError, read_workbook
from ..spreadsheets.writer import HEADER_FILL, set_text
from . import audit
from .actor import Actor
from .imports import gc_paused

MAX_FILES = 50
SHEET_BRANCH_LABEL = "组织全称"        # the 目录 sheet of our own export names each sheet's organisation


def _check(actor: Actor, org: Org, action: str = "reconcile.compare") -> None:
    policy.require(action, actor.scope_code, org.code)


# ---------------------------------------------------------------- reading

def branches_of(session, org: Org) -> list[Org]:
    return list(session.scalars(select(Org).where(within(Org.code, org.code), Org.kind == OrgKind.BRANCH.value,
                                                  Org.dissolved_at.is_(None)).order_by(Org.code)))


def _branch_names(branches: list[Org]) -> dict[str, int | None]:
    """Canonical short and full names -> branch id (None when two branches share the name: not resolved)."""
    names: dict[str, int | None] = {}
    for b in branches:
        for n in {canonical_org_name(b.short_name), canonical_org_name(b.full_name or "")} - {""}:
            names[n] = b.id if names.get(n, b.id) == b.id else None
    return names


def read_files(files: list[tuple[bytes, str]], *, org: Org, branches: list[Org], settings: Settings,
               ) -> tuple[list[rules.There], list[list[str]]]:
    """The rows of every file, each with the branch its 所在团支部 (else its sheet, else its file's name, else the
    compared branch itself) names. A file that cannot be read is refused with its name and the reader's message."""
    if not files:
        raise ValidationFailed.single("file", "请选择从智慧团建导出的团员名单（Excel 文件，可一次选择多个）")
    if len(files) > MAX_FILES:
        raise ValidationFailed.single("file", f"一次最多上传{MAX_FILES}个文件")
    names = _branch_names(branches)
    default = org.id if org.org_kind.holds_members else None
    out: list[rules.There] = []
    problems: list[list[str]] = []
    for data, filename in files:
        try:
            book = read_workbook(data, filename, READ_COLUMNS, required=("name", "id_number"),
                                 max_rows=settings.import_max_rows, kinds=FILE_KINDS, own_kind="members")
        except ImportFileError as exc:
            raise ValidationFailed.single("file", f"文件“{filename}”：{exc}") from None
        stem = canonical_org_name(filename.rsplit(".", 1)[0])
        file_branch = names.get(stem)
        for sheet in book.sheets:
            entry = book.index.get(sheet.name) or {}
            if _cadres_only(sheet, entry):
                problems.append([f"{filename} · {sheet.name}", "本级团干部名单（不属于团支部），不参与团员对账"])
                continue
            sheet_branch = (names.get(canonical_org_name(entry.get(SHEET_BRANCH_LABEL, "")))
                            or names.get(canonical_org_name(sheet.name)))
            fallback = sheet_branch or file_branch or default
            for row in sheet.rows:
                where = f"{filename} · {sheet.name} 第{row.number}行"
                try:
                    number = rules.there_id(row.cells.get("id_number"))
                except ValidationFailed as exc:
                    problems.append([where, exc.message])
                    continue
                if not number:
                    if any(rules.compared("workplace", v) for v in row.cells.values()):
                        problems.append([where, "没有身份证号码，无法核对"])
                    continue
                if synonym("yes_no", row.cells.get("is_member")) == "否":
                    continue                    # our own export: a branch cadre without 团籍, not a member
                typed = rules.compared("branch", row.cells.get("branch"))
                if typed:
                    branch_id, branch = names.get(typed), typed
                else:
                    branch_id = fallback
                    branch = next((b.short_name for b in branches if b.id == fallback), "")
                cells = {k: v for k, v in row.cells.items() if k not in ("name", "id_number")}
                out.append(rules.There(number, str(row.cells.get("name") or ""), branch, branch_id, cells, where))
    return out, problems


def _cadres_only(sheet, entry: dict) -> bool:
    """A sheet of 本级团干部 (of a 团委, 团工委 or 团总支; our own 智慧团建 export writes them), as the member import
    tells them apart: its 目录 entry says another kind than 团支部, or its name says so, and no row names a branch."""
    if any(str(r.cells.get("branch") or "").strip() for r in sheet.rows):
        return False
    kind = entry.get("组织类别", "")
    return bool(entry and kind and kind != OrgKind.BRANCH.label) or sheet.name.endswith("本级团干部")


# ---------------------------------------------------------------- what the subtree holds

def here_entries(session, org: Org) -> list[rules.Here]:
    """Every current member of the subtree, with the posts they hold in their own branch."""
    rows = session.execute(
        select(Person.id, Person.id_number, Person.name, Member.org_id, Org.short_name, Person.join_date,
               Member.dev_number, Person.political_status, Person.ethnicity, Person.phone, Member.education,
               Member.occupation, Member.workplace)
        .join(Member, Member.person_id == Person.id).join(Org, Member.org_id == Org.id)
        .where(within(Org.code, org.code), Member.deleted_at.is_(None))).all()
    posts: dict[tuple[int, int], list[str]] = {}
    for pid, oid, position in session.execute(
            select(CadrePost.person_id, CadrePost.org_id, CadrePost.position).join(Org, CadrePost.org_id == Org.id)
            .where(within(Org.code, org.code), CadrePost.ended_at.is_(None), Org.kind == OrgKind.BRANCH.value)):
        posts.setdefault((pid, oid), []).append(position)
    out = []
    for (pid, number, name, branch_id, branch, join_date, dev, political, ethnicity, phone, education, occupation,
         workplace) in rows:
        values = {"join_date": join_date, "dev_number": dev, "political_status": political, "ethnicity": ethnicity,
                  "phone": phone, "education": education, "occupation": occupation, "workplace": workplace,
                  "position": POSITION_SEPARATOR.join(posts.get((pid, branch_id), []))}
        out.append(rules.Here(number, name, branch_id, branch, values))
    return out


def held_elsewhere(session, org: Org, numbers: list[str]) -> set[str]:
    """Of these ID numbers, those of a current member outside the subtree."""
    out: set[str] = set()
    for cond in among(session, Person.id_number, sorted(set(numbers))):
        out.update(session.scalars(
            select(Person.id_number).join(Member, Member.person_id == Person.id).join(Org, Member.org_id == Org.id)
            .where(cond, Member.deleted_at.is_(None), ~within(Org.code, org.code))))
    return out


def explanations(session, org: Org, numbers: list[str]) -> dict[tuple, str]:
    out: dict[tuple, str] = {}
    for cond in among(session, ReconcileExplanation.id_number, sorted(set(numbers))):
        for e in session.execute(
                select(ReconcileExplanation.id_number, ReconcileExplanation.field, ReconcileExplanation.here_value,
                       ReconcileExplanation.there_value, ReconcileExplanation.note)
                .join(Org, ReconcileExplanation.org_id == Org.id)
                .where(cond, within(Org.code, org.code)).order_by(ReconcileExplanation.id)):
            out[rules.key_of(*e[:4])] = e[4]
    return out


# ---------------------------------------------------------------- compare and keep

def run(session, org: Org, there: list[rules.There], problems: list[list[str]]) -> rules.Comparison:
    """The comparison of ``there`` with the subtree (reads only)."""
    here = here_entries(session, org)
    held = {h.id_number for h in here}
    numbers = [t.id_number for t in there]
    elsewhere = held_elsewhere(session, org, [n for n in numbers if n not in held])
    return rules.compare(here, there, elsewhere=elsewhere,
                         explained=explanations(session, org, [*held, *numbers]), problems=problems)


@gc_paused
def compare(session, actor: Actor, org: Org, files: list[tuple[bytes, str]], *, settings: Settings,
            now: datetime) -> Reconciliation:
    """Read the files, compare, keep the result as ``org``'s last comparison (replacing the previous one)."""
    _check(actor, org)
    there, problems = read_files(files, org=org, branches=branches_of(session, org), settings=settings)
    if not there:
        raise ValidationFailed.single("file", "文件中没有可核对的团员（需要“姓名”“身份证号码”两列及数据行）"
                                      + (f"：{problems[0][0]} {problems[0][1]}" if problems else ""))
    result = run(session, org, there, problems)
    shas = sorted(hashlib.sha256(data).hexdigest() for data, _ in files)
    rec = keep(session, actor, org, result, file_names="、".join(sorted(f for _, f in files)),
               file_sha256=hashlib.sha256("".join(shas).encode()).hexdigest(), now=now)
    t = result.totals
    audit.record(session, actor, "reconcile.compare", object_type="org", object_id=org.id, org_id=org.id,
                 summary=f"与智慧团建对账：{org.short_name}，{len(files)}个文件，相符 {t.matching}/{t.people} 人"
                         f"（{rules.rate_text(t.rate)}），本系统有智慧团建没有 {t.only_here} 人，"
                         f"智慧团建有本系统没有 {t.only_there} 人，信息不一致 {t.differing} 人",
                 after={"files": len(files), **rules.figures_json(t)})
    return rec


def _result_json(result: rules.Comparison) -> dict:
    return {"items": [it.to_json() for it in result.items],
            "branches": [[k, rules.figures_json(f)] for k, f in result.branches.items()],
            "names": [[k, v] for k, v in result.names.items()], "problems": result.problems}


def comparison_of(rec: Reconciliation) -> rules.Comparison:
    """The kept result as the domain's Comparison."""
    r = rec.result
    return rules.Comparison([rules.Item.from_json(d) for d in r["items"]],
                            {k: rules.figures_from(f) for k, f in r["branches"]}, dict(map(tuple, r["names"])),
                            rules.figures_from(rec.totals), r["problems"])


def keep(session, actor: Actor, org: Org, result: rules.Comparison, *, file_names: str, file_sha256: str,
         now: datetime) -> Reconciliation:
    """``result`` as ``org``'s last comparison (the previous one, if any, is overwritten)."""
    rec = session.scalar(select(Reconciliation).where(Reconciliation.org_id == org.id))
    if rec is None:
        rec = Reconciliation(org_id=org.id)
        session.add(rec)
    rec.created_at, rec.created_by_id, rec.file_names, rec.file_sha256 = (now, actor.person_id, file_names[:500],
                                                                           file_sha256)
    rec.totals, rec.result = rules.figures_json(result.totals), _result_json(result)
    try:
        session.flush()
    except IntegrityError:          # another admin's first comparison of the same org, committed meanwhile
        raise Conflict("另一位管理员刚刚完成了本组织的对账，请刷新页面查看，或稍后重新上传") from None
    _store_figures(session, rec, result)
    return rec


def _store_figures(session, rec: Reconciliation, result: rules.Comparison) -> None:
    session.execute(delete(ReconcileFigure).where(ReconcileFigure.reconciliation_id == rec.id))
    session.add_all(ReconcileFigure(reconciliation_id=rec.id, branch_id=k, compared_at=rec.created_at,
                                    people=f.people, matching=f.matching)
                    for k, f in sorted(result.branches.items(), key=lambda kv: kv[0] or 0) if k is not None)


def last(session, org: Org) -> Reconciliation | None:
    return session.scalar(select(Reconciliation).where(Reconciliation.org_id == org.id))


def _item(rec: Reconciliation, result: rules.Comparison, index: int) -> rules.Item:
    if not 0 <= index < len(result.items):
        raise ValidationFailed.single("item", "对账结果中没有这一行，请重新对账后再操作")
    return result.items[index]


# ---------------------------------------------------------------- acting on it

def explain(session, actor: Actor, org: Org, rec: Reconciliation, *, index: int, field: str, note: str,
            now: datetime) -> rules.Item:
    """Mark one difference of the kept result as explained; the result's figures follow."""
    _check(actor, org, "reconcile.explain")
    note = rules.clean_note(note)
    result = comparison_of(rec)
    item = _item(rec, result, index)
    diff = next((f for f in item.fields if f[0] == field), None)
    if diff is None:
        raise ValidationFailed.single("field", "这一行没有该项差异，请重新对账后再操作")
    if diff[3] is not None:
        raise Conflict("这项差异已标记为已说明")
    owner = item.branch_id if item.branch_id is not None else org.id
    session.add(ReconcileExplanation(org_id=owner, id_number=item.id_number, field=field, here_value=diff[1][:200],
                                     there_value=diff[2][:200], note=note, created_by_id=actor.person_id,
                                     created_at=now))
    diff[3] = note
    refigured = rules.refigure(result)
    rec.result, rec.totals = _result_json(refigured), rules.figures_json(refigured.totals)
    _store_figures(session, rec, refigured)
    audit.record(session, actor, "reconcile.explain", object_type="org", object_id=org.id, org_id=owner,
                 summary=f"对账差异已说明：{item.name}（{mask_id_number(item.id_number)}）的"
                         f"{rules.LABELS.get(field, field)}，说明：{note}",
                 after={"person": mask_id_number(item.id_number), "field": field, "here": diff[1], "there": diff[2],
                        "note": note})
    return item


def export_for_zhtj(session, actor: Actor, org: Org, rec: Reconciliation) -> tuple[BytesIO, dict]:
    """The "only here" people and those whose record here differs, in the 智慧团建 import format (full ID numbers,
    as 智慧团建 needs them; audited)."""
    _check(actor, org)
    result = comparison_of(rec)
    wanted = {it.id_number for it in result.items if it.kind == rules.ONLY_HERE and it.new
              or it.kind == rules.BOTH and it.new}
    out, counts = _zhtj(session, org, wanted)
    audit.record(session, actor, "export.reconcile_zhtj", object_type="org", object_id=org.id, org_id=org.id,
                 summary=f"导出对账结果（智慧团建导入格式）：{org.short_name}，本系统有智慧团建没有及信息不一致的 "
                         f"{len(wanted)} 人（含完整身份证号码）", after={"people": len(wanted), **counts})
    return out, counts


def _zhtj(session, org: Org, wanted: set[str]):
    from .zhtj import zhtj_workbook
    return zhtj_workbook(session, org, only=wanted, title="对账结果：需在智慧团建补录或更正的团员（智慧团建导入格式）")


DIFF_HEADERS = ("类别", "团支部", "姓名", "身份证号码", "项目", "本系统", "智慧团建", "已说明", "位置")


def differences_workbook(session, actor: Actor, org: Org, rec: Reconciliation, *, reveal: bool) -> BytesIO:
    """Every item with something new or explained, one line per difference; ID numbers masked unless ``reveal``
    (audited either way)."""
    _check(actor, org)
    result = comparison_of(rec)
    wb = Workbook()
    ws = wb.active
    ws.title = "对账差异"
    for c, h in enumerate(DIFF_HEADERS, start=1):
        cell = ws.cell(row=1, column=c)
        set_text(cell, h)
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
    r = 1
    people = 0
    for it in result.items:
        lines = it.fields or [[None, "", "", None]]
        if it.kind == rules.BOTH and not it.fields:
            continue
        people += 1
        for key, here, there, note in lines:
            r += 1
            label = rules.KIND_LABELS[it.kind] if it.kind != rules.BOTH else (
                "所在团支部不同" if it.moved else "信息不一致")
            values = [label, it.branch, it.name, it.id_number if reveal else mask_id_number(it.id_number),
                      rules.LABELS.get(key, "") if key else "", here, there, note or "",
                      it.where if it.kind != rules.ONLY_HERE else ""]
            if it.kind == rules.ELSEWHERE:
                values[7] = rules.ELSEWHERE_NOTE
            for c, v in enumerate(values, start=1):
                set_text(ws.cell(row=r, column=c), v)
    for col, width in zip("ABCDEFGHI", (22, 20, 10, 22, 12, 18, 18, 30, 36), strict=True):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"
    out = BytesIO()
    wb.save(out)
    out.seek(0)
    audit.record(session, actor, "export.reconcile_full" if reveal else "export.reconcile", object_type="org",
                 object_id=org.id, org_id=org.id,
                 summary=f"导出对账差异（Excel）：{org.short_name}，{people} 人"
                         + ("，含完整身份证号码" if reveal else "，身份证号码已隐去"),
                 after={"people": people, "full_id_numbers": reveal})
    return out


def record_reveal(session, actor: Actor, org: Org, items: list[rules.Item]) -> None:
    audit.record(session, actor, "reconcile.reveal", object_type="org", object_id=org.id, org_id=org.id,
                 summary=f"查看完整身份证号码：{org.short_name} 对账结果中 {len(items)} 人",
                 after={"people": [mask_id_number(it.id_number) for it in items]})


def only_there_workbook(items: list[rules.Item]) -> bytes:
    """The "only there" rows as a member-import workbook (the template's columns, the file's values as read; the
    branch the row's sheet stands for where its 所在团支部 was empty)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "团员"
    columns = list(TEMPLATE_COLUMNS.items())
    for c, (label, _) in enumerate(columns, start=1):
        set_text(ws.cell(row=1, column=c), label)
    for r, it in enumerate(items, start=2):
        cells = dict(it.cells or {}, name=it.name, id_number=it.id_number)
        if not rules.compared("branch", cells.get("branch")):
            cells["branch"] = it.branch if it.branch_id is not None else ""
        for c, (_, key) in enumerate(columns, start=1):
            v = cells.get(key)
            cell = ws.cell(row=r, column=c)
            if isinstance(v, str) or v is None:
                set_text(cell, v)
            else:
                cell.value = v
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def start_import(session, actor: Actor, org: Org, rec: Reconciliation, *, settings: Settings,
                 now: datetime) -> ImportBatch:
    """A member import (the usual preview, rules and 特殊情况录入) of the new "only there" rows."""
    from .member_imports import preview_members
    _check(actor, org)
    items = [it for it in comparison_of(rec).items if it.kind == rules.ONLY_THERE and it.new]
    if not items:
        raise Conflict("没有需要导入的“智慧团建有、本系统没有”的团员")
    batch = preview_members(session, actor, org, data=only_there_workbook(items),
                            filename=f"对账_智慧团建有本系统没有_{org.short_name}.xlsx", settings=settings, now=now)
    audit.record(session, actor, "reconcile.import", object_type="org", object_id=org.id, org_id=org.id,
                 summary=f"对账：把智慧团建有、本系统没有的 {len(items)} 人转入团员导入预览（尚未写入）",
                 after={"batch": batch.id, "rows": len(items)})
    return batch


def start_transfer(session, actor: Actor, org: Org, rec: Reconciliation, *, index: int, now: datetime):
    """组织关系转接 of a person who is in another branch in 智慧团建 (into that branch; the holder decides)."""
    from .transfers import request_transfer
    _check(actor, org)
    result = comparison_of(rec)
    item = _item(rec, result, index)
    if item.kind != rules.BOTH or not item.moved or item.there_branch_id is None:
        raise Conflict("这一行不是“所在团支部不同”的人员，或智慧团建中的团支部不在本组织范围内，不能在此申请转接")
    to_branch = session.get(Org, item.there_branch_id)
    if to_branch is None or to_branch.is_dissolved or not policy.allowed("org.view", actor.scope_code, to_branch.code):
        raise Conflict("智慧团建中的团支部已撤销或不在您的管理范围内，不能申请转接")
    return request_transfer(session, actor, to_branch, id_number=item.id_number, name=item.name,
                            reason=f"与智慧团建对账：智慧团建中在{to_branch.short_name}", now=now)
