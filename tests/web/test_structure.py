from sqlalchemy import func, select

from tuanjian.domain.orgtree import OrgKind
from tuanjian.domain.settings import DEFAULT_SETTINGS
from tuanjian.models import AdminGrant, AuditEntry, CadrePost, Member, Org, OrgCodeChange, RegistrationCode
from tuanjian.services.actor import Actor
from tuanjian.services.orgs import create_child

from ..factories import make_admin, make_cadre, make_code, make_member


def _org(session, org_id):
    session.expire_all()
    return session.get(Org, org_id)


def test_reorder_up_and_down(client, session, login, tree):
    login(tree.county_admin)
    names = lambda: [o.short_name for o in session.scalars(   # noqa: E731
        select(Org).where(Org.parent_id == tree.county.id).order_by(Org.sort_order))]
    assert names() == ["华阳镇团委", "望江中学团委", "高士镇团委"]
    assert client.post(f"/orgs/{tree.sibling.id}/reorder", data={"direction": "up"}).status_code == 302
    session.expire_all()
    assert names() == ["华阳镇团委", "高士镇团委", "望江中学团委"]
    page = client.get(f"/orgs/{tree.county.id}").get_data(as_text=True)
    assert page.index("高士镇团委") < page.index("望江中学团委")
    resp = client.post(f"/orgs/{tree.township.id}/reorder", data={"direction": "up"})
    assert resp.status_code == 409 and "已在最前" in resp.get_data(as_text=True)
    resp = client.post(f"/orgs/{tree.village.id}/reorder", data={"direction": "up"})     # skip-level
    assert resp.status_code == 403 and "不能隔级" in resp.get_data(as_text=True)
    assert client.post(f"/orgs/{tree.sibling.id}/reorder", data={"direction": "sideways"}).status_code == 422


def test_move_recodes_subtree_and_keeps_history(client, session, login, tree):
    make_member(session, tree.klass)
    session.commit()
    login(tree.county_admin)
    old_grade, old_klass = tree.grade.code, tree.klass.code
    page = client.get(f"/orgs/{tree.grade.id}/structure").get_data(as_text=True)
    assert "华阳镇团委" in page and "高士村团支部" not in page        # a branch cannot receive a 团总支
    resp = client.post(f"/orgs/{tree.grade.id}/move", data={"new_parent_id": tree.township.id})
    assert resp.status_code == 302
    grade, klass = _org(session, tree.grade.id), session.get(Org, tree.klass.id)
    assert grade.parent_id == tree.township.id and grade.code == tree.township.code + ".002"
    assert klass.code == grade.code + ".001"
    history = {h.old_code: h.new_code for h in session.scalars(select(OrgCodeChange))}
    assert history == {old_grade: grade.code, old_klass: klass.code}
    assert session.scalar(select(func.count()).select_from(Member).where(Member.org_id == klass.id)) == 1
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert old_grade in page and grade.code in page and "代码变更记录" in page
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "org.move"))
    assert entry.before["code"] == old_grade and entry.after["code"] == grade.code
    assert old_grade in client.get("/audit/?action=org.move").get_data(as_text=True)


def test_move_refusals_change_nothing(client, session, login, tree):
    login(tree.county_admin)
    cases = [
        (tree.school.id, tree.klass.id, 422, "下级组织之下"),      # into its own subtree
        (tree.grade.id, tree.school.id, 422, "已经在"),            # same parent
        (tree.grade.id, tree.village.id, 422, "团支部是最基层"),     # branch cannot receive
        (tree.county.id, tree.school.id, 403, "只能移动本组织下级"),  # own org
    ]
    codes = sorted(session.scalars(select(Org.code)))
    for org_id, target, status, fragment in cases:
        resp = client.post(f"/orgs/{org_id}/move", data={"new_parent_id": target})
        assert resp.status_code == status and fragment in resp.get_data(as_text=True), fragment
    assert client.post(f"/orgs/{tree.grade.id}/move", data={}).status_code == 422
    session.expire_all()
    assert sorted(session.scalars(select(Org.code))) == codes
    assert session.scalar(select(func.count()).select_from(OrgCodeChange)) == 0


def test_move_target_outside_scope_is_404(client, login, tree):
    login(tree.township_admin)
    assert client.post(f"/orgs/{tree.village.id}/move", data={"new_parent_id": tree.sibling.id}).status_code == 404


def test_merge_branches_moves_members_and_cadres(client, session, login, tree):
    west = create_child(session, Actor.system(), tree.township, short_name="城西村团支部", kind=OrgKind.BRANCH,
                        settings=DEFAULT_SETTINGS)
    m1, m2 = make_member(session, west, name="甲"), make_member(session, west, name="乙")
    post = make_cadre(session, west, name="丙")
    code = make_code(session, west)
    session.commit()
    login(tree.township_admin)
    page = client.get(f"/orgs/{west.id}/structure").get_data(as_text=True)
    assert "城东村团支部" in page
    resp = client.post(f"/orgs/{west.id}/merge", data={"target_id": tree.village.id})
    assert resp.status_code == 302
    session.expire_all()
    assert {m.org_id for m in session.scalars(select(Member).where(Member.id.in_([m1.id, m2.id])))} == {tree.village.id}
    assert session.get(CadrePost, post.id).org_id == tree.village.id
    west = session.get(Org, west.id)
    assert west.dissolved_at is not None and west.merged_into_id == tree.village.id
    assert session.get(RegistrationCode, code.id).revoked_at is not None
    page = client.get(f"/orgs/{tree.township.id}").get_data(as_text=True)
    assert f'id="org-{west.id}"' not in page                # gone from lists
    assert "城西村团支部" not in client.get("/register/?q=城西村").get_data(as_text=True)


def test_merge_refusals(client, session, login, tree):
    login(tree.county_admin)
    resp = client.post(f"/orgs/{tree.village.id}/merge", data={"target_id": tree.klass.id})
    assert resp.status_code == 422 and "同一上级" in resp.get_data(as_text=True)
    resp = client.post(f"/orgs/{tree.grade.id}/merge", data={"target_id": tree.village.id})
    assert resp.status_code == 422 and "只有团支部" in resp.get_data(as_text=True)


def test_dissolve_only_empty_orgs(client, session, login, tree):
    make_member(session, tree.sibling_branch)
    make_admin(session, tree.sibling_branch, name="支书")
    session.commit()
    login(tree.county_admin)
    resp = client.post(f"/orgs/{tree.sibling.id}/dissolve", data={"reason": "调整"})
    assert resp.status_code == 409 and "还有下级组织" in resp.get_data(as_text=True)
    resp = client.post(f"/orgs/{tree.sibling_branch.id}/dissolve", data={"reason": "调整"})
    assert resp.status_code == 409 and "还有1名团员" in resp.get_data(as_text=True)
    session.execute(Member.__table__.delete())
    session.commit()
    resp = client.post(f"/orgs/{tree.sibling_branch.id}/dissolve", data={"reason": ""})
    assert resp.status_code == 422 and "请填写撤销原因" in resp.get_data(as_text=True)
    resp = client.post(f"/orgs/{tree.sibling_branch.id}/dissolve", data={"reason": "村级组织调整"})
    assert resp.status_code == 302
    org = _org(session, tree.sibling_branch.id)
    assert org.dissolved_at is not None and org.dissolved_reason == "村级组织调整"
    assert session.scalar(select(func.count()).select_from(AdminGrant).where(
        AdminGrant.org_id == org.id, AdminGrant.revoked_at.is_(None))) == 0
    assert f'id="org-{org.id}"' not in client.get(f"/orgs/{tree.sibling.id}").get_data(as_text=True)
    assert "已撤销" in client.get(f"/orgs/{org.id}/structure").get_data(as_text=True)    # history stays reachable
    resp = client.post(f"/orgs/{tree.sibling.id}/children", data={"short_name": "高士村团支部", "kind": "branch"})
    assert resp.status_code == 403                          # county is not the sibling's admin …
    client.post("/auth/logout")
    login(tree.sibling_admin)                               # … the township admin may reuse the name
    resp = client.post(f"/orgs/{tree.sibling.id}/children", data={"short_name": "高士村团支部", "kind": "branch"})
    assert resp.status_code == 302
    new = session.scalar(select(Org).where(Org.short_name == "高士村团支部", Org.dissolved_at.is_(None)))
    assert new.code == tree.sibling.code + ".002"           # the dissolved org's code is not reused


def test_own_org_cannot_be_dissolved(client, login, tree):
    login(tree.branch_admin)
    resp = client.post(f"/orgs/{tree.village.id}/dissolve", data={"reason": "x"})
    assert resp.status_code == 403
