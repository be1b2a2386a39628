"""对账 benchmark (issue 28): a subtree of N members compared with a 智慧团建 list of N rows (target for 20,000:
< 5 s), and the ratio to reading the file alone (the reader's own time, which any comparison must spend).

The file writes the same people the many ways real files do (full-width digits, lower-case x, padded names, 团员 for
共青团员, 2015.5 for 2015-05) and has 1 % of each kind of difference; the counts found are checked.

Usage: .venv/bin/python bench/reconcile.py --rows 20000 [--db sqlite|postgresql] [--repeat 3]
"""
from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from openpyxl import Workbook  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from tuanjian import create_app  # noqa: E402
from tuanjian.demo import make_id  # noqa: E402
from tuanjian.domain.member_import import READ_COLUMNS  # noqa: E402
from tuanjian.domain.orgtree import OrgKind  # noqa: E402
from tuanjian.extensions import db  # noqa: E402
from tuanjian.models import Member, Person  # noqa: E402
from tuanjian.services import reconcile  # noqa: E402
from tuanjian.services.actor import Actor  # noqa: E402
from tuanjian.services.orgs import create_child, create_root  # noqa: E402
from tuanjian.spreadsheets.reader import read_workbook  # noqa: E402

from _scratch import fresh_database  # noqa: E402

HEAD = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "所在团支部", "手机号码", "发展团员编号", "团内职务"]
SURNAMES = "王李张刘陈杨黄赵吴周"
GIVEN = "子涵欣怡梓轩浩宇雨萱一诺佳怡宇轩思涵晨阳俊杰文博"
FULL = str.maketrans("0123456789X", "０１２３４５６７８９ｘ")
BRANCH_SIZE = 50
EVERY = 100                # 1 % of the people: each kind of difference


def person(i: int) -> dict:
    birth = date(1998 + i % 10, 1 + i % 12, 1 + i % 28)
    return {"id_number": make_id(birth, i % 1000, i % 2 == 0, region=f"34{(i // 1000) % 10000:04d}"),
            "name": SURNAMES[i % 10] + GIVEN[(i // 10) % 20] + GIVEN[(i // 200) % 20], "birth_date": birth,
            "gender": "男" if i % 2 == 0 else "女", "ethnicity": "汉族", "political_status": "共青团员",
            "join_date": f"{birth.year + 15}-05", "phone": f"139{i:08d}"}


def build(n: int, url: str) -> tuple[int, list[str]]:
    """The subtree (a county, its branches of BRANCH_SIZE members) and its admin scope; the branch names."""
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.create_all()
        settings = app.extensions["tuanjian_settings"]
        actor = Actor.system("bench")
        root = create_root(db.session, actor, name="基准县团委", code="000.999")
        branches = [create_child(db.session, actor, root, short_name=f"第{b + 1}团支部", kind=OrgKind.BRANCH,
                                 settings=settings) for b in range((n + BRANCH_SIZE - 1) // BRANCH_SIZE)]
        db.session.flush()
        people = [person(i) for i in range(n)]
        db.session.execute(insert(Person), people)
        ids = dict(db.session.execute(select(Person.id_number, Person.id)).all())
        db.session.execute(insert(Member), [{"person_id": ids[p["id_number"]], "org_id": branches[i // BRANCH_SIZE].id,
                                             "dev_number": None} for i, p in enumerate(people)])
        db.session.commit()
        names = [b.short_name for b in branches]
        root_id = root.id
        db.session.remove()
        db.engine.dispose()
    return root_id, names


def workbook(n: int, names: list[str]) -> tuple[bytes, dict]:
    """智慧团建's list: everybody but the only-here people, written the ways real files write it, plus the
    only-there people; the expected counts."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("团员")
    ws.append(HEAD)
    expect = {"only_here": 0, "only_there": 0, "differing": 0, "moved": 0}
    for i in range(n):
        p = person(i)
        branch = names[i // BRANCH_SIZE]
        if i % EVERY == 1:
            expect["only_here"] += 1
            continue
        number = p["id_number"].translate(FULL) if i % 3 == 0 else p["id_number"].lower()
        name = "\u3000".join(p["name"]) if i % 2 else p["name"]
        phone = p["phone"]
        if i % EVERY == 2:
            phone, expect["differing"] = "13700000000", expect["differing"] + 1
        if i % EVERY == 3:
            branch = names[(i // BRANCH_SIZE + 1) % len(names)]
            expect["differing"] += 1
            expect["moved"] += 1
        ws.append([name, number, "汉", "团员", p["join_date"].replace("-0", "."), branch, phone, "", ""])
    for k in range(n // EVERY):
        p = person(n + 10 + k)
        ws.append([p["name"], p["id_number"], "汉族", "共青团员", p["join_date"], names[k % len(names)], p["phone"],
                   "", ""])
        expect["only_there"] += 1
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), expect


def read_only(data: bytes) -> float:
    t = time.perf_counter()
    read_workbook(data, "智慧团建.xlsx", READ_COLUMNS, required=("name", "id_number"))
    return time.perf_counter() - t


def compare(url: str, root_id: int, data: bytes) -> tuple[float, dict]:
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        from tuanjian.models import Org, utcnow
        root = db.session.get(Org, root_id)
        actor = Actor(person_id=None, name="bench", scope_code=root.code, org_id=root.id)
        t = time.perf_counter()
        rec = reconcile.compare(db.session, actor, root, [(data, "智慧团建.xlsx")],
                                settings=app.extensions["tuanjian_settings"], now=utcnow())
        db.session.commit()
        elapsed = time.perf_counter() - t
        totals = dict(rec.totals)
        db.session.remove()
        db.engine.dispose()
    return elapsed, totals


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    url = fresh_database(args.db, "tuanjian_bench_reconcile", tmp)
    t = time.perf_counter()
    root_id, names = build(args.rows, url)
    data, expect = workbook(args.rows, names)
    print(f"{args.rows} members here in {len(names)} branches; 智慧团建 list {len(data) / 1e6:.1f} MB; "
          f"built in {time.perf_counter() - t:.1f} s")
    reads, totals = [], []
    for run in range(args.repeat):
        reads.append(read_only(data))
        elapsed, found = compare(url, root_id, data)
        totals.append(elapsed)
        got = {k: found[k] for k in expect}
        assert got == expect, f"found {got}, expected {expect}"
        print(f"  run {run + 1}: read alone {reads[-1]:.2f} s; compare (read + load + compare + keep) "
              f"{elapsed:.2f} s ({elapsed / reads[-1]:.1f}×)")
    print(f"database: {args.db}; medians of {args.repeat} runs; differences found as generated: {expect}")
    print(f"read the file alone: {median(reads):.2f} s")
    print(f"compare {args.rows} with {args.rows}: {median(totals):.2f} s  (target < 5 s)")
    ratio = median(c / r for c, r in zip(totals, reads, strict=True))
    print(f"ratio compare / read: {ratio:.1f}×")


if __name__ == "__main__":
    main()
