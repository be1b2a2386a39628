"""The role-aware menu, the tags that ask 360/QQ for their Chromium core, the gap-free stylesheet old cores can lay
out, and the paper of each print view (issue 16, points 2, 6, 7, 12). The browser checks are in
tests/e2e/test_paper_and_old_browsers.py."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tuanjian.web.filters import breakable, name_parts

STATIC = Path(__file__).resolve().parents[2] / "tuanjian" / "static"


def _nav_links(html: str) -> list[list[str]]:
    """The link texts of every 主菜单 on the page (the wide bar and the phone's folded copy)."""
    return [re.findall(r"<a [^>]*>([^<]+)</a>", nav)
            for nav in re.findall(r'<nav class="(?:menu-)?nav" aria-label="主菜单">(.*?)</nav>', html, re.S)]


def test_branch_admin_menu_puts_members_first_and_hides_what_needs_subordinates(client, tree, login):
    login(tree.branch_admin)
    html = client.get("/help").get_data(as_text=True)
    menus = _nav_links(html)
    assert len(menus) == 2 and menus[0] == menus[1], "the bar and the phone menu carry the same links"
    assert menus[0][:2] == ["团员", "本支部"]
    for hidden in ("组织树", "录入进度", "数据交换"):
        assert hidden not in menus[0]
    for kept in ("本组织管理员", "人员查询", "组织关系转接", "智慧团建对账", "操作日志", "帮助"):
        assert kept in menus[0]
    assert f'href="/members/org/{tree.village.id}"' in html
    # the 团员 item is a working page for the branch
    assert client.get(f"/members/org/{tree.village.id}").status_code == 200


@pytest.mark.parametrize("who", ["county_admin", "township_admin", "school_admin"])
def test_upper_levels_keep_their_menu(client, tree, login, who):
    login(getattr(tree, who))
    menus = _nav_links(client.get("/help").get_data(as_text=True))
    assert menus[0] == ["组织树", "录入进度", "本组织管理员", "人员查询", "组织关系转接", "特殊情况录入", "数据交换",
                        "智慧团建对账", "操作日志", "帮助"]


def test_phone_menu_is_a_details_without_duplicate_ids(client, tree, login):
    login(tree.county_admin)
    html = client.get("/help").get_data(as_text=True)
    assert re.search(r'<details class="menu"><summary>菜单</summary>', html)
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    anon = client.application.test_client().get("/auth/login").get_data(as_text=True)
    assert _nav_links(anon)[0] == ["登录", "管理员注册", "帮助"]



def test_phone_menu_is_the_bar_with_its_own_classes_and_switch_id(client, session, tree, login):
    """The menu is rendered once and copied for phones (web.filters.phone_menu): the copy keeps every link, the
    org switch and its choices, with the phone's wrapper classes and its own id, the label pointing at it."""
    from tuanjian.models import AdminGrant, CadrePost
    session.add(CadrePost(person_id=tree.township_admin.id, org_id=tree.village.id, position="书记"))
    session.add(AdminGrant(org_id=tree.village.id, person_id=tree.township_admin.id))
    session.commit()
    login(tree.township_admin)
    html = client.get("/help").get_data(as_text=True)
    bar = html.split('<div class="bar">', 1)[1].split("</div>", 1)[0]
    phone = html.split('<div class="menu-body">', 1)[1].split("</details>", 1)[0]
    assert '<nav class="nav"' in bar and '<nav class="menu-nav"' in phone and '<div class="menu-user">' in phone
    for part, sfx in ((bar, ""), (phone, "-phone")):
        assert f'<label for="switch-org{sfx}" class="sr">' in part and f'<select id="switch-org{sfx}"' in part
        options = re.findall(r'<option value="(\d+)"( selected)?>([^<]+)</option>', part)
        assert [(int(v), bool(sel)) for v, sel, _ in options] == [(tree.township.id, True), (tree.village.id, False)]
    assert _nav_links(html)[0] == _nav_links(html)[1]

def test_every_page_kind_asks_360_and_qq_for_the_chromium_core(client, tree, login):
    login(tree.county_admin)
    pages = ["/help", f"/orgs/{tree.county.id}", f"/members/org/{tree.township.id}/print",
             f"/progress/org/{tree.county.id}/print", f"/orgs/{tree.county.id}/codes/slips"]
    for path in pages:
        html = client.get(path).get_data(as_text=True)
        head = html.split("</head>")[0]
        for tag in ('<meta http-equiv="X-UA-Compatible" content="IE=edge">', '<meta name="renderer" content="webkit">',
                    '<meta name="force-rendering" content="webkit">'):
            assert tag in head, f"{path}: {tag}"


def test_each_print_view_links_its_own_paper(client, tree, login):
    login(tree.county_admin)
    for path, paper in ((f"/members/org/{tree.township.id}/print", "portrait"),
                        (f"/orgs/{tree.county.id}/codes/slips", "portrait"),
                        (f"/progress/org/{tree.county.id}/print", "landscape")):
        html = client.get(path).get_data(as_text=True)
        links = re.findall(r'href="/static/css/(page-a4-\w+)\.css"', html)
        assert links == [f"page-a4-{paper}"], (path, links)
    for paper in ("portrait", "landscape"):
        css = (STATIC / "css" / f"page-a4-{paper}.css").read_text(encoding="utf-8")
        assert f"size: A4 {paper};" in css and "counter(pages)" in css


def test_stylesheets_space_flex_items_without_gap():
    """360's Chromium 69/78 cores and IE11 have no flex `gap`: spacing comes from margins. (Grid keeps its column gap;
    without grid the form fields simply stack.)"""
    for name in ("app.css", "print.css"):
        css = re.sub(r"/\*.*?\*/", "", (STATIC / "css" / name).read_text(encoding="utf-8"), flags=re.S)
        for rule in re.findall(r"[^{}]*\{[^{}]*\}", css):
            if re.search(r"(?<![-\w])gap\s*:|row-gap\s*:", rule):
                raise AssertionError(f"{name}: flex gap in {rule.strip()}")
        assert re.search(r"main\s*\{[^}]*display:\s*block", css) or name == "print.css"
    print_css = (STATIC / "css" / "print.css").read_text(encoding="utf-8")
    assert "display: grid" not in print_css, "code slips stay two-up without grid"


@pytest.mark.parametrize("name, parts", [
    ("华阳镇城东村团支部", ["华阳镇", "城东村", "团支部"]),
    ("望江二中团委", ["望江二中", "团委"]),
    ("中国共产主义青年团望江县委员会", ["中国共产主义青年团", "望江县", "委员会"]),
    ("计算机专业2017级3班团支部", ["计算机专业", "2017级", "3班", "团支部"]),
    ("县直机关团工委", ["县直机关", "团工委"]),
    ("团委", ["团委"]),
    ("", [""]),
])
def test_org_names_break_only_between_words(name, parts):
    assert name_parts(name) == parts
    assert "".join(name_parts(name)) == name
    assert all(len(p) >= 2 for p in name_parts(name) if name)


def test_breakable_escapes_the_name():
    assert str(breakable("<b>镇团委")) == "&lt;b&gt;镇<wbr>团委"
    assert str(breakable(None)) == ""
