"""People: ID numbers (GB 11643), names, phones, enumerations and the join-age rule (DOMAIN.md 3)."""
from __future__ import annotations

import calendar
import functools
import operator
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from .canonical import IDEOGRAPHS, canonical_id_number, canonical_person_name
from .errors import ValidationFailed
from .vocabulary import VALUE_SYNONYMS, synonym

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_ID_RE = re.compile(r"^[0-9]{17}[0-9X]$")
# the checksum by table: position i's digit d adds _DIGIT_WEIGHTS[i][d] (one dict look-up per digit, no int())
_DIGIT_WEIGHTS = tuple({str(d): w * d for d in range(10)} for w in _WEIGHTS)


def id_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    if len(first17) != 17:
        raise ValueError("17 digits expected")
    try:
        return _CHECK_CHARS[sum(map(operator.getitem, _DIGIT_WEIGHTS, first17)) % 11]
    except KeyError:                         # not ASCII digits (e.g. "１"): int() reads them as before
        return _CHECK_CHARS[sum(map(operator.mul, map(int, first17), _WEIGHTS)) % 11]


@dataclass(frozen=True)
class IdInfo:
    number: str
    birth_date: date
    gender: str          # "男" / "女"
    region: str          # first six digits

    def age_on(self, day: date) -> int:
        return full_years(self.birth_date, day)


def full_years(born: date, on: date) -> int:
    years = on.year - born.year
    if (on.month, on.day) < (born.month, born.day):
        years -= 1
    return years


def normalise_id_number(raw) -> str:
    """Canonical text of an ID number typed or read from a cell: strip spaces, upper-case X.

    Numbers (an Excel cell typed as number) are refused: an 18-digit number cannot survive a float.
    """
    if raw is None:
        return ""
    if isinstance(raw, bool):
        raise ValidationFailed.single("id_number", "身份证号码格式不对")
    if isinstance(raw, float | Decimal) or isinstance(raw, int):
        raise ValidationFailed.single(
            "id_number", "身份证号码被存成了数字，末几位可能已丢失：请把该列设为“文本”格式后重新填写")
    return canonical_id_number(raw)


@functools.lru_cache(maxsize=8192)
def _birth_date(digits: str) -> date | None:
    """The date of an ID number's 8 birth digits (None if no such day); cached: a file's people share birth days."""
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def parse_id_number(raw, today: date | None = None) -> IdInfo:
    """Validate an 18-character ID number: format, real birth date, check digit."""
    if type(raw) is str and len(raw) == 18 and raw.isascii() and raw.isalnum():     # the common case, as below
        number = raw.upper()
        if number.isdigit() or (number[17] == "X" and number[:17].isdigit()):
            born = _birth_date(number[6:14])
            if born is not None and born.year >= 1900 and born <= (today or date.today()) and \
                    _CHECK_CHARS[sum(map(operator.getitem, _DIGIT_WEIGHTS, number[:17])) % 11] == number[17]:
                return IdInfo(number, born, "男" if number[16] in "13579" else "女", number[:6])
    number = normalise_id_number(raw)
    if not number:
        raise ValidationFailed.single("id_number", "请填写身份证号码")
    if not _ID_RE.match(number):
        raise ValidationFailed.single("id_number", f"身份证号码应为18位（17位数字加1位数字或X），现为{len(number)}位")
    born = _birth_date(number[6:14])
    if born is None:
        raise ValidationFailed.single("id_number", f"身份证号码中的出生日期{number[6:14]}不是真实日期")
    today = today or date.today()
    if born > today or born.year < 1900:
        raise ValidationFailed.single("id_number", f"身份证号码中的出生日期{born.isoformat()}不合理")
    if id_check_char(number[:17]) != number[17]:
        raise ValidationFailed.single("id_number", "身份证号码校验位不对，请逐位核对")
    gender = "男" if int(number[16]) % 2 == 1 else "女"
    return IdInfo(number=number, birth_date=born, gender=gender, region=number[:6])


def mask_id_number(number: str) -> str:
    """340827********0015 style: keep the region and the last four."""
    if not number or len(number) < 10:
        return "*" * len(number or "")
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


# What a masked view shows of a person (issue 14): the ID number as mask_id_number gives it (the 6-digit region,
# the last 4), and of the birth date only the year. The 8 hidden digits are the birth date, so a masked view
# never shows the full 出生日期 (nor the month and day) next to it. Searches by ID digits take the full 18
# characters or exactly the last 4 (already shown by the mask): a longer ending would expose the day of birth
# digit by digit, a beginning the month.
ID_SEARCH_SUFFIX = 4


@dataclass(frozen=True)
class IdSearch:
    kind: str            # "full": the whole ID number; "suffix": its last 4; "refused": other digits; "none": no ID
    value: str = ""

    @property
    def is_id(self) -> bool:
        return self.kind in ("full", "suffix")


_ID_FULL_RE = re.compile(r"^\d{17}[\dX]$")
_ID_SUFFIX_RE = re.compile(r"^\d{%d}[\dX]$" % (ID_SEARCH_SUFFIX - 1))
_ID_DIGITS_RE = re.compile(r"^(?=.*\d)[\dX]+$")


def classify_id_search(q) -> IdSearch:
    """How a search box query may use ID numbers: the full number, its last 4, or not at all."""
    text = canonical_id_number(q)
    if _ID_FULL_RE.match(text):
        return IdSearch("full", text)
    if _ID_SUFFIX_RE.match(text):
        return IdSearch("suffix", text)
    if _ID_DIGITS_RE.match(text):
        return IdSearch("refused", text)
    return IdSearch("none")


ID_SEARCH_HINT = "按身份证号查找须输入完整的18位号码，或号码的末4位；输入其他位数的数字不会按身份证号查找"


def birth_year_label(born: date) -> str:
    """The birth date as a masked view may show it: the year only."""
    return f"{born.year}年"


def default_password(id_number: str) -> str:
    """Accounts created by others get the last 8 characters of the ID (X upper case) [A: S4]."""
    return normalise_id_number(id_number)[-8:]


# ---------------------------------------------------------------- names, phones

NAME_MAX = 30
# GB 18030-2022: every CJK Unified Ideographs block and extension (A–I) and the compatibility ideographs, "〇",
# Latin letters (foreign names), the middle dot, the space, "." and "-"
_NAME_CHARS = f"{IDEOGRAPHS}\u3007\u00b7A-Za-z .\\-"
_NAME_RE = re.compile(f"^[{_NAME_CHARS}]+$")
_NOT_NAME = re.compile(f"[^{_NAME_CHARS}]")
_SCRIPTS = (("ARABIC", "阿拉伯字母，如维吾尔文"), ("TIBETAN", "藏文"), ("MONGOLIAN", "蒙古文"), ("YI ", "彝文"),
            ("HANGUL", "朝鲜文"), ("CYRILLIC", "西里尔字母，如俄文"), ("HIRAGANA", "日文假名"),
            ("KATAKANA", "日文假名"), ("BOPOMOFO", "注音符号"), ("DIGIT", "数字"), ("CJK RADICAL", "部首"),
            ("KANGXI RADICAL", "部首"), ("IDEOGRAPHIC DESCRIPTION", "汉字结构符"))


def _what_script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    for word, label in _SCRIPTS:
        if word in name:
            return label
    if 0xE000 <= ord(ch) <= 0xF8FF or 0xF0000 <= ord(ch):
        return "私用区自造字，别的电脑显示不出来"
    if "LATIN" in name:
        return "带附加符号的字母"
    return "符号"


# a name of basic CJK ideographs only (most names): canonical as it is (NFKC keeps them, no dot, no space)
_PLAIN_NAME = re.compile("[\u4e00-\u9fff]+")


def validate_person_name(raw) -> str:
    if type(raw) is str and 0 < len(raw) <= NAME_MAX and _PLAIN_NAME.fullmatch(raw):
        return raw
    name = canonical_person_name(raw)
    if not name:
        raise ValidationFailed.single("name", "请填写姓名")
    if len(name) > NAME_MAX:
        raise ValidationFailed.single("name", f"姓名最多{NAME_MAX}个字")
    if not _NAME_RE.match(name):
        bad = _NOT_NAME.search(name).group()
        raise ValidationFailed.single(
            "name", f"姓名中的“{bad}”（U+{ord(bad):04X}，{_what_script(bad)}）系统不能保存：姓名只能包含汉字"
                    "（含 GB 18030 的全部扩展汉字）、字母和间隔号“·”，请按身份证上的汉字姓名填写")
    return name


FULL_WIDTH_DIGITS = {ord(c): ord("0") + i for i, c in enumerate("０１２３４５６７８９")}


def normalise_phone(raw) -> str:
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = str(raw).strip().replace(" ", "").replace("-", "").replace("\u3000", "").translate(FULL_WIDTH_DIGITS)
    if text.startswith("+86"):
        text = text[3:]
    return text


def validate_phone(raw, required: bool = True) -> str:
    phone = normalise_phone(raw)
    if not phone:
        if required:
            raise ValidationFailed.single("phone", "请填写手机号码")
        return ""
    if not (len(phone) == 11 and phone.isascii() and phone.isdigit() and phone[0] == "1"):
        raise ValidationFailed.single("phone", "手机号码应为以1开头的11位数字")
    return phone


# ---------------------------------------------------------------- enumerations

ETHNICITIES = (
    "汉族", "蒙古族", "回族", "藏族", "维吾尔族", "苗族", "彝族", "壮族", "布依族", "朝鲜族", "满族", "侗族",
    "瑶族", "白族", "土家族", "哈尼族", "哈萨克族", "傣族", "黎族", "傈僳族", "佤族", "畲族", "高山族", "拉祜族",
    "水族", "东乡族", "纳西族", "景颇族", "柯尔克孜族", "土族", "达斡尔族", "仫佬族", "羌族", "布朗族", "撒拉族",
    "毛南族", "仡佬族", "锡伯族", "阿昌族", "普米族", "塔吉克族", "怒族", "乌孜别克族", "俄罗斯族", "鄂温克族",
    "德昂族", "保安族", "裕固族", "京族", "塔塔尔族", "独龙族", "鄂伦春族", "赫哲族", "门巴族", "珞巴族", "基诺族",
    "其他", "外国血统中国籍人士",
)
_ETHNICITY_ALIASES = VALUE_SYNONYMS["ethnicity"]


def normalise_ethnicity(raw) -> str:
    text = str(raw or "").strip().replace(" ", "")
    if not text:
        raise ValidationFailed.single("ethnicity", "请选择民族")
    if text in ETHNICITIES:
        return text
    if text in _ETHNICITY_ALIASES:
        return _ETHNICITY_ALIASES[text]
    if text + "族" in ETHNICITIES:
        return text + "族"
    if text + "族" in _ETHNICITY_ALIASES:
        return _ETHNICITY_ALIASES[text + "族"]
    raise ValidationFailed.single("ethnicity", f"“{text}”不是标准民族名称（GB 3304），例如“汉族”")


MEMBER_POLITICAL_STATUSES = ("共青团员", "中共预备党员", "中共党员")
CADRE_POLITICAL_STATUSES = MEMBER_POLITICAL_STATUSES + ("群众",)


def validate_political_status(raw, *, cadre: bool = False) -> str:
    text = synonym("political_status", raw)
    allowed = CADRE_POLITICAL_STATUSES if cadre else MEMBER_POLITICAL_STATUSES
    if not text:
        raise ValidationFailed.single("political_status", "请选择政治面貌")
    if text not in allowed:
        raise ValidationFailed.single("political_status", f"政治面貌只能是：{'、'.join(allowed)}")
    return text


# 团内职务 (DOMAIN.md 4.1)
POSITIONS_GRASSROOTS = ("书记", "副书记", "组织委员", "宣传委员", "文体委员", "生产委员", "权益委员", "志愿委员",
                        "其他")
POSITIONS_LEADING = ("书记", "副书记", "常委", "委员", "候补委员", "工作人员")


def positions_for(is_leading: bool) -> tuple[str, ...]:
    return POSITIONS_LEADING if is_leading else POSITIONS_GRASSROOTS


# an organisation word written before the post (团支部组织委员, 团委副书记): the post is what follows
_ORG_WORD = re.compile(r"^(?:共青团)?(?:团支部|团总支|团工委|团委|总支|支部)(?=.)")


def validate_position(raw, *, is_leading: bool) -> str:
    text = synonym("position", raw)
    allowed = positions_for(is_leading)
    if text not in allowed and _ORG_WORD.match(text):
        text = synonym("position", _ORG_WORD.sub("", text))
    if not text:
        raise ValidationFailed.single("position", "请选择团内职务")
    if text not in allowed:
        raise ValidationFailed.single("position", f"团内职务只能是：{'、'.join(allowed)}")
    return text


POSITION_SEPARATOR = "、"
_POSITIONS_SPLIT = re.compile(r"\s*[、，,；;／/]\s*")


def split_positions(text: str | None) -> list[str]:
    """The posts of a 团内现任职务 cell: one person may hold several in one branch ("副书记、组织委员", as our
    智慧团建 export writes them, or with ，/;// between)."""
    return [p for p in _POSITIONS_SPLIT.split(str(text or "").strip()) if p]


def validate_positions(raw, *, is_leading: bool) -> str:
    """One or several posts (see split_positions), each checked like validate_position; the canonical form joins
    them with 、 in the order given, each once."""
    parts = split_positions(raw) if isinstance(raw, str) else [raw]
    if len(parts) <= 1:
        return validate_position(parts[0] if parts else raw, is_leading=is_leading)
    out: list[str] = []
    for part in parts:
        position = validate_position(part, is_leading=is_leading)
        if position not in out:
            out.append(position)
    return POSITION_SEPARATOR.join(out)


# ---------------------------------------------------------------- year-month and the join-age rule

# 2015-06, 2015.6, 2015年6月, 2015年6月份, and a day after the month (2015-06-01, 2015年6月1日, 2015年6月1号): the month
_YM_RE = re.compile(r"^(\d{4})\s*[-./年]\s*(\d{1,2})\s*(?:月份?\s*(?:\d{1,2}\s*[日号])?|[-./]\s*\d{1,2}\s*[日号]?)?$")
_YM_COMPACT_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})?$")


@dataclass(frozen=True, order=True)
class YearMonth:
    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])


EXCEL_EPOCH = date(1899, 12, 30)          # day 0 of Excel's (1900) date system, as Excel counts it after 1900-03-01
_SERIAL_RE = re.compile(r"^[0-9]{5}(?:\.0+)?$")  # 10000..99999 = 1927-05-18..2173-10-14
_TIME_TAIL = re.compile(r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$")
_AMBIGUOUS_FLOAT = re.compile(r"^[0-9]{4}\.1$")


def parse_year_month(raw, field: str = "join_date", label: str = "入团年月") -> YearMonth:
    """Accept 2015-06, 2015.6, 2015/06, 2015年6月, 201506, 20150601, a date or a datetime, a date serial left in a
    text cell (42156) and datetime text ("2015-06-01 00:00:00"). A number like 2016.1 is refused: Excel turns
    2016.10 typed into a general cell into the number 2016.1, so the month cannot be known."""
    if isinstance(raw, datetime):
        return YearMonth(raw.year, raw.month)
    if isinstance(raw, date):
        return YearMonth(raw.year, raw.month)
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    elif isinstance(raw, float) and _AMBIGUOUS_FLOAT.match(repr(raw)):
        year = int(raw)
        raise ValidationFailed.single(
            field, f"{label}“{raw!r}”是数字，月份不明确：可能是{year}年1月，也可能是{year}年10月（Excel 会把 {year}.10 "
                   f"存成 {year}.1）。请把该单元格设为“文本”格式，填写为“{year}-01”或“{year}-10”")
    text = unicodedata.normalize("NFKC", str(raw if raw is not None else "")).strip()
    if not text:
        raise ValidationFailed.single(field, f"请填写{label}")
    if _SERIAL_RE.match(text):                  # a date serial: the cell lost its date format, or was text
        day = EXCEL_EPOCH + timedelta(days=int(float(text)))
        return YearMonth(day.year, day.month)
    text = _TIME_TAIL.sub("", text).strip()
    m = _YM_RE.match(text) or _YM_COMPACT_RE.match(text)
    if not m:
        raise ValidationFailed.single(field, f"{label}“{text}”格式不对，应为“年-月”，例如 2015-06")
    year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12 or year < 1900:
        raise ValidationFailed.single(field, f"{label}“{text}”不是有效的年月")
    return YearMonth(year, month)


JOIN_AGE, JOIN_WINDOW = "join_age", "join_window"     # rule codes (domain.exceptions)
JOIN_WINDOW_YEARS = 12      # DOMAIN.md 3.3.4: 入团年月 not before the birth month + 12 years


def check_join_date(join: YearMonth, birth: date, *, today: date, cutoff: date, min_age: int,
                    min_age_before_cutoff: int, waive: frozenset = frozenset()) -> None:
    """入团年月 not in the future; join age >= min_age, or >= min_age_before_cutoff when joined before cutoff.

    The age is counted at the end of the join month, so someone who turns 13 during that month passes. A join
    before the birth month + 12 years breaks the join-date window (rule ``join_window``); a later join below the
    minimum age breaks the join age (rule ``join_age``); the message is the age rule's either way. Rules in ``waive`` \
(an approved exception) are skipped.
    """
    if join.first_day > today:
        raise ValidationFailed.single("join_date", f"入团年月{join}不能晚于当前月份")
    required = min_age_before_cutoff if join.first_day < cutoff else min_age
    age = full_years(birth, join.last_day)
    rule = JOIN_WINDOW if age < JOIN_WINDOW_YEARS else JOIN_AGE
    if age < required and rule not in waive:
        when = (f"{cutoff.year}年{cutoff.month}月{cutoff.day}日前" if join.first_day < cutoff
                else f"{cutoff.year}年{cutoff.month}月{cutoff.day}日起")
        raise ValidationFailed.rule(
            "join_date", f"入团时须年满{required}周岁（{when}入团），按身份证出生日期计算入团时只有{age}周岁", rule)
    if rule == JOIN_WINDOW and rule not in waive:       # a minimum age set below 12 does not open the window
        raise ValidationFailed.rule("join_date", f"入团年月{join}早于出生后{JOIN_WINDOW_YEARS}年", JOIN_WINDOW)
