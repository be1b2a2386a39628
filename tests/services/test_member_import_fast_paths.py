"""The member import's fast paths. dbsetup.meanwhile (the commit counts the new members' figures while PostgreSQL
checks the inserted rows): the work runs alongside the block on PostgreSQL and first on SQLite, its error is raised
after the block, the block's own error waits for the work; a bulk import writes exactly the rows it writes without
the overlap; and a preview whose rows are checked in two processes stores exactly the report of one pass."""
from __future__ import annotations

import contextlib
import threading
from datetime import date

import pytest
from sqlalchemy import select, text

from tuanjian.dbsetup import meanwhile
from tuanjian.domain.orgtree import OrgKind
from tuanjian.models import ImportBatch, Member, MembershipEvent, OrgStats, Person, utcnow
from tuanjian.services import member_imports, orgs

from ..factories import make_member, new_id, text_workbook
from .test_progress_stats import actor_for, assert_current, settings_of


def test_work_runs_alongside_the_block_on_postgresql_and_first_on_sqlite(app, session, db_kind):
    started = threading.Event()
    seen = {}

    def work():
        seen["thread"] = threading.get_ident()
        seen["value"] = session.execute(text("select 41 + 1")).scalar()   # the session's connection, from there
        if db_kind == "postgresql":
            seen["waited"] = started.wait(30)       # returns only if the block runs meanwhile (else 30 s, False)
        seen["done"] = True

    with meanwhile(session, work):
        seen["done_at_start"] = seen.get("done", False)
        started.set()
    assert seen["done"] and seen["value"] == 42
    if db_kind == "postgresql":
        assert seen["thread"] != threading.get_ident() and seen["waited"] is True
    else:
        assert seen["thread"] == threading.get_ident() and seen["done_at_start"] is True
    session.rollback()


def test_the_work_error_is_raised(app, session, db_kind):
    """After the block on PostgreSQL; on SQLite the work runs first and the block does not run."""
    ran = []

    def work():
        session.execute(text("select 1"))
        raise ValueError("从工作中")

    with pytest.raises(ValueError, match="从工作中"), meanwhile(session, work):
        ran.append("block")
    assert ran == (["block"] if db_kind == "postgresql" else [])
    session.rollback()
    assert session.execute(text("select 2")).scalar() == 2       # the connection is free again


def test_the_block_error_wins_once_the_work_has_ended(app, session, db_kind):
    go = threading.Event()
    ended = []

    def work():
        if db_kind == "postgresql":
            go.wait(30)
        session.execute(text("select 1"))
        ended.append(True)
        if db_kind == "postgresql":         # (on SQLite an error of the work would be raised before the block)
            raise ValueError("not this one")

    with pytest.raises(RuntimeError, match="块"), meanwhile(session, work):
        go.set()
        raise RuntimeError("块中出错")
    assert ended == [True]                        # the connection was not handed back while the work used it
    session.rollback()
    assert session.execute(text("select 3")).scalar() == 3


def _register(session) -> dict:
    """What the import wrote, by ID number (ids differ between runs on PostgreSQL, whose sequences do not roll
    back): people, members, 团籍变动 and the branches' figures."""
    session.expire_all()
    people = {p.id: p for p in session.scalars(select(Person))}
    number = {pid: p.id_number for pid, p in people.items()}
    return {
        "people": sorted((p.id_number, p.name, p.gender, p.birth_date, p.ethnicity, p.political_status, p.join_date,
                          p.phone) for p in people.values()),
        "members": sorted((number[m.person_id], m.org_id, m.dev_number, m.education, m.occupation, m.workplace,
                           m.has_application, m.has_card, m.card_year, m.has_letter, m.deleted_at)
                          for m in session.scalars(select(Member))),
        "events": sorted((number[e.person_id], e.org_id, e.on_date, e.kind, e.dev_number, e.note, e.erased,
                          e.next_on, e.created_by_id) for e in session.scalars(select(MembershipEvent))),
        "stats": sorted((s.org_id, s.members, s.complete_members, s.bad_dev_numbers, s.unconfirmed, s.cadres,
                         s.complete_cadres, s.overage, s.overage_on) for s in session.scalars(select(OrgStats))),
    }


def test_a_bulk_import_writes_the_same_rows_with_and_without_the_overlap(app, session, tree, monkeypatch):
    s = settings_of(app)
    actor = actor_for(tree.township_admin, tree.township)
    make_member(session, tree.village, name="原有甲")
    orgs.create_child(session, actor, tree.township, short_name="东山村团支部", kind=OrgKind.BRANCH, settings=s)
    session.commit()
    head = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "所在团支部", "是否为团干部", "团内职务",
            "发展团员编号", "手机号码", "学历", "入团志愿书", "团员证", "团籍注册年度"]
    rows = [["新一", new_id(date(2003, 4, 1)), "汉族", "共青团员", "2018-05", "城东村团支部", "否", "", "201800000011",
             "13900000000", "普通高中在读", "是", "", ""],
            ["新二", new_id(date(1990, 4, 2)), "回族", "共青团员", "2005-05", "城东村团支部", "否", "", "", "", "",
             "", "是", "2010"],                                                     # 超龄
            ["新三", new_id(date(2003, 4, 3)), "汉族", "共青团员", "2016-05", "城东村团支部", "否", "", "",
             "", "", "", "", ""],
            ["新四", new_id(date(2004, 5, 6)), "汉族", "共青团员", "2019-05", "东山村团支部", "是",
             "组织委员", "201900000012", "13900000001", "", "是", "", ""]]          # a cadre: the branch recomputed
    data = text_workbook(head, rows, sheet="团员").getvalue()
    batch = member_imports.preview_members(session, actor, tree.township, data=data, filename="团员.xlsx",
                                           settings=s, now=utcnow())
    session.commit()
    now = utcnow()

    def commit():
        written = member_imports.commit_members(session, actor, session.get(ImportBatch, batch.id), mode="valid",
                                                settings=s, now=now)
        session.flush()
        return written, _register(session)

    overlapped = commit()
    session.rollback()

    @contextlib.contextmanager
    def one_after_the_other(session_, work):
        work()
        yield
    monkeypatch.setattr(member_imports, "meanwhile", one_after_the_other)
    plain = commit()
    assert len(plain[0]) == 4 and plain[1]["events"]
    assert overlapped == plain
    session.commit()
    assert_current(session, s)


def test_a_preview_checked_in_two_processes_stores_the_report_of_one_pass(app, session, tree, monkeypatch):
    """The preview's row checks split in two (parallel.in_two, here from 4 rows on) store exactly the report one pass
    stores."""
    from tuanjian import parallel
    s = settings_of(app)
    actor = actor_for(tree.township_admin, tree.township)
    known = make_member(session, tree.village, name="原有甲")
    session.commit()
    head = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "所在团支部", "是否为团干部", "团内职务",
            "发展团员编号", "手机号码"]
    rows = [[f"新{'一二三四五六七八九'[i]}", new_id(date(2003, 4, 1 + i)), "汉族" if i != 4 else "无", "共青团员",
             "2018-05", "城东村团支部" if i != 6 else "不存在团支部", "是" if i == 2 else "否",
             "宣传委员" if i == 2 else "", f"2018{i:08d}", "13900000000"] for i in range(9)]
    rows[7][1] = rows[1][1]                                         # the same ID number in both halves
    rows.append(["原有甲", known.person.id_number, "汉族", "共青团员", "2015-05", "城东村团支部", "否", "", "",
                 "13000000000"])
    data = text_workbook(head, rows, sheet="团员").getvalue()
    reports = []
    for threshold in (10 ** 9, 4):
        monkeypatch.setattr(parallel, "MIN_ITEMS", threshold)
        monkeypatch.setattr(parallel, "_cpus", lambda: 2)
        monkeypatch.setattr(parallel, "_idle_cpus", lambda: 1.5)
        batch = member_imports.preview_members(session, actor, tree.township, data=data, filename="团员.xlsx",
                                               settings=s, now=utcnow())
        reports.append(batch.report)
    session.rollback()
    assert reports[0] == reports[1]
    assert reports[0]["totals"]["error"] >= 3 and reports[0]["totals"]["update"] == 1
