"""上报文件 through the same upload → preview → commit pipeline as every import (issue 29): the pending import batch,
its totals, the error workbook, a double or stale commit refused, another admin of the same org committing, and the
layers of services/exchange."""
from __future__ import annotations

import ast
import io
import re
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import func, select

from tuanjian.models import AuditEntry, ImportBatch, Org
from tuanjian.services import exchange

from ..factories import make_admin, new_id
from .helpers import add_row, branch_below_branch, township_package

ALERT = re.compile(r'role="alert">(.*?)</p>', re.S)
PACKAGE = Path(exchange.__file__).resolve().parents[2]          # tuanjian/


def _upload(client, org, data, name="上报文件.zip"):
    return client.post(f"/exchange/org/{org.id}/upload", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _batch_id(resp) -> int:
    assert resp.status_code == 302, ALERT.search(resp.get_data(as_text=True))
    return int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def _renamed(tree, full_name):
    def edit(tables):
        orgs = tables["orgs"]
        col, code = orgs["columns"].index("full_name"), orgs["columns"].index("code")
        for row in orgs["rows"]:
            if row[code] == tree.village.code:
                row[col] = full_name
    return edit


def _counts(session):
    session.expire_all()
    return {m.__tablename__: session.scalar(select(func.count()).select_from(m)) for m in (Org, AuditEntry)}


def test_a_package_with_row_errors_is_a_pending_batch_with_an_error_workbook(client, session, login, tree):
    """A branch below a branch (a placement rule) and a new person without 性别 and 出生日期: the upload gives a
    preview (as every import does) with the totals, the two error rows and the error workbook; the commit is refused
    (a package is applied whole) and nothing is written."""
    idn = new_id()

    def edit(tables):
        branch_below_branch(tree)(tables)
        people = tables["people"]
        keep = [i for i, c in enumerate(people["columns"]) if c not in ("gender", "birth_date")]
        people["columns"] = [people["columns"][i] for i in keep]
        people["rows"] = [[r[i] for i in keep] for r in people["rows"]]
        add_row(people, id_number=idn, name="新人")
        add_row(tables["members"], person_id=idn, dev_number=None, org_id=tree.village.code)
    from ..factories import make_member
    make_member(session, tree.village, name="李一")
    session.commit()
    data = township_package(session, tree, edit)
    login(tree.county_admin)
    before = _counts(session)
    batch_id = _batch_id(_upload(client, tree.county, data))
    batch = session.get(ImportBatch, batch_id)
    assert (batch.kind, batch.status, batch.org_id) == ("package", "pending", tree.county.id)
    assert batch.totals["error"] == 2 and batch.totals["new"] == 1 and batch.totals["ok"] >= 4
    tables = batch.report["meta"]["tables"]
    assert (tables["orgs"]["adds"], tables["orgs"]["errors"], tables["people"]["errors"]) == (0, 1, 1)
    assert tables["members"]["adds"] == 1
    page = client.get(f"/exchange/packages/{batch_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "签名核验通过" in html and "2 行有错误" in html
    assert f"组织 {tree.village.code}.001 的类别不能建在其上级组织之下" in html and "缺少“性别、出生日期”" in html
    assert f"/exchange/packages/{batch_id}/errors.xlsx" in html and idn not in html
    assert re.search(r"<button[^>]*disabled>确认导入", html)

    wb = client.get(f"/exchange/packages/{batch_id}/errors.xlsx")
    assert wb.status_code == 200 and wb.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(wb.data))
    sheets = {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in book.worksheets}
    assert set(sheets) - {"下拉列表"} == {"团组织", "人员"}          # one sheet per table with errors
    assert sheets["团组织"][0] == ["项目", "改动", "原行号", "错误说明"]
    [org_row] = sheets["团组织"][1:]
    assert org_row[0] == f"{tree.village.code}.001" and "类别不能建在其上级组织之下" in org_row[3]
    assert isinstance(org_row[2], int) and org_row[2] >= 1
    [person_row] = sheets["人员"][1:]
    assert idn not in str(person_row) and idn[:6] in person_row[0] and "缺少“性别、出生日期”" in person_row[3]

    done = client.post(f"/exchange/packages/{batch_id}/apply")
    body = done.get_data(as_text=True)
    assert done.status_code == 409 and "没有导入任何数据" in body and "2 处错误" in body
    assert _counts(session) == before
    session.expire_all()
    assert session.get(ImportBatch, batch_id).status == "pending"
    assert session.query(Org).filter_by(code=tree.village.code + ".001").count() == 0


def test_a_package_committed_twice_is_refused_the_second_time(client, session, login, tree):
    data = township_package(session, tree, _renamed(tree, "中国共产主义青年团城东村支部委员会改"))
    login(tree.county_admin)
    batch_id = _batch_id(_upload(client, tree.county, data))
    batch = session.get(ImportBatch, batch_id)
    assert batch.totals["update"] == 1 and batch.totals["error"] == 0
    assert "更新 1" in client.get(f"/exchange/packages/{batch_id}").get_data(as_text=True)
    first = client.post(f"/exchange/packages/{batch_id}/apply")
    assert first.status_code == 302
    assert "上报文件已导入" in client.get(first.headers["Location"]).get_data(as_text=True)
    entries = _counts(session)
    again = client.post(f"/exchange/packages/{batch_id}/apply")
    assert again.status_code == 409 and exchange.ALREADY_APPLIED in again.get_data(as_text=True)
    assert _counts(session) == entries
    session.expire_all()
    assert session.get(Org, tree.village.id).full_name.endswith("改")
    assert session.get(ImportBatch, batch_id).result["totals"]["orgs"]["updates"] == 1


def test_a_stale_batch_is_refused_when_a_newer_package_was_applied_meanwhile(client, session, login, tree):
    """Two previews waiting: the newer package is applied first; the older one's commit is planned again against
    the current data and refused (older than what was applied), nothing written."""
    older = township_package(session, tree, _renamed(tree, "旧名称团支部委员会"))
    newer = township_package(session, tree, _renamed(tree, "新名称团支部委员会"))
    login(tree.county_admin)
    old_id = _batch_id(_upload(client, tree.county, older))
    new_id_ = _batch_id(_upload(client, tree.county, newer))
    assert client.post(f"/exchange/packages/{new_id_}/apply").status_code == 302
    before = _counts(session)
    stale = client.post(f"/exchange/packages/{old_id}/apply")
    assert stale.status_code == 409 and "不能用旧数据覆盖新数据" in stale.get_data(as_text=True)
    assert _counts(session) == before
    session.expire_all()
    assert session.get(Org, tree.village.id).full_name == "新名称团支部委员会"
    assert session.get(ImportBatch, old_id).status == "pending"


def test_another_admin_of_the_same_org_may_commit_and_is_the_one_audited(client, session, login, tree, app):
    """As for every import: the batch belongs to the org, so another admin of the county commits it (planned again
    with the committer's reach, audited under the committer); an admin below the county cannot even see it."""
    deputy = make_admin(session, tree.county, name="县副")
    session.commit()
    data = township_package(session, tree, _renamed(tree, "中国共产主义青年团城东村支部委员会副本"))
    login(tree.county_admin)
    batch_id = _batch_id(_upload(client, tree.county, data))
    below = app.test_client()
    login(tree.township_admin, c=below)
    assert below.get(f"/exchange/packages/{batch_id}").status_code == 404
    assert below.post(f"/exchange/packages/{batch_id}/apply").status_code == 404
    assert below.get(f"/exchange/packages/{batch_id}/errors.xlsx").status_code == 404
    other = app.test_client()
    login(deputy, c=other)
    assert other.post(f"/exchange/packages/{batch_id}/apply").status_code == 302
    session.expire_all()
    batch = session.get(ImportBatch, batch_id)
    assert batch.status == "committed" and batch.created_by_id == tree.county_admin.id
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "exchange.import"))
    assert entry.actor_person_id == deputy.id
    assert session.get(Org, tree.village.id).full_name.endswith("副本")


def test_a_pending_package_is_listed_and_cancelled_like_any_import(client, session, login, tree):
    data = township_package(session, tree, _renamed(tree, "取消测试团支部委员会"))
    login(tree.county_admin)
    batch_id = _batch_id(_upload(client, tree.county, data))
    page = client.get(f"/exchange/org/{tree.county.id}").get_data(as_text=True)
    assert f"/exchange/packages/{batch_id}" in page and "待确认" in page
    done = client.post(f"/exchange/packages/{batch_id}/cancel")
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/exchange/org/{tree.county.id}")
    assert client.post(f"/exchange/packages/{batch_id}/apply").status_code == 409
    session.expire_all()
    assert session.get(ImportBatch, batch_id).status == "cancelled"
    assert session.get(Org, tree.village.id).full_name != "取消测试团支部委员会"


# ---------------------------------------------------------------- layers

def _imports(path: Path) -> set[str]:
    from tests.test_layers import imported_modules
    return set(imported_modules(path))


def test_the_exchange_modules_keep_to_their_jobs():
    """wire (the file) knows nothing of planning or applying; plan reads and never writes; apply does not plan;
    flow (the import batch) is the only one that knows batches; no module imports Flask or the web layer; the web
    and the CLI use the package's public names only."""
    root = PACKAGE / "services" / "exchange"
    mods = {p.stem: p for p in root.glob("*.py")}
    assert set(mods) == {"__init__", "wire", "keys", "plan", "apply", "flow"}
    forbidden = ("flask", "flask_login", "flask_wtf", "werkzeug.local", "tuanjian.web")
    pkg = "tuanjian.services.exchange"
    for name, path in mods.items():
        found = _imports(path)
        assert not [m for m in found if m.startswith(forbidden)], name
    assert not {m for m in _imports(mods["wire"]) if m.startswith((f"{pkg}.plan", f"{pkg}.apply", f"{pkg}.flow"))}
    assert not {m for m in _imports(mods["keys"]) if m.startswith((f"{pkg}.wire", f"{pkg}.plan", f"{pkg}.apply"))}
    assert not {m for m in _imports(mods["plan"]) if m.startswith((f"{pkg}.apply", f"{pkg}.flow"))}
    assert not {m for m in _imports(mods["apply"]) if m.startswith(f"{pkg}.flow")}
    for name in ("wire", "keys", "plan", "apply"):
        assert not {m for m in _imports(mods[name]) if m.startswith("tuanjian.services.imports")}, name
    # only apply writes the exchanged tables, and the person tables only through their owners
    writes = re.compile(r"\.insert\(\)|\.values\(\w|session\.(add|add_all|delete|merge)\("
                        r"|(insert|update)_rows\(|set_where\(")
    for name in ("wire", "plan", "flow"):
        assert not writes.search(mods[name].read_text("utf-8")), name
    apply_src = ast.parse(mods["apply"].read_text("utf-8"))
    tables = {n.args[0].value for n in ast.walk(apply_src) if isinstance(n, ast.Call)
              and getattr(n.func, "id", None) == "table" and n.args and isinstance(n.args[0], ast.Constant)}
    assert tables == {"orgs"}        # every other table through _owner(name) (services/owners)
    for caller in (PACKAGE / "exchange" / "views.py", PACKAGE / "exchange" / "cli.py"):
        assert not {m for m in _imports(caller) if m.startswith(f"{pkg}.")}, caller.name
