"""Real files, second pass (issue 25), class 5 — a 性别 or 出生年月 column that disagrees with the ID number gets a
per-row warning in the preview (the ID wins: nothing from those columns is stored). Generated: every way of writing
the sex and the birth date (text, a date cell, a month only), agreeing or not, in random column orders."""
from __future__ import annotations

import random
from datetime import date, datetime

import pytest
from sqlalchemy import select

from tuanjian.demo import make_id
from tuanjian.models import Person

from ..factories import text_workbook
from .test_real_files import batch_of, upload

HEAD = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "是否为团干部"]


def _sex_forms(sex: str):
    return {"男": ["男", "男性", "M", " 男 "], "女": ["女", "女性", "F", "female"]}[sex]


def _birth_forms(born: date):
    return [f"{born.year}-{born.month:02d}", f"{born.year}.{born.month}", f"{born.year}年{born.month}月",
            f"{born.year}年{born.month}月{born.day}日", born.strftime("%Y%m%d"), datetime(born.year, born.month,
                                                                                         born.day)]


@pytest.mark.parametrize("seed", range(6))
def test_sex_and_birth_columns_that_disagree_with_the_id_are_warned_per_row(client, session, login, tree, seed):
    rng = random.Random(seed)
    extra = rng.choice([["性别"], ["出生年月"], ["性别", "出生日期"], ["出生年月", "性别"]])
    head = HEAD + extra
    rows, wrong = [], {}
    for i in range(8):
        born = date(2001, rng.randint(1, 12), rng.randint(1, 28))
        male = rng.random() < 0.5
        number = make_id(born, 100 + 2 * i + seed * 40, male)
        sex = "男" if male else "女"
        cells, bad = [], []
        for label in extra:
            if label == "性别":
                flip = rng.random() < 0.4
                cells.append(rng.choice(_sex_forms(("女" if male else "男") if flip else sex)))
                if flip:
                    bad.append("性别")
            else:
                other = date(born.year + rng.choice([-1, 1]), born.month, born.day) if rng.random() < 0.4 else born
                cells.append(rng.choice(_birth_forms(other)))
                if other != born:
                    bad.append("出生年月")
        rows.append([f"赵{chr(0x4e00 + seed * 10 + i)}", number, "汉族", "共青团员", "2016-05", "否"] + cells)
        wrong[i + 2] = (number, sex, born, bad)
    login(tree.branch_admin)
    batch, report = batch_of(session, upload(client, tree.village.id, text_workbook(head, rows, sheet="团员")))
    assert not report.error_rows, [r.errors for r in report.error_rows]
    assert report.meta["unused_columns"] == []
    page = client.get(f"/members/imports/{batch.id}").get_data(as_text=True)
    flagged = [n for n, (_, _, _, bad) in wrong.items() if bad]
    for r in report.rows:
        _, sex, born, bad = wrong[r.number]
        for label in ("性别", "出生年月"):
            assert (f"{label}列为" in r.note) == (label in bad), (r.number, r.note)
        if "性别" in bad:
            assert f"与身份证号（{sex}）不符" in r.note
        if "出生年月" in bad:
            assert f"与身份证号（{born.year}年{born.month}月{born.day}日）不符" in r.note
    if flagged:
        assert f"{len(flagged)} 行的性别或出生年月与身份证号不符" in page
        assert all(f"第{n}行" in page for n in flagged)
    assert "列只用来与身份证号核对" in page
    assert client.post(f"/members/imports/{batch.id}/commit", data={"mode": "all"}).status_code == 302
    session.expire_all()
    for number, sex, born, _ in wrong.values():        # the ID wins
        person = session.scalar(select(Person).where(Person.id_number == number))
        assert (person.gender, person.birth_date) == (sex, born)
