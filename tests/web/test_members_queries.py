"""tuanjian.members.queries: the member list rows (团委 / 团总支, posts seen from the scope, 超龄, search, paging), the
member's posts, the 转接 list and the 特殊情况录入 queue, each limited to the subtree."""
from __future__ import annotations

from datetime import date

from tests.factories import make_member
from tuanjian.domain import exceptions as rules
from tuanjian.members import queries
from tuanjian.models import CadrePost, ExceptionRequest, TransferRequest, utcnow

TODAY = date(2025, 6, 1)


def _post(session, person, org, position, *, ended=False):
    session.add(CadrePost(person_id=person.id, org_id=org.id, position=position,
                          ended_at=TODAY if ended else None))
    session.flush()


def _members(session, tree):
    a = make_member(session, tree.village, name="甲团员")
    b = make_member(session, tree.klass, name="乙团员")
    c = make_member(session, tree.sibling_branch, name="丙团员")
    old = make_member(session, tree.village, name="丁老团员", birth=date(1980, 1, 1))
    old_cadre = make_member(session, tree.village, name="戊老团员", birth=date(1980, 2, 2))
    _post(session, b.person, tree.klass, "团支部书记")
    _post(session, old_cadre.person, tree.sibling, "副书记")           # a post outside the township's subtree
    session.commit()
    return a, b, c, old, old_cadre


def _page(session, org, q="", page=1, per_page=20, scope=None):
    return queries.member_page(session, org, q, page, per_page, scope=scope or org, overage_years=28, today=TODAY)


def test_member_rows_name_the_committee_and_general_branch_above_each_branch(session, tree):
    a, b, c, *_ = _members(session, tree)
    rows = {r.person.name: r for r in _page(session, tree.county).items}
    assert set(rows) == {"甲团员", "乙团员", "丙团员", "丁老团员", "戊老团员"}
    b_row = rows["乙团员"]
    assert (b_row.committee, b_row.general, b_row.branch) == (tree.school, tree.grade, tree.klass)
    assert (rows["甲团员"].committee, rows["甲团员"].general) == (tree.township, None)
    assert rows["乙团员"].cadre_positions == ["团支部书记"]
    # seen from the branch itself nothing above it is named
    only = _page(session, tree.klass).items
    assert [(r.person.name, r.committee, r.general) for r in only] == [("乙团员", None, None)]


def test_posts_shown_only_within_the_scope_but_any_post_keeps_a_member_from_overage(session, tree):
    _members(session, tree)
    rows = {r.person.name: r for r in _page(session, tree.township).items}
    assert set(rows) == {"甲团员", "丁老团员", "戊老团员"}
    assert rows["丁老团员"].overage and not rows["甲团员"].overage
    assert not rows["戊老团员"].overage and rows["戊老团员"].cadre_positions == []
    assert {r.person.name: r.cadre_positions for r in _page(session, tree.county).items}["戊老团员"] == ["副书记"]


def test_search_by_name_by_branch_and_by_id_number(session, tree):
    a, b, *_ = _members(session, tree)
    assert [r.person.name for r in _page(session, tree.county, "乙团").items] == ["乙团员"]
    assert [r.person.name for r in _page(session, tree.county, "高一(1)班").items] == ["乙团员"]
    assert [r.person.name for r in _page(session, tree.county, a.person.id_number).items] == ["甲团员"]
    assert [r.person.name for r in _page(session, tree.county, a.person.id_number[-4:]).items] == ["甲团员"]
    # neither a beginning nor a middle part of an ID number finds anyone
    assert _page(session, tree.county, a.person.id_number[:10]).total == 0
    # the subtree bounds the search
    assert _page(session, tree.township, "乙团").total == 0


def test_member_page_is_one_page_of_the_list_clamped_to_the_last(session, tree):
    _members(session, tree)
    first = _page(session, tree.county, per_page=2)
    assert (first.total, first.page, first.pages, len(first.items)) == (5, 1, 3, 2)
    past = _page(session, tree.county, page=9, per_page=2)
    everyone = [r.person.name for r in _page(session, tree.county).items]
    assert (past.page, [r.person.name for r in past.items]) == (3, everyone[4:])


def test_all_member_rows_and_deleted_members(session, tree):
    a, *_ = _members(session, tree)
    a.deleted_at = utcnow()
    session.commit()
    rows = queries.all_member_rows(session, tree.county, overage_years=28, today=TODAY)
    assert [r.person.name for r in rows] == [r.person.name for r in _page(session, tree.county).items]
    assert "甲团员" not in {r.person.name for r in rows} and len(rows) == 4


def test_member_positions_are_the_active_posts_in_the_members_branch(session, tree):
    a = make_member(session, tree.village, name="甲团员")
    _post(session, a.person, tree.village, "组织委员")
    _post(session, a.person, tree.village, "宣传委员", ended=True)
    _post(session, a.person, tree.township, "副书记")
    assert queries.member_positions(session, a) == ["组织委员"]


def _transfer(session, member, src, dst, status="pending"):
    req = TransferRequest(member_id=member.id, from_org_id=src.id, to_org_id=dst.id, status=status, reason="升学")
    session.add(req)
    session.flush()
    return req


def test_transfer_page_shows_requests_either_side_of_which_is_in_the_subtree(session, tree):
    _, b, c, *_ = _members(session, tree)
    done = _transfer(session, b, tree.klass, tree.village, status="accepted")
    waiting = _transfer(session, c, tree.sibling_branch, tree.village)
    session.commit()
    assert [r.id for r in queries.transfer_page(session, tree.township.code, "", 1, 20).items] == [waiting.id, done.id]
    assert [r.id for r in queries.transfer_page(session, tree.school.code, "", 1, 20).items] == [done.id]
    assert queries.transfer_page(session, tree.sibling.code, "", 1, 20).items == [waiting]
    # a name of an organisation outside the subtree finds nothing; a member's name or an org inside does
    assert queries.transfer_page(session, tree.township.code, "高士村", 1, 20).total == 0
    assert queries.transfer_page(session, tree.township.code, "城东", 1, 20).total == 2
    assert queries.transfer_page(session, tree.township.code, "丙团", 1, 20).items == [waiting]
    assert queries.transfer_page(session, tree.township.code, "", 7, 1).page == 2


def _exception(session, branch, approver, name, status=rules.PENDING):
    req = ExceptionRequest(org_id=branch.id, approver_org_id=approver.id, name=name, id_number="340828200005200011",
                           data={}, rules="age", reason="历史原因", voucher="县团委", status=status)
    session.add(req)
    session.flush()
    return req


def test_exception_page_filters_by_subtree_status_and_text(session, tree):
    mine = _exception(session, tree.village, tree.county, "李例外")
    decided = _exception(session, tree.village, tree.county, "周例外", status=rules.APPROVED)
    other = _exception(session, tree.sibling_branch, tree.county, "吴例外")
    session.commit()
    assert queries.exception_page(session, tree.township.code, "", "", 1, 20).items == [mine, decided]
    assert queries.exception_page(session, tree.township.code, rules.PENDING, "", 1, 20).items == [mine]
    assert queries.exception_page(session, tree.county.code, "", "", 1, 20).items == [other, mine, decided]
    assert queries.exception_page(session, tree.county.code, "", "高士", 1, 20).items == [other]
    assert queries.exception_page(session, tree.county.code, "", "周例", 1, 20).items == [decided]
    assert queries.exceptions_to_decide(session, tree.county.id) == 2
    assert queries.exceptions_to_decide(session, tree.township.id) == 0
