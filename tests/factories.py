"""Plain builder functions with sensible defaults (CTFd gen_* / indico create_* style)."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta

from werkzeug.security import generate_password_hash

from tuanjian.demo import make_id
from tuanjian.domain.orgtree import OrgKind
from tuanjian.domain.settings import DEFAULT_SETTINGS
from tuanjian.models import Account, AdminGrant, CadrePost, Member, Org, Person, RegistrationCode, utcnow
from tuanjian.services.actor import Actor
from tuanjian.services.orgs import create_child, create_root

PASSWORD = "test1234pass"
_HASHES: dict[str, str] = {}


def password_hash(password: str) -> str:
    """Test accounts use a cheap pbkdf2 hash (verification accepts any method), so the hundreds of logins in the
    suite do not each pay scrypt's ~0.2 s; passwords set through the app are still hashed with scrypt."""
    if password not in _HASHES:
        _HASHES[password] = generate_password_hash(password, method="pbkdf2:sha256:1000")
    return _HASHES[password]
_seq = itertools.count(11)


FACTORY_REGION = "340828"     # factory IDs use their own region code, so they never collide with IDs a test picks


def new_id(birth: date = date(2000, 5, 20), male: bool = True) -> str:
    """A number never given before in this process: 499 serials (even ones, made odd for a man by make_id), and each
    round of them has a region code of its own (340828, 340829, …). Fixtures written back from an earlier test's
    rows (tests/replay.py) keep the numbers they were first built with, so no later number may repeat one."""
    k = next(_seq)
    return make_id(birth, k % 499 * 2, male, region=f"{int(FACTORY_REGION) + k // 499:06d}")


def make_person(session, *, name: str = "测试员", birth: date = date(2000, 5, 20), political: str = "共青团员",
                join_date: str = "2015-05", phone: str = "13800000000") -> Person:
    number = new_id(birth)
    p = Person(id_number=number, name=name, gender="男", birth_date=birth, ethnicity="汉族",
               political_status=political, join_date=join_date, phone=phone)
    session.add(p)
    session.flush()
    return p


def _account(person: Person, password: str, unclaimed: bool) -> Account:
    """A claimed account with ``password``, or (``unclaimed``) one still on the default password, never claimed."""
    if unclaimed:
        return Account(person_id=person.id, password_hash=None, claimed_at=None)
    return Account(person_id=person.id, password_hash=password_hash(password), claimed_at=utcnow())


def make_admin(session, org: Org, *, name: str = "管理员", position: str = "副书记", password: str = PASSWORD,
               must_change: bool = False) -> Person:
    p = make_person(session, name=name, birth=date(1995, 3, 3), political="中共党员", join_date="2009-05")
    session.add(CadrePost(person_id=p.id, org_id=org.id, position=position))
    session.add(_account(p, password, must_change))
    session.add(AdminGrant(org_id=org.id, person_id=p.id))
    session.flush()
    return p


def make_cadre(session, org: Org, *, name: str = "干部", position: str = "副书记") -> CadrePost:
    p = make_person(session, name=name, birth=date(1996, 4, 4), political="共青团员", join_date="2010-05")
    post = CadrePost(person_id=p.id, org_id=org.id, position=position)
    session.add(post)
    session.flush()
    return post


def make_member(session, branch: Org, *, evidence: tuple = (True, None, None, None), **kw) -> Member:
    """A member whose membership is confirmed (入团志愿书 on file) unless ``evidence`` says otherwise:
    (has_application, has_card, card_year, has_letter)."""
    p = make_person(session, **kw)
    m = Member(person_id=p.id, org_id=branch.id, has_application=evidence[0], has_card=evidence[1],
               card_year=evidence[2], has_letter=evidence[3])
    session.add(m)
    session.flush()
    return m


def make_code(session, org: Org, *, text: str | None = None, days: int = 20, used: bool = False,
              revoked: bool = False, expired: bool = False) -> RegistrationCode:
    from tuanjian.domain.codes import generate_code
    now = utcnow()
    issued = now - timedelta(days=30) if expired else now
    code = RegistrationCode(org_id=org.id, code=text or generate_code(), issued_at=issued,
                            expires_at=issued + timedelta(days=days),
                            used_at=now if used else None, revoked_at=now if revoked else None)
    session.add(code)
    session.flush()
    return code


@dataclass
class Tree:
    county: Org
    township: Org
    village: Org          # branch under township
    school: Org
    grade: Org            # 团总支 under school
    klass: Org            # branch under grade
    sibling: Org          # another township, sibling subtree of `township`
    sibling_branch: Org
    county_admin: Person
    township_admin: Person
    branch_admin: Person  # admin of `village`
    school_admin: Person
    sibling_admin: Person


def make_tree(session) -> Tree:
    actor = Actor.system("测试")
    s = DEFAULT_SETTINGS
    county = create_root(session, actor, name="共青团测试县委员会", code="000.012.016.007")
    township = create_child(session, actor, county, short_name="华阳镇团委", kind=OrgKind.COMMITTEE, settings=s,
                            is_township=True)
    village = create_child(session, actor, township, short_name="城东村团支部", kind=OrgKind.BRANCH, settings=s)
    school = create_child(session, actor, county, short_name="望江中学团委", kind=OrgKind.COMMITTEE, settings=s)
    grade = create_child(session, actor, school, short_name="高一年级团总支", kind=OrgKind.GENERAL_BRANCH, settings=s)
    klass = create_child(session, actor, grade, short_name="高一(1)班团支部", kind=OrgKind.BRANCH, settings=s)
    sibling = create_child(session, actor, county, short_name="高士镇团委", kind=OrgKind.COMMITTEE, settings=s,
                           is_township=True)
    sibling_branch = create_child(session, actor, sibling, short_name="高士村团支部", kind=OrgKind.BRANCH, settings=s)
    t = Tree(county, township, village, school, grade, klass, sibling, sibling_branch,
             county_admin=make_admin(session, county, name="王县"),
             township_admin=make_admin(session, township, name="张镇"),
             branch_admin=make_admin(session, village, name="陈支"),
             school_admin=make_admin(session, school, name="刘校"),
             sibling_admin=make_admin(session, sibling, name="赵邻"))
    session.commit()
    return t


def give_account(session, person: Person, *, password: str = PASSWORD, must_change: bool = False) -> Account:
    account = _account(person, password, must_change)
    session.add(account)
    session.flush()
    return account


def make_reset_code(session, person: Person, *, text: str | None = None, hours: int = 48, used: bool = False,
                    revoked: bool = False, expired: bool = False):
    from tuanjian.domain.resetcodes import generate_reset_code
    from tuanjian.models import ResetCode
    now = utcnow()
    issued = now - timedelta(hours=hours + 1) if expired else now
    code = ResetCode(person_id=person.id, code=text or generate_reset_code(), issued_at=issued,
                     expires_at=issued + timedelta(hours=hours),
                     used_at=now if used else None, revoked_at=now if revoked else None)
    session.add(code)
    session.flush()
    return code


def text_workbook(headers, rows, *, sheet: str, title: str | None = None):
    """An uploaded workbook as a clerk types it: strings stay text (never formulas), numbers and dates stay typed."""

    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    if title:
        ws.append([title])
    ws.append(list(headers))
    append_text_rows(ws, rows)
    return saved(wb)


def append_text_rows(ws, rows) -> None:
    """Rows as a clerk types them: strings stay text cells (never formulas), numbers and dates stay typed."""
    for r in rows:
        ws.append(list(r))
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"


def saved(wb):
    from io import BytesIO
    out = BytesIO()
    wb.save(out)
    out.seek(0)
    return out


def first_login_code(session, person: Person, *, hours: int = 48) -> str:
    """A usable 首次登录验证码 for ``person``'s unclaimed account, as an admin covering every place would issue it
    (tests that are not about who issues it)."""
    from datetime import timedelta

    from tuanjian.domain.firstlogin import generate_first_login_code
    from tuanjian.models import FirstLoginCode
    from tuanjian.services.owners.accounts import places_fingerprints
    now = utcnow()
    text = generate_first_login_code()
    session.add(FirstLoginCode(person_id=person.id, code=text, issued_at=now, expires_at=now + timedelta(hours=hours),
                               places_fingerprint=places_fingerprints(session, [person.id])[person.id]))
    session.flush()
    return text
