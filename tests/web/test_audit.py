from sqlalchemy import select

from tuanjian.clock import local_today
from tuanjian.models import AuditEntry

from ..factories import make_cadre


def test_audit_entry_records_who_what_where_before_after(client, session, login, tree):
    post = make_cadre(session, tree.township, name="李副")
    session.commit()
    login(tree.township_admin)
    client.post(f"/orgs/{tree.township.id}/admins", data={"post_id": post.id})
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "admin.grant"))
    assert entry.actor_name == "张镇" and entry.actor_person_id == tree.township_admin.id
    assert entry.ip == "127.0.0.1" and entry.org_id == tree.township.id
    assert entry.object_type == "admin_grant" and entry.object_id is not None
    assert entry.after["position"] == "副书记" and entry.at is not None


def test_audit_page_is_scoped_to_the_subtree(client, session, login, tree):
    login(tree.county_admin)
    client.post(f"/orgs/{tree.county.id}/children", data={"short_name": "县直团工委", "kind": "leading"})
    client.post("/auth/logout")
    login(tree.township_admin)
    client.post(f"/orgs/{tree.township.id}/children", data={"short_name": "城南村团支部", "kind": "branch"})
    page = client.get("/audit/").get_data(as_text=True)
    assert "城南村团支部" in page and "县直团工委" not in page and "王县 登录" not in page
    client.post("/auth/logout")
    login(tree.county_admin)
    page = client.get("/audit/").get_data(as_text=True)
    assert "城南村团支部" in page and "县直团工委" in page


def test_audit_filters_and_fragment(client, login, tree):
    login(tree.county_admin)
    client.post(f"/orgs/{tree.county.id}/children", data={"short_name": "县直团工委", "kind": "leading"})
    page = client.get("/audit/?action=org.create").get_data(as_text=True)
    assert "县直团工委" in page and "王县 登录" not in page
    page = client.get("/audit/?q=县直").get_data(as_text=True)
    assert "县直团工委" in page
    frag = client.get("/audit/?q=县直", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in frag and "县直团工委" in frag
    assert client.get("/audit/?action=nonsense").status_code == 200


# ---------------------------------------------------------------- issue 16.4: the log speaks Chinese

def _source_actions() -> set[str]:
    """Every action a service records: the action literal of each audit.record(...) call in the code."""
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[2] / "tuanjian"
    found = set()
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"\brecord\(", text):
            literal = re.search(r'"([a-z_]+\.[a-z_]+)"', text[m.end():m.end() + 300])
            if literal:
                found.add(literal.group(1))
    return found


def test_every_recorded_action_has_a_chinese_label():
    from tuanjian.services.audit import ACTION_LABELS, action_label
    actions = _source_actions()
    assert len(actions) > 40
    missing = sorted(a for a in actions if a not in ACTION_LABELS)
    assert not missing, missing
    assert action_label("no.such") == "其他操作"


def test_before_after_show_chinese_labels_and_display_values(client, session, login, tree):
    import re

    from ..factories import make_member
    m = make_member(session, tree.village, name="日志甲")
    session.commit()
    login(tree.county_admin)
    client.post(f"/orgs/{tree.county.id}/children", data={"short_name": "县直团工委", "kind": "leading"})
    client.post(f"/members/{m.id}/delete", data={"kind": "error", "on": local_today().isoformat(), "note": "重复录入"})
    client.post(f"/orgs/{tree.sibling.id}/code")
    client.get(f"/members/org/{tree.village.id}/print")
    page = client.get("/audit/").get_data(as_text=True)
    page = page[page.index("<tbody>"):page.index("</tbody>")]          # the entries (the filter lists the keys)
    for raw in ("deleted=", "=False", "=None", "parent_id", "is_township", "member.print", "(UTC)", "（UTC）",
                "None", "False", "True"):
        assert raw not in page, raw
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", page), "ISO timestamps"
    assert "已删除：否" in page and "已删除：是" in page and "原因：录入错误：重复录入" in page
    assert "上级组织：共青团测试县委员会" in page or "上级组织：" + tree.county.short_name in page
    assert "打印团员名单" in page and "组织类别：" in page and "有效期至：" in page


def test_display_values_are_beijing_time_and_names():
    from datetime import datetime

    from tuanjian.domain.auditview import display_changes, local_summary
    shown = dict(display_changes({"expires_at": "2026-11-23T20:30", "parent_id": 7, "kind": "branch", "phone": None,
                                  "status": "pending", "targets": {"admins": 90}, "members": ["3408**1234"],
                                  "at": datetime(2026, 11, 23, 17, 0)}, org_names={7: "华阳镇团委"}))
    assert shown["有效期至"] == "2026-11-24 04:30" and shown["上级组织"] == "华阳镇团委"
    assert shown["组织类别"] == "团支部" and shown["手机号码"] == "（空）" and shown["状态"] == "待处理"
    assert shown["目标"] == "管理员到位率 90%" and shown["团员"] == "3408**1234"
    assert local_summary("有效期至 2026-11-23 20:30 (UTC)") == "有效期至 2026-11-24 04:30"


def test_no_english_key_in_any_export_file_name():
    """Every download_name is Chinese apart from its extension and values (issue 16.4); the values are names,
    codes and local times, checked by the export tests."""
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[2] / "tuanjian"
    names = []
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        names += re.findall(r'download_name=f?"([^"]+)"', text)
        names += re.findall(r'name = f"([^"]+\.xlsx)"', text)
        names += re.findall(r'return f"(上报文件[^"]+)"', text)
    assert len(names) >= 7
    for name in names:
        bare = re.sub(r"\{[^}]*\}", "", name).rsplit(".", 1)[0]
        assert not re.search(r"[A-Za-z]", bare), name
        assert "utcnow():" not in name and "now:%" not in name and "as_of:%" not in name, name


def test_admin_grants_and_password_changes_are_seen_where_the_person_holds_a_place(app, session, tree):
    """Issue 14: writes that touch a person (admin grant, revoke, password change) are also filed under every org
    where the person holds a place, so that org's admins see them."""
    from tuanjian.models import AuditEntry, AuditOrg
    from tuanjian.services.accounts import grant_admin, revoke_admin
    from tuanjian.services.actor import Actor

    from ..factories import make_cadre
    # the county grants (issue 24: only an admin whose reach covers every place of the person may add a grant)
    post = make_cadre(session, tree.township, name="双岗")
    session.add(type(post)(person_id=post.person_id, org_id=tree.sibling_branch.id, position="组织委员"))
    session.flush()
    actor = Actor(person_id=None, name="测试", org_id=tree.county.id, scope_code=tree.county.code)
    from tuanjian.models import utcnow
    grant = grant_admin(session, actor, tree.township, post, settings=app.extensions["tuanjian_settings"],
                        now=utcnow())
    revoke_admin(session, actor, grant, now=utcnow())
    session.flush()
    for action in ("admin.grant", "admin.revoke"):
        entry = session.query(AuditEntry).filter_by(action=action).one()
        filed = {entry.org_id} | {a.org_id for a in session.query(AuditOrg).filter_by(entry_id=entry.id)}
        assert tree.sibling_branch.id in filed and tree.township.id in filed
