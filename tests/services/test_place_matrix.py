"""Places follow the person rule (issue 24): every writer that can give a person a place (a membership, a cadre post,
an admin grant) × a person held only elsewhere (as member, as cadre, as admin) × the right name and a wrong one →
nothing added, nothing changed, and the same refusal whatever the name.

WRITERS lists every module under tuanjian/ that calls a place-adding function of an owner (services/owners); a new
writer without a case here fails ``test_every_place_writer_has_a_case``. (The web person matrix,
tests/web/test_person_matrix.py, covers the same doors through the pages and checks that nothing is revealed.)
wt-acct adds the unclaimed-account and code cases (first-login and reset codes) to CASES and WRITERS.
"""
from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from tuanjian import settings_of
from tuanjian.clock import local_date
from tuanjian.domain import policy
from tuanjian.domain.cadres import validate_cadre
from tuanjian.domain.errors import DomainError
from tuanjian.domain.members import validate_member
from tuanjian.models import AdminGrant, CadrePost, Member, Person, utcnow
from tuanjian.services import accounts, cadres, exceptions, members, transfers
from tuanjian.services.actor import Actor

from ..factories import make_admin, make_cadre, make_member

PACKAGE = Path(__file__).resolve().parents[2] / "tuanjian"
WRONG_NAME = "冒名者"
PLACE_ADDERS = {"memberships": {"add", "insert_many", "insert_rows", "update_rows", "move", "move_all",
                                "mark_exception"},
                "posts": {"open_post", "insert_many", "insert_rows", "update_rows", "move"},
                "post_owner": {"open_post", "insert_many", "insert_rows", "update_rows", "move"},
                "grants": {"grant", "insert_rows", "update_rows"}}


def actor_of(person: Person, org) -> Actor:
    return Actor(person_id=person.id, name=person.name, org_id=org.id, scope_code=org.code)


@pytest.fixture
def held(session, tree):
    """People held only in the sibling township (高士镇): as a member of its branch, as its cadre, as its admin."""
    member = make_member(session, tree.sibling_branch, name="邻镇团员").person
    cadre = make_cadre(session, tree.sibling, name="邻镇干部", position="组织委员").person
    admin = tree.sibling_admin
    session.commit()
    return {"member": member, "cadre": cadre, "admin": admin}


def state(session, person: Person) -> tuple:
    session.expire_all()
    p = session.get(Person, person.id)
    row = tuple(getattr(p, c.key) for c in Person.__table__.columns if c.name != "updated_at")
    places = tuple(sorted(session.execute(select(Member.org_id, Member.deleted_at).where(Member.person_id == p.id))))
    posts = tuple(sorted(session.execute(select(CadrePost.org_id, CadrePost.position, CadrePost.ended_at)
                                         .where(CadrePost.person_id == p.id))))
    grants = tuple(sorted(session.execute(select(AdminGrant.org_id, AdminGrant.revoked_at)
                                          .where(AdminGrant.person_id == p.id))))
    return row, places, posts, grants


def _member_values(person, name):
    return {"name": name, "id_number": person.id_number, "ethnicity": "藏族", "political_status": "共青团员",
            "join_date": "2015-05", "dev_number": "", "is_cadre": "否", "position": "", "phone": "13900000009",
            "education": "普通高中在读", "occupation": "学生", "workplace": "某单位"}


# ---------------------------------------------------------------- the writers

def member_form(app, session, tree, person, name):
    data = validate_member(_member_values(person, name), settings=settings_of(app), today=local_date(utcnow()))
    members.add_member(session, actor_of(tree.township_admin, tree.township), tree.village, data, now=utcnow())


def cadre_form(app, session, tree, person, name):
    values = {"name": name, "id_number": person.id_number, "phone": "13600000009", "ethnicity": "藏族",
              "political_status": "中共党员", "join_date": "2015-05", "position": "委员", "title": "",
              "nature": "兼职", "start_month": "2023-09", "party_committee": "否"}
    data = validate_cadre(values, is_leading=True, settings=settings_of(app), today=local_date(utcnow()))
    cadres.add_cadre(session, actor_of(tree.township_admin, tree.township), tree.township, data, now=utcnow())


def admin_grant(app, session, tree, person, name):
    """设为管理员 of a post someone entered in the township (test data): the person holds places elsewhere."""
    post = CadrePost(person_id=person.id, org_id=tree.township.id, position="委员")
    session.add(post)
    session.flush()
    accounts.grant_admin(session, actor_of(tree.township_admin, tree.township), tree.township, post,
                         settings=settings_of(app), now=utcnow())


def exception_approval(app, session, tree, person, name):
    """A deferred write: the village's request was made before the person was entered in the sibling township; the
    county approves now. The requester's reach (the township) does not cover the person: refused."""
    from tuanjian.models import ExceptionRequest
    values = _member_values(person, name)
    data = validate_member(values, settings=settings_of(app), today=local_date(utcnow()))
    county_admin = make_admin(session, tree.county, name="县管理员")
    approver = exceptions.approver_org(session, tree.village, settings_of(app))
    req = ExceptionRequest(org_id=tree.village.id, approver_org_id=approver.id, name=name, id_number=person.id_number,
                           data=data, rules="join_date_window", reason="矩阵", voucher="矩阵", status="pending",
                           requested_by_id=tree.township_admin.id, requested_at=utcnow())
    session.add(req)
    session.flush()
    decider = county_admin if approver.id == tree.county.id else make_admin(session, approver, name="审批人")
    exceptions.approve(session, actor_of(decider, approver), req, note="", settings=settings_of(app), now=utcnow())


def transfer_acceptance(app, session, tree, person, name):
    """A deferred write: a transfer asked by an admin whose grant has since been revoked is not carried out."""
    from tuanjian.models import TransferRequest
    member = session.scalar(select(Member).where(Member.person_id == person.id, Member.deleted_at.is_(None)))
    if member is None:
        raise DomainError("not a member: this case is about moving a membership")
    asker = make_admin(session, tree.village, name="已离任")
    session.execute(AdminGrant.__table__.update().where(AdminGrant.person_id == asker.id).values(revoked_at=utcnow()))
    req = TransferRequest(member_id=member.id, from_org_id=member.org_id, to_org_id=tree.village.id,
                          status="pending", requested_by_id=asker.id, requested_at=utcnow())
    session.add(req)
    session.flush()
    transfers.decide(session, actor_of(tree.sibling_admin, tree.sibling), req, accept=True, note="", now=utcnow())


def package(app, session, tree, person, name):
    """A package of 城东村团支部, re-signed, that adds a membership or post and an admin grant for the person with
    their fields exactly as stored (class 1): only the place is new."""
    from tuanjian.services import exchange
    exchange.set_key(session, actor_of(tree.township_admin, tree.township), tree.village,
                     "ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2", now=utcnow())
    saved = person.name
    person.name = name
    post = CadrePost(person_id=person.id, org_id=tree.village.id, position="委员", created_at=utcnow())
    session.add(post)
    session.flush()
    session.add(AdminGrant(org_id=tree.village.id, person_id=person.id, granted_at=utcnow()))
    session.flush()
    snapshot = exchange.read_subtree(session, tree.village.code)
    session.rollback()
    assert session.get(Person, person.id).name == saved
    incoming = exchange.Incoming(root_code=tree.village.code, manifest={"source": {}}, sha256="x" * 64,
                                 created_at=utcnow(), rows=snapshot.rows, ignored_columns={})
    actor = actor_of(tree.township_admin, tree.township)
    plan = exchange.plan_import(session, actor, tree.township, incoming, settings=settings_of(app))
    exchange.apply_plan(session, actor, plan, now=utcnow())


def registration(app, session, tree, person, name):
    """A valid registration code for 城东村团支部, someone else's ID number (and a password that is not theirs):
    nobody becomes that person, no place and no grant is added. (Registration with the default password is wt-acct's
    part of issue 24.)"""
    from tuanjian.services.registration import RegistrationInput, register_admin

    from ..factories import make_code
    code = make_code(session, tree.village)
    data = RegistrationInput(org_id=tree.village.id, position="副书记", code=code.code, name=name,
                             id_number=person.id_number, phone="13500000009", ethnicity="汉族",
                             political_status="共青团员", join_date="2015-05", password="abcdefgh12",
                             password_confirm="abcdefgh12")
    register_admin(session, data, settings=settings_of(app), now=utcnow(), ip="127.0.0.1")


# name -> (writer, the answer expected whatever the name, or None when only "refused, nothing written" is checked)
CASES = {
    "member_form": (member_form, policy.HELD_ELSEWHERE_MEMBER),
    "cadre_form": (cadre_form, policy.HELD_ELSEWHERE_CADRE),
    "admin_grant": (admin_grant, policy.HELD_ELSEWHERE_ADMIN),
    "exception_approval": (exception_approval, None),
    "transfer_acceptance": (transfer_acceptance, None),
    "package": (package, policy.HELD_ELSEWHERE_PACKAGE),
    "registration": (registration, None),
}

# every module that calls a place-adding owner function -> the cases (here or in the web person matrix) covering it
WRITERS = {
    "services/members.py": ("member_form",),
    "services/cadres.py": ("cadre_form",),
    "services/orginfo.py": ("web:orgs.save_info",),
    "services/accounts.py": ("admin_grant",),
    "services/registration.py": ("registration", "web:registration.submit"),
    "services/member_imports.py": ("web:members.upload",),
    "services/exceptions.py": ("exception_approval",),
    "services/transfers.py": ("transfer_acceptance",),
    "services/exchange/apply.py": ("package",),
    "services/orgs.py": ("merge: both branches lie under the admin, tests/services/test_org_services.py",),
    "demo.py": ("the system seeding an empty database",),
}


def place_writers() -> set[str]:
    found = set()
    for path in PACKAGE.rglob("*.py"):
        rel = str(path.relative_to(PACKAGE))
        if rel.startswith("services/owners/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)
                    and node.func.attr in PLACE_ADDERS.get(node.func.value.id, ())):
                found.add(rel)
        if "_owner(name)" in path.read_text(encoding="utf-8"):
            found.add(rel)
    return found


def test_every_place_writer_has_a_case():
    from tests.web.test_person_matrix import ENTRIES
    assert place_writers() == set(WRITERS)
    for cases in WRITERS.values():
        for case in cases:
            if case.startswith("web:"):
                assert case[4:] in ENTRIES
            elif " " not in case:
                assert case in CASES


KINDS = ("member", "cadre", "admin")
# a transfer moves a membership: only the person held elsewhere as a member has one to move
MATRIX = [(case, kind) for case in sorted(CASES) for kind in KINDS
          if case != "transfer_acceptance" or kind == "member"]


@pytest.mark.parametrize(("case", "kind"), MATRIX)
def test_place_matrix(app, session, tree, held, case, kind):
    fn, message = CASES[case]
    person = held[kind]
    answers = []
    for name in (person.name, WRONG_NAME):
        before = state(session, person)
        with pytest.raises(DomainError) as refused:
            fn(app, session, tree, person, name)
        session.rollback()
        label = f"{case}, held elsewhere as {kind}, {'right' if name == person.name else 'wrong'} name"
        text = str(refused.value.message if hasattr(refused.value, "message") else refused.value)
        errors = getattr(refused.value, "errors", None) or {}
        text += " " + " ".join(m for ms in errors.values() for m in ms)
        if message is not None:
            assert message in text, f"{label}: {text}"
        assert state(session, person) == before, f"{label}: the person or their places changed"
        answers.append((type(refused.value), refused.value.status,
                        text.replace(person.name, "").replace(WRONG_NAME, "")))
    assert answers[0] == answers[1], f"{case}: the right and the wrong name get different answers"


def test_class6_a_person_entered_elsewhere_after_the_request_is_not_overwritten_nor_moved(app, session, tree):
    """Issue 24, class 6, through the real flow: the township asks for a member of 城东村团支部 (joined at 11, an
    exceptable rule); meanwhile the sibling township enters the same person; the county approves: refused with the
    one held-elsewhere answer, the person's phone and membership stay as the sibling entered them."""
    settings = settings_of(app)
    today = local_date(utcnow())
    birth = date(2001, 3, 1)
    from ..factories import new_id
    number = new_id(birth)
    values = {"name": "后来者", "id_number": number, "ethnicity": "汉族", "political_status": "共青团员",
              "join_date": f"{birth.year + 11}-05", "dev_number": "", "is_cadre": "否", "position": "",
              "phone": "13900000009", "education": "普通高中在读", "occupation": "学生", "workplace": ""}
    req = exceptions.request_exception(session, actor_of(tree.township_admin, tree.township), tree.village, values,
                                       reason="矩阵", voucher="矩阵", scan=None, settings=settings, now=utcnow())
    session.commit()
    entered = validate_member({**values, "join_date": "2015-05", "phone": "13700000007"}, settings=settings,
                              today=today)
    members.add_member(session, actor_of(tree.sibling_admin, tree.sibling), tree.sibling_branch, entered,
                       now=utcnow())
    session.commit()
    person = session.scalar(select(Person).where(Person.id_number == number))
    before = state(session, person)
    approver = exceptions.approver_org(session, tree.village, settings)
    decider = tree.county_admin if approver.id == tree.county.id else make_admin(session, approver, name="审批人")
    with pytest.raises(DomainError) as refused:
        exceptions.approve(session, actor_of(decider, approver), req, note="", settings=settings, now=utcnow())
    session.rollback()
    assert policy.HELD_ELSEWHERE_MEMBER in str(getattr(refused.value, "errors", "")) + refused.value.message
    assert state(session, person) == before
    assert session.get(Person, person.id).phone == "13700000007"
