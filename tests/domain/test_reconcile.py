"""对账 (issue 28): generated pairs of data sets with known differences of every kind, and canonical-form near-misses
that are not differences → exactly the known differences are found."""
from __future__ import annotations

import random
from datetime import date

import pytest

from tuanjian.demo import make_id
from tuanjian.domain import reconcile as r

BRANCHES = {1: "城东村团支部", 2: "城西村团支部", 3: "高一(1)班团支部"}
FULL = str.maketrans("0123456789X", "０１２３４５６７８９ｘ")
NAMES = ["王芳", "李伟", "张敏", "刘洋", "陈静", "杨帆", "赵磊", "黄婷", "周杰", "吴刚"]


def _people(n: int, seed: int = 7) -> list[r.Here]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        number = make_id(date(2000 + i % 8, 1 + i % 12, 1 + i % 27), (i * 2) % 998, bool(i % 2))
        name = "买买提·依明" if i % 10 == 3 else NAMES[i % len(NAMES)]
        branch = 1 + i % 3
        values = {"join_date": f"{2014 + i % 8}-{1 + i % 12:02d}",
                  "dev_number": f"{2017 + i % 5}{i:08d}" if i % 4 else None,
                  "political_status": "共青团员" if i % 7 else "中共党员",
                  "ethnicity": "维吾尔族" if i % 10 == 3 else "汉族",
                  "phone": f"13{rng.randrange(10**9):09d}", "education": "普通高中", "occupation": "学生",
                  "workplace": "望江中学", "position": "书记" if i % 9 == 0 else ""}
        out.append(r.Here(number, name, branch, BRANCHES[branch], values))
    return out


def _near_miss(h: r.Here, i: int) -> r.There:
    """What 智慧团建's export says of the same person, written the many ways real files write it."""
    v = h.values
    number = h.id_number.translate(FULL) if i % 3 == 0 else (h.id_number.lower() if i % 3 == 1 else
                                                             f" {h.id_number}\u00a0")
    name = h.name.replace("·", "•") if "·" in h.name else ("\u3000".join(h.name) if i % 2 else f" {h.name} ")
    year, month = v["join_date"].split("-")
    join = [f"{year}.{int(month)}", f"{year}年{int(month)}月", f"{year}{month}", v["join_date"].translate(FULL)][i % 4]
    cells = {"join_date": join,
             "dev_number": (v["dev_number"] or "").translate(FULL) if i % 2 else (v["dev_number"] or ""),
             "political_status": {"共青团员": ["团员", "中国共产主义青年团团员", "共青团员"][i % 3],
                                  "中共党员": "中国共产党党员"}[v["political_status"]],
             "ethnicity": v["ethnicity"][:-1] if i % 2 else v["ethnicity"],
             "phone": float(v["phone"]) if i % 5 == 0 else " ".join([v["phone"][:3], v["phone"][3:7], v["phone"][7:]]),
             "education": v["education"], "occupation": f" {v['occupation']}", "workplace": v["workplace"] + " ",
             "position": "团支部书记" if v["position"] else None, "branch": None}
    branch = h.branch.replace("(", "（").replace(")", "）")
    return r.There(number, name, branch, h.branch_id, cells, f"名单.xlsx · 团员 第{i + 2}行")


def _canonical(t: r.There) -> r.There:
    return r.There(r.there_id(t.id_number), t.name, t.branch, t.branch_id, t.cells, t.where)


def _world(n=60):
    here = _people(n)
    there = [_canonical(_near_miss(h, i)) for i, h in enumerate(here)]
    return here, there


def test_near_misses_are_not_differences():
    here, there = _world()
    result = r.compare(here, there, elsewhere=set(), explained={})
    assert [(it.name, it.fields) for it in result.items if it.fields] == []
    assert result.totals.people == result.totals.matching == len(here)
    assert result.totals.rate == 1.0 and not result.problems


def test_every_kind_of_difference_is_found_and_nothing_else():
    here, there = _world()
    expected = {}
    # only here: dropped from the file
    gone = there.pop(5)
    expected[gone.id_number] = (r.ONLY_HERE, {("presence", r.HERE_MARK, "")})
    # only there: someone nobody here holds; and one held here outside the subtree
    new_id, out_id = make_id(date(2005, 6, 6), 600, True), make_id(date(2005, 7, 7), 602, False)
    there.append(r.There(new_id, "新团员", "城西村团支部", 2, {"join_date": "2020-05"}, "名单.xlsx · 团员 第99行"))
    there.append(r.There(out_id, "外县团员", "外县团支部", None, {}, "名单.xlsx · 团员 第100行"))
    expected[new_id] = (r.ONLY_THERE, {("presence", "", r.THERE_MARK)})
    expected[out_id] = (r.ELSEWHERE, set())
    # a different value of each field, one person each (after the canonical forms, so compared forms are expected)
    changes = [("name", 10, "王小芳"), ("join_date", 11, "2013-02"), ("dev_number", 12, "201900000999"),
               ("political_status", 13, "中共预备党员"), ("ethnicity", 14, "回族"), ("position", 15, "组织委员"),
               ("phone", 16, "13900000000"), ("education", 17, "普通本科"), ("occupation", 18, "农民"),
               ("workplace", 19, "县一中")]
    for key, i, value in changes:
        t = there[i]
        h = next(h for h in here if h.id_number == t.id_number)
        if key == "name":
            there[i] = r.There(t.id_number, value, t.branch, t.branch_id, t.cells, t.where)
            expected[t.id_number] = (r.BOTH, {("name", h.name, value)})
        else:
            there[i] = r.There(t.id_number, t.name, t.branch, t.branch_id, {**t.cells, key: value}, t.where)
            expected[t.id_number] = (r.BOTH, {(key, r.compared(key, h.values[key]), value)})
    # a blank there where a value is recorded here is a difference; a column the file lacks is not compared
    t = there[20]
    h = next(h for h in here if h.id_number == t.id_number)
    there[20] = r.There(t.id_number, t.name, t.branch, t.branch_id, {**t.cells, "phone": ""}, t.where)
    expected[t.id_number] = (r.BOTH, {("phone", h.values["phone"], "")})
    t = there[21]
    there[21] = r.There(t.id_number, t.name, t.branch, t.branch_id,
                        {k: v for k, v in t.cells.items() if k != "workplace"}, t.where)
    # in another branch on each side: a pair
    t = there[22]
    h = next(h for h in here if h.id_number == t.id_number)
    other = 1 + h.branch_id % 3
    there[22] = r.There(t.id_number, t.name, BRANCHES[other], other, t.cells, t.where)
    expected[t.id_number] = (r.BOTH, {("branch", h.branch, BRANCHES[other])})

    result = r.compare(here, there, elsewhere={out_id}, explained={})
    found = {it.id_number: (it.kind, {tuple(f[:3]) for f in it.fields}) for it in result.items
             if it.fields or it.kind != r.BOTH}
    assert found == expected
    moved = result.listed(r.MOVED)
    assert [it.id_number for it in moved] == [there[22].id_number]
    assert moved[0].there_branch_id == other and moved[0].branch_id == h.branch_id
    assert result.totals.people == len(here) + 2
    assert result.totals.matching == len(here) - 1 - len(changes) - 2
    assert (result.totals.only_here, result.totals.only_there, result.totals.differing, result.totals.moved) == \
        (1, 2, len(changes) + 2, 1)
    assert result.branches[None].people == 1        # the row of a branch outside the subtree, counted apart
    assert sum(f.people for f in result.branches.values()) == result.totals.people
    # the same inputs give the same figures and the same order
    again = r.compare(here, list(there), elsewhere={out_id}, explained={})
    assert [i.to_json() for i in again.items] == [i.to_json() for i in result.items]
    assert r.figures_json(again.totals) == r.figures_json(result.totals)


def test_an_explained_difference_is_not_new_and_counts_as_matching():
    here, there = _world(12)
    t = there[4]
    there[4] = r.There(t.id_number, t.name, t.branch, t.branch_id, {**t.cells, "phone": "13912345678"}, t.where)
    h = next(h for h in here if h.id_number == t.id_number)
    first = r.compare(here, there, elsewhere=set(), explained={})
    assert [it.id_number for it in first.listed()] == [t.id_number] and first.totals.matching == 11
    explained = {r.key_of(t.id_number, "phone", h.values["phone"], "13912345678"): "智慧团建未更新"}
    second = r.compare(here, there, elsewhere=set(), explained=explained)
    assert second.listed() == [] and second.totals.matching == 12 and second.totals.explained == 1
    assert [it.fields[0][3] for it in second.listed(new_only=False) if it.fields] == ["智慧团建未更新"]
    # a new value is new again
    there[4] = r.There(t.id_number, t.name, t.branch, t.branch_id, {**t.cells, "phone": "13800001111"}, t.where)
    assert len(r.compare(here, there, elsewhere=set(), explained=explained).listed()) == 1


def test_a_repeated_id_number_in_the_file_is_a_problem_not_a_person():
    here, there = _world(5)
    there.append(there[0])
    result = r.compare(here, there, elsewhere=set(), explained={})
    assert result.totals.people == 5 and len(result.problems) == 1 and "重复" in result.problems[0][1]


def test_a_number_cell_id_is_refused_with_the_fix():
    with pytest.raises(r.ValidationFailed) as exc:
        r.there_id(3.40827200005e17)
    assert "文本" in exc.value.message
    assert r.there_id("３４０８２７２００００５２００５１ｘ") == "34082720000520051X"
    with pytest.raises(r.ValidationFailed):
        r.there_id("身份证号码")


def test_refigure_after_an_explanation():
    here, there = _world(6)
    there.pop(0)
    result = r.compare(here, there, elsewhere=set(), explained={})
    assert result.totals.matching == 5
    result.listed()[0].fields[0][3] = "已离团，智慧团建已删除"
    assert r.refigure(result).totals.matching == 6
