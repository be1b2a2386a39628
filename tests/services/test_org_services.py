"""Services called directly (no HTTP): the transaction boundaries and invariants behind the pages."""
from datetime import date, datetime
from io import BytesIO

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from tuanjian.demo import make_id
from tuanjian.domain.errors import Conflict, NotAllowed, ValidationFailed
from tuanjian.domain.orgtree import OrgKind
from tuanjian.domain.settings import DEFAULT_SETTINGS
from tuanjian.models import AuditEntry, CadrePost, ImportBatch, Member, Org, OrgCodeChange, PostChange
from tuanjian.services import cadres, imports, orginfo, orgs
from tuanjian.services.actor import Actor

from ..factories import make_cadre, make_member

NOW = datetime(2026, 11, 23, 4, 0)


def actor_for(person, org):
    return Actor(person_id=person.id, name=person.name, ip="10.0.0.1", org_id=org.id, scope_code=org.code)


def test_move_recodes_every_descendant_and_records_history(session, tree):
    county = actor_for(tree.county_admin, tree.county)
    make_member(session, tree.klass)
    old = {o.id: o.code for o in session.scalars(select(Org))}
    changes = orgs.move_org(session, county, tree.grade, tree.township, settings=DEFAULT_SETTINGS, now=NOW)
    session.commit()
    assert set(changes) == {old[tree.grade.id], old[tree.klass.id]}
    assert all(new.startswith(tree.township.code + ".") for new in changes.values())
    for org in (tree.grade, tree.klass):
        session.refresh(org)
        assert org.code == changes[old[org.id]]
    assert session.scalar(select(func.count()).select_from(OrgCodeChange)) == 2
    untouched = {o.id: o.code for o in session.scalars(select(Org)) if o.id not in (tree.grade.id, tree.klass.id)}
    assert all(untouched[i] == old[i] for i in untouched)
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "org.move")).ip == "10.0.0.1"


def test_move_into_own_subtree_refused(session, tree):
    with pytest.raises(ValidationFailed):
        orgs.move_org(session, actor_for(tree.county_admin, tree.county), tree.school, tree.klass,
                      settings=DEFAULT_SETTINGS, now=NOW)
    with pytest.raises(NotAllowed):
        orgs.move_org(session, actor_for(tree.township_admin, tree.township), tree.village, tree.sibling,
                      settings=DEFAULT_SETTINGS, now=NOW)


def test_merge_and_dissolve(session, tree):
    township = actor_for(tree.township_admin, tree.township)
    west = orgs.create_child(session, township, tree.township, short_name="城西村团支部", kind=OrgKind.BRANCH,
                             settings=DEFAULT_SETTINGS)
    make_member(session, west)
    assert orgs.merge_branches(session, township, west, tree.village, now=NOW) == 1
    assert west.dissolved_at is not None and west.merged_into_id == tree.village.id
    assert session.scalar(select(func.count()).select_from(Member).where(Member.org_id == tree.village.id)) == 1
    with pytest.raises(Conflict):
        orgs.dissolve(session, township, tree.village, reason="x", now=NOW)      # has a member now
    empty = orgs.create_child(session, township, tree.township, short_name="空团支部", kind=OrgKind.BRANCH,
                              settings=DEFAULT_SETTINGS)
    orgs.dissolve(session, township, empty, reason="无团员", now=NOW)
    assert empty.dissolved_reason == "无团员"
    assert empty.id not in [o.id for o in session.scalars(select(Org).where(Org.parent_id == tree.township.id,
                                                                            Org.dissolved_at.is_(None)))]


def test_org_info_first_save_needs_confirmation(session, tree):
    own = actor_for(tree.township_admin, tree.township)
    data = {"kind": "committee", "short_name": "华阳镇团委", "full_name": "中国共产主义青年团望江县华阳镇委员会",
            "industry": "农村", "staff_admin_quota": "0", "staff_admin_actual": "0", "staff_inst_quota": "0",
            "staff_inst_actual": "0", "secretary_name": "张镇", "secretary_id_number": tree.township_admin.id_number,
            "secretary_phone": "13700000000"}
    with pytest.raises(orginfo.NeedsConfirmation) as exc:
        orginfo.save_org_info(session, own, tree.township, data, settings=DEFAULT_SETTINGS, now=NOW, confirmed=False)
    assert exc.value.locked["组织全称"] == "中国共产主义青年团望江县华阳镇委员会"
    saved = orginfo.save_org_info(session, own, tree.township, data, settings=DEFAULT_SETTINGS, now=NOW,
                                  confirmed=True)
    assert saved.org.info_locked_at == NOW and orginfo.is_info_complete(session, tree.township)
    with pytest.raises(ValidationFailed) as exc:
        orginfo.save_org_info(session, own, tree.township, {**data, "industry": "城市社区"},
                              settings=DEFAULT_SETTINGS, now=NOW, confirmed=True)
    assert "已锁定" in exc.value.field_errors["industry"][0]


def _book(rows):
    wb = Workbook()
    ws = wb.active
    ws.title = "下级组织"
    ws.append(["组织简称", "组织类别", "上级组织"])
    for r in rows:
        ws.append(list(r))
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def test_import_all_or_nothing_writes_nothing_on_error(session, tree):
    school = actor_for(tree.school_admin, tree.school)
    batch = imports.preview_org_children(session, school, tree.school, data=_book([("甲团总支", "团总支", ""),
                                                                                   ("乙", "火星", "")]),
                                         filename="a.xlsx", settings=DEFAULT_SETTINGS, now=NOW)
    n = session.scalar(select(func.count()).select_from(Org))
    with pytest.raises(Conflict):
        imports.commit_org_children(session, school, batch, mode="all", settings=DEFAULT_SETTINGS, now=NOW)
    assert session.scalar(select(func.count()).select_from(Org)) == n and batch.status == "pending"
    created = imports.commit_org_children(session, school, batch, mode="valid", settings=DEFAULT_SETTINGS, now=NOW)
    assert [o.short_name for o in created] == ["甲团总支"] and batch.status == "committed"
    with pytest.raises(Conflict):
        imports.commit_org_children(session, school, batch, mode="valid", settings=DEFAULT_SETTINGS, now=NOW)
    assert session.scalar(select(func.count()).select_from(ImportBatch)) == 1


def test_cadre_post_change_and_end(session, tree):
    school = actor_for(tree.school_admin, tree.school)
    data = {"name": "钱", "id_number": make_id(date(1990, 1, 2), 613, True), "gender": "男", "birth_date": "1990-01-02",
            "phone": "13600000000", "ethnicity": "汉族", "political_status": "中共党员", "join_date": "2004-05",
            "position": "宣传委员", "title": None, "nature": "兼职", "start_month": None, "party_committee": None}
    post, opened = cadres.add_cadre(session, school, tree.school, data, now=NOW)
    assert opened and not post.person.account.is_claimed
    cadres.change_position(session, school, post, position="副书记", title=None, changed_on=date(2026, 11, 1), now=NOW)
    cadres.end_post(session, school, post, ended_on=date(2026, 11, 20), reason="调动", now=NOW)
    changes = session.scalars(select(PostChange).where(PostChange.post_id == post.id).order_by(PostChange.id)).all()
    assert [(c.from_position, c.to_position) for c in changes] == [("宣传委员", "副书记"), ("副书记", None)]
    with pytest.raises(Conflict):
        cadres.change_position(session, school, post, position="委员", title=None, changed_on=date(2026, 11, 21),
                               now=NOW)


def test_deleting_a_member_ends_their_posts_with_a_history_row_and_says_so(session, tree):
    """Every way a post ends leaves a 变更记录 row; deleting the member record did not (it now does)."""
    from tuanjian.services import members
    village = actor_for(tree.branch_admin, tree.village)
    m = make_member(session, tree.village, name="丁")
    post = CadrePost(person_id=m.person_id, org_id=tree.village.id, position="组织委员")
    other = CadrePost(person_id=m.person_id, org_id=tree.village.id, position="宣传委员", ended_at=NOW,
                      ended_on=date(2026, 1, 1), end_reason="调动")                    # already ended: left alone
    session.add_all([post, other])
    session.flush()
    members.delete_member(session, village, m, reason="重复录入", now=NOW)
    session.commit()
    assert post.ended_on == date(2026, 11, 23) and post.end_reason == "团员记录删除"
    change = session.scalar(select(PostChange).where(PostChange.post_id == post.id))
    assert (change.from_position, change.to_position, change.note, change.by_person_id) == \
        ("组织委员", None, "团员记录删除", tree.branch_admin.id)
    assert session.scalar(select(PostChange).where(PostChange.post_id == other.id)) is None
    assert other.end_reason == "调动"
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "member.delete"))
    assert entry.summary == f"删除团员记录：丁（{tree.village.short_name}），原因：重复录入，同时卸任组织委员"
    assert entry.before == {"deleted": False, "posts": ["组织委员"]}


def test_cadres_only_own_org_or_direct_child(session, tree):
    county = actor_for(tree.county_admin, tree.county)
    post = make_cadre(session, tree.grade)
    with pytest.raises(NotAllowed):
        cadres.end_post(session, county, post, ended_on=date(2026, 11, 1), reason="x", now=NOW)
    assert session.get(CadrePost, post.id).ended_at is None
