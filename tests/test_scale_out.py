"""Several app servers on one PostgreSQL (issue 29): two gunicorn processes, each with its own instance folder (as
two machines behind a proxy would have), one database, one secret key. A user goes on on the other server after any
step: nothing one server needs may live only on the other's disk.

Walks: log in on A, go on on B; a lockout counted across both; a member import previewed on A and committed on B; a
上报文件 uploaded on A and applied on B; a form typed into a session that expired on A restored on B.
Needs PostgreSQL (TUANJIAN_TEST_DATABASE_URL); skipped on SQLite-only runs.
"""
from __future__ import annotations

import html
import re
import sys
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from tuanjian.config import normalise_database_url
from tuanjian.demo import make_id

from .conftest import PG_URL
from .exchange.helpers import KEY, township_export
from .factories import PASSWORD, make_tree, text_workbook

pytestmark = [pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (TUANJIAN_TEST_DATABASE_URL)"),
              pytest.mark.bench]       # starts two gunicorn servers: with the bench runs, not in make test-quick

BENCH = Path(__file__).resolve().parents[1] / "bench"
HEAD = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "所在团支部", "是否为团干部", "团内职务", "发展团员编号",
        "手机号码", "学历", "职业", "学习工作单位"]


@pytest.fixture
def load():
    """bench/load.py's gunicorn starter and its HTTP client (cookies, CSRF tokens)."""
    sys.path.insert(0, str(BENCH))
    try:
        import load
        yield load
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture
def database():
    base = make_url(normalise_database_url(PG_URL))
    name = f"{base.database}_scaleout"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def servers(load, database, tmp_path):
    """Two servers A and B (one worker each, their own instance folders), the schema by `flask db upgrade` and the
    test county written in-process; yields (ports, tree ids)."""
    from tuanjian import create_app
    from tuanjian.extensions import db
    secret = "scale-out-test-secret"
    envs = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        env = load.app_env(database, str(folder), secret)
        env["TUANJIAN_EXCHANGE_SECRET"] = KEY
        envs.append(env)
    load.flask_cli(envs[0], "db", "upgrade")
    app = create_app({"SECRET_KEY": secret, "SQLALCHEMY_DATABASE_URI": normalise_database_url(database),
                      "EXCHANGE_SECRET": KEY})
    with app.app_context():
        tree = make_tree(db.session)
        db.session.commit()
        ids = {"county": tree.county.id, "township": tree.township.id, "klass": tree.klass.id,
               "county_admin": tree.county_admin.id_number, "township_admin": tree.township_admin.id_number,
               "klass_name": tree.klass.short_name}
        db.session.remove()
        db.engine.dispose()
    started = []
    try:
        for env, name in zip(envs, "ab", strict=True):
            proc, port, _ = load.start_gunicorn(env, 1, str(tmp_path / name))
            started.append((proc, port))
        yield [port for _, port in started], ids, app
    finally:
        for proc, _ in started:
            load.stop_gunicorn(proc)


def browsers(load, ports):
    """One browser talking to A and to B: two clients sharing one cookie jar."""
    recorder = load.Recorder()
    a, b = load.Session(ports[0], recorder, "A"), load.Session(ports[1], recorder, "B")
    b.cookies = a.cookies
    return a, b


def log_in(client, id_number: str, password: str = PASSWORD, expect: int = 302):
    token = client.get("/auth/login").csrf()
    return client.post_form("/auth/login", {"csrf_token": token, "id_number": id_number, "password": password,
                                            "next": ""}, expect=expect)


def test_two_servers_on_one_database(load, servers, tmp_path):
    ports, ids, app = servers
    a, b = browsers(load, ports)

    # 1. log in on A, go on on B (the session cookie is signed with the shared key; the account's state is in the db)
    log_in(a, ids["county_admin"])
    page = b.get(f"/orgs/{ids['county']}")
    assert "华阳镇团委" in page.text

    # 2. a lockout counted across both: the failures alternate between the servers
    x, y = browsers(load, ports)
    for i in range(5):
        log_in((x, y)[i % 2], ids["township_admin"], "wrong-password", expect=401)
    refused = log_in(y, ids["township_admin"], expect=401)
    assert "锁定" in refused.text

    # 3. a member import previewed on A, committed on B
    numbers = [make_id(date(2004, 3, 1 + i), 700 + 2 * i, True) for i in range(6)]
    rows = [[f"扩{chr(0x4E00 + i)}", n, "汉族", "共青团员", "2019-05", ids["klass_name"], "否", "",
             f"2019{i + 1:08d}", "13900000000", "普通高中在读", "学生", ""] for i, n in enumerate(numbers)]
    book = text_workbook(HEAD, rows, sheet="团员").getvalue()
    token = a.get(f"/members/org/{ids['klass']}/import").csrf()
    resp = a.post_file(f"/members/org/{ids['klass']}/import", {"csrf_token": token}, "团员.xlsx", book)
    batch = resp.location()
    assert re.fullmatch(r"/members/imports/\d+", batch), batch
    preview = b.get(batch)
    assert "新增 6" in preview.text
    done = b.post_form(f"{batch}/commit", {"csrf_token": preview.csrf(), "mode": "valid"})
    assert "导入完成" in b.follow(done).text

    # 4. a 上报文件 uploaded on A, applied on B
    data, _, _, code = township_export("sqlite", tmp_path / "township")
    page = a.get(f"/exchange/org/{ids['county']}")
    a.post_form(f"/exchange/org/{ids['township']}/key", {"csrf_token": page.csrf(), "key": KEY}, expect=200)
    page = a.get(f"/exchange/org/{ids['county']}")
    resp = a.post_file(f"/exchange/org/{ids['county']}/upload", {"csrf_token": page.csrf()}, "上报文件.zip", data)
    package = resp.location()
    assert re.fullmatch(r"/exchange/packages/\d+", package), package
    preview = b.get(package)
    assert "签名核验通过" in preview.text
    done = b.post_form(f"{package}/apply", {"csrf_token": preview.csrf()})
    assert "上报文件已导入" in b.follow(done).text

    # 5. an expired session's typed form, stashed on A, comes back on B after logging in again there (the stash is
    # in the database, bound to this browser's cookie and to the account whose session expired)
    p, q = browsers(load, ports)
    log_in(p, ids["county_admin"])
    url = f"/members/org/{ids['klass']}/new"
    form = p.get(url)
    p.cookies.pop("tuanjian_session")                     # the session idles out; the binding cookie stays
    typed = {"csrf_token": form.csrf(), "name": "迁散", "id_number": make_id(date(2004, 6, 1), 880, True),
             "ethnicity": "汉族", "political_status": "共青团员", "join_date": "2019-05",
             "dev_number": "201912345678", "is_cadre": "否", "position": "", "phone": "13912345678",
             "education": "普通高中在读", "occupation": "学生", "workplace": "望江中学"}
    lost = p.request("POST", url, expect=401, body=urlencode(typed).encode(),
                     headers={"Content-Type": "application/x-www-form-urlencoded",
                              "Origin": f"http://127.0.0.1:{ports[0]}"})      # as a browser sends it
    found = re.search(r'name="next" type="hidden" value="([^"]*restore_form=[^"]+)"', lost.text)
    assert found, lost.text[:2000]
    link = html.unescape(found.group(1))
    token = q.get("/auth/login").csrf()
    q.post_form("/auth/login", {"csrf_token": token, "id_number": ids["county_admin"], "password": PASSWORD,
                                "next": link})
    back = q.get(link)
    assert "已填回您退出前填写的内容" in back.text
    assert re.search(r'<input[^>]*name="name"[^>]*value="迁散"', back.text), back.text[:3000]

    from tuanjian.extensions import db
    from tuanjian.models import ImportBatch, Member, Org, Person
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Person).where(Person.id_number.in_(numbers))) == 6
        assert db.session.scalar(select(func.count()).select_from(Member).join(Org).where(
            Org.code.startswith(code + "."), Member.deleted_at.is_(None))) == 5     # the township's, as sent
        assert set(db.session.scalars(select(ImportBatch.status))) == {"committed"}
        db.session.remove()
        db.engine.dispose()
    assert not a.recorder.errors, a.recorder.errors
