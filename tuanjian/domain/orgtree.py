"""Organisation types, the placement matrix and hierarchical codes (DOMAIN.md 1.1-1.3)."""
from __future__ import annotations

import enum
import re
from collections.abc import Iterable

from .canonical import canonical_org_name
from .errors import Conflict, ValidationFailed

CODE_SEGMENT_WIDTH = 3
MAX_CODE_LEVELS = 10
_CODE_RE = re.compile(r"^\d{3}(\.\d{3})*$")


class OrgKind(enum.StrEnum):
    LEADING = "leading"            # 团的领导机关
    COMMITTEE = "committee"        # 基层团委
    WORKING = "working"            # 团工委
    GENERAL_BRANCH = "general"     # 团总支
    BRANCH = "branch"              # 团支部

    @property
    def label(self) -> str:
        return KIND_LABELS[self]

    @property
    def suffix(self) -> str:
        """The name suffix the short name of this category usually ends with."""
        return KIND_SUFFIXES[self]

    @property
    def is_leading(self) -> bool:
        return self is OrgKind.LEADING

    @property
    def holds_members(self) -> bool:
        """Only a 团支部 may hold 团员 (DOMAIN.md 1.2)."""
        return self is OrgKind.BRANCH

    @property
    def may_be_township(self) -> bool:
        """The 是否为乡镇(街道)团委(团工委) flag applies to 团委 and 团工委 only."""
        return self in (OrgKind.COMMITTEE, OrgKind.WORKING)

    @classmethod
    def from_label(cls, text: str) -> OrgKind:
        text = (text or "").strip()
        for kind, label in KIND_LABELS.items():
            if text in (label, kind.value) or text in KIND_ALIASES.get(kind, ()):
                return kind
        raise ValidationFailed.single("kind", f"未知的组织类别“{text}”，可选：{'、'.join(KIND_LABELS.values())}")


KIND_LABELS = {
    OrgKind.LEADING: "团的领导机关",
    OrgKind.COMMITTEE: "基层团委",
    OrgKind.WORKING: "团工委",
    OrgKind.GENERAL_BRANCH: "团总支",
    OrgKind.BRANCH: "团支部",
}
KIND_ALIASES = {
    OrgKind.LEADING: ("领导机关团组织", "领导机关"),
    OrgKind.COMMITTEE: ("团委",),
}
KIND_SUFFIXES = {
    OrgKind.LEADING: "委",
    OrgKind.COMMITTEE: "团委",
    OrgKind.WORKING: "团工委",
    OrgKind.GENERAL_BRANCH: "团总支",
    OrgKind.BRANCH: "团支部",
}

_K = OrgKind
DEFAULT_PLACEMENT: dict[OrgKind, frozenset[OrgKind]] = {
    _K.LEADING: frozenset({_K.LEADING, _K.COMMITTEE, _K.WORKING, _K.GENERAL_BRANCH, _K.BRANCH}),
    _K.COMMITTEE: frozenset({_K.WORKING, _K.GENERAL_BRANCH, _K.BRANCH}),
    _K.WORKING: frozenset({_K.COMMITTEE, _K.GENERAL_BRANCH, _K.BRANCH}),
    _K.GENERAL_BRANCH: frozenset({_K.BRANCH}),
    _K.BRANCH: frozenset(),
}


def check_holds_members(kind: OrgKind, org_name: str = "") -> None:
    """Every 团员 belongs to exactly one 团支部; 团委, 团工委 and 团总支 cannot hold members (DOMAIN.md 1.2)."""
    if not kind.holds_members:
        where = f"“{org_name}”是{kind.label}，" if org_name else ""
        raise ValidationFailed.single("org_id", f"{where}团员只能编入团支部，请选择具体的团支部")


def allowed_children(parent: OrgKind, placement: dict[OrgKind, frozenset[OrgKind]] | None = None) -> list[OrgKind]:
    """Child categories a parent of this category may create, in display order."""
    allowed = (placement or DEFAULT_PLACEMENT).get(parent, frozenset())
    return [k for k in OrgKind if k in allowed]


def check_placement(parent: OrgKind, child: OrgKind,
                    placement: dict[OrgKind, frozenset[OrgKind]] | None = None) -> None:
    if child not in (placement or DEFAULT_PLACEMENT).get(parent, frozenset()):
        if parent is OrgKind.BRANCH:
            raise ValidationFailed.single("kind", "团支部是最基层组织，不能再建立下级组织")
        choices = "、".join(k.label for k in allowed_children(parent, placement)) or "无"
        raise ValidationFailed.single("kind", f"{parent.label}下不能建立{child.label}（可建立：{choices}）")


# ---------------------------------------------------------------- codes

def normalise_code(text: str) -> str:
    """Accept 000.012.016.007 with stray spaces or full-width dots; return the canonical form."""
    return (text or "").strip().replace("．", ".").replace("。", ".").replace(" ", "")


def validate_code(code: str) -> str:
    code = normalise_code(code)
    if not _CODE_RE.match(code):
        raise ValidationFailed.single("code", "组织代码格式应为每层3位数字、以点分隔，例如 000.012.016.007")
    if code_depth(code) > MAX_CODE_LEVELS:
        raise ValidationFailed.single("code", f"组织代码最多{MAX_CODE_LEVELS}层")
    return code


def code_depth(code: str) -> int:
    return len(code.split("."))


def parent_code(code: str) -> str | None:
    return code.rsplit(".", 1)[0] if "." in code else None


def is_within(code: str, scope_code: str) -> bool:
    """True when ``code`` is ``scope_code`` itself or lies below it (delimiter-aware prefix)."""
    return code == scope_code or code.startswith(scope_code + ".")


def subtree_totals(counts: Iterable[tuple[str, int]], codes: Iterable[str]) -> dict[str, int]:
    """For each of ``codes``: the sum of the ``(code, n)`` counts of that organisation and every one below it
    (each count is added to the wanted codes among its own code and its ancestors' codes)."""
    totals = dict.fromkeys(codes, 0)
    for code, n in counts:
        c: str | None = code
        while c is not None:
            if c in totals:
                totals[c] += n or 0
            c = parent_code(c)
    return totals


def is_strictly_below(code: str, ancestor_code: str) -> bool:
    return code.startswith(ancestor_code + ".")


def next_child_code(parent: str, sibling_codes: Iterable[str]) -> str:
    """Parent code + '.' + the next free 3-digit number (001-999).

    Takes the number after the highest one ever used (so a dissolved org's code is not reused while
    its row exists); when 999 is taken, falls back to the lowest gap.
    """
    used: set[int] = set()
    prefix = parent + "."
    for code in sibling_codes:
        if code.startswith(prefix):
            rest = code[len(prefix):]
            if len(rest) == CODE_SEGMENT_WIDTH and rest.isdigit():
                used.add(int(rest))
    if code_depth(parent) >= MAX_CODE_LEVELS:
        raise Conflict(f"组织层级已达{MAX_CODE_LEVELS}层上限，不能再建立下级组织")
    candidate = max(used, default=0) + 1
    if candidate > 999:
        gaps = [n for n in range(1, 1000) if n not in used]
        if not gaps:
            raise Conflict("该组织的下级组织已达999个上限")
        candidate = gaps[0]
    return f"{parent}.{candidate:03d}"


def recode(code: str, old_prefix: str, new_prefix: str) -> str:
    """Replace the ``old_prefix`` part of a code in the moved subtree by ``new_prefix``."""
    if not is_within(code, old_prefix):
        raise ValueError(f"{code} is not within {old_prefix}")
    return new_prefix + code[len(old_prefix):]


# ---------------------------------------------------------------- names

SHORT_NAME_MAX = 25   # 2013 system: 团组织简称 at most 25 characters [B: S14]
FULL_NAME_MAX = 100


def clean_name(text: str) -> str:
    """Trim and fold inner runs of white space (including full-width spaces)."""
    return " ".join((text or "").replace("\u3000", " ").split())


def validate_short_name(text: str) -> str:
    name = canonical_org_name(text)
    if not name:
        raise ValidationFailed.single("short_name", "请填写组织简称")
    if len(name) > SHORT_NAME_MAX:
        raise ValidationFailed.single("short_name", f"组织简称最多{SHORT_NAME_MAX}个字，现有{len(name)}个字")
    return name


def name_hints(short_name: str, kind: OrgKind) -> list[str]:
    """Naming warnings (never blocks): the short name should end with its category's suffix."""
    hints = []
    if not short_name.endswith(kind.suffix):
        hints.append(f"组织简称通常以“{kind.suffix}”结尾，例如“××{kind.suffix}”")
    return hints
