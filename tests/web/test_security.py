import re

import pytest
from sqlalchemy import func, select

from tuanjian import create_app
from tuanjian.config import DefaultSecretKeyError
from tuanjian.models import AuditEntry

from ..conftest import make_app
from ..factories import PASSWORD


def post_rules(app):
    return sorted((r.rule, r.endpoint) for r in app.url_map.iter_rules()
                  if "POST" in r.methods and r.endpoint != "static")


@pytest.fixture
def csrf_app(db_kind, tmp_path):
    app = make_app(db_kind, tmp_path, WTF_CSRF_ENABLED=True)
    with app.app_context():
        yield app
        from tuanjian.extensions import db
        db.session.remove()
        db.engine.dispose()


def test_every_post_route_needs_a_csrf_token(csrf_app):
    from tuanjian.extensions import db

    from ..factories import make_tree
    tree = make_tree(db.session)
    client = csrf_app.test_client()
    # log in with a token taken from the login form, as a browser would
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/auth/login", data={"id_number": tree.county_admin.id_number, "password": PASSWORD,
                                            "csrf_token": token}).status_code == 302
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    rules = post_rules(csrf_app)
    assert len(rules) >= 9
    for rule, endpoint in rules:
        url = re.sub(r"<int:\w+>", str(tree.township.id), rule)
        resp = client.post(url, data={"short_name": "x", "kind": "branch"})
        assert resp.status_code == 400, (endpoint, resp.status_code)
        assert "安全校验未通过" in resp.get_data(as_text=True), endpoint
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before
    # htmx requests carry the token in a header (hx-headers on <main>)
    page = client.get(f"/orgs/{tree.county.id}").get_data(as_text=True)
    header_token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    resp = client.post(f"/orgs/{tree.sibling.id}/code", headers={"X-CSRFToken": header_token, "HX-Request": "true"})
    assert resp.status_code == 302


def test_security_headers_and_cookie_flags(client, tree):
    resp = client.get("/auth/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Cache-Control"] == "no-store"
    resp = client.post("/auth/login", data={"id_number": tree.county_admin.id_number, "password": PASSWORD})
    cookies = {c.split("=", 1)[0]: c for c in resp.headers.getlist("Set-Cookie")}
    assert "HttpOnly" in cookies["tuanjian_session"] and "SameSite=Lax" in cookies["tuanjian_session"]
    # the expired-session stash's browser binding (issue 24, class 5)
    assert "HttpOnly" in cookies["tuanjian_stash"] and "SameSite=Strict" in cookies["tuanjian_stash"]


def test_no_inline_script_or_style_in_pages(client, login, tree):
    login(tree.county_admin)
    for url in (f"/orgs/{tree.county.id}", f"/orgs/{tree.county.id}/admins", "/audit/", "/help"):
        page = client.get(url).get_data(as_text=True)
        assert "<script>" not in page and "<style" not in page and ' style="' not in page, url
        assert "http://" not in page and "https://" not in page, url      # no external requests


def test_refuses_default_secret_key_in_production(monkeypatch, tmp_path):
    monkeypatch.delenv("TUANJIAN_SECRET_KEY", raising=False)
    monkeypatch.setenv("TUANJIAN_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(DefaultSecretKeyError) as exc:
        create_app()
    assert "TUANJIAN_SECRET_KEY" in str(exc.value)
    (tmp_path / "secret_key").write_text("a-real-random-key-from-the-instance-folder")
    app = create_app()
    assert app.config["SECRET_KEY"] == "a-real-random-key-from-the-instance-folder"
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///" + str(tmp_path))


def test_database_url_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TUANJIAN_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("TUANJIAN_SECRET_KEY", "k" * 32)
    monkeypatch.setenv("TUANJIAN_DATABASE_URL", "postgresql://u@127.0.0.1:5432/x")
    monkeypatch.setenv("TUANJIAN_CODE_VALID_DAYS", "7")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@127.0.0.1:5432/x"
    assert app.extensions["tuanjian_settings"].code_valid_days == 7


def test_errors_are_chinese_pages_not_tracebacks(client, login, tree):
    assert "页面不存在" in client.get("/no/such/page").get_data(as_text=True)
    login(tree.county_admin)
    resp = client.get("/orgs/abc")
    assert resp.status_code == 404
    resp = client.get("/audit/?page=abc")
    assert resp.status_code == 400 and "应为数字" in resp.get_data(as_text=True)
    resp = client.delete(f"/orgs/{tree.county.id}")
    assert resp.status_code == 405 and "不支持" in resp.get_data(as_text=True)
    frag = client.get("/orgs/999999/children", headers={"HX-Request": "true"})
    assert frag.status_code == 404 and "<html" not in frag.get_data(as_text=True)


def test_upload_size_limit(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    resp = client.post("/auth/login", data={"id_number": "x" * 5000, "password": "y"})
    assert resp.status_code == 413 and "上限" in resp.get_data(as_text=True)


def test_database_connection_settings(app):
    from tuanjian.extensions import db
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "postgresql":
            assert conn.exec_driver_sql("SHOW transaction_isolation").scalar() == "read committed"
            return
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_database_errors_never_echo_personal_data(app, session, tree, caplog):
    """A constraint error, logged as the error handlers log it, carries no ID number or name: SQLAlchemy hides
    bound parameters, and the database's own detail line (PostgreSQL: "Key (id_number)=(…)") is dropped."""
    import logging

    from sqlalchemy.exc import IntegrityError

    from tuanjian.models import Person
    from tuanjian.web.errors import log_error
    twin = Person(id_number=tree.county_admin.id_number, name="重号测试", gender="男",
                  birth_date=tree.county_admin.birth_date)
    session.add(twin)
    with pytest.raises(IntegrityError) as exc:
        session.flush()
    session.rollback()
    assert "重号测试" not in str(exc.value) and "hidden due to hide_parameters" in str(exc.value)
    with caplog.at_level(logging.ERROR):
        log_error("database error", exc.value)
    assert "IntegrityError" in caplog.text and "Traceback" in caplog.text
    assert tree.county_admin.id_number not in caplog.text and "重号测试" not in caplog.text


def test_access_log_keeps_no_query_strings_or_referrers():
    """Searches put ID numbers in the query string: the production access log records paths only."""
    from pathlib import Path

    from tuanjian import gunicorn_conf
    fmt = gunicorn_conf.access_log_format
    assert "%(U)s" in fmt and all(k not in fmt for k in ("%(r)s", "%(q)s", "%(f)s", "%(a)s"))
    root = Path(__file__).resolve().parents[2]
    for name in ("Makefile", "Dockerfile"):
        text = (root / name).read_text(encoding="utf-8")
        assert "python:tuanjian.gunicorn_conf" in text and "--access-logfile" not in text, name


def test_passwords_are_hashed_with_a_modern_scheme_and_never_logged(app, client, session, tree, caplog):
    import logging

    from tuanjian.services import registration, resetcodes
    from tuanjian.services.owners import accounts as owner
    stored = owner.generate_password_hash("Secret1234")            # the one place that stores a password (issue 24)
    assert stored.startswith("scrypt:") and "Secret1234" not in stored
    # the tests hash at a tiny work factor (tests/conftest.py); outside them it is werkzeug's own, full scrypt
    production = getattr(owner.generate_password_hash, "__wrapped__", owner.generate_password_hash)
    assert production("Secret1234").startswith("scrypt:32768:8:1$")
    assert not hasattr(registration, "generate_password_hash") and not hasattr(resetcodes, "generate_password_hash")
    with caplog.at_level(logging.DEBUG):
        client.post("/auth/login", data={"id_number": tree.county_admin.id_number, "password": "Wrong-pass-9"})
        client.post("/auth/login", data={"id_number": tree.county_admin.id_number, "password": PASSWORD})
        client.post("/auth/password", data={"current": PASSWORD, "new": "Brand-new-77", "confirm": "Brand-new-77"})
    assert "Wrong-pass-9" not in caplog.text and PASSWORD not in caplog.text and "Brand-new-77" not in caplog.text
    entries = " ".join(f"{e.summary} {e.before} {e.after}" for e in session.scalars(select(AuditEntry)))
    assert entries and "Wrong-pass-9" not in entries and PASSWORD not in entries and "Brand-new-77" not in entries
    assert tree.county_admin.id_number not in entries


@pytest.mark.parametrize("path", ["/members/org/{county}", "/orgs/{county}", "/audit/", "/people/",
                                  "/members/transfers", "/progress/org/{county}/exceptions/unconfirmed"])
def test_absurd_page_numbers_and_nul_characters_are_a_400_not_a_500(client, login, tree, path):
    """Found by fuzzing every route with odd values: a page number past any database integer overflowed the
    query, and a NUL in a search failed on PostgreSQL. Both are now a 400 with a Chinese message."""
    login(tree.county_admin)
    url = path.format(county=tree.county.id)
    resp = client.get(url, query_string={"page": "340827199003124504"})
    assert resp.status_code == 400 and "超出范围" in resp.get_data(as_text=True)
    resp = client.get(url, query_string={"q": "王\x00"})
    assert resp.status_code == 400 and "无效字符" in resp.get_data(as_text=True)
    assert client.get(url, query_string={"page": "2"}).status_code == 200          # ordinary values still work


def test_registration_with_odd_org_ids_and_nul_is_a_clear_4xx(client, tree):
    for org_id in ("²", "9999999999", "-1", "abc"):           # no usable choice: search and pick again
        assert client.get("/register/", query_string={"org_id": org_id}).status_code == 200
        resp = client.post("/register/", data={"org_id": org_id, "name": "张三", "code": "ABCDEFGH"})
        assert resp.status_code == 422 and "请先查找并选择" in resp.get_data(as_text=True), org_id
    resp = client.post("/register/", data={"org_id": str(tree.township.id), "name": "张\x00三"})
    assert resp.status_code == 400 and "无效字符" in resp.get_data(as_text=True)
