"""Races that must not corrupt data, on SQLite and PostgreSQL."""
from __future__ import annotations

import re
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


# ---------------------------------------------------------------- admin limit: registrations and grants together

def _race(app, session, jobs):
    """Run each ``job(client)`` in its own thread with its own test client (so its own app context, session and
    database connection), all released at once by a barrier."""
    session.rollback()
    barrier = threading.Barrier(len(jobs))

    def one(job):
        fn, client = job
        barrier.wait()
        resp = fn(client)
        return resp.status_code, resp.get_data(as_text=True)

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(one, jobs))


def _active_grants(session, org):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(AdminGrant).where(AdminGrant.org_id == org.id,
                                                                               AdminGrant.revoked_at.is_(None)))


def _grant_job(post_id, org_id):
    return lambda c: c.post(f"/orgs/{org_id}/admins", data={"post_id": post_id})


def _register_job(data):
    return lambda c: c.post("/register/", data=data)


def _limit_race(app, session, login, org, granters, n_each, start):
    """``n_each`` cadres of ``org`` are granted admin by ``granters`` (in turn) while ``n_each`` registration codes
    of ``org`` are redeemed, all at once."""
    from .factories import make_cadre
    posts = [make_cadre(session, org, name=f"候选{i}", position="组织委员" if not org.org_kind.is_leading else "委员")
             for i in range(n_each)]
    codes = [make_code(session, org).code for _ in range(n_each)]
    session.commit()
    jobs = []
    for i, post in enumerate(posts):
        c = app.test_client()
        login(granters[i % len(granters)], c=c)
        jobs.append((_grant_job(post.id, org.id), c))
    for i, code in enumerate(codes):
        jobs.append((_register_job(_form(org, code, start + i)), app.test_client()))
    return _race(app, session, jobs)


def test_parallel_grants_and_registrations_never_exceed_a_grassroots_limit(app, session, login, tree):
    # sibling (基层团委, limit 3) has 1 admin: 4 grants (by its own admin and the county's) and 4 codes race for 2
    # places
    results = _limit_race(app, session, login, tree.sibling, [tree.sibling_admin, tree.county_admin], 4, 60)
    wins = [s for s, _ in results if s in (200, 302)]
    assert len(wins) == 2, [s for s, _ in results]
    assert all(s in (200, 302, 409, 422) for s, _ in results), [s for s, _ in results]
    assert all("Traceback" not in body and "服务器内部错误" not in body for _, body in results)
    assert any("达到上限" in body for _, body in results)
    assert _active_grants(session, tree.sibling) == 3
    # no loser of the registrations left a person behind; the losing codes stay unused
    assert session.scalar(select(func.count()).select_from(Person).where(Person.name == "并发")) == \
        sum(1 for s, _ in results[4:] if s == 200)
    assert session.scalar(select(func.count()).select_from(RegistrationCode).where(
        RegistrationCode.org_id == tree.sibling.id, RegistrationCode.used_at.is_not(None))) == \
        sum(1 for s, _ in results[4:] if s == 200)


def test_parallel_grants_and_registrations_never_exceed_a_leading_limit(app, session, login, tree):
    # the county (领导机关, limit 2) has 1 admin: 3 grants and 3 codes race for the one place left
    results = _limit_race(app, session, login, tree.county, [tree.county_admin], 3, 80)
    assert sum(1 for s, _ in results if s in (200, 302)) == 1, [s for s, _ in results]
    assert all(s in (200, 302, 409, 422) for s, _ in results), [s for s, _ in results]
    assert all("Traceback" not in body and "服务器内部错误" not in body for _, body in results)
    assert _active_grants(session, tree.county) == 2


# ---------------------------------------------------------------- overlapping member imports

IMPORT_HEAD = ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "所在团支部", "是否为团干部", "团内职务",
               "发展团员编号",
               "手机号码", "学历", "职业", "学习工作单位"]


def _people(n):
    """(name, ID number, 发展团员编号) of n distinct people; names are letters only (digits are not allowed)."""
    return [("导入" + "".join("甲乙丙丁戊己庚辛壬癸"[int(d)] for d in str(i)),
             make_id(date(2004, 1 + i % 12, 1 + i % 28), 300 + i, i % 2 == 0), f"2019{i:08d}") for i in range(n)]


def _import_rows(people, branch, phone):
    return [[name, number, "汉族", "共青团员", "2019-05", branch, "否", "", dev, phone, "普通高中在读", "学生", ""]
            for name, number, dev in people]


def _upload(client, org, people, branch, phone):
    from .factories import text_workbook
    data = text_workbook(IMPORT_HEAD, _import_rows(people, branch, phone), sheet="团员")
    resp = client.post(f"/members/org/{org.id}/import", data={"file": (data, "团员.xlsx")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[-1500:]
    return int(resp.headers["Location"].rsplit("/", 1)[1])


def test_overlapping_imports_by_two_admins_never_duplicate_a_person(app, session, login, tree):
    """The township's, the county's and the branch's admins import overlapping files (in different row orders)
    into the same branch at once. Every ID ends up exactly once; a loser either updated the rows the winner
    created, or failed with a Chinese 409 and wrote nothing (its batch stays pending and can be committed again)."""
    from tuanjian.models import ImportBatch, Member
    everyone = _people(450)
    known = everyone[:60]                       # already members: every file updates them (in different orders)
    session.rollback()
    session.execute(Person.__table__.insert(), [
        {"id_number": n, "name": name, "gender": "男", "birth_date": date(2004, 1, 1), "ethnicity": "汉族",
         "political_status": "共青团员", "join_date": "2019-05", "phone": "13900000000"} for name, n, _ in known])
    ids = dict(session.execute(select(Person.id_number, Person.id).where(
        Person.id_number.in_([n for _, n, _ in known]))).all())
    session.execute(Member.__table__.insert(), [{"person_id": ids[n], "org_id": tree.village.id, "dev_number": dev}
                                                for _, n, dev in known])
    session.commit()
    files = [(tree.township_admin, tree.township, everyone[0:300], "城东村团支部", "13900000001"),
             (tree.county_admin, tree.county, known[::-1] + everyone[150:450][::-1], "城东村团支部", "13900000002"),
             (tree.branch_admin, tree.village, known[30:] + known[:30] + everyone[100:200][::2] + everyone[400:450], "",
              "13900000003")]
    before = session.scalar(select(func.count()).select_from(Person)) - len(known)
    jobs, batches = [], []
    for admin, org, people, branch, phone in files:
        c = app.test_client()
        login(admin, c=c)
        batch_id = _upload(c, org, people, branch, phone)
        batches.append(batch_id)
        jobs.append((lambda cl, b=batch_id: cl.post(f"/members/imports/{b}/commit", data={"mode": "all"}), c))
    results = _race(app, session, jobs)
    statuses = [s for s, _ in results]
    assert all(s in (302, 409) for s in statuses), statuses
    assert 302 in statuses, [re.findall(r'class="flash[^>]*>([^<]*)', b) for _, b in results]
    for (status, body), (_, _, _rows, _, _), batch_id in zip(results, files, batches, strict=True):
        session.expire_all()
        batch = session.get(ImportBatch, batch_id)
        if status == 409:
            assert "另一位管理员" in body and "Traceback" not in body, body[-1500:]
            assert batch.status == "pending"
        else:
            assert batch.status == "committed"
    numbers = [n for _, n, _ in everyone]

    def check_no_duplicates():
        session.expire_all()
        dupes = session.execute(select(Person.id_number, func.count()).group_by(Person.id_number)
                                .having(func.count() > 1)).all()
        assert dupes == []
        assert session.scalar(select(func.count()).select_from(Member).where(Member.deleted_at.is_(None))) == \
            session.scalar(select(func.count(func.distinct(Member.person_id))).select_from(Member))
        session.rollback()

    check_no_duplicates()
    # everything the winners imported is there; nothing only a loser had is
    present = set(session.scalars(select(Person.id_number).where(Person.id_number.in_(numbers))))
    expected = set()
    for (status, _), (_, _, people, _, _) in zip(results, files, strict=True):
        if status == 302:
            expected |= {n for _, n, _ in people}
    assert present == expected
    # a loser's batch commits cleanly afterwards (its overlap becomes updates)
    for (status, _), (admin, *_), batch_id in zip(results, files, batches, strict=True):
        if status == 409:
            c = app.test_client()
            login(admin, c=c)
            resp = c.post(f"/members/imports/{batch_id}/commit", data={"mode": "all"})
            assert resp.status_code == 302, resp.get_data(as_text=True)[-1500:]
    check_no_duplicates()
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Person)) == before + len(set(numbers))
    assert session.scalar(select(func.count()).select_from(Member).join(Person, Member.person_id == Person.id).where(
        Person.id_number.in_(numbers), Member.org_id == tree.village.id, Member.deleted_at.is_(None))) == len(numbers)


def test_an_import_racing_another_writer_of_the_same_people(app, session, login, tree, db_kind):
    """Another transaction inserts person X, then person Y, while the import (file: Y, then X) commits.
    PostgreSQL: the import holds Y and waits for X, the other waits for Y: the database aborts the import (it waited
    first) and the user gets a Chinese 409, nothing written, the batch still pending and committable later.
    SQLite: the import waits for the other writer's lock, then sees X as already known and commits."""
    import time

    from tuanjian.extensions import db
    from tuanjian.models import ImportBatch, Member
    people = _people(2)
    (x_name, x, _), (_, y, _) = people
    c = app.test_client()
    login(tree.branch_admin, c=c)
    batch_id = _upload(c, tree.village, people[::-1], "", "13900000004")
    session.rollback()
    row = {"name": x_name, "gender": "男", "birth_date": date(2004, 1, 1), "ethnicity": "汉族",
           "political_status": "共青团员", "join_date": "2019-05", "phone": "13900000000"}
    with db.engine.connect() as other:
        other.execute(Person.__table__.insert(), [{**row, "id_number": x}])
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(lambda: c.post(f"/members/imports/{batch_id}/commit", data={"mode": "all"}))
            time.sleep(0.5)                         # PostgreSQL: the import has inserted Y and waits for X
            if db_kind == "postgresql":
                other.execute(Person.__table__.insert(), [{**row, "id_number": y, "name": "别人"}])   # a cycle
                other.rollback()
            else:
                other.commit()                      # SQLite: the import waited for the lock; now it runs
            resp = pending.result(timeout=30)
    body = resp.get_data(as_text=True)
    session.expire_all()
    if db_kind == "postgresql":
        assert resp.status_code == 409, body[-1500:]
        assert "另一位管理员" in body
        assert session.get(ImportBatch, batch_id).status == "pending"
        assert session.scalar(select(func.count()).select_from(Person).where(Person.id_number.in_([x, y]))) == 0
        session.rollback()
        resp = c.post(f"/members/imports/{batch_id}/commit", data={"mode": "all"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[-1500:]
    session.expire_all()
    assert session.get(ImportBatch, batch_id).status == "committed"
    assert session.scalar(select(func.count()).select_from(Member).join(Person, Member.person_id == Person.id)
                          .where(Person.id_number.in_([x, y]))) == 2
