"""Two instances (A: a township's own server, B: the county's) and a table comparison that knows nothing of the
exchange service: every column of the exchanged tables (whatever columns they have today), references turned
into natural keys by plain queries."""
from __future__ import annotations

import contextlib
import re
from datetime import date

from sqlalchemy import select

from tuanjian.extensions import db
from tuanjian.models import Base, CadrePost, Org, Person, utcnow
from tuanjian.services import cadres as cadre_service
from tuanjian.services import exchange
from tuanjian.services import members as member_service
from tuanjian.services.actor import Actor

from ..conftest import make_app
from ..factories import make_admin, make_member, make_person, make_tree

KEY = "ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2"
TABLES = ("orgs", "people", "members", "cadre_posts", "post_changes", "admin_grants")
SECRETISH = re.compile(r"password|secret|token|hash", re.I)


@contextlib.contextmanager
def instance(kind, path, **config):
    path.mkdir(parents=True, exist_ok=True)
    app = make_app(kind, path, **{"EXCHANGE_SECRET": KEY, **config})
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def populate(session, tree) -> None:
    """Everything a township's data can hold: org info, members (one deleted, dev numbers), branch cadres, a post
    change and an ended post, admins (one revoked), a dissolved branch and a merged one."""
    from tuanjian.domain.orgtree import OrgKind
    from tuanjian.domain.settings import DEFAULT_SETTINGS
    from tuanjian.models import AdminGrant
    from tuanjian.services.orgs import add_org, create_child, dissolve
    actor = Actor(person_id=tree.township_admin.id, name="张镇", org_id=tree.township.id, scope_code=tree.township.code)
    now = utcnow()
    t = tree.township
    t.full_name, t.industry, t.phone, t.email = ("中国共产主义青年团华阳镇委员会", "农村",
                                                 "0556-1234567", "hy@example.cn")
    t.staff_admin_quota, t.staff_admin_actual, t.staff_inst_quota, t.staff_inst_actual = 2, 1, 0, 0
    t.founded_on, t.youth_count, t.wechat = date(1990, 5, 4), 812, "hytw"
    tree.village.full_name, tree.village.industry = "中国共产主义青年团华阳镇城东村支部委员会", "农村"
    west = create_child(session, actor, t, short_name="城西村团支部", kind=OrgKind.BRANCH, settings=DEFAULT_SETTINGS)
    gone = create_child(session, actor, t, short_name="旧厂团支部", kind=OrgKind.BRANCH, settings=DEFAULT_SETTINGS)
    general = create_child(session, actor, t, short_name="镇直团总支", kind=OrgKind.GENERAL_BRANCH,
                           settings=DEFAULT_SETTINGS)
    office = add_org(session, actor, general, short_name="镇机关团支部", kind=OrgKind.BRANCH,   # as an import nests it
                     settings=DEFAULT_SETTINGS)
    session.flush()
    dissolve(session, actor, gone, reason="企业关停", now=now)
    people = []
    for i, (branch, name) in enumerate([(tree.village, "李一"), (tree.village, "李二"), (west, "王三"),
                                        (office, "赵四"), (office, "钱五")]):
        m = make_member(session, branch, name=name, birth=date(2000 + i, 3, 1 + i), join_date=f"{2015 + i}-05")
        m.dev_number = f"{2015 + i}0010000{i}" if 2015 + i >= 2017 else None
        m.education, m.occupation, m.workplace = "普通高中在读", "学生", "华阳中学"
        people.append(m)
    old = make_member(session, tree.village, name="孙老", birth=date(1994, 1, 1), join_date="2008-05")
    session.flush()
    member_service.delete_member(session, actor, old, reason="迁出外省", now=now)
    secretary = CadrePost(person_id=people[0].person_id, org_id=tree.village.id, position="书记", nature="兼职",
                          start_month="2024-01", party_committee=True)
    clerk = CadrePost(person_id=people[1].person_id, org_id=tree.village.id, position="宣传委员")
    session.add_all([secretary, clerk])
    session.flush()
    cadre_service.change_position(session, actor, clerk, position="组织委员", title=None,
                                  changed_on=date(2025, 3, 1), now=now)
    cadre_service.end_post(session, actor, secretary, ended_on=date(2025, 6, 1), reason="工作调动", now=now)
    committee = make_person(session, name="周委", birth=date(1992, 2, 2), political="中共党员", join_date="2006-05")
    session.add(CadrePost(person_id=committee.id, org_id=t.id, position="委员", nature="专职"))
    deputy = make_admin(session, west, name="吴管")
    grant = session.scalar(select(AdminGrant).where(AdminGrant.person_id == deputy.id))
    grant.revoked_at, grant.revoked_by_id = now, tree.township_admin.id
    session.commit()


def _post_keys(session) -> dict[int, tuple]:
    return {pid: (idn, code, pos, created) for pid, idn, code, pos, created in session.execute(
        select(CadrePost.id, Person.id_number, Org.code, CadrePost.position, CadrePost.created_at)
        .join(Person, CadrePost.person_id == Person.id).join(Org, CadrePost.org_id == Org.id))}


def dump(session, root_code: str) -> dict[str, dict]:
    """The subtree as natural-key rows: every column except surrogate ids and secrets; references by natural key;
    references to tables that do not travel are left out (and listed under '_dropped')."""
    session.expire_all()
    codes = dict(session.execute(select(Org.id, Org.code)).all())
    idns = dict(session.execute(select(Person.id, Person.id_number)).all())
    posts = _post_keys(session)
    refs = {"orgs": codes, "people": idns, "cadre_posts": posts}
    inside = {i for i, c in codes.items() if c == root_code or c.startswith(root_code + ".")}
    out: dict[str, dict] = {"_dropped": set()}

    def norm(name, row):
        t = Base.metadata.tables[name]
        values = {}
        for c in t.columns:
            if c.name == "id" or SECRETISH.search(c.name):
                continue
            fks = list(c.foreign_keys)
            if fks:
                target = fks[0].column.table.name
                if target not in refs:
                    out["_dropped"].add(f"{name}.{c.name}")
                    continue
                values[c.name] = refs[target].get(row[c.name])
            else:
                values[c.name] = row[c.name]
        return values

    def rows(name, cond=None):
        t = Base.metadata.tables[name]
        return [dict(r._mapping) for r in session.execute(select(t) if cond is None else select(t).where(cond))]

    orgs = {codes[r["id"]]: norm("orgs", r) for r in rows("orgs") if r["id"] in inside}
    orgs[root_code].pop("sort_order")          # the root's place among its siblings is the upper level's
    orgs[root_code].pop("parent_id")
    out["orgs"] = orgs
    members = [r for r in rows("members") if r["org_id"] in inside]
    out["members"] = {idns[r["person_id"]]: norm("members", r) for r in members}
    post_rows = [r for r in rows("cadre_posts") if r["org_id"] in inside]
    out["cadre_posts"] = {posts[r["id"]]: norm("cadre_posts", r) for r in post_rows}
    post_ids = {r["id"] for r in post_rows}
    out["post_changes"] = {(posts[r["post_id"]], r["at"]): norm("post_changes", r)
                           for r in rows("post_changes") if r["post_id"] in post_ids}
    out["admin_grants"] = {(codes[r["org_id"]], idns[r["person_id"]], r["granted_at"]): norm("admin_grants", r)
                           for r in rows("admin_grants") if r["org_id"] in inside}
    referenced = set()
    for name in ("members", "cadre_posts", "post_changes", "admin_grants"):
        for values in out[name].values():
            for col, v in values.items():
                if col.endswith("person_id") or col in ("deleted_by_id", "granted_by_id", "revoked_by_id"):
                    if v is not None:
                        referenced.add(v)
    out["people"] = {idns[r["id"]]: norm("people", r) for r in rows("people") if idns[r["id"]] in referenced}
    return out


def county_instance(session):
    """B: the county's own server, with ids that differ from A's (other rows were created first)."""
    from tuanjian.services.orgs import create_root
    create_root(session, Actor.system("测试"), name="共青团别县委员会", code="000.099")
    for i in range(3):
        make_person(session, name=f"先来{i}")
    session.commit()
    return make_tree(session)


RETIRED = {"orgs": "dissolved_at", "members": "deleted_at", "cadre_posts": "ended_at", "admin_grants": "revoked_at"}


def assert_same_subtree(got: dict, expected: dict) -> None:
    """Every row of A's subtree is on B with every column equal; B may keep rows of its own only retired (its
    own admins and posts there before the first package), and the people those rows point at."""
    for name in TABLES:
        shared = {k: v for k, v in got[name].items() if k in expected[name]}
        assert shared == expected[name], name
        extra = {k: v for k, v in got[name].items() if k not in expected[name]}
        if name in RETIRED:
            assert all(v[RETIRED[name]] is not None for v in extra.values()), (name, extra)
        elif name == "post_changes":
            assert not extra, extra


def township_exports(kind, path, changes):
    """Instance A: build the county tree and fill the township; then for each of ``changes`` (None: none) change the
    data and export the township. Returns [(package, counts, dump)] and the township's code."""
    out = []
    with instance(kind, path) as app:
        session = db.session
        tree = make_tree(session)
        populate(session, tree)
        actor = Actor(person_id=tree.township_admin.id, name="张镇", org_id=tree.township.id,
                      scope_code=tree.township.code)
        for change in changes:
            if change:
                change(session, tree)
            data, counts = exchange.export_package(session, actor, tree.township, now=utcnow(),
                                                   default_key=app.config["EXCHANGE_SECRET"])
            session.commit()
            out.append((data, counts, dump(session, tree.township.code)))
        return out, tree.township.code


def township_export(kind, path):
    [(data, counts, expected)], code = township_exports(kind, path, [None])
    return data, counts, expected, code


def resigned(data: bytes, edit, key: str = KEY) -> bytes:
    """The package unzipped, ``edit(tables)`` applied, and re-signed with the key (as someone holding it could)."""
    import io
    import json
    import zipfile

    from tuanjian.domain import exchange as fmt
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        manifest = json.loads(z.read(fmt.MANIFEST))
        content = json.loads(z.read(fmt.DATA))
    edit(content["tables"])
    return fmt.build(manifest, content, key)


def add_row(table: dict, **changes) -> None:
    """A copy of the first row of a package table (``{"columns", "rows"}``) with ``changes``, appended."""
    row = dict(zip(table["columns"], table["rows"][0], strict=True)) | changes
    table["rows"].append([row[c] for c in table["columns"]])


def township_package(session, tree, edit=None) -> bytes:
    """The township's package from this instance (key KEY, set by the system), edited by ``edit(tables)`` and
    re-signed."""
    exchange.set_key(session, Actor.system("测试"), tree.township, KEY, now=utcnow())
    data, _ = exchange.export_package(session, Actor.system("测试"), tree.township, now=utcnow(), key=KEY)
    session.commit()
    return resigned(data, edit) if edit else data


def branch_below_branch(tree):
    """An edit: a 团支部 below 城东村团支部 (a placement rule broken by one row of the 团组织 table)."""
    def edit(tables):
        orgs = tables["orgs"]
        village = next(r for r in orgs["rows"] if r[orgs["columns"].index("code")] == tree.village.code)
        row = dict(zip(orgs["columns"], village, strict=True)) | {
            "code": tree.village.code + ".001", "parent_id": tree.village.code, "short_name": "支部下支部"}
        orgs["rows"].append([row[c] for c in orgs["columns"]])
    return edit
