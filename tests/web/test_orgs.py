from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tuanjian.models import AdminGrant, AuditEntry, CadrePost, Org, RegistrationCode

from ..factories import make_admin, make_cadre, make_code

# ---------------------------------------------------------------- tree pages

def test_tree_page_shows_children_with_counts_and_admin_state(client, login, tree):
    login(tree.county_admin)
    page = client.get(f"/orgs/{tree.county.id}").get_data(as_text=True)
    for name in ("华阳镇团委", "望江中学团委", "高士镇团委"):
        assert name in page
    assert tree.township.code in page and "基层团委" in page
    assert "管理员 1/3" in page
    assert f'id="org-{tree.village.id}"' not in page       # grandchildren load lazily


def test_children_fragment_and_plain_page(client, login, tree):
    login(tree.county_admin)
    frag = client.get(f"/orgs/{tree.school.id}/children", headers={"HX-Request": "true"})
    body = frag.get_data(as_text=True)
    assert frag.status_code == 200 and "<html" not in body and "高一年级团总支" in body
    assert "HX-Request" in frag.headers.get("Vary", "")
    full = client.get(f"/orgs/{tree.school.id}/children").get_data(as_text=True)
    assert "<html" in full and "高一年级团总支" in full
    boosted = client.get(f"/orgs/{tree.school.id}", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)


def test_search_finds_orgs_anywhere_below_and_nothing_outside(client, login, tree):
    login(tree.township_admin)
    page = client.get(f"/orgs/{tree.township.id}?q=城东").get_data(as_text=True)
    assert "城东村团支部" in page and "共 1 个" in page
    page = client.get(f"/orgs/{tree.township.id}?q=团支部").get_data(as_text=True)
    assert "城东村团支部" in page and "高士村团支部" not in page and "高一(1)班团支部" not in page   # other subtrees
    login(tree.county_admin)
    page = client.get(f"/orgs/{tree.county.id}?q=团支部").get_data(as_text=True)
    for name in ("城东村团支部", "高士村团支部", "高一(1)班团支部"):                           # any depth
        assert name in page
    assert "共 3 个" in page
    page = client.get(f"/orgs/{tree.county.id}?q={tree.village.code}").get_data(as_text=True)    # by code
    assert "城东村团支部" in page and "共 1 个" in page
    page = client.get(f"/orgs/{tree.county.id}?q=%25").get_data(as_text=True)    # "%" is a character, not a wildcard
    assert "没有找到匹配的下级组织" in page and "共 0 个" in page


def test_long_child_lists_are_paged_with_plain_links(app, client, session, login, tree, monkeypatch):
    from tuanjian.domain.orgtree import OrgKind
    from tuanjian.orgs import views
    from tuanjian.services.actor import Actor
    from tuanjian.services.orgs import create_child
    monkeypatch.setattr(views, "CHILDREN_PER_PAGE", 4)
    for i in range(7):
        create_child(session, Actor.system("测试"), tree.township, short_name=f"第{'一二三四五六七'[i]}村团支部",
                     kind=OrgKind.BRANCH, settings=app.extensions["tuanjian_settings"])
    session.commit()
    login(tree.township_admin)
    first = client.get(f"/orgs/{tree.township.id}").get_data(as_text=True)
    assert "共 8 个直属下级组织，这里是第 1 / 2 页" in first and f"/orgs/{tree.township.id}?page=2" in first
    second = client.get(f"/orgs/{tree.township.id}?page=2").get_data(as_text=True)
    assert "第 2 / 2 页" in second and "上一页" in second
    shown = [name for name in ["城东村团支部"] + [f"第{c}村团支部" for c in "一二三四五六七"]
             if f">{name}</a>" in first or f">{name}</a>" in second]
    assert len(shown) == 8                                      # every child on one of the two pages
    assert not any(f">{name}</a>" in first and f">{name}</a>" in second for name in shown)
    assert "第 2 / 2 页" in client.get(f"/orgs/{tree.township.id}?page=99").get_data(as_text=True)


def test_empty_org_says_so(client, login, tree, session):
    from tuanjian.domain.orgtree import OrgKind
    from tuanjian.domain.settings import DEFAULT_SETTINGS
    from tuanjian.services.actor import Actor
    from tuanjian.services.orgs import create_child
    empty = create_child(session, Actor.system("测试"), tree.school, short_name="高二年级团总支",
                         kind=OrgKind.GENERAL_BRANCH, settings=DEFAULT_SETTINGS)
    session.commit()
    login(tree.county_admin)
    assert "暂无下级组织" in client.get(f"/orgs/{empty.id}").get_data(as_text=True)
    # a 团支部 cannot have subordinates: its page has no 下级组织 card and no registration-code advice
    branch = client.get(f"/orgs/{tree.klass.id}").get_data(as_text=True)
    assert "<h2>下级组织</h2>" not in branch and "暂无下级组织" not in branch and "生成注册码" not in branch


def test_breadcrumb_stops_at_own_scope(client, login, tree):
    login(tree.school_admin)
    page = client.get(f"/orgs/{tree.klass.id}").get_data(as_text=True)
    assert "望江中学团委" in page and "高一年级团总支" in page and "共青团测试县委员会" not in page


# ---------------------------------------------------------------- creating children

def test_create_child_assigns_next_code(client, session, login, tree):
    login(tree.county_admin)
    resp = client.post(f"/orgs/{tree.county.id}/children", data={"short_name": "开发区团工委", "kind": "working",
                                                                 "is_township": "y"})
    assert resp.status_code == 302
    org = session.scalar(select(Org).where(Org.short_name == "开发区团工委"))
    assert org.code == tree.county.code + ".004" and org.is_township and org.parent_id == tree.county.id
    assert "组织代码 " + org.code in client.get(resp.headers["Location"]).get_data(as_text=True)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "org.create", AuditEntry.object_id == org.id))
    assert entry.after["code"] == org.code and entry.actor_name == "王县"


def test_township_flag_ignored_for_branches(client, session, login, tree):
    login(tree.township_admin)
    client.post(f"/orgs/{tree.township.id}/children", data={"short_name": "城西村团支部", "kind": "branch",
                                                             "is_township": "y"})
    assert session.scalar(select(Org).where(Org.short_name == "城西村团支部")).is_township is False


@pytest.mark.parametrize("data,status,fragment", [
    ({"short_name": "", "kind": "branch"}, 422, "请填写组织简称"),
    ({"short_name": "很" * 26, "kind": "branch"}, 422, "最多25个字"),
    ({"short_name": "城东村团支部", "kind": "branch"}, 422, "已有名为"),
    ({"short_name": "新团委", "kind": "leading"}, 422, "不能建立团的领导机关"),
    ({"short_name": "新组织", "kind": ""}, 422, "请选择组织类别"),
    ({"short_name": "新组织", "kind": "党支部"}, 422, "未知的组织类别"),
])
def test_create_child_refusals(client, session, login, tree, data, status, fragment):
    login(tree.township_admin)
    before = session.scalar(select(func.count()).select_from(Org))
    resp = client.post(f"/orgs/{tree.township.id}/children", data=data)
    assert resp.status_code == status and fragment in resp.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Org)) == before


def test_only_direct_children_may_be_created(client, login, tree):
    login(tree.county_admin)
    resp = client.post(f"/orgs/{tree.township.id}/children", data={"short_name": "越级团支部", "kind": "branch"})
    assert resp.status_code == 403 and "只能为本组织创建直属下级组织" in resp.get_data(as_text=True)


def test_branch_cannot_create_children(client, login, tree):
    login(tree.branch_admin)
    page = client.get(f"/orgs/{tree.village.id}").get_data(as_text=True)
    assert "创建直属下级组织" not in page
    resp = client.post(f"/orgs/{tree.village.id}/children", data={"short_name": "小组团支部", "kind": "branch"})
    assert resp.status_code == 422 and "最基层" in resp.get_data(as_text=True)


# ---------------------------------------------------------------- registration codes

def test_issue_code_shows_it_in_the_parents_list(client, session, login, tree):
    login(tree.county_admin)
    resp = client.post(f"/orgs/{tree.sibling.id}/code")
    assert resp.status_code == 302
    code = session.scalar(select(RegistrationCode).where(RegistrationCode.org_id == tree.sibling.id))
    assert len(code.code) == 8
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert code.code in page and "有效期至" in page
    assert (code.expires_at - code.issued_at).days == 20


def test_reissue_revokes_the_previous_code(client, session, login, tree):
    login(tree.county_admin)
    client.post(f"/orgs/{tree.sibling.id}/code")
    client.post(f"/orgs/{tree.sibling.id}/code")
    codes = session.scalars(select(RegistrationCode).where(RegistrationCode.org_id == tree.sibling.id)
                            .order_by(RegistrationCode.id)).all()
    assert len(codes) == 2 and codes[0].revoked_at is not None and codes[1].revoked_at is None


def test_revoke_code(client, session, login, tree):
    code = make_code(session, tree.sibling)
    session.commit()
    login(tree.county_admin)
    assert client.post(f"/orgs/codes/{code.id}/revoke").status_code == 302
    session.refresh(code)
    assert code.revoked_at is not None
    resp = client.post(f"/orgs/codes/{code.id}/revoke")
    assert resp.status_code == 409 and "无需撤销" in resp.get_data(as_text=True)


def test_codes_only_for_direct_children(client, session, login, tree):
    login(tree.county_admin)
    resp = client.post(f"/orgs/{tree.village.id}/code")          # a grandchild
    assert resp.status_code == 403 and "直属下级" in resp.get_data(as_text=True)
    resp = client.post(f"/orgs/{tree.county.id}/code")           # own org
    assert resp.status_code == 403
    assert session.scalar(select(func.count()).select_from(RegistrationCode)) == 0


def test_no_code_when_admin_limit_reached(client, session, login, tree):
    make_admin(session, tree.sibling, name="二号")
    make_admin(session, tree.sibling, name="三号")
    session.commit()
    login(tree.county_admin)
    resp = client.post(f"/orgs/{tree.sibling.id}/code")
    assert resp.status_code == 409 and "上限" in resp.get_data(as_text=True)


def test_status_labels_in_list(client, session, login, tree):
    make_code(session, tree.township, used=True)
    make_code(session, tree.sibling, expired=True)
    make_code(session, tree.school, revoked=True)
    session.commit()
    login(tree.county_admin)
    page = client.get(f"/orgs/{tree.county.id}").get_data(as_text=True)
    assert "注册码已使用" in page and "注册码已过期" in page and "注册码已撤销" in page


def test_batch_codes_workbook(client, session, login, tree):
    kept = make_code(session, tree.school)
    make_admin(session, tree.sibling, name="二号")
    make_admin(session, tree.sibling, name="三号")
    tree.township.short_name = "=HYPERLINK(\"http://x\")团委"     # formula injection attempt in a name
    session.commit()
    login(tree.county_admin)
    resp = client.post(f"/orgs/{tree.county.id}/codes.xlsx")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in resp.headers["Content-Disposition"]
    ws = load_workbook(BytesIO(resp.data)).active
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    by_org = {r[1]: r for r in rows}
    assert by_org[tree.school.code][0] == kept.code and "沿用" in by_org[tree.school.code][5]
    assert by_org[tree.sibling.code][0] is None and "已满" in by_org[tree.sibling.code][5]
    assert len(by_org[tree.township.code][0]) == 8
    cell = ws.cell(row=3 + [r[1] for r in rows].index(tree.township.code), column=3)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")        # stored as text, not formula
    assert ws.cell(row=3, column=1).number_format == "@"
    assert session.scalar(select(func.count()).select_from(RegistrationCode)) == 2   # school kept, township new


def test_batch_only_for_own_org(client, login, tree):
    login(tree.county_admin)
    assert client.post(f"/orgs/{tree.township.id}/codes.xlsx").status_code == 403


# ---------------------------------------------------------------- admins

def test_admins_page_lists_and_grants_from_cadres(client, session, login, tree):
    post = make_cadre(session, tree.township, name="李副")
    session.commit()
    login(tree.township_admin)
    page = client.get(f"/orgs/{tree.township.id}/admins").get_data(as_text=True)
    assert "张镇" in page and "李副" in page and "设为管理员" in page
    assert tree.township_admin.id_number not in page and tree.township_admin.id_number[-4:] in page   # masked
    resp = client.post(f"/orgs/{tree.township.id}/admins", data={"post_id": post.id})
    assert resp.status_code == 302
    grant = session.scalar(select(AdminGrant).where(AdminGrant.person_id == post.person_id))
    assert grant.org_id == tree.township.id and grant.granted_by_id == tree.township_admin.id
    session.refresh(post.person)
    account = post.person.account
    assert not account.is_claimed       # new account with the default password
    assert "初始密码" in client.get(resp.headers["Location"]).get_data(as_text=True)


def test_grant_refusals(client, session, login, tree):
    other_org_post = make_cadre(session, tree.sibling, name="外人")
    make_admin(session, tree.township, name="二号")
    make_admin(session, tree.township, name="三号")
    post = make_cadre(session, tree.township, name="四号")
    session.commit()
    login(tree.township_admin)
    resp = client.post(f"/orgs/{tree.township.id}/admins", data={"post_id": other_org_post.id})
    assert resp.status_code == 404                                # a post outside the scope
    resp = client.post(f"/orgs/{tree.township.id}/admins", data={"post_id": post.id})
    assert resp.status_code == 409 and "上限" in resp.get_data(as_text=True)
    resp = client.post(f"/orgs/{tree.township.id}/admins", data={})
    assert resp.status_code == 422 and "请选择" in resp.get_data(as_text=True)
    resp = client.post(f"/orgs/{tree.township.id}/admins", data={"post_id": "x"})
    assert resp.status_code == 400


def test_post_of_a_child_org_cannot_be_made_admin_of_parent(client, session, login, tree):
    post = make_cadre(session, tree.village, name="支部干部")
    session.commit()
    login(tree.township_admin)
    resp = client.post(f"/orgs/{tree.township.id}/admins", data={"post_id": post.id})
    assert resp.status_code == 422 and "本组织的现任团干部" in resp.get_data(as_text=True)


def test_unbind_keeps_post_and_account(client, session, login, tree):
    second = make_admin(session, tree.township, name="二号")
    session.commit()
    grant = session.scalar(select(AdminGrant).where(AdminGrant.person_id == second.id))
    login(tree.township_admin)
    assert client.post(f"/orgs/admins/{grant.id}/revoke").status_code == 302
    session.refresh(grant)
    assert grant.revoked_at is not None
    assert session.scalar(select(CadrePost).where(CadrePost.person_id == second.id)) is not None
    session.refresh(second)
    assert second.account is not None
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "admin.revoke"))
    assert entry.before["admin"] is True and entry.after["admin"] is False


def test_last_admin_cannot_unbind_self(client, session, login, tree):
    grant = session.scalar(select(AdminGrant).where(AdminGrant.person_id == tree.township_admin.id))
    login(tree.township_admin)
    resp = client.post(f"/orgs/admins/{grant.id}/revoke")
    assert resp.status_code == 403 and "唯一的管理员" in resp.get_data(as_text=True)


def test_parent_manages_direct_child_admins_but_not_grandchildren(client, session, login, tree):
    login(tree.county_admin)
    grant = session.scalar(select(AdminGrant).where(AdminGrant.person_id == tree.township_admin.id))
    assert client.post(f"/orgs/admins/{grant.id}/revoke").status_code == 302
    grand = session.scalar(select(AdminGrant).where(AdminGrant.person_id == tree.branch_admin.id))
    resp = client.post(f"/orgs/admins/{grand.id}/revoke")
    assert resp.status_code == 403 and "直属下级" in resp.get_data(as_text=True)
    page = client.get(f"/orgs/{tree.village.id}/admins").get_data(as_text=True)
    assert "解除管理员</button>" not in page and "陈支" in page


def test_create_child_with_both_fields_empty_shows_both_errors(client, login, tree):
    """Issue 16.8: 组织简称 and 组织类别 errors come in one round."""
    login(tree.county_admin)
    resp = client.post(f"/orgs/{tree.county.id}/children", data={"short_name": "", "kind": ""})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "请填写组织简称" in body and "请选择组织类别" in body


def test_org_page_shows_full_name_and_founding_date_or_says_missing(client, session, login, tree):
    """Issue 16.5: a missing 全称 shows as missing; 建立日期 (asked in 组织信息, optional) is shown."""
    from datetime import date
    login(tree.county_admin)
    tree.township.full_name = None
    session.commit()
    page = client.get(f"/orgs/{tree.township.id}").get_data(as_text=True)
    assert "<dt>组织全称</dt><dd><span class=\"muted\">未填写</span>" in page
    assert "<dt>建立日期</dt><dd><span class=\"muted\">未填写</span>" in page
    tree.township.full_name = "中国共产主义青年团望江县华阳镇委员会"
    tree.township.founded_on = date(1985, 5, 4)
    session.commit()
    page = client.get(f"/orgs/{tree.township.id}").get_data(as_text=True)
    assert "<dd>中国共产主义青年团望江县华阳镇委员会</dd>" in page and "<dd>1985-05-04</dd>" in page
    info = client.get(f"/orgs/{tree.township.id}/info").get_data(as_text=True)
    assert 'name="founded_on"' in info and "可不填" in info
