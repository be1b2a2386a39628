"""One transaction per request (issue 29): a POST that fails after its first write leaves nothing half-written.

Every writing service records its audit entry in the same transaction; here the recorder writes the entry,
flushes it (with every write before it) and then fails, in each POST view of the scope matrix (the county admin on
its own organisation). The database must be exactly as before, row for row, and the answer a 500 page. The views
used to commit in the middle of a request; now the one commit is web.actions.end_transaction, after the view.
"""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from tuanjian.models import Base
from tuanjian.services import audit

from .test_scope_matrix import CASES
from .test_scope_matrix import world as world  # noqa: F401 -- the fixture


class Injected(RuntimeError):
    """The failure injected after a service's first flushed write."""


def fingerprint(session) -> str:
    """Every row of every table, in primary-key order."""
    session.expire_all()
    digest = hashlib.sha256()
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table).order_by(*table.primary_key.columns)):
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


@pytest.fixture
def failing_audit(monkeypatch, session):
    """Call it to arm the failure (after logging in, which records an entry too); it lists the failures."""
    calls = []
    original = audit.record

    def record(*args, **kwargs):
        original(*args, **kwargs)
        session.flush()                             # the writes so far reach the database, uncommitted
        calls.append(kwargs.get("summary", ""))
        raise Injected("injected after the first write")

    def arm():
        monkeypatch.setattr(audit, "record", record)
        return calls
    return arm


POSTS = sorted(e for e, (method, _) in CASES.items() if method == "POST")


def test_a_failed_post_leaves_nothing_half_written(app, client, session, login, world, failing_audit):
    from flask import url_for
    person, orgs = world["county"]
    login(person)
    failing_audit = failing_audit()
    reached = []
    for endpoint, relation in [(e, r) for e in POSTS for r in ("own", "descendant")]:
        kwargs, data = CASES[endpoint][1](session, orgs[relation])
        session.commit()
        with app.test_request_context():
            url = url_for(endpoint, **kwargs)
        before, calls = fingerprint(session), len(failing_audit)
        resp = client.post(url, data=data)
        after = fingerprint(session)
        if len(failing_audit) > calls:              # the view wrote, then failed: nothing may be left
            reached.append(endpoint)
            assert resp.status_code == 500, f"{endpoint}: {resp.status_code}"
            assert after == before, f"{endpoint} → {resp.status_code}: the database changed"
        elif resp.status_code >= 400:               # refused before writing (the matrix's data is not always valid)
            assert after == before, f"{endpoint} → {resp.status_code}: the database changed"
    # the test must reach the failure in the views that used to commit mid-request and in form_action's
    assert {"orgs.issue_code", "orgs.revoke_code", "orgs.batch_codes", "orgs.issue_slips", "orgs.reorder",
            "people.issue_reset_code", "orgs.create_child", "orgs.revoke_admin", "people.correct",
            "members.commit_batch", "cadres.commit_batch", "orgs.commit_batch", "exchange.apply",
            "supervision.create_campaign", "members.reveal", "members.refuse_transfer"} <= set(reached), reached


def test_a_failed_reading_audit_keeps_nothing(app, client, session, login, world, failing_audit):
    """A GET that records what it shows (an export, a print) commits only when its answer succeeds."""
    from flask import url_for
    person, orgs = world["county"]
    login(person)
    failing_audit = failing_audit()
    for endpoint in ("members.export", "supervision.export", "supervision.export_excepted", "members.print_list",
                     "exchange.zhtj"):
        kwargs, _ = CASES[endpoint][1](session, orgs["own"])
        session.commit()
        with app.test_request_context():
            url = url_for(endpoint, **kwargs)
        before, calls = fingerprint(session), len(failing_audit)
        resp = client.get(url)
        assert len(failing_audit) == calls + 1 and resp.status_code == 500, endpoint
        assert fingerprint(session) == before, endpoint


def test_a_refused_login_keeps_its_counters_and_a_wrong_password_change_its_count(client, session, login, tree):
    """keep(): the writes of a refused request that must survive its 4xx answer are committed."""
    from tuanjian.models import Account
    resp = client.post("/auth/login", data={"id_number": tree.county_admin.id_number, "password": "wrong-password"})
    assert resp.status_code == 401
    session.expire_all()
    account = session.scalar(select(Account).where(Account.person_id == tree.county_admin.id))
    assert account.failed_logins == 1
    login(tree.county_admin)
    resp = client.post("/auth/password", data={"current": "wrong-password", "new": "Abcdefg12345",
                                               "confirm": "Abcdefg12345"})
    assert resp.status_code == 422
    session.expire_all()
    assert session.get(Account, account.id).failed_logins >= 1


def test_a_commit_that_fails_is_a_clear_answer_and_drops_the_flash(app, client, session, login, tree, monkeypatch):
    """A commit refused by the database (another request's unique key) is a Chinese 409, not a 500, and the
    page after it does not say 已生成."""
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm import Session
    login(tree.county_admin)

    def refuse(self):
        raise IntegrityError("COMMIT", {}, Exception("duplicate key"))
    monkeypatch.setattr(Session, "commit", refuse)
    resp = client.post(f"/orgs/{tree.township.id}/code")
    monkeypatch.undo()
    assert resp.status_code == 409
    assert "没有保存" in resp.get_data(as_text=True)
    page = client.get(f"/orgs/{tree.county.id}").get_data(as_text=True)
    assert "已为" not in page
