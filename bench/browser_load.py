"""Time to load the main pages in Chromium with the CPU slowed 6× (an old Windows 7 PC), at county scale.

Builds the county of bench/progress.py (about 3,000 orgs and 50,000 members, SQLite), serves it with waitress in
its own process (as on a Windows server, gzip on), logs in as the county admin and loads each page N times in
Debian's chromium with ``Emulation.setCPUThrottlingRate`` 6 (DevTools Protocol). Time to load = the navigation's
``loadEventEnd`` (request start to the load event: server time, transfer, parsing, CSS, htmx). The browser cache is
on, as in daily use; the first (cold) load of each page is reported separately. Target: median under 1 s per page.

Usage: .venv/bin/python bench/browser_load.py [--repeat 5] [--rate 6] [--county-orgs 3000] [--county-members 50000]
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import select  # noqa: E402

from tuanjian.extensions import db  # noqa: E402
from tuanjian.models import Member, Org  # noqa: E402

from progress import PASSWORD, build  # noqa: E402  (bench/progress.py: the county-scale database)

CHROMIUM = "/usr/bin/chromium"
TARGET_S = 1.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pages(info: dict) -> dict[str, str]:
    app = info["app"]
    with app.app_context():
        town_code = db.session.get(Org, info["township_id"]).code
        branch = db.session.scalar(select(Org).where(Org.kind == "branch", Org.code.startswith(town_code + "."))
                                   .order_by(Org.code).limit(1))
        member = db.session.scalar(select(Member.id).where(Member.org_id == branch.id).limit(1))
        db.session.remove()
    root, town = info["root_id"], info["township_id"]
    return {
        "登录页": "/auth/login",
        "组织树（县）": f"/orgs/{root}",
        "组织树（乡镇）": f"/orgs/{town}",
        "录入进度（县）": f"/progress/org/{root}",
        "录入进度（乡镇）": f"/progress/org/{town}",
        "团员名单（全县，第1页）": f"/members/org/{root}",
        "团员名单（全县，查询“王”）": f"/members/org/{root}?q=王",
        "团员名单（团支部）": f"/members/org/{branch.id}",
        "录入团员": f"/members/org/{branch.id}/new",
        "修改团员": f"/members/{member}",
        "组织信息": f"/orgs/{town}/info",
        "本级团干部": f"/cadres/org/{town}",
        "异常清单（超龄团员）": f"/progress/org/{root}/exceptions/overage",
        "异常清单（身份待确认，全县 5 万人）": f"/progress/org/{root}/exceptions/unconfirmed",
        "操作日志": "/audit/",
        "管理员注册（搜索）": "/register/?q=团委",
        "帮助": "/help",
        "打印通报（县）": f"/progress/org/{root}/print",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rate", type=float, default=6)
    parser.add_argument("--county-orgs", type=int, default=3000, help="size of the county (a small one for CI)")
    parser.add_argument("--county-members", type=int, default=50000)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = tempfile.mkdtemp(prefix="tuanjian-browser-load-")
    t0 = time.perf_counter()
    info = build("county", "sqlite", tmp, SimpleNamespace(county_orgs=args.county_orgs,
                                                          county_members=args.county_members))
    print(f"county: {info['orgs']} orgs, {info['members']} members, built in {time.perf_counter() - t0:.0f} s")
    urls = pages(info)
    with info["app"].app_context():
        db.engine.dispose()

    port = free_port()
    env = dict(os.environ, TUANJIAN_DATABASE_URL=info["url"], TUANJIAN_SECRET_KEY="browser-load-bench",
               TUANJIAN_INSTANCE_PATH=tmp)
    waitress = str(Path(sys.executable).with_name("waitress-serve"))
    server = subprocess.Popen([waitress, "--host", "127.0.0.1", f"--port={port}", "--threads", "4",
                               "--call", "tuanjian:create_app"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
            context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(base + "/auth/login")
            page.fill("input[name=id_number]", info["admin_id_number"])
            page.fill("input[name=password]", PASSWORD)
            page.get_by_role("button", name="登录").click()
            page.wait_for_url(lambda url: "/auth/login" not in url)
            cdp = context.new_cdp_session(page)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": args.rate})
            print(f"Chromium {browser.version}, CPU throttled {args.rate:g}×, waitress, SQLite, cache on; "
                  f"{args.repeat} loads per page (time to the load event)")
            print(f"{'page':<28}{'cold ms':>9}{'median ms':>11}{'max ms':>9}  ok(<{TARGET_S:g}s)")
            worst = 0.0
            for label, path in urls.items():
                times = []
                for _ in range(args.repeat + 1):
                    response = page.goto(base + path, wait_until="load")
                    assert response is not None and response.status == 200, (path, response and response.status)
                    times.append(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000)
                cold, warm = times[0], times[1:]
                worst = max(worst, median(warm))
                print(f"{label:<28}{cold * 1000:>9.0f}{median(warm) * 1000:>11.0f}{max(warm) * 1000:>9.0f}  "
                      f"{'yes' if median(warm) < TARGET_S else 'NO'}")
            browser.close()
        print(f"slowest median: {worst * 1000:.0f} ms ({'within' if worst < TARGET_S else 'over'} the 1 s target)")
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
