"""批量创建下级组织 from a workbook (DOMAIN.md 1.6).

Each row: 组织简称 + 组织类别, and optionally 上级组织: blank for the importing org itself, or the short
name of a row above it in the same file, or of an existing organisation below the importing org. So a
school 团委 can build its 团总支 and their 团支部 in one file (the 2013 notice: a 基层团委 codes the
branches under its 团总支)."""
from __future__ import annotations

from dataclasses import dataclass

from .canonical import canonical_org_name
from .errors import ValidationFailed
from .imports import ImportReport, RowOutcome, cell_text
from .orgtree import OrgKind, check_placement, name_hints, validate_short_name
from .vocabulary import ORG_HEADERS, all_labels, blank_placeholders, first_labels

COLUMNS = first_labels(ORG_HEADERS)              # {label our template writes: key}
READ_COLUMNS = all_labels(ORG_HEADERS)           # every label accepted
YES = ("是", "Y", "y", "yes", "1", "TRUE", "True", "true")
HERE = ""        # parent reference meaning "the importing organisation"


@dataclass(frozen=True)
class ExistingOrg:
    key: str             # "org:<id>" (or HERE for the importing org)
    kind: OrgKind
    child_names: frozenset[str]


def validate_rows(rows, *, here: ExistingOrg, below: dict[str, list[ExistingOrg]], placement) -> ImportReport:
    """``here``: the importing org. ``below``: live orgs under it by short name (a name may repeat).
    Rows are checked in file order; every problem of every row is reported at once."""
    # names compare in their canonical form (（）/() and full-/half-width unified), whatever the caller holds
    below = {canonical_org_name(k): v for k, v in below.items()}
    outcomes: list[RowOutcome] = []
    in_file: dict[str, tuple[int, OrgKind | None]] = {}       # short name -> (row, kind) for rows seen so far
    siblings_in_file: dict[tuple[str, str], int] = {}          # (parent key, name) -> first row
    for raw in rows:
        out = RowOutcome(number=raw.number, cells={k: cell_text(v) for k, v in raw.cells.items()})
        cells = {k: cell_text(v) for k, v in blank_placeholders(raw.cells).items()}   # "无", "/": nothing
        name = kind = None
        try:
            name = validate_short_name(cells.get("short_name", ""))
        except ValidationFailed as exc:
            out.fail("short_name", exc.field_errors["short_name"][0])
        if not cells.get("kind"):
            out.fail("kind", "请选择组织类别")
        else:
            try:
                kind = OrgKind.from_label(cells["kind"])
            except ValidationFailed as exc:
                out.fail("kind", exc.message)
        # resolve the parent
        ref = canonical_org_name(cells.get("parent", ""))
        parent_key, parent_kind, existing_children = _resolve_parent(ref, out, raw, rows, here, below, in_file)
        if kind is not None and parent_kind is not None:
            try:
                check_placement(parent_kind, kind, placement)
            except ValidationFailed as exc:
                out.fail("kind", exc.message)
        if name:
            if name in {canonical_org_name(c) for c in existing_children}:
                out.fail("short_name", f"上级组织下已有“{name}”（如是重复上传，无需再次导入）")
            elif (parent_key, name) in siblings_in_file:
                out.fail("short_name", f"与第{siblings_in_file[(parent_key, name)]}行重名")
            elif name in in_file and ref == "" and parent_key == here.key:
                out.fail("short_name", f"与第{in_file[name][0]}行重名")
            else:
                siblings_in_file[(parent_key, name)] = raw.number
        if name and name not in in_file:
            in_file[name] = (raw.number, kind if out.kind == "ok" else None)
        if out.kind == "ok":
            out.data = {"short_name": name, "kind": kind.value, "parent": parent_key,
                        "is_township": cells.get("is_township", "") in YES and kind.may_be_township}
            out.note = "；".join(name_hints(name, kind))
        outcomes.append(out)
    # a row whose parent row failed cannot be created either
    ok_rows = {f"row:{o.number}" for o in outcomes if o.kind == "ok"}
    for o in outcomes:
        if o.kind == "ok" and o.data["parent"].startswith("row:") and o.data["parent"] not in ok_rows:
            o.fail("parent", "上级组织所在行有错误，本行无法创建")
            o.data = {}
    return ImportReport(outcomes)


def _resolve_parent(ref, out, raw, rows, here, below, in_file):
    """Find the parent named ``ref`` (canonical); record problems on ``out``.
    Returns (parent key, parent kind, existing child names)."""
    parent_key, parent_kind, existing_children = here.key, here.kind, here.child_names
    if ref:
        failed_row = ref in in_file and in_file[ref][1] is None
        if failed_row and len(below.get(ref, ())) == 1:
            # the row above failed (typically: it already exists, a re-upload): hang this row on the existing org
            match = below[ref][0]
            parent_key, parent_kind, existing_children = match.key, match.kind, match.child_names
        elif ref in in_file:
            row_no, parent_kind = in_file[ref]
            parent_key, existing_children = f"row:{row_no}", frozenset()
            if parent_kind is None:
                out.fail("parent", f"上级组织“{ref}”（第{row_no}行）本身有错误")
        elif ref in below:
            matches = below[ref]
            if len(matches) > 1:
                out.fail("parent", f"有{len(matches)}个组织都叫“{ref}”，无法确定上级组织，请改用不重名的组织")
            else:
                parent_key, parent_kind, existing_children = matches[0].key, matches[0].kind, matches[0].child_names
        elif any(cells_ref == ref for cells_ref in _later_names(rows, raw.number)):
            out.fail("parent", f"上级组织“{ref}”须写在本行之前")
        else:
            out.fail("parent", f"找不到上级组织“{ref}”：须为本表中前面的行，或本组织下已有的组织；直属本组织的请留空")
    return parent_key, parent_kind, existing_children


def _later_names(rows, after: int):
    for raw in rows:
        if raw.number > after:
            yield canonical_org_name(cell_text(raw.cells.get("short_name")))
