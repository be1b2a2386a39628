"""团员团干部 import: preview (validate + classify every row) and commit (one transaction, upsert by ID)."""
from __future__ import annotations

from datetime import date, datetime
from itertools import islice
from operator import itemgetter

from sqlalchemy import select

from ..clock import local_date, local_today
from ..dbsetup import meanwhile
from ..domain import policy
from ..domain.canonical import canonical_dev_number, canonical_id_number, canonical_org_name
from ..domain.errors import Conflict, ValidationFailed
from ..domain.imports import ERROR, NEW, OK_ROWS_SHOWN, UPDATE, ImportReport
from ..domain.member_import import (
    EVIDENCE_KEYS,
    READ_COLUMNS,
    Existing,
    blank_clear_summary,
    cells_from_data,
    classify,
    validate_rows,
)
from ..domain.members import POST_FIELDS
from ..domain.orgtree import OrgKind, is_within
from ..domain.people import POSITION_SEPARATOR, split_positions
from ..domain.settings import Settings
from ..domain.vocabulary import FILE_KINDS
from ..models import CadrePost, ImportBatch, Member, Org, Person
from ..parallel import in_two
from ..queries import among, place_codes, within
from ..spreadsheets.reader import read_workbook
from . import audit, stats
from .actor import Actor
from .imports import check_pending, gc_paused, mark_committed, new_batch
from .members import add_member, check_may_edit, holder_description, update_member
from .owners import accounts as accounts_owner
from .owners import memberships
from .owners import people as people_owner
from .owners import posts as post_owner

MEMBER_SHEET = "团员"
def branches_in(session, org: Org) -> list[Org]:
    return list(session.scalars(select(Org).where(within(Org.code, org.code), Org.kind == OrgKind.BRANCH.value,
                                                  Org.dissolved_at.is_(None)).order_by(Org.code)))


def _context(session, org: Org, rows, scope_code: str | None, *,
             canonical: tuple[set[str], set[str]] | None = None) -> dict:
    """What the rows' checks need from the database. ``canonical``: the ID numbers and 发展团员编号 to look up,
    already in their stored form (the commit's rows were cleaned at preview), instead of taking them from
    ``rows``' raw cells."""
    numbers, devs = canonical if canonical is not None else _raw_numbers(rows)
    branches: dict[str, list[int]] = {}
    for b in branches_in(session, org):
        branches.setdefault(b.short_name, []).append(b.id)
    existing: dict[str, Existing] = {}
    if numbers:
        found = []
        for cond in among(session, Person.id_number, list(numbers)):
            found += session.execute(select(Person, Member).outerjoin(Member, Member.person_id == Person.id)
                                     .where(cond)).all()
        positions = {}
        for cond in among(session, CadrePost.person_id, [p.id for p, _ in found]):
            for pid, oid, *post in session.execute(select(
                    CadrePost.person_id, CadrePost.org_id, CadrePost.position, CadrePost.start_month, CadrePost.nature,
                    CadrePost.party_committee).where(cond, CadrePost.ended_at.is_(None)).order_by(CadrePost.id)):
                # several posts in one branch compare as the 团内现任职务 cell writes them: "副书记、组织委员"
                if (pid, oid) in positions:
                    first = positions[(pid, oid)]
                    positions[(pid, oid)] = (POSITION_SEPARATOR.join((first[0], post[0])), *first[1:])
                else:
                    positions[(pid, oid)] = tuple(post)
        places = place_codes(session, [p.id for p, _ in found])
        posts_of: dict[int, dict[int, str]] = {}
        for (pid, oid), post in positions.items():
            posts_of.setdefault(pid, {})[oid] = post[0]
        for person, member in found:
            live = member is not None and member.deleted_at is None
            values = {"branch_posts": posts_of.get(person.id, {})}
            if live:
                values = {"ethnicity": person.ethnicity, "political_status": person.political_status,
                          "join_date": person.join_date, "phone": person.phone, "dev_number": member.dev_number,
                          "education": member.education, "occupation": member.occupation,
                          "workplace": member.workplace,
                          **dict(zip(("position", *POST_FIELDS), positions.get((person.id, member.org_id),
                                                                               (None,) * 4), strict=True)),
                          "branch_id": member.org_id, "has_application": member.has_application,
                          "has_card": member.has_card, "card_year": member.card_year, "has_letter": member.has_letter}
            existing[person.id_number] = Existing(
                name=person.name, member_id=member.id if live else None, branch_id=member.org_id if live else None,
                in_scope=live and is_within(member.org.code, org.code),
                holder=holder_description(member.org) if live else "", values=values,
                owned=policy.in_reach(scope_code, places.get(person.id, [])),
                excepted=member.exception.rule_codes if live and member.exception_id else ())
    dev_numbers = {}
    for cond in among(session, Member.dev_number, list(devs)):
        dev_numbers.update({d: n for d, n in session.execute(
            select(Member.dev_number, Person.id_number).join(Person, Member.person_id == Person.id)
            .where(cond, Member.deleted_at.is_(None)))})
    return {"branches": branches, "default_branch": org.id if org.org_kind.holds_members else None,
            "existing": existing, "dev_numbers": dev_numbers}


def _raw_numbers(rows) -> tuple[set[str], set[str]]:
    numbers, devs = set(), set()
    for r in rows:
        for key, bucket, canonical in (("id_number", numbers, canonical_id_number),
                                       ("dev_number", devs, canonical_dev_number)):
            v = r.cells.get(key)
            if isinstance(v, float) and v.is_integer():
                v = str(int(v))
            if isinstance(v, str) and v.strip():
                bucket.add(canonical(v))
    return numbers, devs


def _validate(session, org: Org, rows, settings: Settings, now: datetime, scope_code: str | None,
              sheet_branches: dict[str, str] | None = None, *,
              canonical: tuple[set[str], set[str]] | None = None) -> ImportReport:
    """``canonical``: the rows' ID numbers and 发展团员编号 as _raw_numbers gives them, when already known. A large
    file's rows are checked in two halves at the same time (parallel.in_two)."""
    return validate_rows(rows, settings=settings, today=local_date(now), sheet_branches=sheet_branches,
                         split=in_two, **_context(session, org, rows, scope_code, canonical=canonical))


class _NumbersBySheet:
    """_raw_numbers of each sheet's rows, taken chunk by chunk while the reading process sends them (read_workbook's
    on_chunk): the work overlaps the reading of the rest of the sheet."""

    def __init__(self):
        self.sheets: dict[str, tuple[set[str], set[str], list[int]]] = {}

    def __call__(self, sheet_name: str, rows) -> None:
        numbers, devs, seen = self.sheets.setdefault(sheet_name, (set(), set(), [0]))
        more_numbers, more_devs = _raw_numbers(rows)
        numbers |= more_numbers
        devs |= more_devs
        seen[0] += len(rows)

    def of(self, sheets) -> tuple[set[str], set[str]]:
        """The numbers of ``sheets`` (the book's sheets read): a sheet not taken chunk by chunk, in full, is
        taken now."""
        numbers, devs = set(), set()
        for sheet in sheets:
            got = self.sheets.get(sheet.name)
            sheet_numbers, sheet_devs = (got[:2] if got is not None and got[2][0] == len(sheet.rows)
                                         else _raw_numbers(sheet.rows))
            numbers |= sheet_numbers
            devs |= sheet_devs
        return numbers, devs


def _sheet_roles(session, org: Org, book) -> tuple[list, dict[str, str], list[list[str]]]:
    """Which sheets hold members, the branch each sheet stands for (for rows whose 所在团支部 is empty) and the
    sheets left out with the reason. Our own 智慧团建 export has a 目录 listing every sheet's organisation:
    the 本级团干部 of a 团委, 团工委 or 团总支 are not members of a branch and are imported on that organisation's
    团干部 page, so their sheets are left out (and said so)."""
    short = {canonical_org_name(b.short_name): b.short_name for b in branches_in(session, org)}
    full = {canonical_org_name(b.full_name): b.short_name for b in branches_in(session, org) if b.full_name}
    rows, sheet_branches, skipped = [], {}, []
    several = len(book.sheets) > 1
    for sheet in book.sheets:
        entry = book.index.get(sheet.name)
        kind = (entry or {}).get("组织类别", "")
        no_branch = all(not str(r.cells.get("branch") or "").strip() for r in sheet.rows)
        if (entry and kind and kind != OrgKind.BRANCH.label and no_branch) or (
                not entry and several and sheet.name.endswith("本级团干部") and no_branch):
            skipped.append([sheet.name,
                            f"这是{(entry or {}).get('组织全称') or sheet.name}的本级团干部名单（不属于团支部），"
                                        "请在该组织的“团干部”页面录入"])
            continue
        rows += sheet.rows
        for candidate in ((entry or {}).get("组织全称"), sheet.name):
            name = canonical_org_name(candidate)
            if name in short or name in full:
                sheet_branches[sheet.name] = short.get(name) or full[name]
                break
    return rows, sheet_branches, skipped


def _checked_only(rows) -> list[str]:
    """The columns read only to be compared with the ID number (性别, 出生年月), said once."""
    present = [label for key, label in (("gender", "性别"), ("birth", "出生年月"))
               if any(key in r.cells for r in rows)]
    if not present:
        return []
    return ["、".join(present) + "列只用来与身份证号核对，不单独保存（性别和出生日期以身份证号为准）"]


def _check_org(actor: Actor, org: Org) -> None:
    if actor.scope_code is None or not is_within(org.code, actor.scope_code):
        raise ValidationFailed.single("org_id", "不在您的管理范围内")
    if org.org_kind.holds_members:
        check_may_edit(actor, org)


@gc_paused
def preview_members(session, actor: Actor, org: Org, *, data: bytes, filename: str, settings: Settings,
                    now: datetime, include_hidden: bool = False) -> ImportBatch:
    _check_org(actor, org)
    if not org.org_kind.holds_members and not branches_in(session, org):
        raise ValidationFailed.single("file", f"“{org.short_name}”下还没有团支部：团员只能编入团支部，请先建立团支部")
    numbers = _NumbersBySheet()
    book = read_workbook(data, filename, READ_COLUMNS, required=("name", "id_number"), prefer_sheet=MEMBER_SHEET,
                         max_rows=settings.import_max_rows, kinds=FILE_KINDS, own_kind="members",
                         identity=("name", "id_number"), include_hidden=include_hidden, on_chunk=numbers)
    rows, sheet_branches, skipped = _sheet_roles(session, org, book)
    if not rows:
        if skipped:
            raise ValidationFailed.single("file", "；".join(f"工作表“{n}”：{why}" for n, why in skipped))
        raise ValidationFailed.single("file", "表格中没有数据行：请在模板的“团员”工作表中从第2行起填写")
    skipped_names = {name for name, _ in skipped}
    report = _validate(session, org, rows, settings, now, actor.scope_code, sheet_branches,
                       canonical=numbers.of(s for s in book.sheets if s.name not in skipped_names))
    report.meta |= {"unused_columns": book.unknown_headers, "sheets": [s.name for s in book.sheets],
                    "layout_notices": book.layout_notices + _checked_only(rows),
                    "skipped_sheets": skipped + [[n, "没有找到表头（姓名、身份证号码等）"] for n in book.skipped]}
    # commit works from each row's cleaned data: the uploaded cells are kept only where a page or the error
    # workbook shows them (error rows and the preview's sample), which halves what is stored and read back
    return new_batch(session, actor, org, kind="members", data=data, filename=filename, report=report, now=now,
                     keep_ok_cells=OK_ROWS_SHOWN)


@gc_paused
def commit_members(session, actor: Actor, batch: ImportBatch, *, mode: str, settings: Settings,
                   now: datetime, clear_blanks: bool = False) -> list[str]:
    """Re-validate against the current database, then write all new and changed rows in this transaction.
    ``clear_blanks``: the file's empty cells clear what is recorded (the preview's “用表中空白清除已有内容”);
    without it they keep it."""
    org = session.get(Org, batch.org_id)
    _check_org(actor, org)
    check_pending(batch)
    if mode not in ("all", "valid"):
        raise ValidationFailed.single("mode", "请选择导入方式")
    # The file's own rules were checked at upload and cannot change; what may have changed since is the
    # database (another admin imported the same people, a branch was dissolved): classify again against it.
    report = ImportReport.from_json(batch.report)
    as_previewed = [(r.kind, r.note, r.errors) for r in report.rows]
    previewed_data = {(r.sheet, r.number): r.data for r in report.ok_rows}
    live_branches = {b.id for b in branches_in(session, org)}
    for row in report.ok_rows:
        row.kind, row.errors = "ok", {}
        if row.data["branch_id"] not in live_branches:
            row.fail("branch", "该团支部已撤销或已移出您的管理范围")
            row.data = {}
    ok_data = [r.data for r in report.ok_rows if r.data]      # rows the branch check failed have no data now
    ctx = _context(session, org, (), actor.scope_code, canonical=(
        {d["id_number"] for d in ok_data}, {d["dev_number"] for d in ok_data if d.get("dev_number")}))
    report = classify(report, existing=ctx["existing"], dev_numbers=ctx["dev_numbers"], clear_blanks=clear_blanks)
    if mode == "all" and report.error_rows:
        raise Conflict(f"有 {len(report.error_rows)} 行有错误，按“全部无误才导入”的选择，本次没有导入任何数据")
    written, touched = [], []        # touched: people already known here (their other places see the entry)
    branches = {b.id: b for b in branches_in(session, org)}
    brand_new = [r for r in report.ok_rows if r.kind == NEW and r.data["id_number"] not in ctx["existing"]]
    bulk = _bulk_insert(session, actor, brand_new, now, settings)
    for row in report.ok_rows:
        data = row.data
        branch = branches[data["branch_id"]]
        if row.kind == NEW and data["id_number"] in bulk:
            written.append(data["id_number"])
            continue
        if row.kind == NEW:                      # a person already known (e.g. a deleted record): the full path
            member, _ = add_member(session, actor, branch, data, now=now)
        elif row.kind == UPDATE:
            member = session.scalar(select(Member).join(Person, Member.person_id == Person.id)
                                    .where(Person.id_number == data["id_number"]))
            if member.org_id != branch.id:
                memberships.move(session, actor, member, branch, now=now)
            update_member(session, actor, member, data, now=now)
        else:
            continue
        written.append(data["id_number"])
        touched.append(member.person_id)
    mark_committed(batch, now=now)
    names = {b.id: b.short_name for b in branches.values()}
    if [(r.kind, r.note, r.errors) for r in report.rows] != as_previewed or clear_blanks:
        # rewrite the (large) report only when the database changed it; rows it turned into errors (and rows now
        # in the page's sample) get back the cells they were stored without, from the data as previewed
        sample = {id(r) for r in report.ok_rows[:OK_ROWS_SHOWN]}
        all_names = {b.id: b.short_name for b in session.scalars(select(Org).where(
            Org.id.in_({d["branch_id"] for d in previewed_data.values()})))}
        for r in report.rows:
            if not r.cells and (r.sheet, r.number) in previewed_data and (r.kind == ERROR or id(r) in sample):
                data = previewed_data[(r.sheet, r.number)]
                r.cells = cells_from_data(data, all_names.get(data["branch_id"], ""))
        batch.store_report(report, keep_ok_cells=OK_ROWS_SHOWN)
    t = report.totals()
    batch.result = {"created": [{"name": r.data["name"], "branch": names[r.data["branch_id"]],
                                 "change": "新增" if r.kind == NEW else "更新"}
                                for r in islice((r for r in report.rows if r.kind in (NEW, UPDATE)), 2000)],
                    "skipped": t["error"], "unchanged": t["unchanged"], "mode": mode,
                    "cleared": blank_clear_summary(report.meta) if clear_blanks else []}
    cleared = "、".join(f"{label} {n} 人" for label, n in batch.result["cleared"])
    audit.record(session, actor, "import.members", object_type="import_batch", object_id=batch.id, org_id=org.id,
                 summary=f"导入团员：{batch.file_name}，新增 {t['new']} 人，更新 {t['update']} 人，未变 "
                         f"{t['unchanged']} 人，"
                         f"有错误未导入 {t['error']} 行" + (f"，按表中空白清除了：{cleared}" if cleared else ""),
                 after=t, people=touched)
    return written


def _columns(datas: list[dict], keys: tuple[str, ...], *, get: bool = False) -> dict[str, list]:
    """The ``keys`` of rows' data, column by column ({key: [value of each row]}); ``get``: a key a row lacks is
    None."""
    if not datas:
        return {key: [] for key in keys}
    if get:
        return {key: [d.get(key) for d in datas] for key in keys}
    return dict(zip(keys, map(list, zip(*map(itemgetter(*keys), datas))), strict=True))


def _bulk_insert(session, actor: Actor, rows, now: datetime, settings: Settings) -> dict[str, int]:
    """People never seen before: one executemany per table (person, member, cadre post, account).
    Branch ids come from branches_in(), so the members-only-in-branches rule holds by construction."""
    if not rows:
        return {}
    datas = [r.data for r in rows]
    # column by column (dbsetup.insert_many takes them so): no row dicts are built for 50,000 rows
    people = _columns(datas, ("id_number", "name", "gender", "ethnicity", "political_status", "join_date", "phone"))
    people["birth_date"] = list(map(date.fromisoformat, map(itemgetter("birth_date"), datas)))
    # set at a time through the owners: a bulk insert without RETURNING (which is slow on both databases), then a
    # look-up of the new ids
    id_of = people_owner.insert_many(session, actor, people, now=now)
    person_ids = list(map(id_of.__getitem__, people["id_number"]))
    # a branch cadre without 团籍 gets the post only
    entered = [(pid, d) for pid, d in zip(person_ids, datas, strict=True) if d.get("is_member") is not False]
    members = _columns([d for _, d in entered], ("dev_number", "education", "occupation", "workplace"))
    members |= _columns([d for _, d in entered], EVIDENCE_KEYS, get=True)
    members["person_id"] = [pid for pid, _ in entered]
    members["org_id"] = [d["branch_id"] for _, d in entered]
    # the server's checks of these rows (their foreign keys) take it longer than this process takes to send them:
    # the branches' new figures are counted meanwhile (on PostgreSQL; dbsetup.meanwhile)
    by_branch: dict[int, list[dict]] = {}
    for d in datas:
        by_branch.setdefault(d["branch_id"], []).append(d)
    plain = {branch_id: added for branch_id, added in by_branch.items()
             if not any(d["is_cadre"] or d.get("is_member") is False for d in added)}
    with meanwhile(session, lambda: memberships.insert_many(
            session, actor, members, now=now, join_dates=dict(zip(person_ids, people["join_date"], strict=True)))):
        today = local_today()
        counts = {branch_id: stats.new_member_counts(added, settings=settings, today=today)
                  for branch_id, added in plain.items()}
    cadres = [(pid, r) for pid, r in zip(person_ids, rows, strict=True) if r.data["is_cadre"]]
    if cadres:
        post_owner.insert_many(session, actor, [{"person_id": pid, "org_id": r.data["branch_id"],
                                                 "position": position, **{k: r.data.get(k) for k in POST_FIELDS}}
                                                for pid, r in cadres
                                                for position in split_positions(r.data["position"])], now=now)
        accounts_owner.open_accounts(session, [pid for pid, _ in cadres], now=now)
    # the ORM did not see these writes: branches that got cadres are recomputed at commit; the others get the
    # new members' counts added (a 50,000-row file need not be re-read member by member)
    for branch_id, added in by_branch.items():
        if branch_id in plain:
            stats.add_new_members(session, branch_id, added, settings=settings, now=now, counts=counts[branch_id])
        else:
            stats.touch(session, org_ids=[branch_id])
    return {r.data["id_number"]: pid for pid, r in zip(person_ids, rows, strict=True)}
