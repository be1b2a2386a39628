"""Names as GB 18030-2022 has them (issue 25, class 2), generated: characters drawn from every CJK Unified
Ideographs block and extension (A–I) and the compatibility ideographs, joined by every form of the name dot, padded
with every kind of space; scripts the system cannot store get a clear message naming the character."""
from __future__ import annotations

import random
import unicodedata

import pytest

from tuanjian.domain.canonical import canonical_person_name
from tuanjian.domain.errors import ValidationFailed
from tuanjian.domain.people import validate_person_name

# (block, first, last) as Unicode 15.1 assigns them; GB 18030-2022 includes every one
BLOCKS = [("基本区", 0x4E00, 0x9FFF), ("扩展A", 0x3400, 0x4DBF), ("扩展B", 0x20000, 0x2A6DF),
          ("扩展C", 0x2A700, 0x2B739), ("扩展D", 0x2B740, 0x2B81D), ("扩展E", 0x2B820, 0x2CEA1),
          ("扩展F", 0x2CEB0, 0x2EBE0), ("扩展G", 0x30000, 0x3134A), ("扩展H", 0x31350, 0x323AF),
          ("扩展I", 0x2EBF0, 0x2EE5D), ("兼容", 0xF900, 0xFAD9), ("兼容补充", 0x2F800, 0x2FA1D)]
DOTS = [".", "．", "。", "｡", "·", "•", "‧", "・", "･", "∙", "⋅", "\u0387", "\u2e31", "\u318d"]
SPACES = ["", " ", "\u3000", "\u00a0", " \u3000"]
U_2B5AF = "\U0002b5af"           # the issue's example, in the 通用规范汉字表 (extension C)


def _chars(rng: random.Random, n: int) -> str:
    out = []
    while len(out) < n:
        _, lo, hi = rng.choice(BLOCKS)
        ch = chr(rng.randint(lo, hi))
        if unicodedata.category(ch) == "Lo":       # assigned (a few code points at block ends are not)
            out.append(ch)
    return "".join(out)


@pytest.mark.parametrize("seed", range(40))
def test_every_block_and_every_dot_form(seed):
    rng = random.Random(seed)
    parts = [_chars(rng, rng.randint(1, 4)) for _ in range(rng.randint(1, 3))]
    dots = [rng.choice(DOTS) for _ in parts[1:]]
    typed = parts[0]
    for dot, part in zip(dots, parts[1:], strict=True):
        typed += rng.choice(SPACES) + dot + rng.choice(SPACES) + part
    typed = rng.choice(SPACES) + typed + rng.choice(SPACES)
    name = validate_person_name(typed)
    assert name == "·".join(parts)                   # every character kept as typed, one dot form
    assert validate_person_name(name) == name        # canonical: stable


@pytest.mark.parametrize("block,lo,hi", BLOCKS)
def test_first_and_last_character_of_each_block(block, lo, hi):
    for code in (lo, hi):
        assert validate_person_name(chr(code) + "明") == chr(code) + "明", block


def test_the_issue_examples():
    assert validate_person_name("阿依古丽.艾买提") == "阿依古丽·艾买提"
    assert validate_person_name("古丽娜尔．吐尔逊") == "古丽娜尔·吐尔逊"
    assert validate_person_name("张" + U_2B5AF) == "张" + U_2B5AF
    assert canonical_person_name("J. Smith") == "J. Smith"          # a Latin initial is not a name dot


@pytest.mark.parametrize("seed", range(12))
def test_a_script_that_cannot_be_stored_is_named(seed):
    rng = random.Random(seed)
    bad = rng.choice(["ئ", "ཀ", "ᠮ", "ꆈ", "한", "Ж", "あ", "ア", "ㄅ", "😀", "\ue000", "\U000f0001", "3", "⿰", "⺮"])
    typed = _chars(rng, 2)
    at = rng.randint(0, len(typed))
    typed = typed[:at] + bad + typed[at:]
    with pytest.raises(ValidationFailed) as info:
        validate_person_name(typed)
    message = info.value.field_errors["name"][0]
    assert f"“{bad}”" in message and f"U+{ord(bad):04X}" in message and "系统不能保存" in message
