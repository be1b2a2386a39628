"""人员查询, the person page and issuing 重置密码验证码 (issue 3)."""
from datetime import timedelta

from sqlalchemy import func, select

from tuanjian.models import AdminGrant, AuditEntry, CadrePost, Member, ResetCode, utcnow

from ..factories import give_account, make_admin, make_cadre, make_member, make_reset_code


def _codes(session, person):
    session.expire_all()
    return list(session.scalars(select(ResetCode).where(ResetCode.person_id == person.id).order_by(ResetCode.id)))


def _audit_count(session):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(AuditEntry))


# ---------------------------------------------------------------- search

def test_search_is_scoped_to_the_subtree(client, session, login, tree):
    near = make_member(session, tree.village, name="李小明")
    far = make_member(session, tree.sibling_branch, name="李小红")
    session.commit()
    login(tree.township_admin)
    page = client.get("/people/?q=李小").get_data(as_text=True)
    assert "李小明" in page and "李小红" not in page
    # not even by the exact ID number
    page = client.get(f"/people/?q={far.person.id_number}").get_data(as_text=True)
    assert "李小红" not in page and "没有找到" in page
    login(tree.county_admin)
    page = client.get("/people/?q=李小").get_data(as_text=True)
    assert "李小明" in page and "李小红" in page and "共 2 人" in page
    # IDs are masked, and the orgs shown are the person's orgs in scope
    assert near.person.id_number not in page and near.person.masked_id in page
    assert "城东村团支部 · 团员" in page and "高士村团支部 · 团员" in page


def test_search_by_id_number_full_or_last_four(client, session, login, tree):
    m = make_member(session, tree.village, name="周到")
    session.commit()
    login(tree.township_admin)
    for q in (m.person.id_number, " " + m.person.id_number[-4:].lower() + " "):
        page = client.get("/people/", query_string={"q": q}).get_data(as_text=True)
        assert "周到" in page, q
    for q in (m.person.id_number[-6:], m.person.id_number[:6], m.person.id_number[:14]):   # issue 14
        page = client.get("/people/", query_string={"q": q}).get_data(as_text=True)
        assert "周到" not in page and "末4位" in page, q


def test_search_needs_two_characters_and_says_when_nothing_found(client, login, tree):
    login(tree.county_admin)
    page = client.get("/people/").get_data(as_text=True)
    assert "请输入姓名，或完整的18位身份证号码" in page
    assert "请至少输入2个字" in client.get("/people/?q=王").get_data(as_text=True)
    assert "没有找到“不存在的人”" in client.get("/people/?q=不存在的人").get_data(as_text=True)


def test_search_fragment_for_htmx_and_full_page_otherwise(client, login, tree):
    login(tree.county_admin)
    full = client.get("/people/?q=张镇")
    assert full.status_code == 200 and "<html" in full.get_data(as_text=True)
    assert ('hx-get="/people/"' in full.get_data(as_text=True)
            and 'hx-target="#people-results"' in full.get_data(as_text=True))
    frag = client.get("/people/?q=张镇", headers={"HX-Request": "true"})
    body = frag.get_data(as_text=True)
    assert frag.status_code == 200 and "<html" not in body and "<h1>" not in body and "张镇" in body
    assert "HX-Request" in frag.headers.get("Vary", "")
    # a boosted navigation (a link or the no-JS form under hx-boost) gets the whole page
    boosted = client.get("/people/?q=张镇", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)


def test_search_is_paginated(app, client, session, login, tree):
    for i in range(5):
        make_member(session, tree.village, name=f"分页{'甲乙丙丁戊'[i]}")
    session.commit()
    app.config["PAGE_SIZE"] = 2
    login(tree.county_admin)
    page1 = client.get("/people/?q=分页").get_data(as_text=True)
    assert "共 5 人" in page1 and "第 1 / 3 页" in page1 and page1.count('href="/people/') >= 2
    assert 'href="/people/?page=2&amp;q=%E5%88%86%E9%A1%B5"' in page1
    pages = [client.get(f"/people/?q=分页&page={n}").get_data(as_text=True) for n in (1, 2, 3)]
    assert "第 3 / 3 页" in pages[2]
    for name in (f"分页{c}" for c in "甲乙丙丁戊"):                     # each person on exactly one page
        assert sum(name in p for p in pages) == 1, name
    assert "第 3 / 3 页" in client.get("/people/?q=分页&page=99").get_data(as_text=True)
    assert client.get("/people/?q=分页&page=x").status_code == 400


def test_reset_button_in_results_only_where_the_admin_may_issue(client, session, login, tree):
    login(tree.county_admin)
    page = client.get("/people/?q=张镇").get_data(as_text=True)            # township admin: direct child
    assert f'action="/people/{tree.township_admin.id}/reset-code"' in page and "生成重置密码验证码" in page
    page = client.get("/people/?q=陈支").get_data(as_text=True)            # branch admin: grandchild
    assert "陈支" in page and "/reset-code" not in page
    make_member(session, tree.village, name="无账号")
    session.commit()
    login(tree.township_admin)
    page = client.get("/people/?q=无账号").get_data(as_text=True)
    assert "未开通账号" in page and "/reset-code" not in page


def test_issue_from_results_keeps_the_query_and_shows_the_code(client, session, login, tree):
    login(tree.county_admin)
    resp = client.post(f"/people/{tree.township_admin.id}/reset-code", data={"q": "张镇"})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/people/{tree.township_admin.id}?q=%E5%BC%A0%E9%95%87#reset-code")
    code = _codes(session, tree.township_admin)[0]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已为 张镇 生成重置密码验证码" in page
    assert code.code in page and "请本人在登录页点击“忘记密码”，输入身份证号码和验证码设置新密码" in page
    assert 'href="/people/?q=%E5%BC%A0%E9%95%87"' in page          # back to the results
    # the results list shows the live code too
    assert code.code in client.get("/people/?q=张镇").get_data(as_text=True)


# ---------------------------------------------------------------- person page

def test_person_page_shows_scoped_facts_and_account_state(client, session, login, tree):
    person = tree.branch_admin
    session.add(CadrePost(person_id=person.id, org_id=tree.sibling.id, position="委员"))   # out of the township's scope
    person.account.locked_until = utcnow() + timedelta(minutes=10)
    session.commit()
    login(tree.township_admin)
    resp = client.get(f"/people/{person.id}")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<h1>陈支</h1>" in page and person.masked_id in page and person.id_number not in page
    assert f"{person.birth_date.year} 年" in page and person.gender in page and person.phone in page
    assert person.birth_date.isoformat() not in page          # next to a masked ID only the year (issue 14)
    post = session.scalar(select(CadrePost).where(CadrePost.person_id == person.id,
                                                  CadrePost.org_id == tree.village.id))
    assert "城东村团支部" in page and f"团干部 · {post.position}" in page and "<td>管理员</td>" in page
    assert "高士镇团委" not in page                                   # a post outside the scope stays hidden
    assert "已锁定" in page and "已开通" in page
    assert "<script>" not in page and ' style="' not in page
    # the post outside the township's reach means the township may not hand out a reset code (person rule)
    assert "重置密码验证码只能由管理其全部所在组织的管理员生成" in page and "生成重置密码验证码</button>" not in page


def test_person_page_404_out_of_scope_or_unknown(client, session, login, tree):
    login(tree.township_admin)
    assert client.get(f"/people/{tree.sibling_admin.id}").status_code == 404        # sibling subtree
    assert client.get(f"/people/{tree.county_admin.id}").status_code == 404         # ancestor
    assert client.get("/people/999999").status_code == 404
    assert client.post("/people/999999/reset-code").status_code == 404


def test_scope_follows_current_posts_memberships_and_grants(client, session, login, tree):
    member = make_member(session, tree.village, name="团员甲")
    gone = make_member(session, tree.village, name="已删除")
    gone.deleted_at = utcnow()
    ended = make_cadre(session, tree.village, name="已离任")
    ended.ended_at = utcnow()
    session.commit()
    login(tree.township_admin)
    assert client.get(f"/people/{member.person_id}").status_code == 200
    assert client.get(f"/people/{gone.person_id}").status_code == 404
    assert client.get(f"/people/{ended.person_id}").status_code == 404
    page = (client.get("/people/?q=已删除").get_data(as_text=True)
            + client.get("/people/?q=已离任").get_data(as_text=True))
    assert "没有找到“已删除”" in page and "没有找到“已离任”" in page


def test_nav_has_the_people_link_for_admins(client, login, tree):
    login(tree.county_admin)
    assert 'href="/people/">人员查询</a>' in client.get("/help").get_data(as_text=True)


def test_people_pages_need_an_admin(client, session, login, tree):
    assert client.get("/people/?q=张镇").status_code == 302                      # not logged in
    post = make_cadre(session, tree.village, name="非管理员")
    give_account(session, post.person)
    session.commit()
    login(post.person)
    assert client.get("/people/?q=张镇").status_code == 403


# ---------------------------------------------------------------- issuing

def test_issue_for_own_org_and_direct_child(client, session, login, tree):
    own = make_cadre(session, tree.county, name="本级干部")
    give_account(session, own.person)
    session.commit()
    login(tree.county_admin)
    for person in (own.person, tree.township_admin):
        assert client.post(f"/people/{person.id}/reset-code").status_code == 302
        [code] = _codes(session, person)
        assert code.code.startswith("P-") and code.issued_by_id == tree.county_admin.id
        assert code.used_at is None and code.revoked_at is None
        assert timedelta(hours=47, minutes=59) < code.expires_at - code.issued_at <= timedelta(hours=48)
    login(tree.township_admin)
    assert client.post(f"/people/{tree.branch_admin.id}/reset-code").status_code == 302   # direct child


def test_grandchild_is_403_and_sibling_is_404(client, session, login, tree):
    login(tree.county_admin)
    before = _audit_count(session)
    resp = client.post(f"/people/{tree.branch_admin.id}/reset-code")
    assert resp.status_code == 403 and "直属下级" in resp.get_data(as_text=True)
    page = client.get(f"/people/{tree.branch_admin.id}").get_data(as_text=True)
    assert "直属下级" in page and "/reset-code" not in page
    assert _audit_count(session) == before
    login(tree.township_admin)
    before = _audit_count(session)
    assert client.post(f"/people/{tree.sibling_admin.id}/reset-code").status_code == 404
    assert _codes(session, tree.branch_admin) == [] and _codes(session, tree.sibling_admin) == []
    assert _audit_count(session) == before


def test_no_code_for_oneself_for_wider_admins_or_without_account(client, session, login, tree):
    login(tree.township_admin)
    resp = client.post(f"/people/{tree.township_admin.id}/reset-code")
    assert resp.status_code == 403 and "不能为自己" in resp.get_data(as_text=True)
    # the county admin also holds a post in the township: in scope, but administers more than the township does
    session.add(CadrePost(person_id=tree.county_admin.id, org_id=tree.township.id, position="委员"))
    member = make_member(session, tree.village, name="没账号")
    session.commit()
    assert client.get(f"/people/{tree.county_admin.id}").status_code == 200
    resp = client.post(f"/people/{tree.county_admin.id}/reset-code")
    assert resp.status_code == 403 and "管理范围以外" in resp.get_data(as_text=True)
    resp = client.post(f"/people/{member.person_id}/reset-code")
    assert resp.status_code == 409 and "尚未开通登录账号" in resp.get_data(as_text=True)
    assert _codes(session, tree.township_admin) == _codes(session, tree.county_admin) == []


def test_new_code_revokes_the_previous_unused_one(client, session, login, tree):
    old_used = make_reset_code(session, tree.township_admin, used=True)
    session.commit()
    login(tree.county_admin)
    client.post(f"/people/{tree.township_admin.id}/reset-code")
    first = _codes(session, tree.township_admin)[-1]
    client.post(f"/people/{tree.township_admin.id}/reset-code")
    codes = _codes(session, tree.township_admin)
    assert len(codes) == 3
    used, first, second = codes
    assert used.id == old_used.id and used.revoked_at is None                   # a used code stays "used"
    assert first.revoked_at is not None and second.revoked_at is None and second.code != first.code
    page = client.get(f"/people/{tree.township_admin.id}").get_data(as_text=True)
    assert second.code in page and first.code not in page and "重新生成重置密码验证码" in page


def test_code_shown_only_to_admins_who_may_issue(client, session, login, tree):
    code = make_reset_code(session, tree.branch_admin)
    session.commit()
    login(tree.township_admin)
    assert code.code in client.get(f"/people/{tree.branch_admin.id}").get_data(as_text=True)
    login(tree.county_admin)                        # in scope, but a grandchild: sees the person, not the code
    page = client.get(f"/people/{tree.branch_admin.id}").get_data(as_text=True)
    assert "陈支" in page and code.code not in page
    assert code.code not in client.get("/people/?q=陈支").get_data(as_text=True)


def test_issue_is_audited_without_the_code(client, session, login, tree):
    login(tree.county_admin)
    client.post(f"/people/{tree.township_admin.id}/reset-code")
    client.post(f"/people/{tree.township_admin.id}/reset-code")
    entries = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "resetcode.issue")
                                   .order_by(AuditEntry.id)))
    codes = _codes(session, tree.township_admin)
    assert len(entries) == 2
    for entry in entries:
        text = f"{entry.summary} {entry.before} {entry.after}"
        assert all(c.code not in text and c.code[2:] not in text for c in codes)
        assert tree.township_admin.id_number not in text and tree.township_admin.masked_id in text
        assert entry.actor_person_id == tree.county_admin.id and entry.ip == "127.0.0.1"
        assert entry.org_id == tree.township.id and entry.object_id == tree.township_admin.id
    assert "原未使用的验证码同时作废" in entries[1].summary
    # both the issuer's and the person's audit pages list it
    page = client.get("/audit/?action=resetcode.issue").get_data(as_text=True)
    assert "生成重置密码验证码" in page and "张镇" in page
    login(tree.township_admin)
    assert "为 张镇" in client.get("/audit/?action=resetcode.issue").get_data(as_text=True)


def test_grants_count_for_scope(client, session, login, tree):
    # a person who only holds an admin grant (no post, no membership) in the subtree is still in scope
    person = make_admin(session, tree.village, name="只管理员")
    session.execute(CadrePost.__table__.delete().where(CadrePost.person_id == person.id))
    session.commit()
    assert session.scalar(select(Member.id).where(Member.person_id == person.id)) is None
    assert session.scalar(select(AdminGrant.id).where(AdminGrant.person_id == person.id)) is not None
    login(tree.township_admin)
    assert client.get(f"/people/{person.id}").status_code == 200
    assert client.post(f"/people/{person.id}/reset-code").status_code == 302
