"""Progress-supervision (录入进度) benchmark: server time of the root's and of a township's progress page.

Builds a county-scale database (about 3,000 orgs, 50,000 members; SQLite or PostgreSQL) and a province-scale
one (about 120,000 orgs, 2.5 million members; PostgreSQL), fills ``org_stats`` once with ``stats.refresh_all``
(the rows are loaded with insert_many, which the ORM hooks do not see) and times, after one warm-up, N runs of
``services.progress.progress`` (check_current=True) and, when the web route exists, of GET /progress/org/<id>
through the test client as the root's admin. Both databases are built first and then timed interleaved, since the
machine's noise is large next to tens of milliseconds; medians (and ranges) are printed.
Targets: root page at province scale < 0.5 s; the township page at province scale ≤ 2× its time at county scale.

The township is built from the same template at both scales (a 乡镇团委 with 4 团总支 of 5 团支部 and 15 direct
团支部: 40 orgs, 35 branches, 715 members), so the ratio compares like with like. The ratio is printed when both
scales run; it is meaningful when the county also runs on PostgreSQL (the default with --scale both).

Usage: .venv/bin/python bench/progress.py [--scale county|province|both] [--db sqlite|postgresql] [--repeat 7]
                                          [--county-orgs 3000] [--county-members 50000]
                                          [--province-orgs 120000] [--province-members 2500000]
PostgreSQL uses scratch databases tuanjian_bench_progress_{county,province} on TUANJIAN_BENCH_DATABASE_URL
(default postgresql://postgres@127.0.0.1:5432/postgres for the server), VACUUM ANALYZEd after the load as
autovacuum would. The full province build takes a few minutes (about 2 on 2 cores).
"""
from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select, text  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from tuanjian import create_app  # noqa: E402
from tuanjian.dbsetup import insert_many  # noqa: E402
from tuanjian.domain.codes import ALPHABET  # noqa: E402
from tuanjian.domain.orgtree import OrgKind  # noqa: E402
from tuanjian.domain.people import id_check_char  # noqa: E402
from tuanjian.extensions import db  # noqa: E402
from tuanjian.models import Account, AdminGrant, CadrePost, Member, Org, Person, RegistrationCode, utcnow  # noqa: E402
from tuanjian.services import progress as service  # noqa: E402
from tuanjian.services import stats  # noqa: E402

from _scratch import fresh_database  # noqa: E402

CHUNK = 50000                      # people per insert_many round (and per commit)
PASSWORD = "bench1234"
LEADING, COMMITTEE, WORKING, GENERAL, BRANCH = (OrgKind.LEADING.value, OrgKind.COMMITTEE.value,
                                                OrgKind.WORKING.value, OrgKind.GENERAL_BRANCH.value,
                                                OrgKind.BRANCH.value)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "子涵欣怡梓轩浩宇雨萱一诺佳怡宇轩思涵晨阳俊杰文博"
PLACES = ["华阳", "雷池", "长岭", "太慈", "杨湾", "高士", "鸦滩", "凉泉", "赛口", "漳湖", "麻塘", "新桥", "青龙",
          "白沙", "石门", "柳溪", "桃源", "枫林", "龙泉", "金城", "南山", "东湖", "西河", "北岗", "安平", "永丰"]
CITIES = ["合肥", "芜湖", "蚌埠", "淮南", "马鞍山", "淮北", "铜陵", "安庆", "黄山", "滁州", "阜阳", "宿州", "六安",
          "亳州", "池州", "宣城"]
SCHOOL_KINDS = [("中学团委", "普通高中"), ("职业学校团委", "职业教育学校"), ("初级中学团委", "初中"),
                ("公司团委", "国有企业"), ("有限公司团委", "非公企业"), ("医院团委", "事业单位（不含公立学校）"),
                ("局团委", "党政机关")]
TOWN_GENERAL = 4                   # township template: 4 团总支 of 5 团支部, then 10 + (k*5) % 11 direct 团支部
TOWN_GENERAL_BRANCHES = 5
BENCH_TOWNSHIP = 1                 # template k=1: 15 direct branches, 35 in all, 40 orgs


class O:  # noqa: E742 - short on purpose: the tree builder writes it thousands of times
    """One organisation of the tree being generated (120,000 of them fit easily in memory)."""

    __slots__ = ("id", "parent_id", "code", "kind", "name", "township", "sort", "region", "members", "industry",
                 "next_child")

    def __init__(self, oid, parent, code, kind, name, township, sort, region, industry):
        self.id, self.code, self.kind, self.name, self.township, self.sort = oid, code, kind, name, township, sort
        self.parent_id = parent.id if parent else None
        self.region, self.industry, self.members, self.next_child = region, industry, None, 0


class Tree:
    def __init__(self, seed: int):
        self.orgs: list[O] = []
        self.rng = random.Random(seed)
        self.township: O | None = None         # the township whose page is timed

    def add(self, parent: O | None, kind: str, name: str, *, township=False, region=None, industry=None) -> O:
        if parent is None:
            code, sort = "000", 0
        else:
            parent.next_child += 1
            assert parent.next_child <= 999, parent.code
            code, sort = f"{parent.code}.{parent.next_child:03d}", parent.next_child
        org = O(len(self.orgs) + 1, parent, code, kind, name[:25], township, sort,
                region or parent.region, industry or (parent.industry if parent else None))
        self.orgs.append(org)
        return org

    # ------------------------------------------------------------ building blocks

    def township_template(self, parent: O, k: int) -> O:
        """A 乡镇团委 (every fifth a 街道团工委): village 团总支 with branches, and direct branches. Member counts are
        fixed here, so template k is the same org for org and member for member at every scale."""
        place = PLACES[k % len(PLACES)] + (str(k // len(PLACES)) if k >= len(PLACES) else "")
        street = k % 5 == 4
        town = self.add(parent, WORKING if street else COMMITTEE, place + ("街道团工委" if street else "镇团委"),
                        township=True, industry="农村")
        j = 0
        for g in range(TOWN_GENERAL):
            gb = self.add(town, GENERAL, f"{place}第{g + 1}村团总支")
            for b in range(TOWN_GENERAL_BRANCHES):
                self.add(gb, BRANCH, f"{place}第{g + 1}村第{b + 1}团支部").members = 16 + (j * 7) % 10
                j += 1
        for b in range(10 + (k * 5) % 11):
            self.add(town, BRANCH, f"{place}镇机关第{b + 1}团支部" if b < 2 else f"{place}社区第{b - 1}团支部",
                     industry="党政机关" if b < 2 else "城市社区").members = 16 + (j * 7) % 10
            j += 1
        return town

    def committee(self, parent: O, n: int, cap: int) -> int:
        """A school / enterprise / department 团委 of at most ``cap`` orgs; returns the number made."""
        rng = self.rng
        suffix, industry = SCHOOL_KINDS[n % len(SCHOOL_KINDS)]
        head = self.add(parent, COMMITTEE, f"{PLACES[n % len(PLACES)]}第{n + 1}{suffix}", industry=industry)
        made = 1
        if rng.random() < 0.02:                    # newly set up, no branch yet: a 空心团委
            return made
        for g in range(rng.choice((0, 0, 1, 2, 3, 4))):
            if made + 2 > cap:
                break
            gb = self.add(head, GENERAL, f"{2020 + g}级团总支" if industry in ("普通高中", "职业教育学校", "初中")
                          else f"第{g + 1}团总支")
            made += 1
            for b in range(rng.randint(3, 10)):
                if made >= cap:
                    break
                self.add(gb, BRANCH,
                         f"{g + 1}{b + 1:02d}班团支部" if industry != "国有企业" else f"第{b + 1}车间团支部")
                made += 1
        for b in range(rng.randint(3, 25)):
            if made >= cap:
                break
            self.add(head, BRANCH, f"第{b + 1}团支部")
            made += 1
        return made

    def county(self, parent: O | None, name: str, region: str, budget: int, *, first: bool) -> O:
        """A 县团委 of about ``budget`` orgs: townships (30%), a 县直机关团工委, school/enterprise 团委, a few
        branches directly under the county."""
        start = len(self.orgs)
        county = self.add(parent, LEADING, name, region=region)
        n_towns = max(2, round(budget * 0.30 / 40))
        for k in range(n_towns):
            town = self.township_template(county, k)
            if first and k == BENCH_TOWNSHIP:
                self.township = town
        organs = self.add(county, WORKING, "县直机关团工委", industry="党政机关")
        for b in range(min(30, max(3, budget // 100))):
            self.add(organs, BRANCH, f"县直第{b + 1}团支部")
        direct = max(2, budget // 300)
        n = 0
        while (left := budget - (len(self.orgs) - start) - direct) > 3:
            self.committee(county, n, left)
            n += 1
        for b in range(budget - (len(self.orgs) - start)):
            self.add(county, BRANCH, f"县团委机关第{b + 1}团支部", industry="党政机关")
        return county

    # ------------------------------------------------------------ members per branch

    def assign_members(self, total: int) -> None:
        """Template branches keep their counts; the others share the rest: about 1% empty, 1% with 1–2 members,
        0.3% with more than 50, the others around the mean; then nudged until the total is exact."""
        rng = self.rng
        branches = [o for o in self.orgs if o.kind == BRANCH]
        free = [o for o in branches if o.members is None]
        fixed = sum(o.members for o in branches if o.members is not None)
        normal = []
        for o in free:
            r = rng.random()
            if r < 0.010:
                o.members = 0
            elif r < 0.020:
                o.members = rng.randint(1, 2)
            elif r < 0.023:
                o.members = rng.randint(51, 70)
            else:
                normal.append(o)
        rest = total - fixed - sum(o.members for o in free if o.members is not None)
        if rest < 3 * len(normal):
            sys.exit(f"{total} members are too few for {len(self.orgs)} orgs: the township templates alone hold "
                     f"{fixed} and the other {len(normal)} branches need at least 3 each")
        mean = max(3, rest // max(1, len(normal)))
        for o in normal:
            o.members = max(3, mean + rng.randint(-5, 5))
        diff = total - sum(o.members for o in branches)
        while diff and normal:
            o = rng.choice(normal)
            step = 1 if diff > 0 else -1
            if o.members + step >= 3:
                o.members += step
                diff -= step


def county_tree(seed: int = 1, orgs: int = 3000, members: int = 50000) -> Tree:
    tree = Tree(seed)
    tree.county(None, "基准县团委", "340827", orgs, first=True)
    tree.assign_members(members)
    return tree


def province_tree(orgs: int, members: int, seed: int = 2) -> Tree:
    """省 → 16 市 → about 7 县 each (≈900 orgs) → 乡镇 → (团总支 →) 团支部, plus 省直/市直 团工委 and big 团委."""
    tree = Tree(seed)
    root = tree.add(None, LEADING, "基准省团委", region="340000")
    organs = tree.add(root, WORKING, "省直机关团工委", industry="党政机关")
    for b in range(40):
        tree.add(organs, BRANCH, f"省直第{b + 1}团支部")
    n_cities = len(CITIES)
    per_city = (orgs - len(tree.orgs)) // n_cities
    for c in range(n_cities):
        start = len(tree.orgs)
        city = tree.add(root, LEADING, f"{CITIES[c]}市团委", region=f"34{c + 1:02d}00")
        n_counties = max(1, int(per_city * 0.85) // 900)
        for k in range(n_counties):
            tree.county(city, f"{PLACES[(c * 3 + k) % len(PLACES)]}{k + 1}县团委", f"34{c + 1:02d}{k + 21:02d}",
                        int(per_city * 0.85) // n_counties, first=(c == 0 and k == 0))
        budget = per_city if c < n_cities - 1 else orgs - start
        n = 0
        while (left := budget - (len(tree.orgs) - start)) > 3:
            tree.committee(city, 100 + n, min(left, 300))
            n += 1
        for b in range(budget - (len(tree.orgs) - start)):
            tree.add(city, BRANCH, f"市团委机关第{b + 1}团支部")
    tree.assign_members(members)
    return tree


# ---------------------------------------------------------------- rows

class Loader:
    """Turns the tree into rows and inserts them with insert_many, CHUNK people at a time, committing each."""

    def __init__(self, session, tree: Tree, today: date, now: datetime):
        self.session, self.tree, self.today, self.now = session, tree, today, now
        self.rng = random.Random(7)
        self.counters: dict[str, int] = defaultdict(int)          # people per ID region (uniqueness)
        self.base = today - timedelta(days=26 * 365 + 6)          # normal births: 16–26 years ago
        self.ids = defaultdict(int)                                # last id per table
        self.people, self.members, self.posts, self.accounts, self.grants = [], [], [], [], []
        self.admin_id_number: str | None = None
        self.admin_hash = generate_password_hash(PASSWORD)
        self.counts = defaultdict(int)

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def person(self, region: str, *, cadre: bool = False, phone: bool | None = None) -> int:
        """A person with a valid, unique GB 11643 number: region + birth date + sequence, where (birth, sequence)
        is a bijection of the region's counter."""
        c = self.counters[region]
        self.counters[region] += 1
        q, d = divmod(c, 3650)
        assert q < 1000, region
        seq = (q * 3651 + d) % 1000
        birth = self.base + timedelta(days=d)
        pid = self.next_id("people")
        overage = not cadre and pid % 293 == 7
        if cadre or overage:
            birth -= timedelta(days=3650)                         # 26–36 years old
        first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
        join_year = min(birth.year + 14 + c % 3, self.today.year)
        month = 1 + c % 12 if join_year < self.today.year else 1 + c % self.today.month
        political = "中共党员" if cadre else ("中共预备党员" if pid % 41 == 0 else "共青团员")
        if phone is None:
            phone = pid % 2 == 0
        self.people.append({
            "id": pid, "id_number": first17 + id_check_char(first17),
            "name": SURNAMES[pid % 20] + GIVEN[(pid // 20) % 20] + GIVEN[(pid // 400) % 20],
            "gender": "男" if seq % 2 else "女", "birth_date": birth,
            "ethnicity": "回族" if pid % 97 == 0 else "汉族", "political_status": political,
            "join_date": None if pid % 211 == 5 else f"{join_year}-{month:02d}",
            "phone": f"139{pid:08d}" if phone else None})
        return pid

    def dev_number(self, pid: int, join_date: str | None) -> str | None:
        year = int(join_date[:4]) if join_date else self.today.year
        if year >= 2017:
            if pid % 37 == 3:
                return None                                       # missing: an exception
            if pid % 101 == 9:
                return f"{year - 3}{pid:08d}"                     # wrong year: an exception
            return f"{year}{pid:08d}"
        return f"{year}{pid:08d}" if pid % 10 < 7 else None       # optional before 2017

    def post(self, pid: int, org_id: int, position: str, *, start: str = "2023-03") -> None:
        self.posts.append({"id": self.next_id("cadre_posts"), "person_id": pid, "org_id": org_id,
                           "position": position, "nature": "兼职", "start_month": start})

    def grant(self, pid: int, org_id: int, *, password_hash: str | None = None) -> None:
        self.grants.append({"id": self.next_id("admin_grants"), "org_id": org_id, "person_id": pid,
                            "granted_at": self.now})
        self.accounts.append({"id": self.next_id("accounts"), "person_id": pid, "password_hash": password_hash,
                              "claimed_at": self.now if password_hash else None, "failed_logins": 0,
                              "session_version": 1})

    def load(self) -> None:
        self.insert_orgs()
        rng = self.rng
        for org in self.tree.orgs:
            if org.kind == BRANCH:
                secretary = None
                for m in range(org.members):
                    pid = self.person(org.region, phone=True if m == 0 else None)
                    self.members.append({"id": self.next_id("members"), "person_id": pid, "org_id": org.id,
                                         "dev_number": self.dev_number(pid, self.people[-1]["join_date"]),
                                         "education": "大学本科" if pid % 3 else "普通高中在读",
                                         "occupation": "学生" if pid % 3 == 0 else "企业职工",
                                         "workplace": org.name, "deleted_at": None})
                    if m == 0 and rng.random() < 0.92:
                        secretary = pid
                        self.post(pid, org.id, "书记")
                    elif m == 1 and org.members >= 5 and rng.random() < 0.5:
                        self.post(pid, org.id, "组织委员")
                if org.id % 200 == 0:                              # a member who left: soft-deleted
                    pid = self.person(org.region)
                    self.members.append({"id": self.next_id("members"), "person_id": pid, "org_id": org.id,
                                         "dev_number": None, "education": None, "occupation": None,
                                         "workplace": None, "deleted_at": self.now - timedelta(days=40)})
                if secretary and rng.random() < 0.88:
                    self.grant(secretary, org.id)
            else:
                if org.parent_id is None or rng.random() < 0.93:
                    pid = self.person(org.region, cadre=True, phone=True)
                    self.post(pid, org.id, "书记")
                    if org.parent_id is None:
                        self.admin_id_number = self.people[-1]["id_number"]
                        self.grant(pid, org.id, password_hash=self.admin_hash)
                    elif rng.random() < 0.9:
                        self.grant(pid, org.id)
                for position in ("副书记", "组织委员"):
                    if rng.random() < 0.75:
                        self.post(self.person(org.region, cadre=True, phone=rng.random() < 0.95), org.id, position)
            if len(self.people) >= CHUNK:
                self.flush()
        self.flush()
        self.insert_codes()

    def insert_orgs(self) -> None:
        rng = random.Random(3)
        rows = []
        for o in self.tree.orgs:
            complete = rng.random() < 0.75
            leading = o.kind == LEADING
            staffing = o.kind != BRANCH
            rows.append({
                "id": o.id, "parent_id": o.parent_id, "code": o.code, "kind": o.kind, "short_name": o.name,
                "full_name": (f"共青团{o.name}" if complete else None), "is_township": o.township,
                "sort_order": o.sort, "industry": None if leading else (o.industry or "其他"),
                "staff_admin_quota": 2 if staffing and complete else None,
                "staff_admin_actual": 1 if staffing and complete else None,
                "staff_inst_quota": 0 if staffing and complete else None,
                "staff_inst_actual": 0 if staffing and complete else None,
                "phone": "0556-1234567" if leading else None, "email": "tw@example.cn" if leading else None,
                "youth_count": (o.members or 0) * 3 + 10 if o.kind == BRANCH and rng.random() < 0.4 else None,
                "founded_on": date(1990 + o.id % 30, 5, 4) if complete else None,
                "secretary_presiding": False, "dissolved_at": None})
            if len(rows) >= CHUNK:
                insert_many(self.session, Org.__table__, rows)
                self.session.commit()
                rows = []
        insert_many(self.session, Org.__table__, rows)
        self.session.commit()

    def flush(self) -> None:
        for table, rows in ((Person, self.people), (Member, self.members), (CadrePost, self.posts),
                            (Account, self.accounts), (AdminGrant, self.grants)):
            insert_many(self.session, table.__table__, rows)
            self.counts[table.__tablename__] += len(rows)
            rows.clear()
        self.session.commit()

    def insert_codes(self) -> None:
        """Orgs without an admin: half have a code that expired unused (an exception), half a live one."""
        with_admin = set(self.session.scalars(select(AdminGrant.org_id)))
        rows = []
        for o in self.tree.orgs:
            if o.id in with_admin or o.parent_id is None:
                continue
            cid = self.next_id("registration_codes")
            expired = cid % 2 == 0
            digits, n = [], cid
            for _ in range(6):
                n, r = divmod(n, len(ALPHABET))
                digits.append(ALPHABET[r])
            rows.append({"id": cid, "org_id": o.id, "code": "3A" + "".join(digits),
                         "issued_at": self.now - timedelta(days=40 if expired else 2),
                         "expires_at": self.now - timedelta(days=33) if expired else self.now + timedelta(days=5),
                         "used_at": None, "revoked_at": None})
        insert_many(self.session, RegistrationCode.__table__, rows)
        self.counts["registration_codes"] = len(rows)
        self.session.commit()

    def fix_sequences(self) -> None:
        if self.session.get_bind().dialect.name != "postgresql":
            return
        for table in ("orgs", "people", "members", "cadre_posts", "accounts", "admin_grants", "registration_codes"):
            self.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                      f"(SELECT coalesce(max(id), 1) FROM {table}))"))
        self.session.commit()


# ---------------------------------------------------------------- databases and timing

def database_url(kind: str, name: str, tmp: str) -> str:
    return fresh_database(kind, name, tmp)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(scale: str, kind: str, tmp: str, args) -> dict:
    t0 = time.perf_counter()
    tree = (county_tree(orgs=getattr(args, "county_orgs", 3000), members=getattr(args, "county_members", 50000))
            if scale == "county" else province_tree(args.province_orgs, args.province_members))
    tree_s = time.perf_counter() - t0
    url = database_url(kind, getattr(args, "db_name", None) or f"tuanjian_bench_progress_{scale}", tmp)
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": url})
    now = utcnow()
    with app.app_context():
        settings = app.extensions["tuanjian_settings"]
        db.create_all()
        _, today = service.now_and_today()
        loader = Loader(db.session, tree, today, now)
        t = time.perf_counter()
        loader.load()
        loader.fix_sequences()
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        n = stats.refresh_all(db.session, settings=settings)
        db.session.commit()
        refresh_s = time.perf_counter() - t
        assert n == len(tree.orgs), (n, len(tree.orgs))
        db.session.remove()
        t = time.perf_counter()
        if kind == "postgresql":                # what autovacuum does after a load, made deterministic
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        analyze_s = time.perf_counter() - t
    info = {"app": app, "url": url, "kind": kind, "scale": scale, "orgs": len(tree.orgs),
            "members": sum(o.members for o in tree.orgs if o.kind == BRANCH),
            "people": loader.counts["people"], "root_id": 1, "township_id": tree.township.id,
            "township_orgs": sum(1 for o in tree.orgs if o.code.startswith(tree.township.code + ".")) + 1,
            "township_members": sum(o.members for o in tree.orgs
                                    if o.kind == BRANCH and o.code.startswith(tree.township.code + ".")),
            "admin_id_number": loader.admin_id_number, "tree_s": tree_s, "load_s": load_s,
            "analyze_s": analyze_s, "refresh_s": refresh_s, "build_s": time.perf_counter() - t0}
    del tree, loader
    return info


class Pages:
    """Times one database's two pages: the service call and, when the route exists, the web page."""

    def __init__(self, info: dict):
        self.info, self.app = info, info["app"]
        with self.app.app_context():
            town = db.session.get(Org, info["township_id"])
            info["township_name"], info["township_code"] = town.short_name, town.code
            db.session.remove()
        self.targets = {"root": (info["root_id"], (info["orgs"], info["members"])),
                        "township": (info["township_id"], (info["township_orgs"], info["township_members"]))}
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.client, self.web_problem = None, None
        if "/progress/org/<int:org_id>" not in {r.rule for r in self.app.url_map.iter_rules()}:
            self.web_problem = "no route /progress/org/<id>"
        else:
            self.client = self.app.test_client()
            resp = self.client.post("/auth/login", data={"id_number": info["admin_id_number"], "password": PASSWORD})
            if resp.status_code != 302:
                self.web_problem = f"login failed (HTTP {resp.status_code})"

    def service(self, page: str) -> float:
        """progress(..., check_current=True) on a fresh session, as a request would; checks the totals."""
        org_id, expect = self.targets[page]
        with self.app.app_context():
            org = db.session.get(Org, org_id)
            now, today = service.now_and_today()
            t = time.perf_counter()
            result = service.progress(db.session, org, settings=self.app.extensions["tuanjian_settings"], now=now,
                                      today=today, check_current=True)
            elapsed = time.perf_counter() - t
            got = (result.totals.tally.orgs, result.totals.tally.members)
            assert got == expect, f"progress totals {got}, built {expect}"
            db.session.remove()
        return elapsed

    def web(self, page: str) -> float | None:
        """GET /progress/org/<id> as the root's admin; None (and web_problem says why) when it cannot be timed."""
        if self.web_problem:
            return None
        org_id = self.targets[page][0]
        t = time.perf_counter()
        try:
            resp = self.client.get(f"/progress/org/{org_id}")
        except Exception as exc:             # TESTING propagates view errors (e.g. a template not written yet)
            self.web_problem = f"GET /progress/org/{org_id} raised {type(exc).__name__}: {str(exc)[:120]}"
            return None
        elapsed = time.perf_counter() - t
        if resp.status_code != 200:
            self.web_problem = f"GET /progress/org/{org_id} answered HTTP {resp.status_code}"
            return None
        return elapsed

    def run(self, record: bool) -> None:
        for page in self.targets:
            elapsed = self.service(page)
            web = self.web(page)
            if record:
                self.samples[page].append(elapsed)
                if web is not None:
                    self.samples[page + "_web"].append(web)

    def median(self, key: str) -> float | None:
        return median(self.samples[key]) if self.samples.get(key) else None

    def close(self) -> None:
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


def report(info: dict, pages: Pages) -> None:
    scale, kind = info["scale"], info["kind"]
    print(f"{scale} ({kind}): built in {info['build_s']:.1f} s (tree {info['tree_s']:.1f} s, rows "
          f"{info['load_s']:.1f} s for {info['people']:,} people, stats.refresh_all {info['refresh_s']:.1f} s"
          + (f", VACUUM ANALYZE {info['analyze_s']:.1f} s" if kind == "postgresql" else "") + ")")
    target = " (target < 0.5 s)" if scale == "province" else ""
    root, town = pages.median("root"), pages.median("township")
    spread = {k: f"{min(pages.samples[k]):.3f}–{max(pages.samples[k]):.3f}" for k in ("root", "township")}
    print(f"{scale} ({kind}): {info['orgs']:,} orgs, {info['members']:,} members; root page median {root:.3f} s"
          f"{target}, township page median {town:.3f} s  [service call progress(check_current=True); "
          f"ranges {spread['root']} / {spread['township']} s; township {info['township_name']} "
          f"{info['township_code']}: {info['township_orgs']} orgs, {info['township_members']} members]")
    if pages.web_problem:
        print(f"{scale} ({kind}): web page not timed — {pages.web_problem}; only the service time was measured")
    else:
        print(f"{scale} ({kind}): web GET /progress/org/<id> median: root {pages.median('root_web'):.3f} s, "
              f"township {pages.median('township_web'):.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=("county", "province", "both"), default="both")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default=None,
                        help="database of the county scale (province: always PostgreSQL); default postgresql with "
                             "--scale both (so the township ratio compares one engine), else sqlite")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs after one warm-up; medians printed")
    parser.add_argument("--county-orgs", type=int, default=3000, help="size of the county (a small one for CI)")
    parser.add_argument("--county-members", type=int, default=50000)
    parser.add_argument("--province-orgs", type=int, default=120000)
    parser.add_argument("--province-members", type=int, default=2500000)
    args = parser.parse_args()
    county_db = args.db or ("postgresql" if args.scale == "both" else "sqlite")
    tmp = tempfile.mkdtemp()
    infos = {}
    for scale in ("county", "province"):
        if args.scale in (scale, "both"):
            infos[scale] = build(scale, county_db if scale == "county" else "postgresql", tmp, args)
    print(f"peak memory after building (max RSS of this process): {peak_mb():.0f} MB")
    pages = {scale: Pages(info) for scale, info in infos.items()}
    for run in range(args.repeat + 1):               # the scales interleaved: the machine's noise hits both alike
        for timer in pages.values():
            timer.run(record=run > 0)
    print(f"medians of {args.repeat} interleaved runs after one warm-up")
    for scale, info in infos.items():
        report(info, pages[scale])
    if len(pages) == 2:
        county, province = pages["county"], pages["province"]
        ratio = province.median("township") / county.median("township")
        note = "" if infos["county"]["kind"] == "postgresql" else \
            " — county on SQLite, province on PostgreSQL: not like for like"
        line = f"township province/county: {ratio:.1f}× (target ≤ 2×){note}"
        if county.median("township_web") and province.median("township_web"):
            line += f"; web page {province.median('township_web') / county.median('township_web'):.1f}×"
        print(line)
    for timer in pages.values():
        timer.close()


if __name__ == "__main__":
    main()
