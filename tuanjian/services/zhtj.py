"""Export to 智慧团建: the members and cadres of a subtree in the column layout of its member import template
(DOMAIN.md 3.1, 4.1), one sheet per 团支部 (and one per other organisation that has 本级团干部), IDs, phones and
months as text cells. The national template's exact column order is not public (DOMAIN.md 8): the columns follow
3.1 and carry its header names, which 智慧团建 matches by text."""
from __future__ import annotations

import re
from collections import defaultdict
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from ..domain.orgtree import OrgKind
from ..models import CadrePost, ExceptionRequest, Member, Org, Person
from ..queries import among, within
from ..spreadsheets.writer import HEADER_FILL, set_text

# header -> where the value comes from: ("person"|"member"|"post", attribute), the branch, the cadre flag, or
# "blank": a column of the national template that tuanjian does not record (left empty for the county to fill)
COLUMNS = [
    ("姓名", "person", "name"),
    ("身份证号码", "person", "id_number"),
    ("民族", "person", "ethnicity"),
    ("政治面貌", "person", "political_status"),
    ("入团年月", "person", "join_date"),
    ("所在团支部", "branch", None),
    ("是否为团干部", "is_cadre", None),
    ("手机号码", "person", "phone"),
    ("文化程度", "member", "education"),
    ("发展团员编号", "member", "dev_number"),
    ("职业", "member", "occupation"),
    ("学习工作单位", "member", "workplace"),
    ("电子邮箱", "blank", None),
    ("QQ", "blank", None),
    ("微信号", "blank", None),
    ("微博号", "blank", None),
    ("入党年月", "blank", None),
    ("注册志愿者时间", "blank", None),
    ("是否递交入党申请书", "blank", None),
    ("递交入党申请书时间", "blank", None),
    ("收入档次", "blank", None),
    ("团内现任职务", "post", "position"),
    ("任现职年月", "post", "start_month"),
    ("团干部性质", "post", "nature"),
    ("是否同级党委（支部）成员", "post", "party_committee"),
    # not in the national template: 否 marks a branch cadre without 团籍 (群众, or a Party member past 28), so that
    # importing this file back recreates the post without making them a member (issue 15)
    ("是否为团员", "is_member", None),
    ("备注", "remark", None),          # 特殊情况录入 (issue 18): which rule was excepted, why, approved by whom
]
HEADERS = [c[0] for c in COLUMNS]
TEXT_HEADERS = {"身份证号码", "入团年月", "手机号码", "发展团员编号", "入党年月", "任现职年月", "递交入党申请书时间",
                "QQ"}
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _value(obj, attr: str):
    if obj is None:
        return None
    v = getattr(obj, attr)
    if isinstance(v, bool):
        return "是" if v else "否"
    if v is not None and not isinstance(v, str):
        v = v.isoformat() if hasattr(v, "isoformat") else str(v)
    return v


def exception_remark(req) -> str | None:
    """The remark of an excepted member: the rules, the reason, the vouching org, who approved and when."""
    if req is None:
        return None
    from ..clock import to_local
    return (f"特殊情况录入（{req.rule_labels}）：{req.reason}；出具说明：{req.voucher}；"
            f"{req.approver_org.short_name}{req.decided_by.name if req.decided_by else ''}"
            f"于{to_local(req.decided_at):%Y-%m-%d}批准" if req.decided_at else "批准")


def _row(person: Person, member: Member | None, posts: list[CadrePost], branch_name: str,
         remark: str | None = None) -> list:
    post = posts[0] if posts else None
    out = []
    for header, source, attr in COLUMNS:
        if source == "blank":
            out.append(None)
        elif source == "branch":
            out.append(branch_name)
        elif source == "remark":
            out.append(remark)
        elif source == "is_cadre":
            out.append("是" if posts else "否")
        elif source == "is_member":
            out.append("是" if member is not None else "否")
        elif source == "post":
            if header == "团内现任职务":
                out.append("、".join((p.title or p.position) if p.position == "其他" else p.position for p in posts)
                           or None)
            else:
                out.append(_value(post, attr))
        else:
            out.append(_value(person if source == "person" else member, attr))
    return out


def sheet_name(name: str, used: set[str]) -> str:
    base = _SHEET_BAD.sub("_", name).strip("'") or "组织"
    base = base[:28]
    title, n = base, 1
    while title.lower() in used:
        n += 1
        title = f"{base[:31 - len(str(n)) - 2]}({n})"
    used.add(title.lower())
    return title


def zhtj_workbook(session, scope: Org, *, only: set[str] | None = None,
                  title: str = "团员团干部（智慧团建导入格式）") -> tuple[BytesIO, dict]:
    """The workbook and counts {branches, members, cadres, sheets}. ``only``: the ID numbers to write (对账's rows to
    correct in 智慧团建); the sheets of organisations with none of them are left out."""
    orgs = list(session.scalars(select(Org).where(within(Org.code, scope.code), Org.dissolved_at.is_(None))
                                .order_by(Org.code)))
    by_id = {o.id: o for o in orgs}
    members: dict[int, list] = defaultdict(list)
    for m, p in session.execute(select(Member, Person).join(Person, Member.person_id == Person.id)
                                .join(Org, Member.org_id == Org.id)
                                .where(within(Org.code, scope.code), Member.deleted_at.is_(None))
                                .order_by(Person.name, Person.id_number)):
        if only is None or p.id_number in only:
            members[m.org_id].append((m, p))
    exception_ids = sorted({m.exception_id for rows in members.values() for m, _ in rows if m.exception_id})
    remarks: dict[int, str | None] = {}
    for cond in among(session, ExceptionRequest.id, exception_ids):
        remarks.update((req.id, exception_remark(req)) for req in session.scalars(select(ExceptionRequest).where(cond)))
    posts: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    post_people: dict[int, Person] = {}
    for post, p in session.execute(select(CadrePost, Person).join(Person, CadrePost.person_id == Person.id)
                                   .join(Org, CadrePost.org_id == Org.id)
                                   .where(within(Org.code, scope.code), CadrePost.ended_at.is_(None))
                                   .order_by(CadrePost.id)):
        if only is not None and p.id_number not in only:
            continue
        posts[post.org_id][p.id].append(post)
        post_people[p.id] = p
    wb = Workbook()
    index = wb.active
    index.title = "目录"
    set_text(index.cell(row=1, column=1), f"{scope.display_name} {title}")
    index.cell(row=1, column=1).font = Font(bold=True, size=13)
    set_text(index.cell(row=2, column=1),
             "每个团支部一张工作表（团员及本支部团干部）；团委、团工委、团总支等的本级团干部各一张表。"
             "身份证号码、手机号码、入团年月等为文本格式，复制到智慧团建模板时请用“选择性粘贴 → 数值”。")
    heads = ["工作表", "组织代码", "组织全称", "组织类别", "上级组织", "团员人数", "团干部人数"]
    for c, h in enumerate(heads, start=1):
        set_text(index.cell(row=4, column=c), h)
        index.cell(row=4, column=c).font = Font(bold=True)
        index.cell(row=4, column=c).fill = HEADER_FILL
    used = {"目录"}
    r = 4
    counts = {"sheets": 0, "members": 0, "cadres": 0, "branches": 0}
    for org in orgs:
        is_branch = org.kind == OrgKind.BRANCH.value
        org_posts = posts.get(org.id, {})
        if (not is_branch or only is not None) and not org_posts and not members.get(org.id):
            continue
        rows = []
        if is_branch:
            counts["branches"] += 1
            seen = set()
            for m, p in members.get(org.id, []):
                rows.append(_row(p, m, org_posts.get(p.id, []), org.short_name, remarks.get(m.exception_id)))
                seen.add(p.id)
            for pid, plist in org_posts.items():
                if pid not in seen:
                    rows.append(_row(post_people[pid], None, plist, org.short_name))
        else:
            for pid, plist in org_posts.items():
                rows.append(_row(post_people[pid], None, plist, ""))
        title = sheet_name(org.short_name if is_branch else f"{org.short_name}本级团干部", used)
        ws = wb.create_sheet(title)
        for c, h in enumerate(HEADERS, start=1):
            cell = ws.cell(row=1, column=c)
            set_text(cell, h)
            cell.font = Font(bold=True)
            cell.fill = HEADER_FILL
            ws.column_dimensions[get_column_letter(c)].width = (
                22 if h in ("身份证号码", "学习工作单位", "所在团支部") else 50 if h == "备注" else 12)
        for i, values in enumerate(rows, start=2):
            for c, v in enumerate(values, start=1):
                cell = ws.cell(row=i, column=c)
                set_text(cell, v)
                if HEADERS[c - 1] in TEXT_HEADERS:
                    cell.number_format = "@"
        ws.freeze_panes = "A2"
        n_members = len(members.get(org.id, [])) if is_branch else 0
        counts["members"] += n_members
        counts["cadres"] += len(org_posts)
        counts["sheets"] += 1
        r += 1
        parent = by_id.get(org.parent_id)
        for c, v in enumerate([title, org.code, org.display_name, org.kind_label,
                               parent.short_name if parent else "", n_members, len(org_posts)], start=1):
            set_text(index.cell(row=r, column=c), v)
    for col, width in zip("ABCDEFG", (28, 26, 40, 12, 20, 10, 10), strict=True):
        index.column_dimensions[col].width = width
    out = BytesIO()
    wb.save(out)
    out.seek(0)
    return out, counts
