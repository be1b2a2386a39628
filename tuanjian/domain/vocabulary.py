"""What real files call things (DOMAIN.md 3.6, 3.2, 4.1; issue 15): one header-alias table and one value-synonym
table, used by every importer (pure).

Header aliases: for each canonical column key, the labels seen in real files, the first being the one our templates
and exports write. A file may carry two aliases of one column (智慧团建 has both 全日制学历 and 最高学历): the
earlier alias in the list is read and the other is reported as not imported, never silently dropped.

Value synonyms: the variants of an enumerated value that mean the same thing, mapped onto the value we store.
"""
from __future__ import annotations

import re
import unicodedata
from itertools import chain

# ---------------------------------------------------------------- header labels

MEMBER_HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("姓名",),
    "id_number": ("身份证号码", "身份证号", "公民身份号码", "公民身份证号码", "身份证件号码"),
    "ethnicity": ("民族",),
    "political_status": ("政治面貌",),
    "join_date": ("入团年月", "入团时间", "入团日期"),
    "branch": ("所在团支部", "所属团支部", "团支部"),
    "is_cadre": ("是否为团干部", "是否团干部"),
    "position": ("团内现任职务", "现任团内职务", "团内职务"),
    "start_month": ("任现职年月", "任现职时间"),
    "nature": ("团干部性质",),
    "party_committee": ("是否同级党委（支部）成员", "是否同级党委成员", "是否同级党支部成员"),
    "dev_number": ("发展团员编号",),
    "phone": ("手机号码", "手机号", "联系电话", "联系方式"),
    "education": ("文化程度", "学历", "全日制学历", "最高学历"),
    "occupation": ("职业",),
    "workplace": ("学习工作单位", "工作单位", "学习工作单位名称"),
    "has_application": ("入团志愿书",),
    "has_card": ("团员证",),
    "card_year": ("团籍注册年度",),
    "has_letter": ("组织关系介绍信",),
    "is_member": ("是否为团员", "是否团员"),      # our export: 否 for a branch cadre without 团籍
    # derived from the ID number, never stored from a file: read only to warn where they disagree with it (issue 25)
    "gender": ("性别",),
    "birth": ("出生年月", "出生日期", "出生年月日"),
}

CADRE_HEADERS: dict[str, tuple[str, ...]] = {
    "name": MEMBER_HEADERS["name"],
    "id_number": MEMBER_HEADERS["id_number"],
    "phone": MEMBER_HEADERS["phone"],
    "ethnicity": MEMBER_HEADERS["ethnicity"],
    "political_status": MEMBER_HEADERS["political_status"],
    "join_date": MEMBER_HEADERS["join_date"],
    "position": ("职务", "团内现任职务", "现任团内职务", "团内职务"),
    "title": ("职务名称", "具体职务"),
    "nature": MEMBER_HEADERS["nature"],
    "start_month": MEMBER_HEADERS["start_month"],
    "party_committee": ("是否同级党委成员", "是否同级党委（支部）成员"),
}

ORG_HEADERS: dict[str, tuple[str, ...]] = {
    "short_name": ("组织简称", "团组织简称"),
    "kind": ("组织类别", "团组织类别"),
    "parent": ("上级组织", "上级团组织"),
    "is_township": ("是否为乡镇（街道）团委（团工委）", "是否为乡镇团委"),
}

# The columns that tell the three kinds of file apart (智慧团建 keeps its 本级团干部 and 下级团支部团员团干部 templates
# apart, and so do we): kind -> (what the user calls it, the columns it must have (each as its aliases), the
# columns of which one marks it). A file whose sheets are of different kinds is refused.
FILE_KINDS: dict[str, tuple[str, tuple[tuple[str, ...], ...], tuple[str, ...]]] = {
    "members": ("团员团干部表（下级团支部团员团干部）", (MEMBER_HEADERS["name"], MEMBER_HEADERS["id_number"]),
                MEMBER_HEADERS["branch"] + MEMBER_HEADERS["is_cadre"] + MEMBER_HEADERS["dev_number"]),
    "cadres": ("本级团干部表", (CADRE_HEADERS["name"], CADRE_HEADERS["id_number"]), ("职务", "职务名称")),
    "org_children": ("下级组织表", (ORG_HEADERS["short_name"],), ORG_HEADERS["kind"]),
}


# Header labels by rule (issue 25): a label is also read in every form that differs from a listed one only by these
# words, as the reader compares them (label_stem in spreadsheets.reader): 身份证 = 身份证号 = 身份证号码,
# 手机 = 手机号码, 所在支部 = 所在团支部 = 团支部, 现任职务 = 团内现任职务, 入团时间 = 入团日期 = 入团年月,
# 是否团员 = 是否为团员, 学习工作单位名称 = 学习工作单位. A form two columns share is read as neither (their
# listed labels still are), unless it is one column's own listed label.
LABEL_RULES: dict[str, tuple] = {
    "parts": (("团支部", "支部"), ("时间", "年月"), ("日期", "年月")),     # one word written two ways
    "prefixes": ("所在", "所属", "现任", "团内", "本人", "是否为", "是否"),  # leading words that may be left out
    "suffixes": ("号码", "号", "名称"),                                 # trailing words that may be left out
}


def first_labels(headers: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """{label written by our templates: key}, in column order."""
    return {labels[0]: key for key, labels in headers.items()}


def all_labels(headers: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """{every accepted label: key}; for one key the earlier label comes first (the reader prefers it)."""
    return {label: key for key, labels in headers.items() for label in labels}


# ---------------------------------------------------------------- values

VALUE_SYNONYMS: dict[str, dict[str, str]] = {
    "political_status": {
        "团员": "共青团员", "中国共产主义青年团团员": "共青团员", "共青团团员": "共青团员",
        "中国共产党党员": "中共党员", "党员": "中共党员", "共产党员": "中共党员",
        "中国共产党预备党员": "中共预备党员", "预备党员": "中共预备党员",
        "普通群众": "群众",
    },
    "position": {
        "团支部书记": "书记", "支部书记": "书记", "团支书": "书记",
        "团支部副书记": "副书记", "支部副书记": "副书记",
        "团委书记": "书记", "团委副书记": "副书记", "团工委书记": "书记", "团工委副书记": "副书记",
        "团总支书记": "书记", "团总支副书记": "副书记",
    },
    "nature": {"专职团干": "专职", "兼职团干": "兼职", "挂职团干": "挂职",
               "专职团干部": "专职", "兼职团干部": "兼职", "挂职团干部": "挂职"},
    "yes_no": {"是": "是", "否": "否", "Y": "是", "N": "否", "YES": "是", "NO": "否", "√": "是", "✓": "是", "✔": "是",
               "×": "否", "✗": "否", "✘": "否", "1": "是", "0": "否", "TRUE": "是", "FALSE": "否", "ON": "是",
               "OFF": "否"},
    "ethnicity": {"哈呢族": "哈尼族", "僳僳族": "傈僳族", "毛难族": "毛南族", "蒙古": "蒙古族"},
}


# The usual ways of writing "nothing here" (issue 25): blank in an optional column, missing in a required one.
PLACEHOLDERS = frozenset({"无", "空", "暂无", "没有", "暂缺", "不详", "/", "\\", "-", "—", "——", "–", "―", "─", "一",
                          "N/A", "NA", "NULL", "NONE", "#N/A"})
_DASHES = str.maketrans({c: "-" for c in "—–―─‐‑‒－﹣"})


# what a placeholder cell can start with (a cheap test before the full one: this runs for every cell of a file)
_PLACEHOLDER_START = re.compile("\\s*[无空暂没不/／\\\\＼\\-—–―─‐‑‒－﹣一NnＮｎ#＃]")


def is_placeholder(raw) -> bool:
    """Whether a cell holds one of the placeholders (in any width: ／, －, full-width letters; any repeat of a
    dash or slash), i.e. nothing."""
    if type(raw) is not str or not _PLACEHOLDER_START.match(raw):
        return False
    text = "".join(unicodedata.normalize("NFKC", raw).split()).upper()
    if not text or len(text) > 6:
        return False
    if text in PLACEHOLDERS:
        return True
    return set(text.translate(_DASHES)) == {"-"} or set(text) == {"/"}


_STARTS = frozenset("无空暂没不/／\\＼-—–―─‐‑‒－﹣一NnＮｎ#＃ \u3000\t\xa0")


def blank_placeholders(cells: dict, among: frozenset | None = None) -> dict:
    """A row's cells with every placeholder read as an empty cell (the same dict when there is none). ``among``:
    every placeholder the file's cells hold (placeholders_in), when known: a row holding none of them is returned
    as it is without looking at each cell."""
    if among is not None and among.isdisjoint(cells.values()):
        return cells
    found = None
    for k, v in cells.items():
        if type(v) is str and v[:1] in _STARTS and v and is_placeholder(v):
            found = found or []
            found.append(k)
    if not found:
        return cells
    return {**cells, **dict.fromkeys(found)}


def placeholders_in(rows_cells) -> frozenset | None:
    """The distinct cell values that are placeholders among the cells of many rows (``rows_cells``: each row's
    cells dict): each distinct value is looked at once (a 50,000-row file has 650,000 cells, far fewer values)."""
    try:
        values = set(chain.from_iterable(map(dict.values, rows_cells)))
    except TypeError:                             # an unhashable value (not from a workbook): no shortcut
        return None
    return frozenset(v for v in values if type(v) is str and v[:1] in _STARTS and v and is_placeholder(v))


CHECK_MARKS = frozenset({"√", "✓", "✔", "☑", "✅"})


def ticks_mean_yes(values) -> bool:
    """Whether a yes/no column is kept as a tick list (DOMAIN.md 3.6 "√/空"): some cells hold a check mark and none
    holds a written 否-like value; its empty cells then mean 否."""
    ticked = False
    for raw in values:
        text = "".join(str(raw if raw is not None else "").split())
        if text in CHECK_MARKS:
            ticked = True
        elif text and synonym("yes_no", text) == "否":
            return False
    return ticked


def synonym(field: str, raw) -> str:
    """The stored form of an enumerated value as typed (trimmed, spaces out); unknown values come back as typed
    (trimmed) for the rule to refuse with its list."""
    text = "".join(str(raw if raw is not None else "").split())
    table = VALUE_SYNONYMS[field]
    if field == "yes_no":
        return table.get(text.upper(), text)
    return table.get(text, text)
