"""What a page of the deadline day costs in SQL statements (issue 29): the logged-in user, their person and their
admin grants come in one statement, and nothing is loaded twice. Counts, not timings (bench/request_cpu.py times)."""
from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tuanjian.extensions import db


@contextmanager
def statements():
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()))
    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def _selects(seen: list[str]) -> list[str]:
    return [s for s in seen if s.upper().startswith("SELECT")]


@pytest.mark.parametrize("page", ["/orgs/{org}", "/members/org/{branch}", "/progress/org/{org}", "/help"])
def test_a_page_loads_the_user_and_grants_in_one_statement_and_nothing_twice(client, tree, login, page):
    login(tree.county_admin)
    url = page.format(org=tree.county.id, branch=tree.village.id)
    db.session.expunge_all()            # a request of the server starts from an empty session, not the test's
    with statements() as seen:
        resp = client.get(url)
    assert resp.status_code == 200
    selects = _selects(seen)
    reading_accounts = [s for s in selects if re.search(r"\bFROM accounts\b|\bJOIN accounts\b", s)]
    reading_grants = [s for s in selects if re.search(r"\bFROM admin_grants\b|\bJOIN admin_grants\b", s)
                      and " count(" not in s]
    assert len(reading_accounts) == 1, reading_accounts
    assert reading_grants == reading_accounts, "the grants come with the account"
    assert len(selects) == len(set(selects)), [s for s in selects if selects.count(s) > 1]


def test_an_exception_list_of_orgs_counts_their_members_in_one_statement(client, tree, login):
    """团员人数 of every organisation on an exception list comes from one read of the stats rows, not one each."""
    login(tree.county_admin)
    url = f"/progress/org/{tree.county.id}/exceptions/no_secretary"
    db.session.expunge_all()
    with statements() as seen:
        resp = client.get(url)
    assert resp.status_code == 200
    stats_reads = [s for s in _selects(seen) if "FROM org_stats" in s or "JOIN org_stats" in s]
    assert len(stats_reads) <= 2, stats_reads          # the list itself, and the members below its organisations
