"""Issue 16 in Chromium: the role-aware menu (2), paper (6), old browsers (7) and phones (12), JavaScript on and off.

* Paper: every print view is printed to PDF; in the PDF's text no name, ID number, date, phone number or code is cut
  across two lines, org names break only between their words, at least 25 members fit on page 1 of the A4 list, no
  heading ends a page, numbers in the 通报 are right-aligned, and each view gets its own orientation even in a
  browser without named pages (Chrome < 85), simulated by deleting every `page:` declaration before printing.
* Old browsers: the main pages with flex `gap` and grid taken out of the stylesheets (as in IE11 and in the Chromium
  69/78 cores of 360 and QQ): menu items, toolbar buttons and the user links do not touch; code slips stay two-up.
* Phones: at 375 px every page fits the screen, the menu is folded into a <details> that opens without JavaScript,
  list rows keep names, ID numbers, dates and phone numbers on one line and scroll inside their own box.
Screenshots go to tests/artifacts/paper-*.png, old-*.png and phone-*.png.
"""
from __future__ import annotations

import io
import os
import re
import shutil
import unicodedata

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tuanjian.web.filters import name_parts

from .conftest import DOC_SCREENSHOTS, log_in
from .sweep import page_urls, prepare
from .test_field import _axe

pytestmark = pytest.mark.e2e

PHONE = {"width": 375, "height": 740}
AXE_AT_375 = {"members.index", "supervision.index", "audit.index", "orgs.detail", "main.help", "auth.login"}
PRINT_VIEWS = ("members.print_list", "orgs.code_slips", "supervision.print_report", "supervision.reminders",
               "members.paper_form", "members.paper_check")
# Chromium's PDFs map some glyphs shared by a radical and an ideograph to the radical (⻚ for 页): fold them back.
RADICALS = str.maketrans("⻅⻆⻉⻋⻐⻓⻔⻙⻚⻛⻜⻠⻢⻥⻦⻧⻨⻩⻪⻬⻮⻰⻳⻘⻄",
                         "见角贝车钅长门韦页风飞饣马鱼鸟卤麦黄黾齐齿龙龟青西")
HEADINGS = ("指标说明", "附：各下级组织异常项")


def _context(browser, js: bool, viewport=None):
    context = browser.new_context(java_script_enabled=js, viewport=viewport or {"width": 1280, "height": 800},
                                  locale="zh-CN")
    context.set_default_timeout(15_000)
    return context


# ---------------------------------------------------------------- paper

def _fold_line(line: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", line).translate(RADICALS))


def _pdf_lines(pdf: bytes):
    from pypdf import PdfReader
    reader = PdfReader(io.BytesIO(pdf))
    pages = [[_fold_line(x) for x in (p.extract_text() or "").splitlines() if x.strip()] for p in reader.pages]
    boxes = [(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages]
    return pages, boxes


def _without_named_pages(page):
    """What Chrome before 85 sees: no `page:` property (named pages). A view that relied on a named page for its
    orientation would now print with the other @page rule's size."""
    removed = page.evaluate("""() => {
        let n = 0;
        const walk = rules => { for (const r of [...rules]) {
            if (r.style && r.style.getPropertyValue('page')) { r.style.removeProperty('page'); n++; }
            if (r.cssRules) walk(r.cssRules);
        } };
        for (const sheet of document.styleSheets) walk(sheet.cssRules);
        return n;
    }""")
    assert removed == 0, "a print view depends on named pages, which Chrome < 85 ignores"


def _print(page, artifacts, name: str, *, landscape: bool):
    _without_named_pages(page)
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    (artifacts / f"paper-{name}.pdf").write_bytes(pdf)
    pages, boxes = _pdf_lines(pdf)
    for w, h in boxes:
        assert abs(min(w, h) - 595.3) < 2 and abs(max(w, h) - 841.9) < 2, f"{name}: not A4 ({w}×{h})"
        assert (w > h) == landscape, f"{name}: printed {'portrait' if landscape else 'landscape'}"
    return pages


def _whole_on_one_line(pages, values, what: str):
    """Every value is found inside one line of the PDF text."""
    lines = [line for p in pages for line in p]
    split = [v for v in values if v and not any(_fold_line(v) in line for line in lines)]
    assert not split, f"{what} cut across lines (or missing): {split[:10]}"
    return len(values)


def _names_break_between_words(pages, names, what: str):
    """Org names are either on one line or broken only where name_parts allows it."""
    text = "\n".join("\n".join(p) for p in pages)
    bad = []
    for name in names:
        parts = [re.escape(_fold_line(p)) for p in name_parts(name)]
        if not re.search("\n?".join(parts), text):
            bad.append(name)
    assert not bad, f"{what}: org names broken inside a word (or missing): {bad[:10]}"


def _headings_not_alone(pages):
    for n, lines in enumerate(pages, start=1):
        body = [x for x in lines if not re.fullmatch(r"第\d+页/共\d+页", x)]
        for heading in map(_fold_line, HEADINGS):
            if heading in body:
                i = body.index(heading)
                assert i + 1 < len(body), f"heading {heading!r} alone at the foot of page {n}"


def _numbers_right_aligned(page) -> int:
    """Each numeric cell's text ends at the cell's right padding edge."""
    bad = page.evaluate("""() => {
        const bad = [];
        for (const td of document.querySelectorAll('td.num')) {
            const s = getComputedStyle(td);
            const text = [...td.childNodes].find(n => n.nodeType === 3 && n.textContent.trim());
            if (!text) continue;
            const range = document.createRange(); range.selectNodeContents(text);
            const r = range.getBoundingClientRect(), c = td.getBoundingClientRect();
            const inner = c.right - parseFloat(s.paddingRight) - parseFloat(s.borderRightWidth);
            if (s.textAlign !== 'right' || Math.abs(inner - r.right) > 2) bad.push(td.outerHTML.slice(0, 80));
        }
        return [document.querySelectorAll('td.num').length, bad];
    }""")
    count, wrong = bad
    assert count > 20 and not wrong, f"left-aligned numbers: {wrong[:5]}"
    return count


def _db(app, fn):
    from tuanjian.extensions import db
    with app.app_context():
        try:
            return fn(db.session)
        finally:
            db.session.remove()


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_every_print_view_keeps_values_whole(browser, live_server, artifacts, js):
    from tuanjian.models import Campaign, Member, Org, Person, RegistrationCode
    from tuanjian.queries import within

    base, app = live_server.url, live_server.app
    ids = prepare(app)
    mode = "js" if js else "nojs"
    root_id = live_server.org_id("共青团望江县委员会")
    context = _context(browser, js)
    page = context.new_page()
    try:
        log_in(page, base, live_server.login_for("县团委管理员"))

        # the county's member list: A4 portrait, ≥ 25 rows on page 1, no value cut
        page.goto(f"{base}/members/org/{root_id}/print")
        pages = _print(page, artifacts, f"members-{mode}", landscape=False)
        people = _db(app, lambda s: s.execute(
            select(Person.name, Person.id_number, Person.phone, Person.join_date)
            .join(Member, Member.person_id == Person.id).join(Org, Member.org_id == Org.id)
            .where(within(Org.code, "000.012.016.007"), Member.deleted_at.is_(None))).all())
        assert len(people) >= 40
        on_page_1 = sum("********" in line for line in pages[0])
        assert on_page_1 >= 25, f"only {on_page_1} members on page 1 of the A4 list"
        from tuanjian.domain.people import mask_id_number
        _whole_on_one_line(pages, [p.name for p in people], "names")
        _whole_on_one_line(pages, [mask_id_number(p.id_number) for p in people], "ID numbers")
        _whole_on_one_line(pages, [p.phone for p in people if p.phone], "phone numbers")
        _whole_on_one_line(pages, [str(p.join_date) for p in people if p.join_date], "入团年月")
        branches = _db(app, lambda s: s.scalars(select(Org.short_name).distinct().join(Member, Member.org_id == Org.id)
                                                .where(within(Org.code, "000.012.016.007"),
                                                       Member.deleted_at.is_(None))).all())
        assert len(branches) >= 8
        _names_break_between_words(pages, branches, "member list")

        # registration-code slips: portrait, codes, org codes and expiry times whole, two slips a row
        page.goto(f"{base}/orgs/{root_id}")
        page.get_by_role("button", name="批量生成并打印注册码条").click()
        expect(page).to_have_url(f"{base}/orgs/{root_id}/codes/slips")
        tops = page.locator("li.slip").evaluate_all("els => els.slice(0, 4).map(e => e.getBoundingClientRect().top)")
        assert tops[0] == tops[1] and tops[2] == tops[3] and tops[2] > tops[0], "slips two to a row"
        pages = _print(page, artifacts, f"slips-{mode}", landscape=False)
        slips = _db(app, lambda s: s.execute(
            select(RegistrationCode.code, RegistrationCode.expires_at, Org.code, Org.short_name, Org.full_name)
            .join(Org).where(Org.parent_id == root_id, RegistrationCode.used_at.is_(None),
                             RegistrationCode.revoked_at.is_(None))).all())
        assert len(slips) == 36
        from tuanjian.web.filters import local_time
        _whole_on_one_line(pages, [c.code for c in slips], "registration codes")
        _whole_on_one_line(pages, [c[2] for c in slips], "org codes")
        _whole_on_one_line(pages, [local_time(c.expires_at) for c in slips], "expiry times")
        _names_break_between_words(pages, [c.full_name or c.short_name for c in slips], "slips")

        # the 通报: landscape, numbers right-aligned, headings never alone at a page foot, names broken between words
        page.goto(f"{base}/progress/org/{root_id}/print")
        _numbers_right_aligned(page)
        pages = _print(page, artifacts, f"report-{mode}", landscape=True)
        _headings_not_alone(pages)
        assert all(any(_fold_line(h) in p for p in pages) for h in HEADINGS), "the headings are lines of their own"
        _whole_on_one_line(pages, [x for p in pages for x in re.findall(r"\d+\.\d%", "".join(p))], "rates")
        children = _db(app, lambda s: s.execute(select(Org.short_name, Org.full_name)
                                                .where(Org.parent_id == root_id)).all())
        _names_break_between_words(pages, [c.full_name or c.short_name for c in children], "通报")

        # the 催办名单 of a campaign: landscape, org names broken between words
        campaign = _db(app, lambda s: s.get(Campaign, ids.campaign).name)
        page.goto(f"{base}/progress/campaigns/{ids.campaign}/reminders")
        expect(page.locator("h1")).to_contain_text(campaign)
        pages = _print(page, artifacts, f"reminders-{mode}", landscape=True)
        _names_break_between_words(pages, [c.full_name or c.short_name for c in children], "催办名单")

        # a branch's own list, printed by its admin
        branch = live_server.login_for("团支部管理员")
        branch_id = live_server.org_id(branch.org)
        page.goto("about:blank")                # nothing in flight from the last page sets a session cookie
        context.clear_cookies()
        log_in(page, base, branch)
        page.goto(f"{base}/members/org/{branch_id}/print")
        pages = _print(page, artifacts, f"branch-members-{mode}", landscape=False)
        mine = _db(app, lambda s: s.execute(select(Person.name, Person.phone)
                                            .join(Member, Member.person_id == Person.id)
                                            .where(Member.org_id == branch_id, Member.deleted_at.is_(None))).all())
        _whole_on_one_line(pages, [m.name for m in mine] + [m.phone for m in mine if m.phone], "branch list")

        # paper for a branch without a computer (issue 26.5): the 采集表 and the 核对表, A4 landscape
        page.goto(f"{base}/members/org/{branch_id}/paper")
        pages = _print(page, artifacts, f"branch-paper-form-{mode}", landscape=True)
        text = "".join(line for p in pages for line in p)
        assert _fold_line(branch.org) in text and "□是" in text and _fold_line("共青团员") in text
        page.goto(f"{base}/members/org/{branch_id}/paper-check")
        pages = _print(page, artifacts, f"branch-paper-check-{mode}", landscape=True)
        masked = _db(app, lambda s: [p.masked_id for p in s.scalars(
            select(Person).join(Member, Member.person_id == Person.id)
            .where(Member.org_id == branch_id, Member.deleted_at.is_(None)))])
        _whole_on_one_line(pages, [m.name for m in mine] + masked, "核对表")
    finally:
        context.close()


# ---------------------------------------------------------------- old browsers: no flex gap, no grid

# Take flex `gap` and grid out of every stylesheet, as IE11 and the Chromium 69/78 cores of 360/QQ lay pages out.
STRIP_GAP_AND_GRID = """() => {
    let touched = 0;
    const walk = (owner) => { const list = owner.cssRules; for (let i = list.length - 1; i >= 0; i--) { const r = \
list[i];
        if (r.type === CSSRule.SUPPORTS_RULE && /gap|grid/.test(r.conditionText)) { owner.deleteRule(i); touched++; \
continue; }
        if (r.cssRules && !r.style) { walk(r); continue; }
        if (!r.style) continue;
        for (const p of ['gap', 'row-gap', 'column-gap', 'grid-gap', 'grid-row-gap', 'grid-column-gap']) {
            if (r.style.getPropertyValue(p)) { r.style.removeProperty(p); touched++; } }
        if (/grid/.test(r.style.display)) { r.style.display = 'block'; touched++; }
    } };
    for (const sheet of document.styleSheets) walk(sheet);
    return touched;
}"""

# Items that sit side by side must keep a visible space between them (the old bug: "组织树录入进度本组织管理员…").
TOUCHING = """(selectors) => {
    const out = [];
    for (const sel of selectors) {
        for (const group of document.querySelectorAll(sel.group)) {
            const items = [...group.querySelectorAll(sel.items)].filter(e => e.offsetParent !== null
                && e.getBoundingClientRect().width > 0);
            for (let i = 0; i < items.length; i++) for (let j = i + 1; j < items.length; j++) {
                const a = items[i].getBoundingClientRect(), b = items[j].getBoundingClientRect();
                const sameLine = a.top < b.bottom - 2 && b.top < a.bottom - 2;
                if (!sameLine) continue;
                const space = Math.max(b.left - a.right, a.left - b.right);
                if (space < sel.min) out.push(sel.group + ': "' + items[i].textContent.trim().slice(0, 12) + '" and "'
                    + items[j].textContent.trim().slice(0, 12) + '" ' + Math.round(space) + 'px apart');
            }
        }
    }
    return out;
}"""
SPACED = [
    {"group": "header .bar .nav", "items": ":scope > a", "min": 12},
    {"group": "header .bar .user", "items": ":scope > *", "min": 10},
    {"group": "main .actions", "items": ":scope > .button, :scope > button, :scope > form, :scope > a", "min": 6},
    {"group": "main .head", "items": ":scope > *", "min": 6},
    {"group": "main .search", "items": ":scope > input, :scope > select, :scope > button", "min": 6},
    {"group": "main .pager", "items": ":scope > *", "min": 10},
    {"group": "main .facts", "items": ":scope > div", "min": 12},
]
OLD_PAGES = ("orgs.detail", "members.index", "members.new", "orgs.info", "supervision.index", "supervision.campaigns",
             "audit.index", "people.index", "members.transfers", "exchange.index", "cadres.index", "orgs.admins",
             "main.profile", "registration.register", "auth.login", "main.help", "members.import_page")


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_pages_stay_tidy_without_flex_gap_and_grid(browser, live_server, artifacts, js):
    base, app = live_server.url, live_server.app
    ids = prepare(app)
    wanted = {e: (path, anon) for e, path, anon in page_urls(app, ids) if e in OLD_PAGES}
    assert len(wanted) == len(OLD_PAGES), set(OLD_PAGES) - set(wanted)
    mode = "js" if js else "nojs"
    problems = []
    branch_id = live_server.org_id(live_server.login_for("团支部管理员").org)
    branch_pages = {"members.index": (f"/members/org/{branch_id}", False), "orgs.detail": (f"/orgs/{branch_id}", False),
                    "members.new": (f"/members/org/{branch_id}/new", False), "main.help": ("/help", True)}
    for who, todo in (("县团委管理员", wanted), ("团支部管理员", branch_pages)):
        context = _context(browser, js, {"width": 1024, "height": 768})
        page = context.new_page()
        try:
            log_in(page, base, live_server.login_for(who))
            for endpoint, (path, _anon) in todo.items():
                page.goto(base + path)
                assert page.evaluate(STRIP_GAP_AND_GRID) > 0, "the grid rules of app.css were not found"
                problems += [f"{who} {endpoint}: {p}" for p in page.evaluate(TOUCHING, SPACED)]
                main = page.locator("main").evaluate("""m => { const s = getComputedStyle(m), \
r = m.getBoundingClientRect();
                    return [s.display, r.left, document.documentElement.clientWidth - r.right]; }""")
                if main[0] != "block" or abs(main[1] - main[2]) > 1:
                    problems.append(f"{endpoint}: main is not a centred block: {main}")
                if endpoint in ("orgs.detail", "members.new") and who == "县团委管理员":
                    page.screenshot(path=str(artifacts / f"old-{endpoint}-{mode}.png"))
            # code slips: two a row without grid
            if who == "县团委管理员":
                page.goto(f"{base}/orgs/{ids.root}")
                page.get_by_role("button", name="批量生成并打印注册码条").click()
                expect(page).to_have_url(f"{base}/orgs/{ids.root}/codes/slips")
                page.evaluate(STRIP_GAP_AND_GRID)
                boxes = page.locator("li.slip").evaluate_all(
                    "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.width]; })")
                lefts = sorted({round(b[0]) for b in boxes})
                assert len(lefts) == 2 and all(boxes[i][1] == boxes[i + 1][1] for i in range(0, len(boxes) - 1, 2)), \
                    f"code slips not two-up without grid: {boxes[:4]}"
        finally:
            context.close()
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- phones: 375 px

# Cells whose text must stay on one line: every cell of a list table on a phone (names, IDs, dates, phones, codes).
CELLS_ON_ONE_LINE = """() => {
    const bad = [];
    for (const cell of document.querySelectorAll('table.list td, table.list th')) {
        for (const n of cell.childNodes) {
            if (n.nodeType !== 3 || !n.textContent.trim()) continue;
            const range = document.createRange(); range.selectNodeContents(n);
            const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
            if (tops.size > 1) bad.push(n.textContent.trim().slice(0, 20));
        }
    }
    return bad;
}"""
WIDER_THAN_SCREEN = """() => {
    const w = document.documentElement.clientWidth, out = [];
    if (document.documentElement.scrollWidth > w) out.push('page scrolls sideways: ' + \
document.documentElement.scrollWidth);
    for (const t of document.querySelectorAll('table.list, .scroll-x')) {
        const r = t.getBoundingClientRect();
        if (r.right > w + 1) out.push(t.tagName + '.' + t.className + ' sticks out: ' + Math.round(r.right));
    }
    return out;
}"""


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_every_page_fits_a_phone(browser, live_server, artifacts, js):
    base, app = live_server.url, live_server.app
    ids = prepare(app)
    mode = "js" if js else "nojs"
    pages = [(e, p, a) for e, p, a in page_urls(app, ids) if e.split("[")[0] not in PRINT_VIEWS]
    assert len(pages) >= 30
    shots = {"members.index": "county-members", "supervision.index": "progress", "orgs.detail": "tree",
             "main.help": "help"}
    problems = []
    anon_ctx, admin_ctx = _context(browser, js, PHONE), _context(browser, js, PHONE)
    anon, admin = anon_ctx.new_page(), admin_ctx.new_page()
    try:
        log_in(admin, base, live_server.login_for("县团委管理员"))
        for endpoint, path, anonymous in pages:
            page = anon if anonymous else admin
            response = page.goto(base + path)
            if response is None or response.status != 200:
                problems.append(f"{endpoint}: HTTP {response.status if response else None}")
                continue
            problems += [f"{endpoint} {path}: {p}" for p in page.evaluate(WIDER_THAN_SCREEN)]
            problems += [f"{endpoint} {path}: cell text wraps: {p}" for p in page.evaluate(CELLS_ON_ONE_LINE)]
            if not page.locator("header").count():
                continue                                  # an htmx fragment (the tree's children), not a page
            menu = page.locator("header details.menu")
            if not menu.locator("summary").is_visible() or menu.get_attribute("open") is not None \
                    or page.locator("header .bar").is_visible() or menu.locator("nav a").first.is_visible():
                problems.append(f"{endpoint}: the header menu is not folded")
            header = page.locator("header").bounding_box()
            if header["height"] > 60:
                problems.append(f"{endpoint}: folded header is {header['height']}px tall")
            if endpoint in shots:
                page.screenshot(path=str(artifacts / f"phone-{shots[endpoint]}-{mode}.png"))
            if js and endpoint in AXE_AT_375:       # the folded menu and the scrolling tables stay accessible
                page.locator("header details.menu summary").click()
                problems += [f"{endpoint} at 375 px: axe: {v}" for v in _axe(page)]
        # the menu opens without JavaScript, and its links are usable
        admin.goto(f"{base}/orgs/{ids.root}")
        admin.locator("header details.menu summary").click()
        links = admin.locator("header details.menu nav a")
        expect(links.first).to_be_visible()
        boxes = links.evaluate_all("els => els.map(e => e.getBoundingClientRect()).map(r => [r.left, r.right, "
                                   "r.height])")
        # the county menu: 组织树 … 组织关系转接, 特殊情况录入 (issue 18), 人员查询, 智慧团建对账 (issue 28) …: ten
        assert len(boxes) == 10 and all(0 <= b[0] and b[1] <= PHONE["width"] and b[2] >= 24 for b in boxes), boxes
        links.filter(has_text="录入进度").click()
        expect(admin).to_have_url(re.compile(rf"/progress/org/{ids.root}$"))
        # the list scrolls inside its own box (cells on one line: checked above); the README's phone picture
        admin.goto(f"{base}/members/org/{ids.township}")
        table = admin.locator("table.list")
        assert table.evaluate("t => t.scrollWidth > t.clientWidth && getComputedStyle(t).overflowX === 'auto'")
        shot = artifacts / f"phone-members-{mode}.png"                  # the README's picture: menu folded, list
        admin.screenshot(path=str(shot), caret="initial", full_page=True,
                         clip={"x": 0, "y": 0, "width": 375, "height": 960})
        admin.locator("header details.menu summary").click()
        admin.screenshot(path=str(artifacts / f"phone-menu-{mode}.png"), caret="initial")
        if js and os.environ.get("TUANJIAN_UPDATE_SCREENSHOTS") == "1":
            DOC_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, DOC_SCREENSHOTS / "phone.png")
    finally:
        anon_ctx.close()
        admin_ctx.close()
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- the menu of a branch admin

@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, PHONE], ids=["desktop", "phone"])
def test_branch_admin_menu(browser, live_server, artifacts, js, viewport):
    base = live_server.url
    who = live_server.login_for("团支部管理员")
    branch_id = live_server.org_id(who.org)
    context = _context(browser, js, viewport)
    page = context.new_page()
    phone = viewport is PHONE
    try:
        log_in(page, base, who)
        if phone:
            page.locator("header details.menu summary").click()
        nav = page.locator("header details.menu nav" if phone else "header .bar nav")
        links = nav.locator("a")
        expect(links.first).to_be_visible()
        texts = [t.strip() for t in links.all_inner_texts()]
        assert texts[:2] == ["团员", "本支部"], texts
        assert not {"组织树", "录入进度", "数据交换"} & set(texts), texts
        page.screenshot(path=str(artifacts / f"menu-branch-{'phone' if phone else 'desktop'}-"
                                             f"{'js' if js else 'nojs'}.png"))
        links.filter(has_text="团员").click()
        expect(page).to_have_url(f"{base}/members/org/{branch_id}")
        expect(page.locator("h1")).to_contain_text(who.org)
        # an upper level keeps the full menu. Leave the page first: a request still in flight from it (HTMX, the
        # session ping) could set a fresh session cookie after the clearing, and the login form's CSRF token would
        # then belong to another session (seen under load on 2 test workers)
        page.goto("about:blank")
        context.clear_cookies()
        log_in(page, base, live_server.login_for("乡镇团委管理员"))
        if phone:
            page.locator("header details.menu summary").click()
        texts = [t.strip() for t in (page.locator("header details.menu nav a" if phone else "header .bar nav a")
                                     .all_inner_texts())]
        assert texts[:2] == ["组织树", "录入进度"] and "数据交换" in texts and "团员" not in texts, texts
    finally:
        context.close()
