"""对账 with 智慧团建 (issue 28): compare the members tuanjian holds with a member list exported from 智慧团建,
person by person (by ID number), after the canonical forms of domain.canonical and the value synonyms
of domain.vocabulary, so that full-width digits, a different middle dot, x/X or padding spaces
are never reported as differences (pure).

Every person of either side is one *item*:

- ``only_here``: a member here (in the compared subtree) that the file does not list;
- ``only_there``: a row of the file whose ID number nobody here holds;
- ``elsewhere``: a row of the file whose ID number is held here, but outside the compared subtree (or by a person not
  wholly in the admin's reach): reported with what the file says only, naming nothing outside;
- ``both``: in both; its ``fields`` are the differences (branch included: a person in a different branch on each side
  is a pair, ``moved``).

A difference is (ID number, field, value here, value there). One marked as explained (with a note) is not new the
next time the same values are compared; a person whose every difference is explained counts as matching.
Every person is counted once, in one branch: the branch here when held here, else the file's branch; the match rate
(相符率) of a branch or a subtree is matching people / people. The same files give the same figures.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from .canonical import canonical_org_name, canonical_person_name
from .errors import ValidationFailed
from .members import normalise_dev_number
from .people import (
    POSITION_SEPARATOR,
    normalise_ethnicity,
    normalise_id_number,
    normalise_phone,
    parse_year_month,
    split_positions,
)
from .vocabulary import synonym

# the fields compared for a person in both, in the order the result shows them (key, label)
FIELDS: tuple[tuple[str, str], ...] = (
    ("name", "姓名"), ("branch", "所在团支部"), ("join_date", "入团年月"), ("dev_number", "发展团员编号"),
    ("political_status", "政治面貌"), ("ethnicity", "民族"), ("position", "团内职务"), ("phone", "手机号码"),
    ("education", "文化程度"), ("occupation", "职业"), ("workplace", "学习工作单位"),
)
LABELS = dict(FIELDS) | {"presence": "是否在册"}
VALUE_FIELDS = tuple(k for k, _ in FIELDS if k not in ("name", "branch"))

ONLY_HERE, ONLY_THERE, ELSEWHERE, BOTH = "only_here", "only_there", "elsewhere", "both"
KIND_LABELS = {ONLY_HERE: "本系统有、智慧团建没有", ONLY_THERE: "智慧团建有、本系统没有",
               ELSEWHERE: "智慧团建有、本系统登记在您的管理范围以外", BOTH: "两边都有"}
DIFFERS, MOVED = "differs", "moved"
# the lists of a result page, in order: key -> title
KINDS = {DIFFERS: "信息不一致", MOVED: "所在团支部不同", ONLY_HERE: "本系统有、智慧团建没有",
         ONLY_THERE: "智慧团建有、本系统没有", ELSEWHERE: "登记在管理范围以外"}
PRESENCE = "presence"          # the field of an only_here / only_there item's one difference
HERE_MARK, THERE_MARK = "本系统有", "智慧团建有"
ELSEWHERE_NOTE = "该身份证号在本系统中登记在您管理范围以外的组织，无法在此核对；请由管理其所在组织的上级组织核对"
UNKNOWN_BRANCH = "（未识别的团支部）"
NOTE_MAX = 200

_SPACE = re.compile(r"\s+")


def _text(raw) -> str:
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", str(raw))).strip()


def _join_date(raw) -> str:
    if raw is None or raw == "":
        return ""
    try:
        return str(parse_year_month(raw))
    except ValidationFailed:
        return _text(raw)


def _ethnicity(raw) -> str:
    text = _text(raw)
    if not text:
        return ""
    try:
        return normalise_ethnicity(text)
    except ValidationFailed:
        return text


def _positions(raw) -> str:
    parts = []
    for p in split_positions(_text(raw)):
        p = synonym("position", p)
        if p not in parts:
            parts.append(p)
    return POSITION_SEPARATOR.join(sorted(parts))


def _yes_no_free(raw) -> str:
    return _text(raw).replace(" ", "")


COMPARE = {
    "name": lambda v: canonical_person_name(v if v is not None else ""),
    "branch": lambda v: canonical_org_name(_text(v)),
    "join_date": _join_date,
    "dev_number": lambda v: normalise_dev_number(_text(v) if isinstance(v, float) else v),
    "political_status": lambda v: synonym("political_status", _text(v)),
    "ethnicity": _ethnicity,
    "position": _positions,
    "phone": lambda v: normalise_phone(_text(v)),
    "education": _yes_no_free,
    "occupation": _yes_no_free,
    "workplace": _text,
}


def compared(key: str, raw) -> str:
    """A value in the form it is compared in ("" for a blank)."""
    return COMPARE[key](raw)


@dataclass(frozen=True)
class Here:
    """A member held in the compared subtree, values as stored."""
    id_number: str
    name: str
    branch_id: int
    branch: str                               # the branch's short name
    values: dict                              # VALUE_FIELDS -> stored value (position: the posts in the branch)


@dataclass(frozen=True)
class There:
    """A row of the uploaded file, values as read (raw cells). ``branch_id``: the branch of the compared subtree that
    the row's 所在团支部 (or its sheet) names, None when it names none; ``branch``: the name the file gives."""
    id_number: str
    name: str
    branch: str
    branch_id: int | None
    cells: dict                               # the row's cells (only the columns the file has)
    where: str = ""                           # "文件 · 工作表 第N行"


@dataclass
class Item:
    kind: str
    id_number: str
    name: str
    branch_id: int | None                     # the branch the item is counted in
    branch: str
    there_branch_id: int | None = None
    there_branch: str = ""
    fields: list = field(default_factory=list)    # [key, here, there, note or None] (note: explained)
    where: str = ""
    cells: dict | None = None                 # only_there: the file's row (to start an import of it)

    @property
    def new(self) -> list:
        return [f for f in self.fields if f[3] is None]

    @property
    def matching(self) -> bool:
        return self.kind != ELSEWHERE and not self.new

    @property
    def moved(self) -> bool:
        return any(f[0] == "branch" for f in self.new)

    def to_json(self) -> dict:
        out = {"kind": self.kind, "id": self.id_number, "name": self.name, "branch_id": self.branch_id,
               "branch": self.branch, "fields": self.fields}
        if self.there_branch or self.there_branch_id:
            out |= {"there_branch_id": self.there_branch_id, "there_branch": self.there_branch}
        if self.where:
            out["where"] = self.where
        if self.cells is not None:
            out["cells"] = self.cells
        return out

    @classmethod
    def from_json(cls, d: dict) -> Item:
        return cls(d["kind"], d["id"], d["name"], d["branch_id"], d["branch"], d.get("there_branch_id"),
                   d.get("there_branch", ""), [list(f) for f in d["fields"]], d.get("where", ""), d.get("cells"))


@dataclass
class Figures:
    people: int = 0           # counted here: held here, or (not held here) in the file
    here: int = 0
    there: int = 0
    matching: int = 0
    only_here: int = 0
    only_there: int = 0
    differing: int = 0        # in both with an unexplained difference
    moved: int = 0            # of those: a different branch on each side
    explained: int = 0        # differences marked explained

    @property
    def rate(self) -> float | None:
        return self.matching / self.people if self.people else None

    def add(self, other: Figures) -> None:
        for k in self.__dataclass_fields__:
            setattr(self, k, getattr(self, k) + getattr(other, k))


@dataclass
class Comparison:
    items: list[Item]
    branches: dict[int | None, Figures]       # branch id (None: rows whose branch is not in the subtree) -> figures
    names: dict[int | None, str]              # branch id -> name
    totals: Figures
    problems: list[list[str]]                 # [where, message]: rows that could not be compared

    def listed(self, kind: str | None = None, *, new_only: bool = True) -> list[Item]:
        return [it for _, it in self.indexed(kind, new_only=new_only)]

    def indexed(self, kind: str | None = None, *, new_only: bool = True) -> list[tuple[int, Item]]:
        """(index, item) of the items to show: those with something new (unless ``new_only`` is False), of ``kind``:
        one of KINDS (``differs``: in both, same branch; ``moved``: in both, another branch), None for all."""
        out = []
        for i, it in enumerate(self.items):
            if new_only and it.matching:
                continue
            if kind == MOVED:
                if not (it.kind == BOTH and it.moved):
                    continue
            elif kind == DIFFERS:
                if it.kind != BOTH or it.moved or not it.fields:
                    continue
            elif kind is not None and it.kind != kind:
                continue
            out.append((i, it))
        return out


def key_of(id_number: str, field_key: str, here: str, there: str) -> tuple[str, str, str, str]:
    """What identifies one difference (and its explanation)."""
    return (id_number, field_key, here or "", there or "")


_ID_LIKE = re.compile(r"^[0-9A-Z]{15,20}$")


def there_id(raw) -> str:
    """A file row's ID number in canonical form ("" for none); raises ValidationFailed (Chinese) for a number cell
    or for text that is no ID number at all (a second header row, a note): such a row is not compared."""
    number = normalise_id_number(raw)
    if number and not _ID_LIKE.match(number):
        raise ValidationFailed.single("id_number", f"“{number[:20]}”不是身份证号码，这一行没有核对")
    return number


def compare(here: list[Here], there: list[There], *, elsewhere: set[str], explained: dict[tuple, str],
            problems: list[list[str]] | None = None) -> Comparison:
    """``elsewhere``: ID numbers held here outside the subtree; ``explained``: key_of(...) -> note. Rows of ``there``
    repeating an ID number are problems (the first one is compared)."""
    problems = list(problems or [])
    names: dict[int | None, str] = {}
    by_id: dict[str, Here] = {}
    for h in here:
        by_id[h.id_number] = h
        names[h.branch_id] = h.branch
    seen: dict[str, There] = {}
    items: list[Item] = []
    memo: dict = {}                            # (field, raw value) -> compared form: most values repeat
    for t in there:
        if t.id_number in seen:
            problems.append([t.where, f"身份证号码与{seen[t.id_number].where}重复，只核对了第一行"])
            continue
        seen[t.id_number] = t
        if t.branch_id is not None:
            names.setdefault(t.branch_id, t.branch)
        h = by_id.get(t.id_number)
        if h is None:
            kind = ELSEWHERE if t.id_number in elsewhere else ONLY_THERE
            fields = [] if kind == ELSEWHERE else [_field(explained, t.id_number, PRESENCE, "", THERE_MARK)]
            items.append(Item(kind, t.id_number, compared("name", t.name), t.branch_id,
                              t.branch if t.branch_id is not None else (t.branch or UNKNOWN_BRANCH),
                              fields=fields, where=t.where, cells=dict(t.cells) if kind == ONLY_THERE else None))
            continue
        items.append(_both(h, t, explained, memo))
    for h in here:
        if h.id_number not in seen:
            items.append(Item(ONLY_HERE, h.id_number, h.name, h.branch_id, h.branch,
                              fields=[_field(explained, h.id_number, PRESENCE, HERE_MARK, "")]))
    items.sort(key=lambda it: (it.branch, it.kind, it.name, it.id_number))
    return _figures(items, names, problems)


def _field(explained: dict, id_number: str, key: str, here: str, there: str) -> list:
    return [key, here, there, explained.get(key_of(id_number, key, here, there))]


def _both(h: Here, t: There, explained: dict, memo: dict) -> Item:
    fields = []

    def canon(key, raw):
        try:
            return memo[key, raw]
        except KeyError:
            memo[key, raw] = value = compared(key, raw)
            return value
    name_here, name_there = h.name, h.name if t.name == h.name else canon("name", t.name)
    if name_there and name_here != name_there and canon("name", name_here) != name_there:
        fields.append(_field(explained, h.id_number, "name", name_here, name_there))
    if t.branch and (t.branch_id != h.branch_id if t.branch_id is not None
                     else canon("branch", t.branch) != canon("branch", h.branch)):
        fields.append(_field(explained, h.id_number, "branch", h.branch, t.branch))
    cells, values = t.cells, h.values
    for key in VALUE_FIELDS:
        if key not in cells:                   # a column the file does not have is not compared
            continue
        raw_here, raw_there = values.get(key), cells[key]
        if raw_here == raw_there and type(raw_here) is type(raw_there):     # written alike: the same value
            continue
        a, b = canon(key, raw_here), canon(key, raw_there)
        if a != b:
            fields.append(_field(explained, h.id_number, key, a, b))
    return Item(BOTH, h.id_number, h.name, h.branch_id, h.branch, t.branch_id, t.branch, fields, t.where)


def _figures(items: list[Item], names: dict, problems: list) -> Comparison:
    branches: dict[int | None, Figures] = {}
    for it in items:
        f = branches.setdefault(it.branch_id, Figures())
        f.people += 1
        f.explained += sum(1 for x in it.fields if x[3] is not None)
        if it.kind in (ONLY_HERE, BOTH):
            f.here += 1
        if it.kind == ONLY_HERE:
            f.only_here += 1
        elif it.kind in (ONLY_THERE, ELSEWHERE):
            f.only_there += 1
        if it.matching:
            f.matching += 1
        elif it.kind == BOTH:
            f.differing += 1
            f.moved += int(it.moved)
        if it.kind != ONLY_HERE:               # the file's rows count in the file's branch
            there_branch = it.there_branch_id if it.kind == BOTH else it.branch_id
            branches.setdefault(there_branch, Figures()).there += 1
    totals = Figures()
    for f in branches.values():
        totals.add(f)
    names = {k: (names.get(k) or UNKNOWN_BRANCH) for k in branches}
    return Comparison(items, branches, names, totals, problems)


def figures_json(f: Figures) -> dict:
    return {k: getattr(f, k) for k in f.__dataclass_fields__}


def figures_from(d: dict) -> Figures:
    return Figures(**{k: int(d.get(k, 0)) for k in Figures.__dataclass_fields__})


def rate_text(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def clean_note(raw) -> str:
    """An explanation's note: required, one line, at most NOTE_MAX characters."""
    note = " ".join(str(raw or "").split())
    if not note:
        raise ValidationFailed.single("note", "请填写说明（例如：智慧团建中尚未更新，已提交修改申请）")
    if len(note) > NOTE_MAX:
        raise ValidationFailed.single("note", f"说明不能超过{NOTE_MAX}个字")
    return note


def refigure(c: Comparison) -> Comparison:
    """The figures again after an explanation changed some items."""
    return _figures(c.items, c.names, c.problems)
