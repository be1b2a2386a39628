"""Races that must not corrupt data, on SQLite and PostgreSQL."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from sqlalchemy import func, select

from tuanjian.demo import make_id
from tuanjian.models import Account, AdminGrant, CadrePost, Person, RegistrationCode

from .factories import make_code


def _register_all(app, session, forms):
    session.rollback()          # the test's own session holds no transaction while the requests race
    barrier = threading.Barrier(len(forms))

    def one(data):
        client = app.test_client()
        barrier.wait()
        resp = client.post("/register/", data=data)
        return resp.status_code, resp.get_data(as_text=True)

    with ThreadPoolExecutor(max_workers=len(forms)) as pool:
        return list(pool.map(one, forms))


def _form(org, code, i):
    return {"org_id": org.id, "position": "委员" if org.kind == "leading" else "组织委员", "code": code,
            "name": "并发", "id_number": make_id(date(1996, 1, 1 + i % 28), 200 + i * 3, True),
            "phone": "13900000000", "ethnicity": "汉族", "political_status": "共青团员", "join_date": "2010-05",
            "password": "concur2026", "password_confirm": "concur2026"}


def test_twenty_parallel_redemptions_of_one_code_make_one_admin(app, session, tree):
    code = make_code(session, tree.sibling)
    session.commit()
    results = _register_all(app, session, [_form(tree.sibling, code.code, i) for i in range(20)])
    statuses = sorted(s for s, _ in results)
    assert statuses.count(200) == 1, statuses
    assert all(s in (409, 422) for s in statuses if s != 200), statuses
    assert all("Traceback" not in body for _, body in results)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(AdminGrant).where(AdminGrant.org_id == tree.sibling.id,
                                                                               AdminGrant.revoked_at.is_(None))) == 2
    # the 19 losers left nothing behind
    assert session.scalar(select(func.count()).select_from(Person).where(Person.name == "并发")) == 1
    assert session.scalar(select(func.count()).select_from(Account).join(Person).where(Person.name == "并发")) == 1
    assert session.scalar(select(func.count()).select_from(CadrePost).join(Person).where(Person.name == "并发")) == 1
    row = session.get(RegistrationCode, code.id)
    assert row.used_at is not None


def test_parallel_registrations_never_exceed_the_admin_limit(app, session, tree):
    # sibling has 1 admin; grassroots limit is 3; five valid codes race for the two free places
    codes = [make_code(session, tree.sibling).code for _ in range(5)]
    session.commit()
    results = _register_all(app, session, [_form(tree.sibling, c, 40 + i) for i, c in enumerate(codes)])
    statuses = sorted(s for s, _ in results)
    assert statuses.count(200) == 2, statuses
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(AdminGrant).where(AdminGrant.org_id == tree.sibling.id,
                                                                               AdminGrant.revoked_at.is_(None))) == 3
