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

from .conftest import ARTIFACTS, DOC_SCREENSHOTS, REPO, VIEWPORT
from .sweep import page_urls, prepare

pytestmark = pytest.mark.e2e

BUDGET = 60 * 1024
AXE = Path(__file__).with_name("vendor") / "axe-4.14.1.min.js"
AXE_TAGS = os.environ.get("AXE_TAGS", "wcag2a,wcag2aa,wcag21a,wcag21aa,best-practice").split(",")
HELP_IMAGES = REPO / "tuanjian" / "static" / "help"
# System fonts only (Windows: Microsoft YaHei, SimSun; Mac: PingFang; Linux: Noto / Source Han / WenQuanYi).
SYSTEM_FONTS = {"microsoft yahei", "微软雅黑", "pingfang sc", "noto sans cjk sc", "source han sans sc",
                "wenquanyi micro hei", "simsun", "宋体", "consolas", "courier new",
                "sans-serif", "serif", "monospace", "inherit", "initial"}
# Screenshots for the README and the help page, taken during the sweep: endpoint -> (file name, element)
SHOTS = {"members.index": ("members.png", "main"), "orgs.info": ("org-info.png", "main"),
         "members.new": ("member-form.png", "main"), "members.import_page": ("member-import.png", "main"),
         "orgs.import_children": ("org-import.png", "main"), "supervision.index": ("progress-table.png", "main"),
         "main.help": ("help.png", "main")}


def _login(page, base, who):
    page.goto(f"{base}/auth/login")
    page.fill("input[name=id_number]", who.id_number)
    page.fill("input[name=password]", who.password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/(progress|orgs)/"))


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
            e["requestId"], (e["type"], {k.lower(): v for k, v in e["response"].get("headers", {}).items()}
                             .get("content-encoding", ""))))
        self.cdp.on("Network.loadingFinished", lambda e: self.sizes.__setitem__(e["requestId"],
                                                                                int(e["encodedDataLength"])))

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
                if encoding != "gzip":
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
        _login(admin.page, base, county)
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
            for v in _axe(rec.page):
                problems.append(f"{endpoint} {path}: axe: {v}")
            axe_checked += 1
            if endpoint in SHOTS:
                name, selector = SHOTS[endpoint]
                rec.page.locator(selector).screenshot(path=str(artifacts / f"field-{name}"), caret="initial")
        problems += [f"request left the server: {u}" for u in anon.foreign + admin.foreign]
        problems += [f"browser error: {e}" for e in anon.errors + admin.errors]
    finally:
        anon.context.close()
        admin.context.close()

    lines = [f"{'page':<44}{'HTML':>8}{'CSS':>8}{'JS':>8}{'total':>9}  (bytes on the wire, gzip, cold cache)"]
    for endpoint, path, w in sorted(table, key=lambda t: -sum(t[2].values())):
        lines.append(f"{endpoint:<44}{w['Document']:>8}{w['Stylesheet']:>8}{w['Script']:>8}{sum(w.values()):>9}")
    report = "\n".join(lines)
    (ARTIFACTS / "page-weight.txt").write_text(report + "\n", encoding="utf-8")
    print("\n" + report)
    assert axe_checked == len(table)
    assert not problems, "\n".join(problems)
    if os.environ.get("TUANJIAN_UPDATE_SCREENSHOTS") == "1":
        _publish_shots(artifacts, [name for name, _ in SHOTS.values()])


def _publish_shots(artifacts, names):
    """Copy screenshots to the README's folder and to the help page's static folder."""
    DOC_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    HELP_IMAGES.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(artifacts / f"field-{name}", DOC_SCREENSHOTS / name)
        shutil.copyfile(artifacts / f"field-{name}", HELP_IMAGES / name)


def test_every_page_works_without_javascript(browser, live_server):
    """With JavaScript off every page loads, and no button, link or htmx control depends on a script."""
    base, app = live_server.url, live_server.app
    ids = prepare(app)
    county = live_server.login_for("县团委管理员")
    anon = Recorder(browser, base, js=False)
    admin = Recorder(browser, base, js=False)
    problems = []
    try:
        _login(admin.page, base, county)
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
