"""parallel.in_two (a large file's row checks in two halves at the same time): the same answer as one pass, the second
half really computed by a child, a failing child's half redone here; and check_rows split in two gives exactly the
report of one pass, duplicates across the halves included."""
from __future__ import annotations

import os
from datetime import date

import pytest

from tuanjian import parallel
from tuanjian.domain.member_import import check_rows
from tuanjian.domain.settings import DEFAULT_SETTINGS
from tuanjian.spreadsheets.reader import RawRow

from ..factories import make_id

TODAY = date(2026, 12, 8)


@pytest.fixture
def small_threshold(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_ITEMS", 4)
    monkeypatch.setattr(parallel, "_cpus", lambda: 2)
    monkeypatch.setattr(parallel, "_idle_cpus", lambda: 1.5)


def test_in_two_gives_the_answer_of_one_pass_with_the_second_half_from_a_child(small_threshold):
    me = os.getpid()
    items = list(range(11))
    got = parallel.in_two(lambda part: [(x * x, os.getpid()) for x in part], items, pack=list, unpack=tuple)
    assert [v for v, _ in got] == [x * x for x in items]
    assert {pid for _, pid in got[:5]} == {me} and me not in {pid for _, pid in got[5:]}


def test_in_two_sends_back_what_marshal_does_not_take():
    payload = parallel._dumps([date(2020, 1, 2), {"a": (1, None)}])
    assert payload[:1] == b"p" and parallel._loads(payload) == [date(2020, 1, 2), {"a": (1, None)}]
    assert parallel._loads(parallel._dumps([{"a": [1, "x"]}])) == [{"a": [1, "x"]}]


def test_a_failing_child_half_is_done_here(small_threshold):
    me = os.getpid()

    def fn(part):
        if os.getpid() != me:
            raise RuntimeError("the child fails")
        return [x + 1 for x in part]
    assert parallel.in_two(fn, list(range(9))) == list(range(1, 10))


def test_an_error_here_is_raised_and_the_child_reaped(small_threshold, monkeypatch):
    me = os.getpid()
    forked = []
    real_fork = os.fork

    def fork():
        pid = real_fork()
        if pid:
            forked.append(pid)
        return pid
    monkeypatch.setattr(os, "fork", fork)

    def fn(part):
        if os.getpid() == me:
            raise ValueError("here")
        return part
    with pytest.raises(ValueError, match="here"):
        parallel.in_two(fn, list(range(9)))
    assert len(forked) == 1
    with pytest.raises(ChildProcessError):        # this child is reaped already (other tests' children may live on)
        os.waitpid(forked[0], os.WNOHANG)


def test_few_items_one_cpu_or_no_idle_cpu_take_one_pass(monkeypatch):
    me = os.getpid()
    monkeypatch.setattr(parallel, "_idle_cpus", lambda: 1.5)
    assert parallel.in_two(lambda part: [os.getpid() for _ in part], list(range(10))) == [me] * 10
    monkeypatch.setattr(parallel, "MIN_ITEMS", 4)
    monkeypatch.setattr(parallel, "_cpus", lambda: 1)
    assert parallel.in_two(lambda part: [os.getpid() for _ in part], list(range(10))) == [me] * 10
    monkeypatch.setattr(parallel, "_cpus", lambda: 2)
    monkeypatch.setattr(parallel, "_idle_cpus", lambda: 0.1)
    assert parallel.in_two(lambda part: [os.getpid() for _ in part], list(range(10))) == [me] * 10


def _rows() -> list[RawRow]:
    """Every kind of row: valid, a bad check digit, placeholders, a tick list of cadres, a 性别 that disagrees,
    ID numbers and 发展团员编号 repeated across the two halves, a second sheet."""
    rows = []
    for i in range(40):
        born = date(2000 + i % 8, 1 + i % 12, 1 + i % 28)
        number = make_id(born, i, i % 2 == 0)
        if i == 3:
            number = number[:17] + ("0" if number[17] != "0" else "1")
        if i == 31:
            number = rows[2].cells["id_number"]                     # the same person in both halves
        join = born.year + 15
        dev = f"{join}{i:08d}" if join >= 2017 else ""
        if i == 37:
            dev = rows[5].cells["dev_number"]                       # one 发展团员编号 in both halves
        cells = {"name": "王" + "一二三四五六七八九十"[i % 10] + "甲乙丙丁"[i // 10], "id_number": number,
                 "ethnicity": "汉族" if i % 6 else "无", "political_status": "共青团员", "join_date": f"{join}-05",
                 "branch": "" if i % 7 else "一班", "is_cadre": "√" if i % 9 == 0 else "",
                 "position": "组织委员" if i % 9 == 0 else "", "dev_number": dev,
                 "phone": "/" if i % 4 == 0 else "13900000000", "gender": "男" if i == 11 else ""}
        rows.append(RawRow(i + 2, cells, "团员" if i < 30 else "二班"))
    return rows


def test_check_rows_split_in_two_gives_the_report_of_one_pass(small_threshold):
    rows = _rows()
    kwargs = {"settings": DEFAULT_SETTINGS, "today": TODAY, "branches": {"一班": [1], "二班": [2]},
              "default_branch": None, "sheet_branches": {"团员": "一班", "二班": "二班"}}
    one = check_rows(rows, **kwargs)
    two = check_rows(rows, split=parallel.in_two, **kwargs)
    assert two.to_json() == one.to_json()
    assert any(r.kind == "error" for r in one.rows) and any(r.kind != "error" for r in one.rows)
    repeated = [r for r in one.rows if any("重复出现" in m for ms in r.errors.values() for m in ms)]
    assert {r.number for r in repeated} == {4, 33, 7, 39}        # ID (rows 4 and 33), 发展团员编号 (7 and 39)
    assert one.rows[11].data["warnings"] and one.rows[1].data["is_cadre"] is False        # 性别; the tick list
