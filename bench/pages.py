"""Median server time of the main pages on the demo county (SQLite file, in-process test client).

Prints one line per page: median and p95 over N requests, measured in this run. Timings are never
asserted by tests; this script is for watching them.   Usage: .venv/bin/python bench/pages.py [N]
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from tuanjian import create_app  # noqa: E402
from tuanjian.demo import DEMO_PASSWORD, seed_demo  # noqa: E402
from tuanjian.extensions import db  # noqa: E402
from tuanjian.models import Org, Person, utcnow  # noqa: E402


def main(n: int = 50) -> None:
    tmp = tempfile.mkdtemp()
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3"})
    with app.app_context():
        db.create_all()
        seed_demo(db.session, app.extensions["tuanjian_settings"], utcnow())
        db.session.commit()
        county = db.session.scalar(select(Person).where(Person.name == "王青")).id_number
        root = db.session.scalar(select(Org).where(Org.parent_id.is_(None))).id
        town = db.session.scalar(select(Org).where(Org.short_name == "华阳镇团委")).id
        db.session.remove()
    client = app.test_client()
    assert client.post("/auth/login", data={"id_number": county, "password": DEMO_PASSWORD}).status_code == 302
    pages = {
        "组织树（县，36个下级）": (f"/orgs/{root}", {}),
        "展开下级（HTMX片段）": (f"/orgs/{town}/children", {"HX-Request": "true"}),
        "管理员页面": (f"/orgs/{root}/admins", {}),
        "操作日志": ("/audit/", {}),
        "注册页搜索": ("/register/?q=团委", {}),
    }
    print(f"{'页面':<24}{'中位数 ms':>10}{'p95 ms':>10}  (n={n})")
    for label, (url, headers) in pages.items():
        times = []
        for _ in range(n):
            t = time.perf_counter()
            resp = client.get(url, headers=headers)
            times.append((time.perf_counter() - t) * 1000)
            assert resp.status_code == 200, (url, resp.status_code)
        times.sort()
        print(f"{label:<24}{statistics.median(times):>10.1f}{times[int(len(times) * 0.95) - 1]:>10.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
