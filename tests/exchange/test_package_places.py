"""上报文件 and the person tables (issue 24, classes 1 and 7): placement rules for every org of a package, a missing
required column refused in Chinese (never a 500), and the owners' place rule (tests/services/test_place_matrix.py
has the held-elsewhere cases)."""
from __future__ import annotations

import pytest

from tuanjian import settings_of
from tuanjian.domain.exchange import PackageError
from tuanjian.models import Org, Person, utcnow
from tuanjian.services import exchange
from tuanjian.services.actor import Actor

from ..factories import make_member, new_id


def _county(tree) -> Actor:
    return Actor(person_id=tree.county_admin.id, name="县", org_id=tree.county.id, scope_code=tree.county.code)


def _incoming(session, tree, edit) -> exchange.Incoming:
    """The township's subtree as a package would carry it, edited by ``edit(rows)`` (a hand-edited, re-signed file)."""
    rows = exchange.read_subtree(session, tree.township.code).rows
    rows = {name: dict(table) for name, table in rows.items()}
    edit(rows)
    return exchange.Incoming(root_code=tree.township.code, manifest={"source": {}}, sha256="0" * 64,
                             created_at=utcnow(), rows=rows, ignored_columns={})


def test_placement_is_checked_for_every_org_not_only_the_root(app, session, tree):
    def branch_below_branch(rows):
        village = rows["orgs"][(tree.village.code,)]
        code = tree.village.code + ".001"
        rows["orgs"][(code,)] = {**village, "code": code, "parent_id": tree.village.code, "short_name": "支部下支部"}
    incoming = _incoming(session, tree, branch_below_branch)
    with pytest.raises(PackageError) as refused:
        exchange.plan_import(session, _county(tree), tree.county, incoming, settings=settings_of(app))
    assert "支部下支部" not in refused.value.message
    assert f"组织 {tree.village.code}.001 的类别不能建在其上级组织之下" in refused.value.message
    assert session.query(Org).filter_by(code=tree.village.code + ".001").count() == 0


def test_the_same_package_without_the_bad_org_is_accepted(app, session, tree):
    incoming = _incoming(session, tree, lambda rows: None)
    plan = exchange.plan_import(session, _county(tree), tree.county, incoming, settings=settings_of(app))
    assert plan.empty


def test_a_new_person_with_only_some_columns_is_a_clear_refusal(app, session, tree):
    member = make_member(session, tree.village, name="李一")
    session.commit()

    def bare_person(rows):
        rows["people"][(idn,)] = {"id_number": idn, "name": "新人"}            # no 性别, no 出生日期
        rows["members"][(idn,)] = {**rows["members"][(member.person.id_number,)], "person_id": idn,
                                   "dev_number": None}
    idn = new_id()
    incoming = _incoming(session, tree, bare_person)
    with pytest.raises(PackageError) as refused:
        exchange.plan_import(session, _county(tree), tree.county, incoming, settings=settings_of(app))
    assert "缺少“性别、出生日期”" in refused.value.message
    assert "没有导入任何数据" in refused.value.message and idn not in refused.value.message
    assert session.query(Person).filter_by(id_number=idn).count() == 0


def _resigned(data: bytes, edit) -> bytes:
    """The package unzipped, ``edit(tables)`` applied, and re-signed with the key (as someone holding it could)."""
    import io
    import json
    import zipfile

    from tuanjian.domain import exchange as fmt
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        manifest = json.loads(z.read(fmt.MANIFEST))
        content = json.loads(z.read(fmt.DATA))
    edit(content["tables"])
    return fmt.build(manifest, content, KEY)


KEY = "ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2"


def test_a_missing_column_through_the_upload_page_is_a_chinese_4xx(app, client, session, tree, login):
    """A re-signed package whose people table lacks 性别 and 出生日期, adding a new person as a member: refused with a
    Chinese message and a 4xx (it was a 500: NOT NULL on 性别), nothing written."""
    from io import BytesIO
    make_member(session, tree.village, name="李一")
    session.commit()
    login(tree.township_admin)
    client.post(f"/exchange/org/{tree.village.id}/key", data={"key": KEY})
    data, _ = exchange.export_package(session, Actor.system(), tree.village, now=utcnow(), key=KEY)
    idn = new_id()

    def drop_columns(tables):
        people = tables["people"]
        keep = [i for i, c in enumerate(people["columns"]) if c not in ("gender", "birth_date")]
        people["columns"] = [people["columns"][i] for i in keep]
        people["rows"] = [[r[i] for i in keep] for r in people["rows"]]
        new = dict(zip(people["columns"], people["rows"][0], strict=True)) | {"id_number": idn, "name": "新人"}
        people["rows"].append([new[c] for c in people["columns"]])
        members = tables["members"]
        row = dict(zip(members["columns"], members["rows"][0], strict=True)) | {"person_id": idn, "dev_number": None}
        members["rows"].append([row[c] for c in members["columns"]])
    resp = client.post(f"/exchange/org/{tree.township.id}/upload",
                       data={"file": (BytesIO(_resigned(data, drop_columns)), "上报文件.zip")},
                       content_type="multipart/form-data")
    if resp.status_code in (302, 303):
        resp = client.post(resp.headers["Location"] + "/apply")
    assert 400 <= resp.status_code < 500
    assert "缺少“性别、出生日期”" in resp.get_data(as_text=True)
    session.rollback()
    assert session.query(Person).filter_by(id_number=idn).count() == 0


def test_a_package_may_end_a_place_of_a_person_who_also_holds_one_elsewhere(app, session, tree):
    """Ending a post in the subtree adds no place: accepted (and applied through the owners) even when the person
    also holds a place outside the package's subtree; giving them a new one is refused (the place matrix)."""
    from tuanjian.models import CadrePost
    person = make_member(session, tree.village, name="两处").person
    session.add_all([CadrePost(person_id=person.id, org_id=tree.village.id, position="组织委员"),
                     CadrePost(person_id=person.id, org_id=tree.sibling_branch.id, position="宣传委员")])
    session.commit()
    ended = utcnow().isoformat()

    def end_the_village_post(rows):
        for key, values in rows["cadre_posts"].items():
            if key[0] == person.id_number and key[1] == tree.village.code:
                rows["cadre_posts"][key] = {**values, "ended_at": ended, "end_reason": "换届"}
    incoming = _incoming(session, tree, end_the_village_post)
    actor = _county(tree)
    plan = exchange.plan_import(session, actor, tree.county, incoming, settings=settings_of(app))
    assert len(plan.changes["cadre_posts"].updates) == 1
    exchange.apply_plan(session, actor, plan, now=utcnow())
    session.commit()
    posts = {p.org_id: p.ended_at for p in session.query(CadrePost).filter_by(person_id=person.id)}
    assert posts[tree.village.id] is not None and posts[tree.sibling_branch.id] is None
