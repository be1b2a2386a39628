"""Browser end-to-end fixtures: Debian's chromium driven by Playwright, and a live, freshly seeded server.

Playwright's own browser download is not used (and does not work here): we launch /usr/bin/chromium.
Without it the e2e tests are skipped, unless TUANJIAN_REQUIRE_BROWSER=1 (CI), where they fail.
"""
from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
DOC_SCREENSHOTS = REPO / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}


def _browser_missing(reason: str):
    if os.environ.get("TUANJIAN_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (TUANJIAN_REQUIRE_BROWSER=1: the browser journeys must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        _browser_missing(f"{CHROMIUM} not found: install Debian's chromium to run the browser journeys")
    from playwright.sync_api import sync_playwright  # in the [test] extra

    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as exc:   # a broken chromium install is as good as none
        pw.stop()
        _browser_missing(f"cannot launch {CHROMIUM}: {exc}")
    yield browser
    browser.close()
    pw.stop()


@dataclass
class LiveServer:
    url: str
    app: object
    logins: list          # tuanjian.demo.DemoLogin, as seed_demo returned them

    def login_for(self, role: str):
        return next(x for x in self.logins if x.role == role)

    def org_id(self, short_name: str) -> int:
        from sqlalchemy import select

        from tuanjian.extensions import db
        from tuanjian.models import Org
        with self.app.app_context():
            org_id = db.session.scalar(select(Org.id).where(Org.short_name == short_name))
            db.session.remove()
        assert org_id is not None, short_name
        return org_id


def _live_config(database: Path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "e2e-secret-key",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        # the address slips and help print (issue 16.3); without it, slips opened on 127.0.0.1 ask for one first
        "PUBLIC_URL": "http://192.168.1.20:5000",
    }


_demo_file: tuple[Path, list] | None = None


def _demo_county(database: Path) -> list:
    """Writes the demo county (seed_demo, as `make run` seeds it) to ``database`` and returns its logins. It is seeded
    once per test process into a file of its own (half a second), which every later server starts from a copy of."""
    global _demo_file
    if _demo_file is None:
        from tuanjian import create_app
        from tuanjian.demo import seed_demo
        from tuanjian.extensions import db
        from tuanjian.models import utcnow
        folder = Path(tempfile.mkdtemp(prefix="tuanjian-demo-"))
        atexit.register(shutil.rmtree, folder, True)
        template = folder / "demo.sqlite3"
        app = create_app(_live_config(template))
        with app.app_context():
            db.create_all()
            logins = seed_demo(db.session, app.extensions["tuanjian_settings"], utcnow())
            db.session.commit()
            db.session.remove()
            db.engine.dispose()                    # the last connection closed: the WAL is folded into the file
        assert not Path(f"{template}-wal").exists(), "the demo county must be one self-contained file"
        _demo_file = (template, logins)
    template, logins = _demo_file
    shutil.copyfile(template, database)
    return list(logins)


@pytest.fixture
def live_server(tmp_path):
    """The app on a fresh SQLite file with the demo county, served on 127.0.0.1 (CSRF left on).

    The server runs in the test's process, so pytest's filterwarnings="error" applies to its requests too:
    a warning raised while serving a page becomes the 500 page, and the journey fails on it.
    """
    from tuanjian import create_app
    from tuanjian.extensions import db

    logins = _demo_county(tmp_path / "e2e.sqlite3")
    app = create_app(_live_config(tmp_path / "e2e.sqlite3"))
    assert app.config.get("WTF_CSRF_ENABLED", True), "the browser must go through real CSRF tokens"

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app, logins=logins)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


class WatchedPage:
    """A browser context and page that record every request leaving the live server, every page error and every
    console error (except the browser's own "Failed to load resource" lines), so each journey can assert none."""

    def __init__(self, browser, base: str, js: bool, *, timeout_ms: int = 10_000):
        self.context = browser.new_context(java_script_enabled=js, viewport=VIEWPORT, locale="zh-CN")
        self.context.set_default_timeout(timeout_ms)
        self.foreign: list[str] = []
        self.page_errors: list[str] = []
        self.console_errors: list[str] = []
        self.context.on("request", lambda r: None if r.url.startswith(base + "/") else self.foreign.append(r.url))
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        self.page.on("console", lambda m: self.console_errors.append(f"{self.page.url} {m.location}: {m.text}")
                     if m.type == "error" and not m.text.startswith("Failed to load resource") else None)


LANDED = re.compile(r"/(progress|orgs|members)/")      # where a log-in lands: progress, an org page, a branch home


def log_in(page, base: str, who, *, code: str | None = None, wait=LANDED, open_form: bool = True) -> None:
    """Log in through the form as a user does: ``who`` is a demo login (``.id_number``, ``.password``) or an
    (id_number, password) pair; ``code`` fills 首次登录验证码. Waits until the browser lands on a URL matching
    ``wait`` (None: return right after the click, e.g. to check a refusal). ``open_form=False``: the page already
    shows the login form."""
    id_number, password = (who.id_number, who.password) if hasattr(who, "id_number") else who
    if open_form:
        page.goto(f"{base}/auth/login")
    page.fill("input[name=id_number]", id_number)
    page.fill("input[name=password]", password)
    if code is not None:
        page.fill("input[name=first_code]", code)
    page.locator("main").get_by_role("button", name="登录").click()
    if wait is not None:
        page.wait_for_url(wait)


def shot_of(locator, path, *, max_height: float | None = None) -> None:
    """Screenshot one element, at most ``max_height`` pixels of it, wherever the page is scrolled: the clip is
    given in whole-page coordinates (a box read from the viewport goes negative or past its edge once app.js has
    scrolled a focused field into view, and Chromium then refuses the clip)."""
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    page = locator.page
    top = box["y"] + page.evaluate("window.scrollY")
    left = box["x"] + page.evaluate("window.scrollX")
    height = box["height"] if max_height is None else min(box["height"], max_height)
    page.screenshot(path=str(path), caret="initial", full_page=True,
                    clip={"x": left, "y": top, "width": box["width"], "height": height})


def pass_welcome(page, base: str, org_id: int, *, shot=None) -> None:
    """After logging in, an admin with subordinates lands on their summary (a dialog over the progress page);
    check it and go on to the organisation page as a user would."""
    from playwright.sync_api import expect
    page.wait_for_url(re.compile(r"/(progress|orgs)/org/|/orgs/\d+"))
    if "/progress/org/" in page.url:
        expect(page.locator("#welcome-title")).to_have_text("下级组织录入概况")
        if shot:
            shot("welcome")
        page.locator("dialog.welcome").get_by_role("link", name="进入组织树").click()
    expect(page).to_have_url(f"{base}/orgs/{org_id}")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Every test under tests/e2e is a browser test (marker ``e2e``), whether or not its file says so: `make
    test-fast` (-m 'not e2e') must not start chromium (three journeys once ran there for lack of the marker)."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(item.fspath).resolve().parents:
            item.add_marker(pytest.mark.e2e)
