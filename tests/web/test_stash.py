"""The expired-session stash (issue 24, class 5): kept in the database, bound to the browser that posted it and to
the account whose session expired, restored only there, only typed fields, capped, purged, shared by app servers."""
from __future__ import annotations

import json
import re
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tuanjian.demo import make_id
from tuanjian.extensions import db
from tuanjian.models import FormStash, Person, utcnow
from tuanjian.web import stash as stashes
from tuanjian.web.stash import Stash, fill_form

NEW = make_id(date(2004, 3, 15), 803, True)
HOST = "http://localhost"
SESSION_COOKIE = "tuanjian_session"


def _member_form(**over):
    data = {"name": "王小明", "id_number": NEW, "ethnicity": "汉族", "political_status": "共青团员",
            "join_date": "2019-05", "dev_number": "201912345678", "is_cadre": "否", "position": "",
            "phone": "13912345678", "education": "普通本科在读", "occupation": "学生", "workplace": "安庆师范大学"}
    data.update(over)
    return data


def _value(page: str, name: str) -> str | None:
    m = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    if not m:
        return None
    v = re.search(r'value="([^"]*)"', m.group(0))
    return v.group(1) if v else ""


def _stashes(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(FormStash))


def _expired_post(client, url, data=None, *, drop_cookie=True):
    """The session idles out (the browser drops its session cookie), then the form is posted."""
    if drop_cookie:
        client.delete_cookie(SESSION_COOKIE)
    else:
        with client.session_transaction() as s:
            s["seen"] = time.time() - 31 * 60
    return client.post(url, data=data or _member_form(), headers={"Origin": HOST, "Referer": HOST + url})


def _link(body: str) -> str | None:
    m = re.search(r'name="next" type="hidden" value="([^"]*restore_form=[^"]+)"', body)
    return m.group(1).replace("&amp;", "&") if m else None


def test_a_post_with_no_session_and_no_binding_keeps_nothing(app, session, tree):
    url = f"/members/org/{tree.village.id}/new"
    c = app.test_client()
    resp = c.post(url, data=_member_form(), headers={"Origin": HOST, "Referer": HOST + url})     # forged headers
    body = resp.get_data(as_text=True)
    assert resp.status_code == 401 and "restore_form" not in body and "没有丢失" not in body
    assert _stashes(session) == 0 and c.get_cookie(stashes.COOKIE) is None
    # a binding cookie that is not ours (unsigned, or signed with another key) is no binding either
    c.set_cookie(stashes.COOKIE, "eyJjIjoiYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh In0.forged")
    resp = c.post(url, data=_member_form(), headers={"Origin": HOST, "Referer": HOST + url})
    assert "restore_form" not in resp.get_data(as_text=True) and _stashes(session) == 0


def test_the_binding_cookie_is_httponly_and_samesite_strict(app, tree, login):
    c = login(tree.branch_admin, c=app.test_client())
    cookie = c.get_cookie(stashes.COOKIE)
    assert cookie is not None and cookie.http_only and cookie.same_site == "Strict"
    c.post("/auth/logout")
    assert c.get_cookie(stashes.COOKIE) is None


def test_planted_from_another_client_is_never_restored(app, session, tree, login):
    url = f"/members/org/{tree.village.id}/new"
    attacker = login(tree.township_admin, c=app.test_client())       # an admin of their own, in their own browser
    resp = _expired_post(attacker, url, _member_form(name="冒填者", phone="13000000000"))
    link = _link(resp.get_data(as_text=True))
    assert link is not None and _stashes(session) == 1
    victim = login(tree.branch_admin, c=app.test_client())
    page = victim.get(link).get_data(as_text=True)
    assert "已填回" not in page and "冒填者" not in page and "13000000000" not in page
    assert _stashes(session) == 1                      # still there, only for the attacker's browser and account


def test_restored_only_to_the_account_whose_session_expired(app, session, tree, login):
    url = f"/members/org/{tree.village.id}/new"
    c = login(tree.branch_admin, c=app.test_client())
    link = _link(_expired_post(c, url).get_data(as_text=True))
    assert link is not None
    login(tree.township_admin, c=c)                    # someone else logs in on the same page of the same browser
    page = c.get(link).get_data(as_text=True)
    assert "已填回" not in page and "王小明" not in page
    login(tree.branch_admin, c=c)                      # the one who typed it
    page = c.get(link).get_data(as_text=True)
    assert "已填回您退出前填写的内容" in page and _value(page, "name") == "王小明"
    assert _stashes(session) == 0                      # used: gone
    assert "已填回" not in c.get(link).get_data(as_text=True)


def test_server_side_idle_timeout_binds_to_the_session_account(app, session, tree, login):
    """The session cookie is still there (the server ended it): the stash is bound to its account."""
    url = f"/members/org/{tree.village.id}/new"
    c = login(tree.branch_admin, c=app.test_client())
    c.delete_cookie(stashes.COOKIE)                    # a browser logged in before the binding existed
    link = _link(_expired_post(c, url, drop_cookie=False).get_data(as_text=True))
    assert link is not None
    row = session.scalar(select(FormStash))
    assert row.account_id == tree.branch_admin.account.id and c.get_cookie(stashes.COOKIE) is not None
    login(tree.branch_admin, c=c)
    assert _value(c.get(link).get_data(as_text=True), "name") == "王小明"


def test_hidden_fields_keys_and_tokens_are_never_kept_or_filled_back(app, session, tree, login):
    url = f"/members/org/{tree.village.id}/new"
    c = login(tree.branch_admin, c=app.test_client())
    _expired_post(c, url, _member_form(key="ATTACKER-KEY-1", exchange_key="K2", reset_token="T3",
                                       client_secret="S4"))
    raw = json.dumps(session.scalar(select(FormStash)).payload, ensure_ascii=False)
    assert "王小明" in raw
    for secret in ("ATTACKER-KEY-1", "K2", "T3", "S4"):
        assert secret not in raw
    html = ('<form method="post" action="/exchange/key"><input type="hidden" name="key" value="">'
            '<input type="hidden" name="org_id" value="7"><input name="note"></form>')
    planted = Stash(token="t" * 32, action="/exchange/key", page="/exchange/key",
                    fields=[("key", "KNOWN-KEY"), ("org_id", "99"), ("note", "hello")])
    out, found = fill_form(html, planted, "/exchange/key")
    assert found and "KNOWN-KEY" not in out and 'value="7"' in out and 'value="99"' not in out
    assert '<input name="note" value="hello">' in out


def test_caps_per_browser_and_in_total(app, session, tree, login, monkeypatch):
    url = f"/members/org/{tree.village.id}/new"
    monkeypatch.setattr(stashes, "CAPS", stashes.formstash.Caps(per_stash_bytes=4000, per_client_count=2,
                                                                 per_client_bytes=6000, total_count=3,
                                                                 total_bytes=100_000))
    c = login(tree.branch_admin, c=app.test_client())
    links = []
    for i in range(4):
        links.append(_link(_expired_post(c, url, _member_form(name=f"第{i}人")).get_data(as_text=True)))
    assert all(links) and _stashes(session) == 2          # the browser's own oldest made room
    kept = sorted(n for (n,) in session.execute(select(FormStash.token)))
    assert kept == sorted(link.split("restore_form=")[1] for link in links[2:])
    # bytes per browser: two of ~2.5 KB do not fit in 6000 with a third
    big = _member_form(workplace="长" * 700)
    _expired_post(c, url, big)
    _expired_post(c, url, big)
    assert _stashes(session) <= 2
    # one stash over the per-stash size: nothing kept, no link promised
    body = _expired_post(c, url, _member_form(workplace="长" * 2000)).get_data(as_text=True)
    assert _link(body) is None and "没有丢失" not in body
    # the table is full: a new browser's stash is refused, nobody else's is pushed out
    before = _stashes(session)
    others = []
    for who in (tree.township_admin, tree.county_admin, tree.school_admin):
        other = login(who, c=app.test_client())
        others.append(_link(_expired_post(other, url).get_data(as_text=True)))
    assert _stashes(session) == 3 and others[-1] is None and before <= 3


def test_purged_after_max_age(app, session, tree, login):
    url = f"/members/org/{tree.village.id}/new"
    c = login(tree.branch_admin, c=app.test_client())
    link = _link(_expired_post(c, url).get_data(as_text=True))
    row = session.scalar(select(FormStash))
    row.created_at = utcnow() - timedelta(seconds=stashes.MAX_AGE + 1)
    session.commit()
    login(tree.branch_admin, c=c)
    assert "已填回" not in c.get(link).get_data(as_text=True)
    other = login(tree.township_admin, c=app.test_client())
    _expired_post(other, url)                           # any new stash purges the expired ones
    assert _stashes(session) == 1
    assert session.scalar(select(FormStash.token)) != link.split("restore_form=")[1]


def test_two_app_servers_share_the_stash(app, session, tree, login, tmp_path, monkeypatch):
    """Two create_app instances with their own instance folders on one database: the form posted to one comes
    back on the other."""
    from tuanjian import create_app
    monkeypatch.setenv("TUANJIAN_INSTANCE_PATH", str(tmp_path / "second-instance"))
    second = create_app({"TESTING": True, "SECRET_KEY": app.config["SECRET_KEY"], "WTF_CSRF_ENABLED": False,
                         "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "SERVER_NAME": None})
    assert second.instance_path != app.instance_path
    second.test_client_class = app.test_client_class
    try:
        url = f"/members/org/{tree.village.id}/new"
        first = login(tree.branch_admin, c=app.test_client())
        link = _link(_expired_post(first, url).get_data(as_text=True))
        assert link is not None
        other = second.test_client()
        for name in (stashes.COOKIE,):                 # the same browser: its cookies go to whichever server
            other.set_cookie(name, first.get_cookie(name).value)
        login(tree.branch_admin, c=other)
        page = other.get(link).get_data(as_text=True)
        assert "已填回您退出前填写的内容" in page and _value(page, "name") == "王小明"
        resp = other.post(url, data=_member_form(), headers={"Origin": HOST})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
        assert "/auth/" not in resp.headers["Location"], resp.headers["Location"]
        session.commit()                               # a fresh snapshot of what the second server wrote
        assert session.scalar(select(Person).where(Person.id_number == NEW)) is not None
        assert _stashes(session) == 0
    finally:
        with second.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def csrf_app(db_kind, tmp_path):
    from ..conftest import make_app
    app = make_app(db_kind, tmp_path, WTF_CSRF_ENABLED=True)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_a_public_form_stash_comes_back_only_in_the_browser_that_posted_it(csrf_app):
    from ..factories import make_tree
    tree = make_tree(db.session)
    db.session.commit()
    page = f"/register/?org_id={tree.township.id}"
    data = {"org_id": tree.township.id, "position": "副书记", "code": "AbCd2345", "name": "周新", "id_number": NEW,
            "password": "secret-pass-1", "password_confirm": "secret-pass-1", "csrf_token": "old"}
    a = csrf_app.test_client()
    a.get(page)
    resp = a.post("/register/", data=data, headers={"Origin": HOST, "Referer": HOST + page})
    link = resp.headers["Location"]
    assert resp.status_code == 302 and "restore_form=" in link
    b = csrf_app.test_client()                          # someone else handed the link
    assert "周新" not in b.get(link).get_data(as_text=True)
    filled = a.get(link).get_data(as_text=True)
    assert "页面停留太久已过期" in filled and _value(filled, "name") == "周新" and "secret-pass-1" not in filled
    # a scripted post with no session and no binding gets no link at all
    c = csrf_app.test_client()
    resp = c.post("/register/", data=data, headers={"Origin": HOST, "Referer": HOST + page})
    assert "restore_form=" not in resp.headers.get("Location", "")


SERVER = r'''
import json, sys
from werkzeug.serving import make_server
from tuanjian import create_app
app = create_app(json.loads(sys.argv[1]))
server = make_server("127.0.0.1", 0, app, threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
'''


def test_two_real_server_processes_share_the_stash(app, session, tree, tmp_path):
    """Two server processes, each with its own instance folder, on one database (CSRF on, real cookies): the form
    posted to the first after the session expired comes back from the second after logging in there."""
    import http.cookiejar
    import os
    import subprocess
    import sys
    import urllib.parse
    import urllib.request

    from ..factories import PASSWORD
    session.commit()
    config = {"SECRET_KEY": "shared-secret-of-both-servers", "WTF_CSRF_ENABLED": True,
              "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]}
    procs, ports = [], []
    try:
        for i in (1, 2):
            env = {**os.environ, "TUANJIAN_INSTANCE_PATH": str(tmp_path / f"instance-{i}")}
            proc = subprocess.Popen([sys.executable, "-c", SERVER, json.dumps(config)], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            procs.append(proc)
            ports.append(int(proc.stdout.readline()))
        jar = http.cookiejar.CookieJar()            # one browser; cookies of 127.0.0.1 go to both ports
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

        def call(port, path, data=None):
            base = f"http://127.0.0.1:{port}"
            body = urllib.parse.urlencode(data).encode() if data is not None else None
            req = urllib.request.Request(base + path, data=body, headers={"Origin": base, "Referer": base + path})
            try:
                with opener.open(req) as resp:
                    return resp.status, resp.read().decode(), resp.url
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read().decode(), exc.url

        def csrf(page):
            return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

        first, second = ports
        _, page, _ = call(first, "/auth/login")
        status, _, _ = call(first, "/auth/login", {"id_number": tree.branch_admin.id_number, "password": PASSWORD,
                                                   "csrf_token": csrf(page)})
        assert status == 200
        url = f"/members/org/{tree.village.id}/new"
        _, page, _ = call(first, url)
        token = csrf(page)
        for cookie in list(jar):                       # the session idles out: the browser drops its cookie
            if cookie.name == SESSION_COOKIE:
                jar.clear(cookie.domain, cookie.path, cookie.name)
        status, body, _ = call(first, url, {**_member_form(), "csrf_token": token})
        assert status == 401 and "没有丢失" in body
        link = _link(body)
        assert link is not None
        status, page, _ = call(second, "/auth/login")
        status, page, where = call(second, "/auth/login", {"id_number": tree.branch_admin.id_number,
                                                            "password": PASSWORD, "csrf_token": csrf(page),
                                                            "next": link})
        assert status == 200 and "restore_form=" in where
        assert "已填回您退出前填写的内容" in page and _value(page, "name") == "王小明"
        assert _value(page, "workplace") == "安庆师范大学"
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
            proc.stdout.close()
