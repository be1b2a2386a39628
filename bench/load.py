"""Deadline-day load test: 50 simulated admins against gunicorn (4 workers) on 127.0.0.1, a bounded number of requests.

Prepares a database (the demo county plus N admin accounts over branches and townships, each branch admin with one
small valid member workbook per round), starts gunicorn, and runs every admin concurrently in its own thread with
its own cookie session (stdlib http.client; CSRF tokens read from the pages). Each round an admin:
GET /auth/login, POST /auth/login and the landing page it redirects to (the progress page of an admin with
subordinate organisations, else / → /orgs/<id>), the org tree /orgs/<id>, the member list /members/org/<id>, the
progress page /progress/org/<id>, one exception list; a branch admin then imports its workbook (GET the import page,
POST the file → preview, POST commit mode=valid → the result page); POST /auth/logout.

Open loop (--open-loop), what a county feels on deadline day: admins arrive at a fixed rate (--arrival-rate per
second; default all within one think time) whatever the server's answers, log in, and then make one request
(a page, an exception list, or a step of their import) every --think seconds on average (uniform 0.5–1.5×, after
the previous answer) until --duration ends; each branch admin imports --imports workbooks on the way. So 300 admins
with --think 10 offer about 30 requests a second; the p50/p95 per kind is the wait they see.

Every response is counted: a connection error, any 5xx or any status other than the one the step expects is an
error. Afterwards, with gunicorn stopped: every imported ID number is in the database exactly once, as a live
member of the importing branch, every batch is committed, the stored org_stats rows equal a fresh recompute, and
the 团内统计's member tallies kept on write (issue 27) equal a recount.
Prints requests, errors, wall time, throughput and p50/p95/max latency overall and per kind (login: login/logout;
page: other pages; progress: progress page and exception lists; import-upload; import-commit). Timings are
printed, never asserted; the exit status is 1 when there were errors, lost writes or stats mismatches.

Sweep (--sweep 300,600,1000,1500), the deadline day's knee: one open-loop run per size, admins arriving at 1 per
second per 300 admins (so each size has arrived after 300 s), think --think, for the window + 30 s unless --duration
says otherwise (the last 30 s offer size / think requests a second: 100/s for 1,000 admins); per size the requests,
errors, p50/p95 per kind and CPU per request, then the largest size whose page p95 stayed under 300 ms. --burst N
adds, reported separately, N admins all arriving within one think time (for 120 s unless --duration is given).
A login answered “系统繁忙” (503 with Retry-After: the designed answer to a login burst, web/busy.py) is counted as
busy, not as an error, and retried after the pause it asks for.

Where the time goes: every request carries an X-Bench-Id header and the bench's gunicorn (the app's settings plus
the hooks of TRACE_CONF) logs, per request, when a worker started and ended it, the worker's CPU, the time the
worker sat runnable without a core (/proc/self/schedstat) and the time in Python's GC. Each run prints, per kind,
p50/p95 of the wait for a worker (sent → started) against the time in the worker, the share of page time spent
waiting, and what the workers were serving while the slowest 5 % of pages waited. CPU per request counts the
workbook readers the workers start (their zygotes and children) with gunicorn. --gunicorn-arg passes one more
option to gunicorn, e.g. --gunicorn-arg=--env=TUANJIAN_READER_SPAWN=1 (a reader process started per upload, as
before the zygote).

Usage: .venv/bin/python bench/load.py [--admins 50] [--rounds 3] [--db sqlite|postgresql] [--workers 4]
                                      [--per-branch 1] [--keep]
       .venv/bin/python bench/load.py --open-loop [--admins 300] [--think 10] [--arrival-rate R] [--duration 120]
                                      [--imports 1] [--db …] [--workers 4]
       .venv/bin/python bench/load.py --sweep 300,600,1000,1500 [--burst 300] [--think 10] [--duration 330] [--db …]
PostgreSQL uses a scratch database tuanjian_bench_load on TUANJIAN_BENCH_DATABASE_URL
(default postgresql://postgres@127.0.0.1:5432/postgres for the server; named after that URL's database when it is
not postgres, see _scratch.py); it is dropped afterwards unless --keep or the run failed.
"""
from __future__ import annotations

import argparse
import http.client
import io
import itertools
import math
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from openpyxl import Workbook  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from tuanjian.demo import make_id  # noqa: E402
from tuanjian.domain.member_import import COLUMNS  # noqa: E402
from tuanjian.domain.orgtree import OrgKind  # noqa: E402
from tuanjian.domain.progress import EXCEPTION_KEYS  # noqa: E402

from _scratch import fresh_database, scratch_name, server_url  # noqa: E402

PG_NAME = "tuanjian_bench_load"
PG_DB = scratch_name(PG_NAME)                   # its name on the server (see _scratch.py)
PASSWORD = "load-test-2026"
KINDS = ("login", "page", "progress", "import-upload", "import-commit")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "子涵欣怡梓轩浩宇雨萱一诺佳怡宇轩思涵晨阳俊杰文博"
CSRF_RES = (re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"'),
            re.compile(r'<input[^>]*value="([^"]+)"[^>]*name="csrf_token"'))


# ---------------------------------------------------------------- database and data

def database_url(kind: str, tmp: str) -> str:
    return fresh_database(kind, "load" if kind == "sqlite" else PG_NAME, tmp)


def drop_database(kind: str) -> None:
    if kind != "postgresql":
        return
    admin = create_engine(server_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB}"'))
    admin.dispose()


def app_env(url: str, tmp: str, secret: str) -> dict:
    """The environment of the flask CLI and gunicorn: no stray TUANJIAN_* settings from the caller's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUANJIAN_")}
    env.update(TUANJIAN_DATABASE_URL=url, TUANJIAN_SECRET_KEY=secret, TUANJIAN_INSTANCE_PATH=tmp)
    return env


def flask_cli(env: dict, *args: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "flask", "--app", "tuanjian", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"flask {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")


def local_app(url: str, secret: str):
    from tuanjian import create_app
    return create_app({"SECRET_KEY": secret, "SQLALCHEMY_DATABASE_URI": url})


@dataclass
class Book:
    filename: str
    data: bytes
    id_numbers: list[str]


@dataclass
class Admin:
    index: int
    role: str                   # "branch" or "committee"
    org_id: int
    org_name: str
    id_number: str
    workbooks: list[Book] = field(default_factory=list)


def seed_admins(app, n_admins: int, per_branch: int = 1) -> list[Admin]:
    """N admins: 70 % branch admins, ``per_branch`` of them on each 团支部 (new branches under the townships when the
    demo has too few), the rest on the county, the townships and the other committees. Direct model inserts, as the
    demo does."""
    from tuanjian.extensions import db
    from tuanjian.models import Account, AdminGrant, CadrePost, Org, Person, utcnow
    from tuanjian.services.actor import Actor
    from tuanjian.services.orgs import create_child

    n_branch = round(n_admins * 0.7)
    n_committee = n_admins - n_branch
    with app.app_context():
        settings = app.extensions["tuanjian_settings"]
        actor = Actor.system("压力测试")
        orgs = list(db.session.scalars(select(Org).where(Org.dissolved_at.is_(None)).order_by(Org.code)))
        branches = [o for o in orgs if o.kind == OrgKind.BRANCH.value]
        townships = [o for o in orgs if o.is_township and o.kind != OrgKind.BRANCH.value]
        root = next(o for o in orgs if o.parent_id is None)
        others = [o for o in orgs if o.kind != OrgKind.BRANCH.value and o not in townships and o is not root]
        committees = [root, *townships, *others]
        k = 0
        while len(branches) < math.ceil(n_branch / per_branch):
            parent = townships[k % len(townships)]
            prefix = parent.short_name.removesuffix("团工委").removesuffix("团委")
            name = f"{prefix}压测{k // len(townships) + 1}村团支部"
            branches.append(create_child(db.session, actor, parent, short_name=name, kind=OrgKind.BRANCH,
                                         settings=settings))
            k += 1
        secretaries = set(db.session.scalars(select(CadrePost.org_id).where(CadrePost.position == "书记",
                                                                            CadrePost.ended_at.is_(None))))
        password_hash = generate_password_hash(PASSWORD)
        now = utcnow()
        targets = [("branch", branches[i // per_branch]) for i in range(n_branch)] + \
                  [("committee", committees[i % len(committees)]) for i in range(n_committee)]
        admins = []
        for i, (role, org) in enumerate(targets):
            birth = date(1990 + i % 7, 1 + i % 12, 1 + (i // 12) % 28)
            number = make_id(birth, 2 * i + 1, i % 2 == 0, region="340825")
            person = Person(id_number=number, name=SURNAMES[i % 20] + "压测" + GIVEN[i % 20], birth_date=birth,
                            gender="男" if int(number[16]) % 2 else "女", ethnicity="汉族", political_status="中共党员",
                            join_date=f"{birth.year + 15}-05", phone=f"138{i:08d}")
            db.session.add(person)
            db.session.flush()
            position = "副书记" if org.id in secretaries else "书记"
            secretaries.add(org.id)
            db.session.add_all([CadrePost(person_id=person.id, org_id=org.id, position=position, created_at=now),
                                Account(person_id=person.id, password_hash=password_hash, claimed_at=now),
                                AdminGrant(org_id=org.id, person_id=person.id, granted_at=now)])
            admins.append(Admin(i, role, org.id, org.short_name, number))
        db.session.commit()
        db.session.remove()
    return admins


def build_workbooks(admins: list[Admin], rounds: int, taken: set[str]) -> int:
    """One valid workbook per branch admin and round, 10–30 rows, every ID number new and distinct."""
    g = 0
    total = 0
    for admin in admins:
        if admin.role != "branch":
            continue
        for r in range(rounds):
            n = 10 + (admin.index * 7 + r * 11) % 21
            wb = Workbook()
            ws = wb.active
            ws.title = "团员"
            ws.append(list(COLUMNS))
            numbers = []
            while len(numbers) < n:
                birth = date(2001 + g % 7, 1 + (g // 7) % 12, 1 + (g // 84) % 28)
                number = make_id(birth, 2 * (g // 2352) + 1, g % 2 == 0, region="340826")
                join = birth.year + 15
                row = {"姓名": SURNAMES[g % 20] + GIVEN[(g // 20) % 20] + GIVEN[(g // 400) % 20],
                       "身份证号码": number, "民族": "汉族", "政治面貌": "共青团员", "入团年月": f"{join}-05",
                       "所在团支部": "", "是否为团干部": "否", "团内职务": "",
                       "发展团员编号": f"{join}{50_000_000 + g:08d}",
                       "手机号码": f"139{g:08d}", "学历": "普通本科在读", "职业": "学生", "学习工作单位": "压测大学"}
                g += 1
                if number in taken:
                    continue
                taken.add(number)
                numbers.append(number)
                ws.append([row.get(h, "") for h in COLUMNS])     # columns not filled in here stay blank
                for cell in ws[ws.max_row]:
                    if isinstance(cell.value, str):
                        cell.data_type = "s"
            out = io.BytesIO()
            wb.save(out)
            admin.workbooks.append(Book(f"团员_{admin.index:02d}_{r + 1}.xlsx", out.getvalue(), numbers))
            total += n
    return total


# ---------------------------------------------------------------- HTTP client

class StepFailed(Exception):
    pass


@dataclass
class Recorder:
    lock: threading.Lock = field(default_factory=threading.Lock)
    timings: list[tuple[str, float]] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    busy: int = 0                                   # logins answered 系统繁忙 (503 + Retry-After), then retried
    trace: list[tuple[int, str, float, float]] = field(default_factory=list)   # (bench id, kind, sent, answered)

    def timing(self, kind: str, seconds: float, status: int, trace: tuple | None = None) -> None:
        with self.lock:
            self.timings.append((kind, seconds))
            self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
            if trace is not None:
                self.trace.append(trace)

    def error(self, **info) -> None:
        with self.lock:
            self.errors.append(info)


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def location(self) -> str:
        parts = urlsplit(self.headers.get("Location", ""))
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def csrf(self) -> str:
        for pattern in CSRF_RES:
            m = pattern.search(self.text)
            if m:
                return m.group(1)
        raise StepFailed("no csrf_token on the page")


def kind_of(method: str, path: str) -> str:
    path = path.split("?", 1)[0]
    if path.startswith("/auth/"):
        return "login"
    if path.startswith("/progress/org/"):
        return "progress"
    if method == "POST" and re.fullmatch(r"/members/org/\d+/import", path):
        return "import-upload"
    if method == "POST" and re.fullmatch(r"/members/imports/\d+/commit", path):
        return "import-commit"
    return "page"


_BENCH_IDS = itertools.count(1)


class Session:
    """One browser: a cookie jar and a new connection per request (gunicorn's sync workers close each one)."""

    def __init__(self, port: int, recorder: Recorder, who: str):
        self.port, self.recorder, self.who = port, recorder, who
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, *, expect: int, body: bytes | None = None,
                headers: dict | None = None, _retries: int = 0) -> Response:
        headers = {k: v for k, v in (headers or {}).items() if k != "Cookie"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        kind = kind_of(method, path)
        bench_id = next(_BENCH_IDS)
        headers["X-Bench-Id"] = str(bench_id)          # joins this request to the server's trace (see TRACE_CONF)
        t = time.monotonic()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                conn.request(method, path, body=body, headers=headers)
                raw = conn.getresponse()
                resp = Response(raw.status, raw.headers, raw.read())
            finally:
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            elapsed = time.monotonic() - t
            self.recorder.timing(kind, elapsed, 0)
            self.recorder.error(who=self.who, request=f"{method} {path}", status=None, detail=repr(exc))
            raise StepFailed(repr(exc)) from None
        done = time.monotonic()
        self.recorder.timing(kind, done - t, resp.status, (bench_id, kind, t, done))
        if (resp.status == 503 and resp.headers.get("Retry-After") and method == "POST"
                and path.startswith("/auth/login") and _retries < 5):      # a login burst's designed answer
            with self.recorder.lock:
                self.recorder.busy += 1
            time.sleep(float(resp.headers["Retry-After"]) * random.uniform(0.5, 1.5))
            return self.request(method, path, expect=expect, body=body, headers=headers, _retries=_retries + 1)
        for header in resp.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                expired = morsel["max-age"] == "0" or "1970" in morsel["expires"]
                if expired or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        if resp.status != expect:
            snippet = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.text))[:300]
            self.recorder.error(who=self.who, request=f"{method} {path}", status=resp.status, expected=expect,
                                location=resp.headers.get("Location"), detail=snippet)
            raise StepFailed(f"{method} {path}: {resp.status}, expected {expect}")
        return resp

    def get(self, path: str, expect: int = 200, **kw) -> Response:
        return self.request("GET", path, expect=expect, **kw)

    def post_form(self, path: str, data: dict, expect: int = 302) -> Response:
        return self.request("POST", path, expect=expect, body=urlencode(data).encode(),
                            headers={"Content-Type": "application/x-www-form-urlencoded"})

    def post_file(self, path: str, fields: dict, filename: str, data: bytes, expect: int = 302) -> Response:
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in fields.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                     f"Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n"
                     .encode() + data + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request("POST", path, expect=expect, body=b"".join(parts),
                            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})

    def follow(self, resp: Response, hops: int = 3) -> Response:
        """GET redirects (each one counted) until a 200 page."""
        for _ in range(hops):
            if resp.status != 302:
                return resp
            target = resp.location()
            # "/" and the landing page's one-off "?welcome=1" (kept in the session, then the clean address) redirect
            redirects = target.rstrip("/") == "" or "welcome=1" in target
            resp = self.request("GET", target, expect=302 if redirects else 200)
        return resp


@dataclass
class ImportDone:
    admin: Admin
    round: int
    batch_id: int | None = None
    committed: bool = False


def run_admin(admin: Admin, rounds: int, port: int, recorder: Recorder, barrier: threading.Barrier,
              imports: list[ImportDone], lock: threading.Lock) -> None:
    who = f"admin {admin.index} ({admin.role}, {admin.org_name})"
    barrier.wait()
    for r in range(rounds):
        s = Session(port, recorder, who)
        done = None
        try:
            token = s.get("/auth/login").csrf()
            s.follow(s.post_form("/auth/login", {"csrf_token": token, "id_number": admin.id_number,
                                                 "password": PASSWORD, "next": ""}))
            s.get(f"/orgs/{admin.org_id}")
            s.get(f"/members/org/{admin.org_id}")
            s.get(f"/progress/org/{admin.org_id}")
            key = EXCEPTION_KEYS[(admin.index + r) % len(EXCEPTION_KEYS)]
            page = s.get(f"/progress/org/{admin.org_id}/exceptions/{key}")
            if admin.role == "branch":
                book = admin.workbooks[r]
                done = ImportDone(admin, r)
                with lock:
                    imports.append(done)
                token = s.get(f"/members/org/{admin.org_id}/import").csrf()
                resp = s.post_file(f"/members/org/{admin.org_id}/import", {"csrf_token": token}, book.filename,
                                   book.data)
                m = re.fullmatch(r"/members/imports/(\d+)", resp.location())
                if not m:
                    recorder.error(who=who, request=f"POST /members/org/{admin.org_id}/import", status=resp.status,
                                   detail=f"unexpected redirect {resp.location()!r}")
                    raise StepFailed("upload redirect")
                done.batch_id = int(m.group(1))
                page = s.follow(resp)
                resp = s.post_form(f"/members/imports/{done.batch_id}/commit",
                                   {"csrf_token": page.csrf(), "mode": "valid"})
                done.committed = True
                page = s.follow(resp)
            s.follow(s.post_form("/auth/logout", {"csrf_token": page.csrf()}))
        except StepFailed:
            continue
        except Exception as exc:            # a bug in this script must not pass for a clean run
            recorder.error(who=who, request=f"(client, round {r + 1})", status=None, detail=repr(exc))


# ---------------------------------------------------------------- open loop: arrivals at a fixed rate, think time

@dataclass
class OpenLoop:
    start: float                # time.monotonic() of the first arrival
    arrival_rate: float         # admins per second
    think: float                # mean seconds between one answer and the admin's next request
    end: float                  # time.monotonic() after which no admin starts another interaction
    lags: list[float] = field(default_factory=list)     # how late each admin arrived (the client keeping up)


def run_visitor(admin: Admin, loop: OpenLoop, port: int, recorder: Recorder, imports: list[ImportDone],
                lock: threading.Lock) -> None:
    """One admin in the open loop: arrives at its slot (index / rate), logs in, then clicks through its pages with
    a think time after each answer (uniform 0.5–1.5 × the mean) until the end; a branch admin imports its
    workbooks along the way, the first on its second click (upload, then commit after the preview). Arrivals do
    not wait for earlier admins."""
    who = f"admin {admin.index} ({admin.role}, {admin.org_name})"
    rng = random.Random(admin.index)
    arrive = loop.start + admin.index / loop.arrival_rate
    time.sleep(max(0.0, arrive - time.monotonic()))
    with lock:
        loop.lags.append(time.monotonic() - arrive)
    s = Session(port, recorder, who)
    pages = [f"/orgs/{admin.org_id}", f"/members/org/{admin.org_id}", f"/progress/org/{admin.org_id}"]
    books = list(enumerate(admin.workbooks)) if admin.role == "branch" else []
    step = 0

    def think() -> bool:
        time.sleep(loop.think * rng.uniform(0.5, 1.5))
        return time.monotonic() < loop.end
    try:
        token = s.get("/auth/login").csrf()
        if not think():
            return
        page = s.follow(s.post_form("/auth/login", {"csrf_token": token, "id_number": admin.id_number,
                                                    "password": PASSWORD, "next": ""}))
        while think():
            if books and step % 4 == 1:                 # a branch admin imports early: its second click, then
                                                        # every fourth while it has workbooks left
                r, book = books.pop(0)
                done = ImportDone(admin, r)
                with lock:
                    imports.append(done)
                token = s.get(f"/members/org/{admin.org_id}/import").csrf()
                think()                                 # choosing the file; the import is finished regardless
                resp = s.post_file(f"/members/org/{admin.org_id}/import", {"csrf_token": token}, book.filename,
                                   book.data)
                m = re.fullmatch(r"/members/imports/(\d+)", resp.location())
                if not m:
                    recorder.error(who=who, request=f"POST /members/org/{admin.org_id}/import", status=resp.status,
                                   detail=f"unexpected redirect {resp.location()!r}")
                    return
                done.batch_id = int(m.group(1))
                page = s.follow(resp)
                think()                                 # reading the preview
                resp = s.post_form(f"/members/imports/{done.batch_id}/commit",
                                   {"csrf_token": page.csrf(), "mode": "valid"})
                done.committed = True
                page = s.follow(resp)
            elif step % 4 == 3:
                key = EXCEPTION_KEYS[(admin.index + step) % len(EXCEPTION_KEYS)]
                page = s.get(f"/progress/org/{admin.org_id}/exceptions/{key}")
            else:
                page = s.get(pages[step % 4])
            step += 1
        s.follow(s.post_form("/auth/logout", {"csrf_token": page.csrf()}))
    except StepFailed:
        return
    except Exception as exc:            # a bug in this script must not pass for a clean run
        recorder.error(who=who, request="(client, open loop)", status=None, detail=repr(exc))


# ---------------------------------------------------------------- verification

def verify(app, imports: list[ImportDone], members_before: int) -> list[str]:
    from tuanjian.extensions import db
    from tuanjian.models import ImportBatch, Member, Org, OrgStats, Person
    from tuanjian.services.stats import expected_rows

    problems: list[str] = []
    with app.app_context():
        expected = {}                       # id number -> branch id
        for done in imports:
            if done.committed:
                for number in done.admin.workbooks[done.round].id_numbers:
                    expected[number] = done.admin.org_id
        numbers = sorted(expected)
        people: dict[str, int] = {}
        members: dict[str, list[tuple[int, object]]] = {}
        for i in range(0, len(numbers), 500):
            chunk = numbers[i:i + 500]
            for number, n in db.session.execute(select(Person.id_number, func.count()).where(
                    Person.id_number.in_(chunk)).group_by(Person.id_number)):
                people[number] = n
            for number, org_id, deleted in db.session.execute(
                    select(Person.id_number, Member.org_id, Member.deleted_at)
                    .join(Member, Member.person_id == Person.id).where(Person.id_number.in_(chunk))):
                members.setdefault(number, []).append((org_id, deleted))
        lost = [n for n in numbers if people.get(n, 0) != 1]
        wrong = [n for n in numbers if [(o, d) for o, d in members.get(n, [])] != [(expected[n], None)]]
        if lost:
            problems.append(f"{len(lost)} imported ID numbers not in people exactly once, e.g. {lost[:3]}")
        if wrong:
            problems.append(f"{len(wrong)} imported ID numbers not a live member of their branch exactly once, e.g. "
                            f"{[(n, members.get(n)) for n in wrong[:3]]}")
        members_after = db.session.scalar(select(func.count()).select_from(Member))
        if members_after - members_before != len(expected):
            problems.append(f"members grew by {members_after - members_before}, expected {len(expected)}")
        batches = {b.id: b for b in db.session.scalars(select(ImportBatch).where(ImportBatch.kind == "members"))}
        uploaded = [d for d in imports if d.batch_id is not None]
        if len(batches) != len(uploaded):
            problems.append(f"{len(batches)} member import batches in the database, {len(uploaded)} uploads answered")
        for done in uploaded:
            batch = batches.get(done.batch_id)
            if batch is None or batch.org_id != done.admin.org_id:
                problems.append(f"batch {done.batch_id} of admin {done.admin.index} missing or on another org")
            elif done.committed and batch.status != "committed":
                problems.append(f"batch {done.batch_id} of admin {done.admin.index}: status {batch.status}")
        not_committed = [d for d in imports if not d.committed]
        if not_committed:
            problems.append(f"{len(not_committed)} imports not committed (a request failed), e.g. admin "
                            f"{not_committed[0].admin.index} round {not_committed[0].round + 1}")
        print(f"writes: {len([d for d in imports if d.committed])} imports committed, {len(batches)} batches stored; "
              f"{len(expected)} imported members expected, {len(numbers) - len(lost)} in people once, "
              f"{len(numbers) - len(wrong)} live members of their branch once; "
              f"members {members_before} → {members_after}")
        live = list(db.session.scalars(select(Org).where(Org.dissolved_at.is_(None)).order_by(Org.id)))
        fresh = expected_rows(db.session, live, settings=app.extensions["tuanjian_settings"])
        stored = {row.org_id: row for row in db.session.scalars(select(OrgStats))}
        mismatches = []
        for org_id, row in fresh.items():
            have = stored.get(org_id)
            if have is None:
                mismatches.append(f"org {org_id}: no stored org_stats row")
                continue
            diff = {k: (getattr(have, k), v) for k, v in row.items()
                    if k not in ("org_id", "updated_at") and getattr(have, k) != v}
            if diff:
                mismatches.append(f"org {org_id}: stored vs fresh {diff}")
        mismatches += [f"org {org_id}: stored row for a dissolved or missing org"
                       for org_id in stored.keys() - fresh.keys()]
        print(f"org_stats: {len(fresh)} live orgs, {len(stored)} stored rows, {len(mismatches)} mismatches with a "
              f"fresh recompute")
        for line in mismatches[:20]:
            print(f"  {line}")
        problems += [f"org_stats {m}" for m in mismatches]
        # the 团内统计's counters kept on write (issue 27) by every concurrent import and edit: equal to a recount
        from tuanjian.services.owners import tallies
        kept, recounted = tallies.stored(db.session), tallies.recount(db.session)
        tally_diff = sorted((k, kept.get(k, 0), recounted.get(k, 0)) for k in kept.keys() | recounted.keys()
                            if kept.get(k, 0) != recounted.get(k, 0))
        print(f"member_tallies: {len(kept)} kept, {len(recounted)} recounted, {len(tally_diff)} differences")
        problems += [f"member_tallies {k}: kept {a}, recount {b}" for k, a, b in tally_diff[:20]]
        db.session.remove()
        db.engine.dispose()
    return problems


# ---------------------------------------------------------------- gunicorn

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The bench's gunicorn settings: the app's own (tuanjian/gunicorn_conf.py, hooks included) plus a trace of every
# request a worker serves, one line in trace-<pid>.tsv: the client's X-Bench-Id, the monotonic clock (the same clock
# as the client's, one machine) when the worker started and ended it, the worker's CPU seconds, the seconds it sat
# runnable on the run queue without a core (/proc/self/schedstat) and the seconds in Python's garbage collector
# (with --threads the CPU, run-queue and GC seconds are the whole process's over the request).
TRACE_CONF = r"""
import gc, os, threading, time
import tuanjian.gunicorn_conf as _base
from tuanjian.gunicorn_conf import *  # noqa: F403

_DIR = {folder!r}
_state = {{"gc": 0.0}}


def _sched():
    try:
        with open("/proc/self/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def _gc(phase, info):
    if phase == "start":
        _state["gc0"] = time.perf_counter()
    elif "gc0" in _state:
        _state["gc"] += time.perf_counter() - _state.pop("gc0")


def post_fork(server, worker):
    if hasattr(_base, "post_fork"):
        _base.post_fork(server, worker)
    _state["out"] = open(os.path.join(_DIR, f"trace-{{os.getpid()}}.tsv"), "a", buffering=1)
    gc.callbacks.append(_gc)


def pre_request(worker, req):
    bench_id = next((v for k, v in req.headers if k == "X-BENCH-ID"), "0")
    _state[threading.get_ident()] = (bench_id, time.monotonic(), time.process_time(), _sched(), _state["gc"])


def post_request(worker, req, environ, resp):
    bench_id, t0, cpu, runq, gc_s = _state.pop(threading.get_ident(), ("0", time.monotonic(), 0.0, 0.0, 0.0))
    _state["out"].write(f"{{bench_id}}\t{{os.getpid()}}\t{{t0:.6f}}\t{{time.monotonic():.6f}}\t"
                        f"{{time.process_time() - cpu:.6f}}\t{{_sched() - runq:.6f}}\t{{_state['gc'] - gc_s:.6f}}\n")
"""


def start_gunicorn(env: dict, workers: int, tmp: str, threads: int = 1,
                   extra: list[str] | None = None) -> tuple[subprocess.Popen, int, Path]:
    """gunicorn on a free port with the app's settings, tracing every request into ``tmp`` (see TRACE_CONF)."""
    port = free_port()
    log = Path(tmp) / "gunicorn.stderr.log"
    conf = Path(tmp) / "gunicorn_bench_conf.py"
    conf.write_text(TRACE_CONF.format(folder=str(tmp)))
    cmd = [sys.executable, "-m", "gunicorn", "-c", str(conf), *(extra or []), "--workers", str(workers),
           "--threads", str(threads),
           "--bind", f"127.0.0.1:{port}", "--access-logfile", str(Path(tmp) / "access.log"),
           "tuanjian:create_app()"]
    import gunicorn.config
    if any(s.name == "control_socket_disable" for s in gunicorn.config.KNOWN_SETTINGS):
        cmd[-1:-1] = ["--no-control-socket"]     # gunicorn ≥ 24 would share ~/.gunicorn/gunicorn.ctl with other runs
    with log.open("wb") as err:                 # the server keeps its own copy of the descriptor
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"gunicorn exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/auth/login")
            if conn.getresponse().status == 200:
                return proc, port, log
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.2)
    stop_gunicorn(proc)
    sys.exit("gunicorn did not answer within 60 s")


def stop_gunicorn(proc: subprocess.Popen) -> str:
    if proc.poll() is not None:
        return f"gunicorn had already exited with {proc.returncode}"
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return "gunicorn did not stop within 30 s of SIGTERM: killed"
    return f"gunicorn stopped (exit {proc.returncode})"


def pg_counters() -> str:
    """Deadlocks and rollbacks PostgreSQL counted in the scratch database (its server log has the details)."""
    engine = create_engine(server_url())
    with engine.connect() as conn:
        row = conn.execute(text("SELECT deadlocks, xact_rollback, xact_commit FROM pg_stat_database "
                                "WHERE datname = :name"), {"name": PG_DB}).one()
    engine.dispose()
    return f"postgresql {PG_DB}: {row.deadlocks} deadlocks, {row.xact_rollback} rollbacks, {row.xact_commit} commits"


# ---------------------------------------------------------------- CPU per request (steadier than latencies)

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu(pid: int, children: bool = False) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc (0 when it is gone or unreadable); with
    ``children``, plus that of its children it has waited for (the workbook readers a worker or a reader zygote
    started and reaped)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return sum(int(v) for v in fields[11:15 if children else 13]) / _TICK
    except (OSError, IndexError, ValueError):
        return 0.0


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (gunicorn's workers, their reader zygotes and the readers running now)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    parents.setdefault(int(f.read().rsplit(b")", 1)[1].split()[1]), []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        out += kids
        todo += kids
    return out


class CpuMeter:
    """CPU seconds used during the load by the bench's own clients (this process), gunicorn (master, workers and the
    workbook readers they start)
    and the PostgreSQL backends serving the scratch database (read from /proc: Linux, server on this machine),
    against the whole machine's busy time (other work on a shared machine included)."""

    def __init__(self, gunicorn_pid: int, kind: str):
        self.pid, self.kind = gunicorn_pid, kind
        self.available = os.path.exists(f"/proc/{gunicorn_pid}/stat")
        self.start = self._sample() if self.available else None

    def _backends(self) -> list[int]:
        if self.kind != "postgresql":
            return []
        engine = create_engine(server_url())
        try:
            with engine.connect() as conn:
                return list(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :name"),
                                         {"name": PG_DB}).scalars())
        except Exception:       # the counters are a report, never a reason to fail the run
            return []
        finally:
            engine.dispose()

    @staticmethod
    def _machine() -> tuple[float, float]:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        return (sum(values) - idle) / _TICK, sum(values) / _TICK

    def _sample(self) -> dict:
        usage = os.times()
        workers = {p: _proc_cpu(p, children=p != self.pid) for p in [self.pid, *_children(self.pid)]}
        backends = {p: _proc_cpu(p) for p in self._backends()}
        return {"client": usage.user + usage.system, "gunicorn": workers, "postgresql": backends,
                "machine": self._machine(), "wall": time.monotonic()}

    def stop(self) -> dict | None:
        """CPU seconds per part since the start (call before gunicorn stops)."""
        if not self.available:
            return None
        end, start = self._sample(), self.start
        def used(part: str) -> float:
            return sum(v - start[part].get(p, 0.0) for p, v in end[part].items())
        busy = end["machine"][0] - start["machine"][0]
        return {"client": end["client"] - start["client"], "gunicorn": used("gunicorn"),
                "postgresql": used("postgresql"), "machine": busy, "wall": end["wall"] - start["wall"],
                "cores": os.cpu_count() or 1}


def print_cpu(cpu: dict | None, requests: int) -> None:
    if not cpu or not requests:
        print("cpu: not measured (needs /proc)")
        return
    ours = cpu["client"] + cpu["gunicorn"] + cpu["postgresql"]
    per = {k: cpu[k] / requests * 1000 for k in ("client", "gunicorn", "postgresql")}
    print(f"cpu per request: {ours / requests * 1000:.1f} ms (clients {per['client']:.1f}, gunicorn "
          f"{per['gunicorn']:.1f}, postgresql {per['postgresql']:.1f}) over {requests} requests; "
          f"this run used {ours / cpu['wall']:.2f} of {cpu['cores']} cores, the machine was busy "
          f"{cpu['machine'] / cpu['wall']:.2f} (other work included)")


# ---------------------------------------------------------------- report

def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def print_latencies(timings: list[tuple[str, float]]) -> None:
    print(f"{'latency (ms)':<16}{'n':>6}{'p50':>9}{'p95':>9}{'max':>9}")
    groups = [("all", [t for _, t in timings])] + [(k, [t for kind, t in timings if kind == k]) for k in KINDS]
    for name, values in groups:
        if values:
            print(f"{name:<16}{len(values):>6}{pct(values, .5) * 1000:>9.0f}{pct(values, .95) * 1000:>9.0f}"
                  f"{max(values) * 1000:>9.0f}")


def read_trace(tmp: str) -> dict[int, tuple]:
    """The workers' trace lines (see TRACE_CONF) by bench id: (pid, start, end, cpu, run queue, gc)."""
    out = {}
    for path in Path(tmp).glob("trace-*.tsv"):
        for line in path.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) == 7 and parts[0].isdigit():
                out[int(parts[0])] = (int(parts[1]), *map(float, parts[2:]))
    return out


def print_queueing(trace: list[tuple[int, str, float, float]], server: dict[int, tuple]) -> dict:
    """Where each request's time went: waiting for a worker (sent → the worker starts it: the listen backlog, plus
    the connection and the request line) against inside the worker (its CPU, its time runnable without a core, GC,
    and the rest: database, reader process, flock waits); for the slowest pages, what the workers were serving while
    those waited. Returns the page figures for the sweep table."""
    joined = [(kind, sent, got, server[i]) for i, kind, sent, got in trace if i in server]
    print(f"server trace: {len(joined)} of {len(trace)} answered requests traced; ms p50/p95 of: wait = sent → a "
          f"worker starts it, worker = start → end, of which cpu, runq (runnable, no free core), gc")
    print(f"{'':<16}{'n':>6}{'wait':>12}{'worker':>12}{'cpu':>12}{'runq':>12}{'gc':>12}")

    def cell(values: list[float]) -> str:
        return f"{pct(values, .5) * 1000:.0f}/{pct(values, .95) * 1000:.0f}" if values else "-"
    for k in KINDS:
        rows = [(sent, got, srv) for kind, sent, got, srv in joined if kind == k]
        if rows:
            print(f"{k:<16}{len(rows):>6}" + "".join(f"{cell(v):>12}" for v in (
                [max(0.0, srv[1] - sent) for sent, _, srv in rows], [srv[2] - srv[1] for _, _, srv in rows],
                [srv[3] for _, _, srv in rows], [srv[4] for _, _, srv in rows], [srv[5] for _, _, srv in rows])))
    pages = [(sent, got, srv) for kind, sent, got, srv in joined if kind == "page"]
    if not pages:
        return {}
    p95 = pct([got - sent for sent, got, _ in pages], .95)
    slow = [(sent, got, srv) for sent, got, srv in pages if got - sent >= p95]
    share = sum(max(0.0, srv[1] - sent) for sent, _, srv in pages) / sum(got - sent for sent, got, _ in pages)
    slow_share = sum(max(0.0, srv[1] - sent) for sent, _, srv in slow) / sum(got - sent for sent, got, _ in slow)
    mean = [sum(v) / len(slow) * 1000 for v in zip(*[(max(0.0, srv[1] - sent), srv[2] - srv[1], srv[3], srv[4],
                                                        srv[5]) for sent, _, srv in slow])]
    print(f"pages: waiting for a worker is {share * 100:.0f} % of all page time; the slowest 5 % (≥ {p95 * 1000:.0f} "
          f"ms, {len(slow)}): {slow_share * 100:.0f} % waiting, mean wait {mean[0]:.0f} ms, in the worker "
          f"{mean[1]:.0f} ms (cpu {mean[2]:.0f}, runq {mean[3]:.0f}, gc {mean[4]:.1f})")
    # what every worker was doing while those slow pages waited: worker-seconds per kind, and idle
    by_pid: dict[int, list[tuple[float, float, str]]] = {}
    for kind, _, _, srv in joined:
        by_pid.setdefault(srv[0], []).append((srv[1], srv[2], kind))
    for spans in by_pid.values():
        spans.sort()
    starts = {pid: [a for a, _, _ in spans] for pid, spans in by_pid.items()}
    import bisect
    held: dict[str, float] = {}
    total = 0.0
    for sent, _, srv in slow:
        a, b = sent, srv[1]
        if b <= a:
            continue
        for pid, spans in by_pid.items():
            total += b - a
            for j in range(max(0, bisect.bisect_left(starts[pid], a) - 1), len(spans)):
                s0, s1, kind = spans[j]
                if s0 >= b:
                    break
                overlap = min(b, s1) - max(a, s0)
                if overlap > 0:
                    held[kind] = held.get(kind, 0.0) + overlap
    if total:
        idle = total - sum(held.values())
        print("while the slowest pages waited, the workers were serving: "
              + ", ".join(f"{k} {v / total * 100:.0f} %" for k, v in sorted(held.items(), key=lambda kv: -kv[1]))
              + f"; between requests (idle, accept, log) {idle / total * 100:.0f} %")
    return {"wait_share": share, "slow_wait_share": slow_share}


def server_log_excerpt(log: Path, limit: int = 120) -> list[str]:
    lines = log.read_text(errors="replace").splitlines()
    keep = [i for i, line in enumerate(lines) if re.search(r"Traceback|Error|error|locked|WORKER TIMEOUT|Exception",
                                                           line) and "Booting worker" not in line]
    shown: list[str] = []
    for i in keep:
        for j in range(max(0, i - 2), min(len(lines), i + 3)):
            if lines[j] not in shown[-5:]:
                shown.append(lines[j])
    return shown[-limit:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sweep", default=None,
                        help="open-loop sizes, e.g. 300,600,1000,1500 (arriving 1/s per 300 admins)")
    parser.add_argument("--sweep-window", type=float, default=300.0,
                        help="sweep: seconds over which each size arrives (1/s per 300 admins at 300)")
    parser.add_argument("--burst", type=int, default=None,
                        help="sweep: also N admins arriving within one think time, reported separately")
    parser.add_argument("--admins", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per gunicorn worker (1: sync workers; more: gthread)")
    parser.add_argument("--gunicorn-arg", action="append", default=[],
                        help="one more gunicorn option for the bench's server, e.g. --gunicorn-arg=--preload "
                             "(repeat for several)")
    parser.add_argument("--per-branch", type=int, default=1,
                        help="branch admins per 团支部 (2+: concurrent imports into the same branch)")
    parser.add_argument("--keep", action="store_true", help="keep the database and the temp dir (logs) afterwards")
    parser.add_argument("--open-loop", action="store_true",
                        help="admins arrive at a fixed rate and click with think time (instead of all at once, "
                             "back to back)")
    parser.add_argument("--think", type=float, default=10.0, help="open loop: mean think time in seconds")
    parser.add_argument("--arrival-rate", type=float, default=None,
                        help="open loop: admins arriving per second (default: all within one think time)")
    parser.add_argument("--duration", type=float, default=None,
                        help="open loop: seconds from the first arrival (default 120; sweep: the sweep window + 30, "
                             "so every size has all its admins working for the last 30 s)")
    parser.add_argument("--imports", type=int, default=1, help="open loop: workbooks each branch admin imports")
    args = parser.parse_args()
    if args.sweep:
        args.burst_duration = args.duration or 120.0
        if args.duration is None:
            args.duration = args.sweep_window + 30.0
        sys.exit(sweep(args))
    if args.duration is None:
        args.duration = 120.0
    if args.open_loop:
        args.rounds = args.imports                      # workbooks per branch admin
        args.arrival_rate = args.arrival_rate or args.admins / args.think
    if run(args)["failed"]:
        sys.exit(1)


PAGE_P95_LIMIT = 0.300          # seconds: the knee is the largest size whose page p95 stays under it


def sweep(args) -> int:
    """One open-loop run per size (and the burst case), then the table and the knee; the exit status is 1 when a
    run had errors or lost writes."""
    import copy
    sizes = [int(n) for n in args.sweep.split(",") if n.strip()]
    cases = [("steady", n, n / args.sweep_window) for n in sizes]
    if args.burst:
        cases.append(("burst", args.burst, args.burst / args.think))
    results = []
    for label, n, rate in cases:
        one = copy.copy(args)
        one.open_loop, one.admins, one.arrival_rate, one.rounds = True, n, rate, args.imports
        if label == "burst":
            one.duration = getattr(args, "burst_duration", args.duration)
        print(f"==== {label}: {n} admins arriving {rate:g}/s, think {args.think:g} s, {one.duration:g} s")
        results.append((label, n, run(one)))
    print(f"==== sweep on {args.db}, gunicorn {args.workers} workers × {args.threads} threads, clients on the same "
          f"machine (think {args.think:g} s, {args.duration:g} s per size)")
    print(f"{'case':<8}{'admins':>7}{'requests':>9}{'errors':>7}{'busy':>6}{'cpu ms/req':>11}  "
          + "".join(f"{k + ' p50/p95':>26}" for k in KINDS))
    for label, n, r in results:
        cells = "".join(f"{(f'{r[k][0]:.0f}/{r[k][1]:.0f} ms' if k in r else '-'):>26}" for k in KINDS)
        cpu = f"{r['cpu_ms']:.1f}" if r.get("cpu_ms") is not None else "-"
        print(f"{label:<8}{n:>7}{r['requests']:>9}{r['errors']:>7}{r['busy']:>6}{cpu:>11}  {cells}")
    for label, n, r in results:
        if "wait_share" in r:
            print(f"{label} {n}: waiting for a worker is {r['wait_share'] * 100:.0f} % of page time, "
                  f"{r['slow_wait_share'] * 100:.0f} % of the slowest 5 % of pages")
    fine = [n for label, n, r in results if label == "steady" and not r["failed"]
            and "page" in r and r["page"][1] < PAGE_P95_LIMIT * 1000]
    print(f"largest size with page p95 < {PAGE_P95_LIMIT * 1000:.0f} ms and 0 errors: "
          + (str(max(fine)) if fine else "none of the sizes tried"))
    return 1 if any(r["failed"] for _, _, r in results) else 0


def run(args) -> dict:
    """One run (closed or open loop) as the options say: prints its report; returns its summary."""
    tmp = tempfile.mkdtemp(prefix="tuanjian_load_")
    os.environ["TUANJIAN_INSTANCE_PATH"] = tmp          # the in-process app must not touch ./instance
    secret = secrets.token_hex(16)
    t0 = time.perf_counter()
    url = database_url(args.db, tmp)
    env = app_env(url, tmp, secret)
    flask_cli(env, "db", "upgrade")
    flask_cli(env, "demo")
    app = local_app(url, secret)
    admins = seed_admins(app, args.admins, args.per_branch)
    from tuanjian.extensions import db
    from tuanjian.models import Member, Person
    with app.app_context():
        taken = set(db.session.scalars(select(Person.id_number)))
        members_before = db.session.scalar(select(func.count()).select_from(Member))
        db.session.remove()
        db.engine.dispose()
    rows = build_workbooks(admins, args.rounds, taken)
    n_branch = sum(a.role == "branch" for a in admins)
    mix = (f"open loop: arriving {args.arrival_rate:g}/s, think {args.think:g} s, {args.duration:g} s "
           f"(offered about {args.admins / args.think:.1f} req/s once all arrived)") if args.open_loop \
        else f"{args.rounds} rounds"
    print(f"database: {args.db}; gunicorn {args.workers} workers × {args.threads} threads on 127.0.0.1; "
          f"{args.admins} admins "
          f"({n_branch} branch{f' ({args.per_branch} per branch)' if args.per_branch > 1 else ''}, "
          f"{args.admins - n_branch} committee), {mix}; "
          f"{n_branch * args.rounds} workbooks, {rows} rows; setup {time.perf_counter() - t0:.1f} s")

    proc, port, log = start_gunicorn(env, args.workers, tmp, args.threads, args.gunicorn_arg)
    cpu = None
    try:
        meter = CpuMeter(proc.pid, args.db)
        recorder, imports, lock = Recorder(), [], threading.Lock()
        loop = None
        if args.open_loop:
            start = time.monotonic() + 1.0
            loop = OpenLoop(start=start, arrival_rate=args.arrival_rate, think=args.think, end=start + args.duration)
            threads = [threading.Thread(target=run_visitor, args=(a, loop, port, recorder, imports, lock),
                                        daemon=True) for a in admins]
            for th in threads:
                th.start()
        else:
            barrier = threading.Barrier(len(admins) + 1)
            threads = [threading.Thread(target=run_admin, args=(a, args.rounds, port, recorder, barrier, imports,
                                                                lock), daemon=True) for a in admins]
            for th in threads:
                th.start()
            barrier.wait()
        t = time.perf_counter()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t
        cpu = meter.stop()
    finally:
        stopped = stop_gunicorn(proc)

    n = len(recorder.timings)
    print(f"requests: {n}  errors: {len(recorder.errors)}  busy logins (503, retried): {recorder.busy}  "
          f"wall: {wall:.1f} s  throughput: {n / wall:.1f} req/s  "
          f"statuses: {dict(sorted(recorder.statuses.items()))}")
    print_latencies(recorder.timings)
    print_cpu(cpu, n)
    queueing = print_queueing(recorder.trace, read_trace(tmp))
    if loop is not None:
        print(f"open loop: {len(loop.lags)} admins arrived, latest {max(loop.lags, default=0) * 1000:.0f} ms behind "
              f"its slot (the client kept up when this is small)")
    for err in recorder.errors[:20]:
        print(f"  ERROR {err}")
    print(stopped)
    problems = verify(app, imports, members_before)
    if args.db == "postgresql":
        print(pg_counters())
    for p in problems[:20]:
        print(f"  WRITE CHECK FAILED: {p}")
    failed = bool(recorder.errors or problems)
    if failed:
        print(f"gunicorn stderr ({log}):")
        for line in server_log_excerpt(log) or ["(no tracebacks or errors logged)"]:
            print(f"  | {line}")
    print("result: " + ("FAILED" if failed
                        else "OK (0 errors, no lost writes, org_stats and member tallies consistent)"))
    if args.keep or failed:
        print(f"kept: {tmp}" + (f" and database {PG_DB}" if args.db == "postgresql" else ""))
    else:
        drop_database(args.db)
        shutil.rmtree(tmp, ignore_errors=True)
    summary = {"failed": failed, "requests": n, "errors": len(recorder.errors), "busy": recorder.busy,
               "cpu_ms": (sum(cpu[k] for k in ("client", "gunicorn", "postgresql")) / n * 1000
                          if cpu and n else None),
               "client_ms": cpu["client"] / n * 1000 if cpu and n else None, **queueing}
    for k in KINDS:
        values = [t for kind, t in recorder.timings if kind == k]
        if values:
            summary[k] = (pct(values, .5) * 1000, pct(values, .95) * 1000)
    return summary


if __name__ == "__main__":
    main()
