"""The cross-scope person matrix (issue 14): every entry point that takes an ID number × a person held only in a
sibling subtree or only above the actor × the right name and a wrong one.

Each must reveal nothing about the person (their stored name, their organisations' names and codes never appear in
the response, the preview or the error workbook) and write nothing to them (their row, places and account stay
as they were). The case table is checked against the app: a form field, an import column or a package table that
takes an ID number without a case here fails the suite.
"""
from __future__ import annotations

import difflib
import importlib
import pkgutil
import re
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

import tuanjian
from tuanjian.domain import policy
from tuanjian.models import Account, AdminGrant, AuditEntry, CadrePost, Member, Person, ResetCode, utcnow

from ..factories import make_admin, make_cadre, make_member, text_workbook
from ..replay import replayed

KEY = "ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2"
WRONG_NAME = "冒名者"
MEMBER_HEAD = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "所在团支部", "是否为团干部", "团内职务",
               "发展团员编号", "手机号码", "学历", "职业", "学习工作单位"]
CADRE_HEAD = ["姓名", "身份证号码", "手机号码", "民族", "政治面貌", "入团年月", "职务", "职务名称", "团干部性质",
              "任现职年月", "是否同级党委成员"]


# ---------------------------------------------------------------- the world

@pytest.fixture
def world(session, tree):
    """The actor is the township admin (华阳镇团委). ``sibling``: a member of 高士村团支部 (a sibling township's
    branch) who also holds a post there; ``above``: a 副书记 of the county only; ``admin``: an admin (and cadre)
    of the sibling township only (issue 24: places — a membership, a post, a grant — follow the person rule).
    Built once per process, then written back as rows (tests/replay.py)."""
    return replayed("person_matrix.world", session, lambda s: _build_world(s, tree))


def _build_world(session, tree):
    sibling = make_member(session, tree.sibling_branch, name="邻镇青年").person
    sibling.phone = "13811112222"
    session.add(CadrePost(person_id=sibling.id, org_id=tree.sibling_branch.id, position="组织委员"))
    above = make_cadre(session, tree.county, name="县里干部", position="副书记").person
    above.phone = "13833334444"
    admin = make_admin(session, tree.sibling, name="邻镇管理员")
    admin.phone = "13855556666"
    session.commit()
    return {"sibling": (sibling, [tree.sibling_branch, tree.sibling]), "above": (above, [tree.county]),
            "admin": (admin, [tree.sibling])}


def _state(session, person_id: int, *, entry: str = "") -> tuple:
    """Everything an entry could change about a person: their row, places and account (a wrong password at the
    login form counts against the account it names: that is the login's own throttle, not a write to the person)."""
    session.expire_all()
    person = session.get(Person, person_id)
    row = {c.name: getattr(person, c.key) for c in Person.__table__.columns if c.name != "updated_at"}
    places = (sorted(session.execute(select(Member.org_id, Member.deleted_at)
                                     .where(Member.person_id == person_id)).all()),
              sorted(session.execute(select(CadrePost.org_id, CadrePost.position, CadrePost.ended_at)
                                     .where(CadrePost.person_id == person_id)).all()),
              sorted(session.execute(select(AdminGrant.org_id, AdminGrant.revoked_at)
                                     .where(AdminGrant.person_id == person_id)).all()))
    account = session.scalar(select(Account).where(Account.person_id == person_id))
    acc = None if account is None else (account.password_hash,
                                        None if entry in COUNTS_FAILURES else account.failed_logins,
                                        None if entry in COUNTS_FAILURES else account.locked_until,
                                        account.session_version, account.claimed_at)
    codes = session.scalar(select(func.count()).select_from(ResetCode).where(ResetCode.person_id == person_id))
    return row, places, acc, codes


def _text(resp) -> str:
    if resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
        wb = load_workbook(BytesIO(resp.data))
        return "\n".join(str(v) for ws in wb.worksheets for r in ws.iter_rows(values_only=True) for v in r
                         if v is not None)
    return resp.get_data(as_text=True)


def _follow(client, resp) -> list:
    out = [resp]
    if resp.status_code in (302, 303) and resp.headers.get("Location"):
        out.append(client.get(resp.headers["Location"]))
    return out


# ---------------------------------------------------------------- entry points

def _member_form(tree, person, name):
    return {"name": name, "id_number": person.id_number, "ethnicity": "藏族", "political_status": "共青团员",
            "join_date": "2015-05", "dev_number": "", "is_cadre": "否", "position": "", "phone": "13900000009",
            "education": "普通高中在读", "occupation": "学生", "workplace": "某单位"}


def member_add(client, session, tree, person, name):
    return _follow(client, client.post(f"/members/org/{tree.village.id}/new", data=_member_form(tree, person, name)))


def member_update(client, session, tree, person, name):
    """The edit form shows name and ID read-only; a posted foreign ID number is refused without a word about it."""
    own = make_member(session, tree.village, name="本支部团员")
    session.commit()
    return _follow(client, client.post(f"/members/{own.id}", data=_member_form(tree, person, name)))


def cadre_add(client, session, tree, person, name):
    data = {"name": name, "id_number": person.id_number, "phone": "13600000009", "ethnicity": "藏族",
            "political_status": "中共党员", "join_date": "2015-05", "position": "组织委员", "title": "",
            "nature": "兼职", "start_month": "2023-09", "party_committee": "否"}
    return _follow(client, client.post(f"/cadres/org/{tree.township.id}", data=data))


def org_info_secretary(client, session, tree, person, name):
    data = {"kind": "branch", "short_name": tree.village.short_name, "full_name": "中国共产主义青年团城东村支部委员会",
            "industry": "农村", "secretary_name": name, "secretary_id_number": person.id_number,
            "secretary_phone": "13700000009", "phone": "", "email": "", "confirmed": "1"}
    return _follow(client, client.post(f"/orgs/{tree.village.id}/info", data=data))


def _import(client, url, book, errors_url):
    resp = client.post(url, data={"file": (book, "名单.xlsx")}, content_type="multipart/form-data")
    out = _follow(client, resp)
    if resp.status_code == 302:
        batch_id = int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])
        out.append(client.get(errors_url.format(batch_id)))
        out.append(client.post(resp.headers["Location"].rsplit("/", 1)[0] + f"/{batch_id}/commit",
                               data={"mode": "valid"}))
    return out


def member_import(client, session, tree, person, name):
    book = text_workbook(MEMBER_HEAD, [[name, person.id_number, "藏族", "共青团员", "2015-05", "", "否", "", "",
                                        "13900000009", "普通高中在读", "学生", ""]], sheet="团员")
    return _import(client, f"/members/org/{tree.village.id}/import", book, "/members/imports/{}/errors.xlsx")


def cadre_import(client, session, tree, person, name):
    book = text_workbook(CADRE_HEAD, [[name, person.id_number, "13600000009", "藏族", "中共党员", "2015-05", "组织委员",
                                       "", "兼职", "2023-09", "否"]], sheet="团干部")
    return _import(client, f"/cadres/org/{tree.township.id}/import", book, "/cadres/imports/{}/errors.xlsx")


def exchange_package(client, session, tree, person, name):
    """A package of 城东村团支部 (re-signed by whoever holds its key) that lists the person with a new phone, the
    name as given, and a post in the branch."""
    from tuanjian.services import exchange
    from tuanjian.services.actor import Actor
    client.post(f"/exchange/org/{tree.village.id}/key", data={"key": KEY})       # the township, above the branch
    saved = (person.name, person.phone)
    person.name, person.phone = name, "13999999999"
    session.add(CadrePost(person_id=person.id, org_id=tree.village.id, position="委员"))
    session.flush()
    data, _ = exchange.export_package(session, Actor.system(), tree.village, now=utcnow(), key=KEY)
    session.rollback()
    assert (session.get(Person, person.id).name, session.get(Person, person.id).phone) == saved
    resp = client.post(f"/exchange/org/{tree.township.id}/upload", data={"file": (BytesIO(data), "上报文件.zip")},
                       content_type="multipart/form-data")
    out = _follow(client, resp)
    if resp.status_code == 302:
        out.append(client.post(resp.headers["Location"].replace("/packages/", "/packages/") + "/apply"))
    return out


def registration(client, session, tree, person, name):
    """Public: a wrong code; reveals nothing (the code-first order is issue 14's class 5)."""
    client.get("/auth/logout")
    data = {"org_id": str(tree.village.id), "position": "副书记", "code": "ABCDEFGH", "name": name,
            "id_number": person.id_number, "phone": "13500000009", "ethnicity": "汉族", "political_status": "共青团员",
            "join_date": "2015-05", "password": "abcdefgh12", "password_confirm": "abcdefgh12"}
    return _follow(client, client.post("/register/", data=data))


def forgot_password(client, session, tree, person, name):
    client.get("/auth/logout")
    data = {"id_number": person.id_number, "code": "P-ABCDEFGH", "password": "abcdefgh12", "confirm": "abcdefgh12"}
    return _follow(client, client.post("/auth/forgot", data=data))


def login_form(client, session, tree, person, name):
    client.get("/auth/logout")
    return _follow(client, client.post("/auth/login", data={"id_number": person.id_number, "password": "wrong-pass1"}))


def people_search(client, session, tree, person, name):
    return [client.get("/people/", query_string={"q": q}) for q in (person.id_number, person.id_number[-6:], name)]


def reset_code(client, session, tree, person, name):
    """The person page and the reset-code button: 404 for a person with no place in scope (after every entry)."""
    return [client.get(f"/people/{person.id}"), client.post(f"/people/{person.id}/reset-code")]


def identity_correction(client, session, tree, person, name):
    """An upper admin correcting an own person's ID number to the foreign one."""
    own = make_member(session, tree.village, name="待更正")
    session.commit()
    return [client.post(f"/people/{own.person_id}/correct",
                        data={"name": name, "id_number": person.id_number, "reason": "矩阵测试"})]


def _at_eleven(person) -> str:
    return f"{person.birth_date.year + 11}-{person.birth_date.month:02d}"


def member_exception(client, session, tree, person, name):
    """特殊情况录入 from the member form: joined at 11 (only the join-date window fails), a foreign ID number."""
    data = {**_member_form(tree, person, name), "join_date": _at_eleven(person), "reason": "矩阵测试",
            "voucher": "矩阵"}
    return _follow(client, client.post(f"/members/org/{tree.village.id}/exception", data=data,
                                       content_type="multipart/form-data"))


def member_row_exception(client, session, tree, person, name):
    """特殊情况录入 from an import preview row (joined at 11), a foreign ID number."""
    book = text_workbook(MEMBER_HEAD, [[name, person.id_number, "藏族", "共青团员", _at_eleven(person),
                                        "", "否", "", "", "13900000009", "普通高中在读", "学生", ""]], sheet="团员")
    resp = client.post(f"/members/org/{tree.village.id}/import", data={"file": (book, "名单.xlsx")},
                       content_type="multipart/form-data")
    out = _follow(client, resp)
    batch_id = int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert f"/members/imports/{batch_id}/row/2/exception" in out[-1].get_data(as_text=True)
    out.append(client.get(f"/members/imports/{batch_id}/row/2/exception"))
    out.append(client.post(f"/members/imports/{batch_id}/row/2/exception",
                           data={"reason": "矩阵测试", "voucher": "矩阵"},
                           content_type="multipart/form-data"))
    return out


# name -> (function, the message every answer must carry (None: only "reveals nothing"), what it covers)
ENTRIES = {
    "members.create": (member_add, policy.HELD_ELSEWHERE_MEMBER, ("MemberForm.id_number",)),
    "members.update": (member_update, None, ()),
    "members.request_exception": (member_exception, policy.HELD_ELSEWHERE_MEMBER, ()),
    "members.request_row_exception": (member_row_exception, policy.HELD_ELSEWHERE_MEMBER, ()),
    "cadres.add": (cadre_add, policy.HELD_ELSEWHERE_CADRE, ("CadreForm.id_number",)),
    "orgs.save_info": (org_info_secretary, policy.HELD_ELSEWHERE_SECRETARY, ("OrgInfoForm.secretary_id_number",)),
    "members.upload": (member_import, policy.HELD_ELSEWHERE_MEMBER,
                       ("member_import.COLUMNS", "member_import.READ_COLUMNS")),
    "cadres.upload": (cadre_import, policy.HELD_ELSEWHERE_CADRE, ("cadres.CADRE_COLUMNS", "cadres.CADRE_READ_COLUMNS")),
    "exchange.upload": (exchange_package, "没有导入任何数据", ("exchange.people",)),
    "registration.submit": (registration, None, ("RegisterForm.id_number",)),
    "auth.forgot": (forgot_password, None, ("ForgotPasswordForm.id_number",)),
    "auth.login": (login_form, None, ("LoginForm.id_number",)),
    "people.index": (people_search, None, ()),
    "people.issue_reset_code": (reset_code, None, ()),
    "people.correct": (identity_correction, None, ()),
}
# entries whose wrong password counts against the account it names (the throttle and its audit entry; see _state)
COUNTS_FAILURES = {"auth.login"}
# ID-number fields that are the person's own (their profile shows the ID read-only and refuses a change), and the
# base form whose subclasses carry the cases
OWN_ONLY = {"ProfileForm.id_number", "PersonForm.id_number"}


def _all_modules():
    for info in pkgutil.walk_packages(tuanjian.__path__, "tuanjian."):
        yield importlib.import_module(info.name)


def id_number_inputs() -> set[str]:
    """Every form field, import column table and exchanged table of the app that takes an ID number."""
    from flask_wtf import FlaskForm
    found, tables = set(), {}
    for module in _all_modules():
        for attr, value in vars(module).items():
            if isinstance(value, type) and issubclass(value, FlaskForm) and value.__module__ == module.__name__:
                for field in dir(value):
                    if "id_number" in field and not field.startswith("_"):
                        found.add(f"{value.__name__}.{field}")
            elif isinstance(value, dict) and attr.isupper() and "id_number" in value.values() and \
                    all(isinstance(k, str) for k in value):
                tables.setdefault(id(value), set()).add(f"{module.__name__.rsplit('.', 1)[1]}.{attr}")
    covered = {c for _, _, covers in ENTRIES.values() for c in covers}
    for names in tables.values():      # a column table imported elsewhere is one table: any of its names will do
        found.add(min(names & covered) if names & covered else min(names))
    from tuanjian.services import exchange
    found |= {f"exchange.{s.name}" for s in exchange.SPECS if "id_number" in s.key}
    return found


def test_every_id_number_input_has_a_person_matrix_case(app):
    covered = {c for _, _, covers in ENTRIES.values() for c in covers} | OWN_ONLY
    missing = sorted(id_number_inputs() - covered)
    assert not missing, f"inputs that take an ID number but have no person-matrix case: {missing}"
    with app.test_request_context():
        endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    assert set(ENTRIES) <= endpoints


@pytest.mark.parametrize("entry", sorted(ENTRIES))
@pytest.mark.parametrize("where", ["sibling", "above", "admin"])
def test_person_matrix(client, session, login, tree, world, entry, where):
    fn, message, _ = ENTRIES[entry]
    person, orgs = world[where]
    secrets = ([re.escape(o.short_name) for o in orgs] + [re.escape(o.code) + r"(?![.\d])" for o in orgs]
               + [person.phone])
    for name in (person.name, WRONG_NAME):
        login(tree.township_admin)
        before = _state(session, person.id, entry=entry)
        audit_before = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.org_id.in_([o.id for o in orgs])))
        responses = fn(client, session, tree, person, name)
        label = f"{entry}, a person held {where}, typed name {'right' if name == person.name else 'wrong'}"
        texts = []
        for resp in responses:
            assert resp.status_code < 500, label
            texts.append(_text(resp))
        body = "\n".join(texts)
        for secret in secrets:
            assert not re.search(secret, body), f"{label}: reveals {secret}"
        if name != person.name:
            assert person.name not in body, f"{label}: reveals the name"
        if message is not None:
            assert message in body, f"{label}: the one message is missing"
        assert _state(session, person.id, entry=entry) == before, f"{label}: the person changed"
        # nothing was filed on the person's side either: no write happened to them (a failed login is filed for
        # the account's own admins to see)
        assert entry in COUNTS_FAILURES or session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.org_id.in_([o.id for o in orgs]))) == audit_before, label
        session.rollback()


def test_right_and_wrong_name_get_the_same_answer(client, session, login, tree, world):
    """The single-entry forms answer a foreign ID with the same status and message whatever name is typed."""
    login(tree.township_admin)
    for entry in ("members.create", "cadres.add", "orgs.save_info"):
        fn, message, _ = ENTRIES[entry]
        for where in ("sibling", "above", "admin"):
            person, _ = world[where]
            answers = []
            for name in (person.name, WRONG_NAME):
                resp = fn(client, session, tree, person, name)[0]
                page = resp.get_data(as_text=True).replace(name, "某某")
                page = re.sub(r'<p class="flash flash-success">[^<]*</p>|"X-CSRFToken": "[^"]*"'
                              r'|name="csrf_token" value="[^"]*"', "", page)
                answers.append((resp.status_code, " ".join(page.split())))
            assert answers[0][0] == answers[1][0] and message in answers[0][1], (entry, where)
            a, b = (x[1].replace("> <", ">\n<").splitlines() for x in answers)
            diff = "\n".join(difflib.unified_diff(a, b, lineterm="", n=0))
            assert not diff, f"{entry} ({where}): right and wrong name answer differently:\n{diff}"
