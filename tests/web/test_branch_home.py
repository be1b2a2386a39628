"""Issue 16.2: a branch admin lands on the branch home (member list, 录入团员 and 导入 on top, the to-do list);
upper levels keep the progress landing."""
from __future__ import annotations

import re

from tuanjian.domain.progress import IDENTITY_GAP, branch_done, branch_todo, member_facts, member_gaps

from ..factories import make_cadre, make_member


def test_member_gaps_is_the_rule_behind_member_facts():
    kw = dict(ethnicity="汉族", political_status="共青团员", join_date="2019-05", dev_number="201912345678",
              evidence=(True, None, None, None), required_from_year=2017)
    assert member_gaps(**kw) == [] and member_facts(**kw) == (True, True, True)
    bad = {**kw, "ethnicity": "火星族", "dev_number": None, "evidence": (None, None, None, None)}
    assert member_gaps(**bad) == ["民族", "发展团员编号", IDENTITY_GAP]
    assert member_facts(**bad) == (False, False, False)
    assert member_gaps(**{**kw, "join_date": None, "political_status": "群众"})[:2] == ["政治面貌", "入团年月"]


def test_branch_todo_names_what_keeps_the_branch_from_done():
    assert branch_todo(members=3, min_members=3, gaps=[(1, "甲", []), (2, "乙", []), (3, "丙", [])], cadres=1,
                       has_secretary=True) == []
    assert branch_done(3, 3, min_members=3)
    todo = branch_todo(members=2, min_members=3, gaps=[(1, "甲", ["民族", IDENTITY_GAP]), (2, "乙", [IDENTITY_GAP])],
                       cadres=0, has_secretary=False)
    assert [t.key for t in todo] == ["members", "incomplete", "unconfirmed", "no_cadre", "no_secretary"]
    assert "团员只有 2 名" in todo[0].text and "至少需要 3 名" in todo[0].text
    assert todo[1].people == ((1, "甲", ("民族",)),)
    assert [p[1] for p in todo[2].people] == ["甲", "乙"]


def test_branch_admin_lands_on_the_branch_home(client, login, session, tree):
    make_member(session, tree.village, name="缺面貌", political="群众")
    make_member(session, tree.village, name="待确认", evidence=(None, None, None, None))
    session.commit()
    resp = login(tree.branch_admin)
    assert resp.get("/").headers["Location"].endswith(f"/members/org/{tree.village.id}")
    page = client.get(f"/members/org/{tree.village.id}").get_data(as_text=True)
    head = page.index("录入团员")
    assert head < page.index("用 Excel 导入") < page.index("共 ")           # the buttons sit on top of the list
    assert "待办：本团支部还差这些才算“录入完成”" in page
    assert "团员只有 2 名" in page
    assert re.search(r'<a href="/members/\d+">缺面貌</a>：缺 政治面貌', page)
    assert re.search(r'<a href="/members/\d+#evidence">待确认</a>：缺 身份证明材料', page)
    assert "还没有书记" in page                         # the admin is 副书记, a 团干部 but not 书记
    assert "还没有团干部" not in page


def test_done_branch_says_so(client, login, session, tree):
    for name in ("甲一", "乙二", "丙三"):
        make_member(session, tree.village, name=name)
    make_cadre(session, tree.village, name="书记人", position="书记")
    session.commit()
    login(tree.branch_admin)
    page = client.get(f"/members/org/{tree.village.id}").get_data(as_text=True)
    assert "本团支部已录入完成" in page and "待办" not in page


def test_upper_levels_keep_the_progress_landing(client, login, tree):
    resp = client.post("/auth/login", data={"id_number": tree.county_admin.id_number, "password": "test1234pass"})
    assert "/progress/org/" in resp.headers["Location"]
    page = client.get(f"/members/org/{tree.township.id}").get_data(as_text=True)
    assert "待办" not in page and "录入完成" not in page
