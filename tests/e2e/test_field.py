"""Field readiness (issue 7), measured in Chromium on the demo county.

* Every page in the URL map loads with only local requests (all others are intercepted and fail the test), with
  system fonts only, under the page-weight budget (HTML + CSS + JS as transferred, gzip on, cold cache), with no
  accessibility violations axe-core finds, and without dead controls when JavaScript is off.
The table of page weights is printed (pytest -s) and written to tests/artifacts/page-weight.txt.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import ARTIFACTS, DOC_SCREENSHOTS, REPO, VIEWPORT, log_in, shot_of
from .sweep import page_urls, prepare

pytestmark = pytest.mark.e2e

BUDGET = 60 * 1024
AXE = Path(__file__).with_name("vendor") / "axe-4.14.1.min.js"
AXE_TAGS = os.environ.get("AXE_TAGS", "wcag2a,wcag2aa,wcag21a,wcag21aa,best-practice").split(",")
HELP_IMAGES = REPO / "tuanjian" / "static" / "help"
# System fonts only (Windows: Microsoft YaHei, SimSun; Mac: PingFang; Linux: Noto / Source Han / WenQuanYi).
SYSTEM_FONTS = {"microsoft yahei", "微软雅黑", "pingfang sc", "noto sans cjk sc", "source han sans sc",
                "wenquanyi micro hei", "simsun", "宋体", "consolas", "dejavu sans mono", "liberation mono", "menlo",
                "courier new",
                "sans-serif", "serif", "monospace", "inherit", "initial"}
# Screenshots for the README and the help page, taken during the sweep: endpoint -> file name. Each is the top of
# the page's main area (at most HELP_SHOT_HEIGHT pixels), so the help page's pictures stay small.
SHOTS = {"registration.register": "help-register.png", "orgs.detail": "help-tree.png", "orgs.info": "org-info.png",
         "members.new": "member-form.png", "members.import_page": "member-import.png",
         "supervision.index": "progress-table.png", "members.index": "members.png", "main.help": "help.png"}
HELP_SHOT_HEIGHT = 400
HELP_COLOURS = 12
README_ONLY = {"members.png", "help.png"}                      # not on the help page
IN_README = {"members.png", "help.png", "org-info.png", "code-slips.png"}


class Recorder:
    """Intercepts every request of a context (anything not on the live server is aborted and remembered) and
    counts the bytes each page's document, stylesheets and scripts take on the wire, cache off, via CDP."""

    def __init__(self, browser, base: str, *, js: bool):
        self.base = base
        self.context = browser.new_context(java_script_enabled=js, viewport=VIEWPORT, locale="zh-CN")
        self.context.set_default_timeout(15_000)
        self.foreign: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda exc: self.errors.append(f"{self.page.url}: {exc}"))
        self.page.on("console", lambda m: self.errors.append(f"{self.page.url}: {m.text}")
                     if m.type == "error" else None)
        self.cdp = self.context.new_cdp_session(self.page)
        self.cdp.send("Network.enable")
        self.cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        self.kinds: dict[str, tuple[str, str]] = {}
        self.sizes: dict[str, int] = {}
        self.cdp.on("Network.responseReceived", lambda e: self.kinds.__setitem__(
            e["requestId"], (e["type"], self._encoding(e["response"].get("headers", {})))))
        self.cdp.on("Network.loadingFinished", lambda e: self.sizes.__setitem__(e["requestId"],
                                                                                int(e["encodedDataLength"])))

    @staticmethod
    def _encoding(headers: dict) -> str:
        """The Content-Encoding; "tiny" for a body the server leaves plain on purpose (below compress.MIN_SIZE)."""
        from tuanjian.web.compress import MIN_SIZE
        headers = {k.lower(): v for k, v in headers.items()}
        if not headers.get("content-encoding") and int(headers.get("content-length") or MIN_SIZE) < MIN_SIZE:
            return "tiny"
        return headers.get("content-encoding", "")

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.base + "/") or url.startswith("data:"):
            route.continue_()
        else:
            self.foreign.append(url)
            route.abort()

    def load(self, path: str):
        self.kinds.clear()
        self.sizes.clear()
        response = self.page.goto(self.base + path, wait_until="load")
        weight = {"Document": 0, "Stylesheet": 0, "Script": 0}
        plain = []
        for rid, (kind, encoding) in list(self.kinds.items()):
            if kind in weight:
                weight[kind] += self.sizes.get(rid, 0)
                if encoding not in ("gzip", "tiny"):
                    plain.append(kind)
        return response, weight, plain


def _fonts_and_urls(page) -> dict:
    return page.evaluate("""() => {
        const out = {families: [], fontFaces: 0, urls: []};
        for (const sheet of document.styleSheets) {
            const walk = (rules) => { for (const r of rules) {
                if (r.type === CSSRule.FONT_FACE_RULE) out.fontFaces++;
                if (r.cssRules) walk(r.cssRules);
                if (!r.style) continue;
                if (r.style.fontFamily) out.families.push(r.style.fontFamily);
                for (const m of r.cssText.matchAll(/url\\(([^)]*)\\)/g)) out.urls.push(m[1]);
            } };
            walk(sheet.cssRules);
        }
        out.families.push(getComputedStyle(document.body).fontFamily);
        return out;
    }""")


def _families(stack: str) -> list[str]:
    return [f.strip().strip('"\'').lower() for f in stack.split(",") if f.strip()]


def _dead_controls(page) -> list[str]:
    """Controls that do nothing without JavaScript."""
    return page.evaluate("""() => {
        const dead = [];
        const say = (el, why) => dead.push(why + ': ' + el.outerHTML.slice(0, 120));
        for (const b of document.querySelectorAll('button')) {
            if (!b.form) say(b, 'button outside a form');
        }
        for (const a of document.querySelectorAll('a')) {
            const href = a.getAttribute('href');
            if (!href || href === '#' || href.startsWith('javascript:')) say(a, 'link without a target');
        }
        for (const el of document.querySelectorAll('[hx-get],[hx-post],[hx-put],[hx-delete],[hx-patch]')) {
            const ok = (el.tagName === 'A' && el.getAttribute('href') && el.getAttribute('href') !== '#')
                || (el.tagName === 'FORM' && el.getAttribute('action'))
                || (el.form && el.form.getAttribute('action') !== null);
            if (!ok) say(el, 'htmx-only control');
        }
        return dead;
    }""")


def _axe(page) -> list[str]:
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("""async () => { const AXE_TAGS = """ + json.dumps(AXE_TAGS) + """;
        const r = await axe.run(document, {runOnly: {type: 'tag', values: AXE_TAGS}});
        return {passes: r.passes.length, violations: r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help
            + ' — ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))};
    }""")
    assert result["passes"] >= 5, "axe-core checked next to nothing: is it running?"
    return result["violations"]


def test_every_page_local_system_fonts_light_accessible(browser, live_server, artifacts):
    base, app = live_server.url, live_server.app
    ids = prepare(app)
    pages = page_urls(app, ids)
    assert len(pages) >= 35, pages
    county = live_server.login_for("县团委管理员")
    anon = Recorder(browser, base, js=True)
    admin = Recorder(browser, base, js=True)
    problems: list[str] = []
    table: list[tuple[str, str, dict]] = []
    axe_checked = 0
    try:
        log_in(admin.page, base, county)
        for endpoint, path, anonymous in pages:
            rec = anon if anonymous else admin
            response, weight, plain = rec.load(path)
            status = response.status if response else None
            if status != 200:
                problems.append(f"{endpoint} {path}: HTTP {status}")
                continue
            total = sum(weight.values())
            table.append((endpoint, path, weight))
            if total > BUDGET:
                problems.append(f"{endpoint} {path}: {total} bytes over the {BUDGET}-byte budget")
            if plain:
                problems.append(f"{endpoint} {path}: sent without gzip: {plain}")
            css = _fonts_and_urls(rec.page)
            if css["fontFaces"]:
                problems.append(f"{endpoint}: @font-face in the stylesheets")
            bad_urls = [u for u in css["urls"] if not (u.strip("'\" ").startswith(("data:", "/")))]
            if bad_urls:
                problems.append(f"{endpoint}: url() outside the server: {bad_urls}")
            for stack in css["families"]:
                unknown = [f for f in _families(stack) if f not in SYSTEM_FONTS]
                if unknown:
                    problems.append(f"{endpoint}: non-system font {unknown} in {stack!r}")
            if rec.page.locator("header.top").count() and not rec.page.locator("header.top a[href='/help']").count():
                problems.append(f"{endpoint}: no 帮助 link in the header")
            for v in _axe(rec.page):
                problems.append(f"{endpoint} {path}: axe: {v}")
            axe_checked += 1
            if endpoint in SHOTS:
                _shot_main(rec.page, artifacts / f"field-{SHOTS[endpoint]}")
        problems += [f"request left the server: {u}" for u in anon.foreign + admin.foreign]
        problems += [f"browser error: {e}" for e in anon.errors + admin.errors]
    finally:
        anon.context.close()
        admin.context.close()

    lines = [f"{'page':<44}{'HTML':>8}{'CSS':>8}{'JS':>8}{'total':>9}  (bytes on the wire, gzip, cold cache)"]
    for endpoint, _path, w in sorted(table, key=lambda t: -sum(t[2].values())):
        lines.append(f"{endpoint:<44}{w['Document']:>8}{w['Stylesheet']:>8}{w['Script']:>8}{sum(w.values()):>9}")
    report = "\n".join(lines)
    (ARTIFACTS / "page-weight.txt").write_text(report + "\n", encoding="utf-8")
    print("\n" + report)
    assert axe_checked == len(table)
    assert not problems, "\n".join(problems)
    if os.environ.get("TUANJIAN_UPDATE_SCREENSHOTS") == "1":
        _publish_shots(artifacts, list(SHOTS.values()))


def _shot_main(page, path):
    shot_of(page.locator("main"), path, max_height=HELP_SHOT_HEIGHT)


def _publish_shots(artifacts, names):
    """Copy screenshots to the README's folder and to the help page's static folder."""
    DOC_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    HELP_IMAGES.mkdir(parents=True, exist_ok=True)
    for name in names:
        if name in IN_README:
            shutil.copyfile(artifacts / f"field-{name}", DOC_SCREENSHOTS / name)
        if name not in README_ONLY:
            # the help page's pictures as 12-colour PNGs: a fifth of the bytes, text still sharp (issue 16.11)
            from .pngpalette import compress
            (HELP_IMAGES / name).write_bytes(compress((artifacts / f"field-{name}").read_bytes(), HELP_COLOURS))


def test_every_page_works_without_javascript(browser, live_server):
    """With JavaScript off every page loads, and no button, link or htmx control depends on a script."""
    base, app = live_server.url, live_server.app
    ids = prepare(app)
    county = live_server.login_for("县团委管理员")
    anon = Recorder(browser, base, js=False)
    admin = Recorder(browser, base, js=False)
    problems = []
    try:
        log_in(admin.page, base, county)
        for endpoint, path, anonymous in page_urls(app, ids):
            rec = anon if anonymous else admin
            response = rec.page.goto(base + path)
            if response is None or response.status != 200:
                problems.append(f"{endpoint} {path}: HTTP {response.status if response else None}")
                continue
            problems += [f"{endpoint} {path}: {d}" for d in _dead_controls(rec.page)]
        problems += [f"request left the server: {u}" for u in anon.foreign + admin.foreign]
    finally:
        anon.context.close()
        admin.context.close()
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- keyboard only: log in and enter a member

def _tab_to(page, selector: str, limit: int = 60) -> int:
    """Press Tab until the focused element matches ``selector``; the number of presses it took."""
    for n in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", f"no visible focus on {selector}"
            return n
    raise AssertionError(f"Tab never reached {selector} in {limit} presses (at {page.url})")


def _errors_are_tied_to_fields(page) -> int:
    """Every field shown in error points at its message (aria-describedby) and is marked aria-invalid."""
    fields = page.locator(".field.has-error")
    for i in range(fields.count()):
        f = fields.nth(i)
        message_id = f.locator(".error").get_attribute("id")
        control = f.locator("input, select, textarea").first
        assert message_id and message_id in (control.get_attribute("aria-describedby") or "").split(), f.inner_html()
        assert control.get_attribute("aria-invalid") == "true"
    return fields.count()


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_keyboard_only_login_and_member_entry(browser, live_server, artifacts, js):
    from datetime import date

    from sqlalchemy import select

    from tuanjian.demo import make_id
    from tuanjian.extensions import db
    from tuanjian.models import Member, Person

    base = live_server.url
    admin = live_server.login_for("团支部管理员")
    branch_id = live_server.org_id(admin.org)
    new_id = make_id(date(2001, 3, 4), 955 if js else 966, True)
    name = "键盘录入" + ("甲" if js else "乙")
    rec = Recorder(browser, base, js=js)
    page = rec.page
    try:
        page.goto(f"{base}/auth/login")
        assert _tab_to(page, "a.skip") == 1, "the first Tab reaches 跳到正文"
        _tab_to(page, "input[name=id_number]")
        page.keyboard.type(admin.id_number)
        _tab_to(page, "input[name=password]", limit=3)
        page.keyboard.type(admin.password)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/members/org/{branch_id}")     # a branch admin lands on the branch home
        expect(page.locator("h1")).to_contain_text("团员")
        _tab_to(page, f"a[href$='/members/org/{branch_id}/new']")
        page.keyboard.press("Enter")
        expect(page.locator("h1")).to_contain_text("录入团员")

        # save the empty form: each error sits under its field and is tied to it
        _tab_to(page, "form button.primary", limit=80)
        page.keyboard.press("Enter")
        expect(page.locator(".field.has-error").first).to_be_visible()
        assert _errors_are_tied_to_fields(page) >= 4
        if js:      # axe-core needs the page's timers, which a JS-off page does not run
            assert _axe(page) == [], "the form in its error state"

        _tab_to(page, "input[name=name]")
        page.keyboard.type(name)
        _tab_to(page, "input[name=id_number]", limit=3)
        page.keyboard.type(new_id)
        for select_name in ("ethnicity", "political_status"):
            _tab_to(page, f"select[name={select_name}]", limit=4)
            page.keyboard.press("Home")                   # 请选择, then the first choice: 汉族, 共青团员
            page.keyboard.press("ArrowDown")
        _tab_to(page, "input[name=join_date]", limit=3)
        page.keyboard.type("2015-06")
        _tab_to(page, "select[name=is_cadre]", limit=7)       # past 发展团员编号 and the 4 身份证明材料 fields
        page.keyboard.press("Home")
        page.keyboard.press("ArrowDown")                  # 否
        _tab_to(page, "form button.primary", limit=20)
        page.keyboard.press("Enter")
        flash = page.locator("#flash")
        expect(flash).to_contain_text(f"已录入团员 {name}。")
        expect(flash).to_contain_text("可以继续录入下一名")     # what happened, and what to do next
        expect(page).to_have_url(f"{base}/members/org/{branch_id}/new")
        page.screenshot(path=str(artifacts / f"field-keyboard-{'js' if js else 'nojs'}.png"), caret="initial")
        with live_server.app.app_context():
            found = db.session.execute(select(Person.name, Member.org_id).join(Member, Member.person_id == Person.id)
                                       .where(Person.id_number == new_id)).one()
            db.session.remove()
        assert tuple(found) == (name, branch_id)
        assert rec.foreign == [] and [e for e in rec.errors if "Failed to load resource" not in e] == []
    finally:
        rec.context.close()


# ---------------------------------------------------------------- print: A4 PDFs of the report, lists and slips

# Chromium's PDFs map some glyphs shared by a radical and an ideograph to the radical (⻚ for 页): fold them back.
RADICALS = str.maketrans("⻅⻆⻉⻋⻐⻓⻔⻙⻚⻛⻜⻠⻢⻥⻦⻧⻨⻩⻪⻬⻮⻰⻳⻘⻄",
                         "见角贝车钅长门韦页风飞饣马鱼鸟卤麦黄黾齐齿龙龟青西")


def _fold(text: str) -> str:
    import unicodedata
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).translate(RADICALS))


def _pdf_pages(pdf: bytes):
    import io

    from pypdf import PdfReader
    reader = PdfReader(io.BytesIO(pdf))
    return [_fold(p.extract_text() or "") for p in reader.pages], [
        (float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages]


def _check_printout(pdf: bytes, *, landscape: bool, every_page: list[str], somewhere: list[str]):
    texts, boxes = _pdf_pages(pdf)
    assert len(texts) >= 2, f"expected several pages, got {len(texts)}"
    for w, h in boxes:
        assert abs(min(w, h) - 595.3) < 2 and abs(max(w, h) - 841.9) < 2, "A4"
        assert (w > h) == landscape
    for n, text in enumerate(texts, start=1):
        assert f"第{n}页/共{len(texts)}页" in text, f"page number on page {n}: {text[-80:]!r}"
        for needle in every_page:
            assert _fold(needle) in text, f"{needle!r} missing on page {n} (table headers repeat on every page)"
        for nav in ("组织树", "退出", "修改密码", "返回", "Ctrl+P", "打印名单"):
            assert nav not in text, f"screen-only text {nav!r} printed on page {n}"
    whole = "".join(texts)
    for needle in somewhere:
        assert _fold(needle) in whole, needle
    return texts


def test_printouts_are_clean_a4(browser, live_server, artifacts):
    from sqlalchemy import select

    from tuanjian.extensions import db
    from tuanjian.models import Member, Org, Person, RegistrationCode
    from tuanjian.queries import within

    base = live_server.url
    county = live_server.login_for("县团委管理员")
    root_id = live_server.org_id("共青团望江县委员会")
    rec = Recorder(browser, base, js=True)
    page = rec.page
    try:
        log_in(page, base, county)
        # registration-code slips: issued from the tree page, one slip per direct child
        page.goto(f"{base}/orgs/{root_id}")
        page.get_by_role("button", name="批量生成并打印注册码条").click()
        expect(page).to_have_url(f"{base}/orgs/{root_id}/codes/slips")
        expect(page.locator(".flash")).to_contain_text("新生成注册码")
        expect(page.locator("li.slip")).to_have_count(36)
        _shot_main(page, artifacts / "field-code-slips.png")
        with live_server.app.app_context():
            codes = db.session.execute(select(RegistrationCode.code, Org.short_name).join(Org)
                                       .where(Org.parent_id == root_id, RegistrationCode.used_at.is_(None),
                                              RegistrationCode.revoked_at.is_(None))).all()
            db.session.remove()
        assert len(codes) == 36
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        (artifacts / "code-slips.pdf").write_bytes(pdf)
        texts = _check_printout(pdf, landscape=False, every_page=["管理员注册码"],
                                somewhere=[c for c, _ in codes] + ["有效期至", "/register/"])
        for code, short_name in codes:           # no slip is cut across two pages
            assert sum(code in t for t in texts) == 1 and any(code in t and short_name in t for t in texts)

        # the member list of the whole county, from the list page
        page.goto(f"{base}/members/org/{root_id}")
        with page.expect_navigation():
            page.get_by_role("link", name="打印名单").click()
        expect(page.locator("h1")).to_contain_text("团员名单")
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        (artifacts / "member-list.pdf").write_bytes(pdf)
        with live_server.app.app_context():
            people = db.session.execute(select(Person.name, Person.id_number)
                                        .join(Member, Member.person_id == Person.id)
                                        .join(Org, Member.org_id == Org.id)
                                        .where(within(Org.code, "000.012.016.007"),
                                               Member.deleted_at.is_(None))).all()
            db.session.remove()
        texts = _check_printout(pdf, landscape=False, every_page=["姓名", "身份证号码", "团支部"],
                                somewhere=[n for n, _ in people[:40]] + ["制表人"])
        whole = "".join(texts)
        assert not any(number in whole for _, number in people), "ID numbers are masked on paper too"

        # the progress report (landscape): title row and headers on every page
        page.goto(f"{base}/progress/org/{root_id}/print")
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        texts = _check_printout(pdf, landscape=True, every_page=[],
                                somewhere=["华阳镇", "审核人", "附：各下级组织异常项"])
        totals = next(i for i, t in enumerate(texts) if "合计(含本级)" in t)
        table_pages = texts[:totals + 1]                 # the ranking table runs until its 合计 row
        assert len(table_pages) >= 2 and all("录入进度通报" in t and "排名" in t for t in table_pages), \
            "the title and column headers repeat on every page of the 36-row table"
        assert rec.foreign == [] and rec.errors == []
    finally:
        rec.context.close()
    if os.environ.get("TUANJIAN_UPDATE_SCREENSHOTS") == "1":
        _publish_shots(artifacts, ["code-slips.png"])


# ---------------------------------------------------------------- the help page

HELP_SECTIONS = ["register", "tree", "org-info", "members", "progress", "print"]


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_help_page_pictures_and_links(browser, live_server, js):
    base = live_server.url
    rec = Recorder(browser, base, js=js)
    page = rec.page
    try:
        page.goto(f"{base}/orgs/1")                    # not logged in: the login page, which links to 帮助
        page.locator("header").get_by_role("link", name="帮助").click()
        expect(page.locator("h1")).to_have_text("使用帮助")
        for section in HELP_SECTIONS:                  # one illustrated section per task, reachable from the contents
            page.locator("nav.toc, ol.toc").locator(f"a[href='#{section}']").click()
            expect(page.locator(f"section#{section} figure.shot img").first).to_be_visible()
        images = page.locator("main img")
        assert images.count() >= len(HELP_SECTIONS)
        for i in range(images.count()):
            img = images.nth(i)
            img.scroll_into_view_if_needed()
            assert img.get_attribute("loading") == "lazy" and img.get_attribute("alt")
            page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=img.element_handle())
            src = img.get_attribute("src")
            assert src.startswith("/static/help/") and src.endswith(".png")
            assert (REPO / "tuanjian" / src.lstrip("/")).stat().st_size < 200_000, f"{src} is too big for the help page"
        for href in set(page.locator("main a[href^='/']").evaluate_all("els => els.map(e => e.getAttribute('href'))")):
            response = rec.context.request.get(base + href)
            assert response.status == 200, href
        assert rec.foreign == [] and rec.errors == []
    finally:
        rec.context.close()


# ---------------------------------------------------------------- long names wrap, never truncated

def test_long_org_names_wrap_and_are_never_cut(browser, live_server):
    from sqlalchemy import update

    from tuanjian.extensions import db
    from tuanjian.models import Org

    base = live_server.url
    town_id = live_server.org_id("华阳镇团委")
    short = "华阳镇经济技术开发区现代农业产业园联合团委"          # 21 characters, within the 25 allowed
    full = "中国共产主义青年团望江县华阳镇经济技术开发区现代农业产业园区暨特色小镇建设指挥部联合委员会"
    with live_server.app.app_context():
        db.session.execute(update(Org).where(Org.id == town_id).values(short_name=short, full_name=full))
        db.session.commit()
        db.session.remove()
    rec = Recorder(browser, base, js=True)
    rec.page.set_viewport_size({"width": 800, "height": 700})     # a small old screen
    root_id = live_server.org_id("共青团望江县委员会")
    try:
        log_in(rec.page, base, live_server.login_for("县团委管理员"))
        for path, name in ((f"/orgs/{root_id}", short), (f"/orgs/{town_id}", full), (f"/progress/org/{root_id}", short),
                           (f"/progress/org/{root_id}/print", full), (f"/orgs/{town_id}/info", short)):
            rec.page.goto(base + path)
            cut = rec.page.evaluate("""name => {
                const bad = [];
                // the innermost elements holding the whole name (print views split it with <wbr> between words)
                const all = [...document.querySelectorAll('body *')].filter(el =>
                    !el.closest('.sr') && el.textContent.includes(name)
                    && ![...el.children].some(c => c.textContent.includes(name)));
                if (!all.length) bad.push('name not shown in full');
                for (const el of all) {
                    const s = getComputedStyle(el);
                    if (s.textOverflow === 'ellipsis' || el.scrollWidth > el.clientWidth + 1
                        || el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
                        bad.push(el.tagName + '.' + el.className + ' overflows or is cut');
                }
                return bad;
            }""", name)
            assert cut == [], f"{path}: {cut}"
    finally:
        rec.context.close()
