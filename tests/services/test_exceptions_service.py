"""特殊情况录入 services (issue 18), on SQLite and PostgreSQL: request, approve, refuse, policy and audit."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import select

from tuanjian.domain.errors import Conflict, NotAllowed, ValidationFailed
from tuanjian.domain.members import validate_member
from tuanjian.models import AuditEntry, ExceptionRequest, Member, utcnow
from tuanjian.services import exceptions as service
from tuanjian.services import members as members_service

from ..factories import make_admin, make_member, new_id
from .test_progress_stats import actor_for, settings_of

PDF = b"%PDF-1.4\n% a scan\n"


def young(**kw):
    """Joined 2017-01 at 12 (13 required from 2016-09-01): only the join age fails."""
    return {"name": "李例外", "id_number": new_id(date(2004, 3, 15)), "ethnicity": "汉族",
            "political_status": "共青团员",
            "join_date": "2017-01", "dev_number": "201712345678", "phone": "13912345678", "is_cadre": "否", **kw}


def ask(session, app, tree, values, **kw):
    actor = actor_for(tree.branch_admin, tree.village)
    args = {"reason": "按当时当地规定入团，有入团志愿书", "voucher": "华阳镇团委", "scan": None,
            "settings": settings_of(app), "now": utcnow(), **kw}
    req = service.request_exception(session, actor, tree.village, values, **args)
    session.commit()
    return req


def test_request_then_approve_creates_the_member_with_the_exception(app, session, tree):
    req = ask(session, app, tree, young(), scan=PDF)
    assert req.status == "pending" and req.rule_codes == ("join_age",) and req.approver_org_id == tree.county.id
    assert req.scan_type == "application/pdf" and req.scan_size == len(PDF)
    assert session.scalar(select(Member.id).where(Member.org_id == tree.village.id)) is None   # nothing yet
    member = service.approve(session, actor_for(tree.county_admin, tree.county), req, note="同意",
                             settings=settings_of(app), now=utcnow())
    session.commit()
    assert member.org_id == tree.village.id and member.exception.id == req.id
    assert member.exception.decided_by_id == tree.county_admin.id and member.exception.decided_at is not None
    assert member.person.join_date == "2017-01"
    actions = [a for (a,) in session.execute(select(AuditEntry.action).order_by(AuditEntry.id))]
    assert "exception.request" in actions and "exception.approve" in actions and "member.add" in actions
    summary = session.scalar(select(AuditEntry.summary).where(AuditEntry.action == "exception.approve"))
    assert "批准特殊情况录入" in summary and "入团年龄" in summary


def test_missing_dev_number_is_kept_empty_and_editing_it_later_is_audited(app, session, tree):
    req = ask(session, app, tree, young(join_date="2019-05", dev_number=""))
    assert req.rule_codes == ("dev_number_missing",)
    member = service.approve(session, actor_for(tree.county_admin, tree.county), req, note="",
                             settings=settings_of(app), now=utcnow())
    session.commit()
    assert member.dev_number is None
    values = {**young(join_date="2019-05", dev_number="201912345678"), "name": member.person.name,
              "id_number": member.person.id_number}
    data = validate_member(values, settings=settings_of(app), today=date(2026, 11, 23))
    members_service.update_member(session, actor_for(tree.branch_admin, tree.village), member, data, now=utcnow())
    session.commit()
    edit = session.scalar(select(AuditEntry).where(AuditEntry.action == "exception.edit"))
    assert edit is not None and "发展团员编号" in edit.summary and "201912345678" in edit.summary


@pytest.mark.parametrize("values,error", [
    ({"join_date": "2017-05"}, Conflict),                              # passes every rule: no exception needed
    ({"id_number": "340827200403150011"}, ValidationFailed),          # checksum: never exceptable
    ({"ethnicity": "火星"}, ValidationFailed),                        # another rule fails as well
])
def test_requests_that_are_refused(app, session, tree, values, error):
    with pytest.raises(error):
        ask(session, app, tree, young(**values))


def test_reason_voucher_and_scan_are_checked(app, session, tree):
    with pytest.raises(ValidationFailed):
        ask(session, app, tree, young(), reason=" ")
    with pytest.raises(ValidationFailed):
        ask(session, app, tree, young(), voucher="")
    with pytest.raises(ValidationFailed):
        ask(session, app, tree, young(), scan=b"MZ\x90\x00 an exe")
    small = replace(settings_of(app), exception_scan_max_kb=1)
    with pytest.raises(ValidationFailed):
        ask(session, app, tree, young(), scan=PDF + b"x" * 2048, settings=small)
    session.rollback()
    assert session.scalar(select(ExceptionRequest.id)) is None


def test_held_elsewhere_is_never_exceptable(app, session, tree):
    other = make_member(session, tree.sibling_branch)
    session.commit()
    with pytest.raises(Conflict):          # HeldElsewhere names nobody outside the requester's reach
        ask(session, app, tree, young(id_number=other.person.id_number, name=other.person.name))


def test_rule_switched_off_in_settings(app, session, tree):
    off = replace(settings_of(app), exceptable_rules=frozenset({"dev_number_missing"}))
    with pytest.raises(ValidationFailed):
        ask(session, app, tree, young(), settings=off)


def test_a_second_pending_request_for_the_same_person_is_refused(app, session, tree):
    values = young()
    ask(session, app, tree, values)
    with pytest.raises(Conflict):
        ask(session, app, tree, values)


def test_only_the_approving_level_and_not_the_requester(app, session, tree):
    req = ask(session, app, tree, young())
    s = settings_of(app)
    for person, org in ((tree.branch_admin, tree.village), (tree.township_admin, tree.township),
                        (tree.sibling_admin, tree.sibling)):
        with pytest.raises(NotAllowed):
            service.approve(session, actor_for(person, org), req, note="", settings=s, now=utcnow())
    # a county admin who made the request may not approve it
    own = ask(session, app, tree, young(), )
    county_actor = actor_for(tree.county_admin, tree.county)
    mine = service.request_exception(session, county_actor, tree.village, young(), reason="说明", voucher="县团委",
                                     scan=None, settings=s, now=utcnow())
    with pytest.raises(NotAllowed):
        service.approve(session, county_actor, mine, note="", settings=s, now=utcnow())
    session.rollback()
    second = make_admin(session, tree.county, name="李县")
    service.refuse(session, actor_for(second, tree.county), own, note="材料不全", now=utcnow())
    session.commit()
    assert own.status == "refused" and own.decision_note == "材料不全"
    with pytest.raises(Conflict):
        service.approve(session, county_actor, own, note="", settings=s, now=utcnow())
    assert session.scalar(select(AuditEntry.summary)
                          .where(AuditEntry.action == "exception.refuse")).endswith("材料不全")


def test_refusal_needs_a_reason(app, session, tree):
    req = ask(session, app, tree, young())
    with pytest.raises(ValidationFailed):
        service.refuse(session, actor_for(tree.county_admin, tree.county), req, note=" ", now=utcnow())


def test_approver_level_is_a_setting(app, session, tree):
    s = replace(settings_of(app), exception_approver_depth=1)
    req = ask(session, app, tree, young(), settings=s)
    assert req.approver_org_id == tree.township.id
    with pytest.raises(NotAllowed):
        service.approve(session, actor_for(tree.county_admin, tree.county), req, note="", settings=s, now=utcnow())
    service.approve(session, actor_for(tree.township_admin, tree.township), req, note="", settings=s, now=utcnow())
    session.commit()
    assert req.status == "approved"
