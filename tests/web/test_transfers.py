from sqlalchemy import select

from tuanjian.models import AuditEntry, CadrePost, Member, TransferRequest

from ..factories import make_admin, make_member
from .test_members import member as member_form


def _offer_and_request(client, session, tree, holder_branch, to_branch, covers=False):
    held = make_member(session, holder_branch, name="流动青年")
    session.commit()
    resp = client.post(f"/members/org/{to_branch.id}/new",
                       data=member_form(name="流动青年", id_number=held.person.id_number, join_date="2015-05",
                                        dev_number=""))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "申请转入" in body
    # the holder is named only to an admin whose reach covers the person
    assert (holder_branch.short_name in body) == covers
    resp = client.post(f"/members/org/{to_branch.id}/transfer",
                       data={"id_number": held.person.id_number, "name": "流动青年", "reason": "就业"})
    assert resp.status_code == 302
    return held, session.scalar(select(TransferRequest))


def test_request_then_holder_accepts(app, client, session, login, tree):
    login(tree.branch_admin)                                         # 城东村团支部 asks
    held, req = _offer_and_request(client, session, tree, tree.sibling_branch, tree.village)
    assert req.status == "pending" and req.from_org_id == tree.sibling_branch.id
    page = client.get("/members/transfers").get_data(as_text=True)
    assert "流动青年" in page and "待处理" in page and "撤回" in page and "同意转出" not in page
    other = app.test_client()
    login(tree.sibling_admin, c=other)                               # 高士镇团委 (holder's parent) decides
    page = other.get("/members/transfers").get_data(as_text=True)
    assert "同意转出" in page
    assert other.post(f"/members/transfers/{req.id}/accept").status_code == 302
    session.expire_all()
    assert session.get(Member, held.id).org_id == tree.village.id
    assert session.get(TransferRequest, req.id).status == "accepted"
    assert "已同意" in client.get("/members/transfers").get_data(as_text=True)     # the asking side sees it
    assert {e.org_id for e in session.scalars(select(AuditEntry).where(AuditEntry.action == "transfer.accept"))} == \
        {tree.village.id, tree.sibling_branch.id}


def test_refuse_and_cancel(app, client, session, login, tree):
    login(tree.branch_admin)
    held, req = _offer_and_request(client, session, tree, tree.sibling_branch, tree.village)
    assert client.post(f"/members/transfers/{req.id}/accept").status_code == 302    # the asker may not decide
    session.expire_all()
    assert session.get(TransferRequest, req.id).status == "pending"
    other = app.test_client()
    login(tree.sibling_admin, c=other)
    other.post(f"/members/transfers/{req.id}/refuse", data={"note": "本人未同意"})
    session.expire_all()
    r = session.get(TransferRequest, req.id)
    assert r.status == "refused" and r.decision_note == "本人未同意"
    assert session.get(Member, held.id).org_id == tree.sibling_branch.id
    assert client.post(f"/members/transfers/{req.id}/cancel").status_code == 302
    session.expire_all()
    assert session.get(TransferRequest, req.id).status == "refused"


def test_request_refusals(client, session, login, tree):
    held = make_member(session, tree.sibling_branch, name="甲")
    session.commit()
    login(tree.branch_admin)
    for data, fragment in [({"id_number": held.person.id_number, "name": "乙"}, "没有找到"),
                           ({"id_number": "123", "name": "甲"}, "18位")]:
        resp = client.post(f"/members/org/{tree.village.id}/transfer", data=data, follow_redirects=True)
        assert fragment in resp.get_data(as_text=True)
    client.post(f"/members/org/{tree.village.id}/transfer", data={"id_number": held.person.id_number, "name": "甲"})
    resp = client.post(f"/members/org/{tree.village.id}/transfer", data={"id_number": held.person.id_number,
                                                                         "name": "甲"}, follow_redirects=True)
    assert "已有一个待处理的转接申请" in resp.get_data(as_text=True)
    assert len(session.scalars(select(TransferRequest)).all()) == 1


def test_admin_member_cannot_be_transferred_out_and_cadre_posts_end(app, client, session, login, tree):
    held = make_member(session, tree.sibling_branch, name="支书")
    session.add(CadrePost(person_id=held.person_id, org_id=tree.sibling_branch.id, position="书记"))
    session.commit()
    login(tree.branch_admin)
    client.post(f"/members/org/{tree.village.id}/transfer", data={"id_number": held.person.id_number, "name": "支书"})
    req = session.scalar(select(TransferRequest))
    other = app.test_client()
    login(tree.sibling_admin, c=other)
    other.post(f"/members/transfers/{req.id}/accept")
    session.expire_all()
    assert session.get(Member, held.id).org_id == tree.village.id
    assert session.scalar(select(CadrePost).where(CadrePost.person_id == held.person_id)).end_reason == "组织关系转出"


def test_third_party_sees_nothing(app, client, session, login, tree):
    login(tree.branch_admin)
    _, req = _offer_and_request(client, session, tree, tree.sibling_branch, tree.village)
    outsider = make_admin(session, tree.klass, name="外人")
    session.commit()
    other = app.test_client()
    login(outsider, c=other)
    assert "流动青年" not in other.get("/members/transfers").get_data(as_text=True)
    assert other.post(f"/members/transfers/{req.id}/accept").status_code == 404


def test_the_transfer_list_is_paged_and_searchable(app, client, session, login, tree, monkeypatch):
    """Every request is reachable (pages, not a silent cap) and the search treats % as a character."""
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    names = ["流动甲", "流动乙", "流动丙", "外出丁", "外出戊"]
    for name in names:
        held = make_member(session, tree.sibling_branch, name=name)
        session.add(TransferRequest(member_id=held.id, from_org_id=tree.sibling_branch.id, to_org_id=tree.village.id,
                                    reason="就业", status="refused"))
    session.commit()
    login(tree.branch_admin)
    pages = [client.get(f"/members/transfers?page={n}").get_data(as_text=True) for n in (1, 2, 3)]
    assert "共 5 条" in pages[0] and "第 1 / 3 页" in pages[0] and "/members/transfers?page=2" in pages[0]
    assert all(sum(name in page for page in pages) == 1 for name in names)      # each on exactly one page
    found = client.get("/members/transfers?q=外出").get_data(as_text=True)
    assert "共 2 条" in found and "外出丁" in found and "流动甲" not in found and "第 1 / 1 页" not in found
    assert "没有转接申请" in client.get("/members/transfers?q=%25").get_data(as_text=True)
