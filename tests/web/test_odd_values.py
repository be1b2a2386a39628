"""Every route of the app, GET and POST, answered with odd values in every usual field and query argument, on
both databases: never a 500. The values are the ones that once found 500s (a NUL that PostgreSQL refuses, a page
number past any database integer, digits isdigit() accepts but int() does not) and other classics."""
from __future__ import annotations

from tuanjian.demo import seed_demo
from tuanjian.extensions import db
from tuanjian.models import utcnow

from ..e2e.sweep import prepare
from ..factories import make_code

ODD = ["\x00", "340827199003124504", "²", "-1", "1e9", "a" * 5000, "%_\\", "\u202e０１２"]
FIELDS = ["q", "page", "org_id", "id_number", "name", "phone", "ethnicity", "political_status", "join_date",
          "education", "occupation", "workplace", "reason", "key", "mode", "school_code", "youth_count",
          "has_application", "has_card", "card_year", "has_letter", "direction", "position", "code", "short_name",
          "kind", "target_id", "new_parent_id", "post_id", "deadline", "password", "note", "on"]
SKIP = {"static", "auth.logout"}


def _more_ids(app, ids) -> dict:
    """Ids the page sweep does not need (objects only POST routes take): a transfer request, an admin grant and
    a registration code below the county, plus an exception key."""
    from sqlalchemy import select

    from tuanjian.models import AdminGrant, Member, Org, TransferRequest
    with app.app_context():
        s = db.session
        member = s.get(Member, ids.member)
        req = TransferRequest(member_id=member.id, from_org_id=member.org_id, to_org_id=ids.branch, status="pending")
        s.add(req)
        s.flush()
        grant = s.scalar(select(AdminGrant.id).where(AdminGrant.org_id == ids.township))
        code = make_code(s, s.get(Org, ids.township)).id
        out = {"transfer_id": req.id, "grant_id": grant, "code_id": code, "key": ids.exception_keys[0]}
        s.commit()
        s.remove()
    assert None not in out.values(), out
    return out


def test_every_route_survives_odd_values(app, client):
    settings = app.extensions["tuanjian_settings"]
    with app.app_context():
        logins = seed_demo(db.session, settings, utcnow())
        db.session.commit()
    ids = prepare(app)
    extra = _more_ids(app, ids)
    county = next(x for x in logins if x.role == "县团委管理员")
    assert client.post("/auth/login", data={"id_number": county.id_number,
                                            "password": county.password}).status_code == 302
    app.config["WTF_CSRF_ENABLED"] = False
    failures, tried = [], 0
    with app.test_request_context():
        from flask import url_for
        targets = []
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
            if rule.endpoint in SKIP:
                continue
            args = {a: extra[a] if a in extra else ids.value(rule.endpoint, a, None) for a in rule.arguments}
            targets.append((url_for(rule.endpoint, **args), sorted(rule.methods - {"HEAD", "OPTIONS"})))
    for url, methods in targets:
        for method in methods:
            for odd in ODD:
                data = {name: odd for name in FIELDS}
                resp = client.get(url, query_string=data) if method == "GET" else client.post(url, data=data)
                tried += 1
                if resp.status_code >= 500:
                    failures.append(f"{method} {url} with {odd[:12]!r}: {resp.status_code}")
    assert tried > 500
    assert not failures, "\n".join(failures)
