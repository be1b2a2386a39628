from sqlalchemy import select

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
