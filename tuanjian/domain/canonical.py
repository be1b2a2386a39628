"""One canonical form for every identity string (issue 15), applied at every entry point: forms, imports, the CLI,
上报文件, search, login and registration (pure).

- ID numbers, 发展团员编号 and codes: NFKC (full-width digits and letters from Chinese IMEs become ASCII), every
  Unicode white space removed (NBSP from web pages, the ideographic space, tabs, line breaks), invisible
  characters and the apostrophe Excel users type to force text removed; ID numbers and 发展团员编号 upper-cased
  (x → X). Registration and reset codes keep their case (they are case-sensitive).
- Person names: NFKC, except that the CJK compatibility ideographs GB 18030-2022 maps (U+F900–FAFF,
  U+2F800–2FA1F) are kept as typed (NFKC would replace them by their unified twins); trimmed, white space between
  CJK characters removed (two-character names padded with a full-width space to line up rosters: "王　芳" →
  "王芳"), other runs of white space folded to one space, the middle dot of minority names (·, •, ‧, ・, ･, ∙, ⋅, …,
  and the full stops ". ． 。 ｡" typed between two parts of which one is in Chinese characters:
  "阿依古丽.艾买提") written as one form, "·" (U+00B7), without spaces around it.
- Organisation names: NFKC like everything else (full-width letters, digits and brackets become their ASCII
  forms: "一中（高一）团支部" is stored and compared as "一中(高一)团支部"), white space trimmed and folded.
"""
from __future__ import annotations

import re
import unicodedata

MIDDLE_DOT = "\u00b7"
# the dots people type (or IMEs produce) between the parts of a minority name
MIDDLE_DOTS = "\u00b7\u2022\u2027\u30fb\uff65\u2219\u22c5\u0387\u16eb\u2e31\u318d\u10fb\u2981\u25e6\u2024\ua78f"
_DOTS = str.maketrans({c: MIDDLE_DOT for c in MIDDLE_DOTS})
# zero-width characters, BOM, soft hyphen, bidi marks: invisible, never meant
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_SPACE = re.compile(r"\s+")
# every CJK Unified Ideographs block and extension (A to I) and the compatibility ideographs (GB 18030-2022)
IDEOGRAPHS = ("\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df\U0002a700-\U0002ee5f"
              "\U0002f800-\U0002fa1f\U00030000-\U000323af")
_COMPAT = re.compile("([\uf900-\ufaff\U0002f800-\U0002fa1f]+)")
_CJK = "\u2e80-\u2eff\u3000-\u303f\u3040-\u30ff\u3100-\u312f" + IDEOGRAPHS + "\uff00-\uffef"
_CJK_GAP = re.compile(f"(?<=[{_CJK}{MIDDLE_DOT}])\\s+(?=[{_CJK}{MIDDLE_DOT}])")
_DOT_GAP = re.compile(f"\\s*{MIDDLE_DOT}\\s*")
# a full stop between two name parts, one of them in Chinese characters (after NFKC, ． is . and ｡ is 。)
_STOP_DOT = re.compile(f"(?<=[{IDEOGRAPHS}])\\s*[.。]\\s*(?=[{IDEOGRAPHS}A-Za-z])"
                       f"|(?<=[A-Za-z])\\s*[.。]\\s*(?=[{IDEOGRAPHS}])")


def _text(raw) -> str:
    if raw is None:
        return ""
    if type(raw) is str and raw.isascii():      # NFKC leaves ASCII as it is, and nothing invisible is ASCII
        return raw
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", str(raw)))


def canonical_code(raw) -> str:
    """A code as typed (registration code, reset code, org code, school code): NFKC, no white space at all, case
    kept."""
    if type(raw) is str and raw.isascii() and raw.isalnum():       # the common case: already canonical
        return raw
    return "".join(_text(raw).split())


_TIMES_AS_X = str.maketrans(dict.fromkeys("×✕✖╳χΧ", "X"))


def canonical_id_number(raw) -> str:
    """A 身份证号码 as stored and compared: NFKC, no white space, no apostrophe, upper case (x → X; the
    multiplication sign × and its look-alikes, typed for the check character X, → X)."""
    if type(raw) is str and raw.isascii() and raw.isalnum():       # the common case: only the case to fold
        return raw.upper()
    text = canonical_code(raw).replace("'", "")
    if not text.isascii():                   # digits and X skip the look-alikes
        text = text.replace("\u2018", "").replace("\u2019", "").translate(_TIMES_AS_X)
    return text.upper()


def canonical_dev_number(raw) -> str:
    """A 发展团员编号 as stored and compared: NFKC, no white space, no apostrophe, upper case."""
    return canonical_id_number(raw)


def _name_text(raw) -> str:
    """_text, keeping the compatibility ideographs."""
    if raw is None:
        return ""
    parts = _COMPAT.split(str(raw))
    return _INVISIBLE.sub("", "".join(p if i % 2 else unicodedata.normalize("NFKC", p) for i, p in enumerate(parts)))


def canonical_person_name(raw) -> str:
    """A person's name as stored and compared (see the module docstring)."""
    text = _STOP_DOT.sub(MIDDLE_DOT, _name_text(raw).translate(_DOTS).strip())
    text = _DOT_GAP.sub(MIDDLE_DOT, text)
    text = _CJK_GAP.sub("", text)
    return _SPACE.sub(" ", text)


def canonical_org_name(raw) -> str:
    """An organisation's short or full name as stored and compared (see the module docstring)."""
    return " ".join(_text(raw).split())


_ID_PART = re.compile(r"^(?=.*[0-9])[0-9X]+$")


def id_number_fragment(raw) -> str | None:
    """A search query that is a piece of an ID number (digits and X, at least one digit), in canonical form;
    None when the query is not one (then it searches names)."""
    text = canonical_id_number(raw)
    return text if _ID_PART.match(text) else None


def name_query(raw) -> str:
    """A search query for people's names, in their canonical form."""
    return canonical_person_name(raw)


def duplicate_groups(records, key=canonical_id_number) -> list[list]:
    """Records (tuples whose second item is the stored value) that share one canonical value, in groups of two or
    more (people entered twice, once with full-width digits); the migration to canonical forms leaves them for an
    admin to resolve instead of merging them."""
    groups: dict[str, list] = {}
    for record in records:
        if record[1]:
            groups.setdefault(key(record[1]), []).append(record)
    return [g for g in groups.values() if len(g) > 1]
