"""One owner per person table (issue 24): only the owner module of a model constructs, changes or deletes its rows.

OWNERS maps each model to its owner module; adding a model takes one line here (and ``owner_of(<table>)`` on the
owner's writers). Two checks keep it so:

- a static one (AST): no other module under ``tuanjian/`` constructs the model, assigns an attribute of an object
  of it, calls ``update(Model)`` / ``delete(Model)`` / ``insert(Model)``, touches ``Model.__table__`` or the table by
  name, or calls ``session.delete`` on it;
- a runtime one (tests/owner_guard.py, installed for the whole suite by conftest): a row of an owned table written
  by code under ``tuanjian/`` while its owner is not writing fails the test that caused it.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests import owner_guard
from tuanjian.models import Base

PACKAGE = Path(__file__).resolve().parents[1] / "tuanjian"
OWNERS_DIR = PACKAGE / "services" / "owners"

# model -> the only module (path under tuanjian/) that writes it
OWNERS: dict[str, str] = {
    "Person": "services/owners/people.py",
    "Member": "services/owners/memberships.py",
    "MembershipEvent": "services/owners/memberships.py",
    "CadrePost": "services/owners/posts.py",
    "PostChange": "services/owners/posts.py",
    "AdminGrant": "services/owners/grants.py",
    "Account": "services/owners/accounts.py",
    "FirstLoginCode": "services/owners/accounts.py",
    "ResetCode": "services/owners/accounts.py",
    "MemberTally": "services/owners/tallies.py",
}

# Modules every owner shares (private to services/owners; each owner wraps them with owner_of for its tables).
SHARED = ("services/owners/_rows.py", "services/owners/_mark.py", "services/owners/__init__.py")


def model(name: str):
    return owner_guard.model_of(name)


def owned_tables() -> dict[str, type]:
    return {model(name).__tablename__: model(name) for name in OWNERS}


def table_owner() -> dict[str, str]:
    return {model(name).__tablename__: path for name, path in OWNERS.items()}


# ---------------------------------------------------------------- the static check

# columns and relationships of each owned model: an attribute assignment to one of these on an object known to be
# of that model is a write
def _attrs(name: str) -> set[str]:
    from sqlalchemy import inspect
    mapper = inspect(model(name))
    return {a.key for a in mapper.attrs}


class _Writes(ast.NodeVisitor):
    """Finds writes of the models ``names`` in one module. Knows a variable's model from: a parameter annotated
    with it, ``x = Model(...)``, ``x = session.get(Model, …)``, ``x = session.scalar(select(Model)…)``, ``for x in
    session.scalars(select(Model)…)``, ``x.person`` / ``x.member`` / ``x.post`` (relationships), and the usual names."""

    HINT_NAMES = {"person": "Person", "holder": "Person", "member": "Member", "post": "CadrePost",
                  "own_post": "CadrePost", "grant": "AdminGrant", "change": "PostChange"}
    RELATIONS = {"person": "Person", "member": "Member", "post": "CadrePost", "grant": "AdminGrant"}

    def __init__(self, names: set[str]):
        self.names = names
        self.found: list[tuple[int, str]] = []
        self.types: dict[str, str] = {}

    # -- what a name holds
    def _model_in(self, node) -> str | None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub.id in self.names:
                return sub.id
            if isinstance(sub, ast.Attribute) and sub.attr in self.names:
                return sub.attr
        return None

    def _type_of(self, node) -> str | None:
        if isinstance(node, ast.Name):
            t = self.types.get(node.id) or self.HINT_NAMES.get(node.id)
            return t if t in self.names else None
        if isinstance(node, ast.Attribute) and node.attr in self.RELATIONS:
            t = self.RELATIONS[node.attr]
            return t if t in self.names else None
        return None

    def visit_FunctionDef(self, node):
        saved = dict(self.types)
        for arg in [*node.args.args, *node.args.kwonlyargs]:
            if arg.annotation is not None and (m := self._model_in(arg.annotation)) is not None:
                self.types[arg.arg] = m
        self.generic_visit(node)
        self.types = saved

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Assign(self, node):
        self._check_targets(node.targets, node.lineno)
        if isinstance(node.value, ast.Call) and (m := self._model_in(node.value)) is not None:
            for t in node.targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        self.types[n.id] = m
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._check_targets([node.target], node.lineno)
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self._check_targets([node.target], node.lineno)
        if (m := self._model_in(node.annotation)) is not None and isinstance(node.target, ast.Name):
            self.types[node.target.id] = m
        self.generic_visit(node)

    def visit_For(self, node):
        if (m := self._model_in(node.iter)) is not None and isinstance(node.target, ast.Name):
            self.types[node.target.id] = m
        self.generic_visit(node)

    def _check_targets(self, targets, lineno):
        for target in targets:
            for t in ast.walk(target):
                if isinstance(t, ast.Attribute) and isinstance(t.ctx, ast.Store):
                    m = self._type_of(t.value)
                    if m is not None and t.attr in _attrs(m):
                        self.found.append((lineno, f"assigns {m}.{t.attr}"))

    def _table_named(self, node) -> str | None:
        """``Model.__table__``, ``table("name")`` or ``….tables["name"]`` of an owned model, else None."""
        if isinstance(node, ast.Attribute) and node.attr == "__table__":
            return self._model_in(node.value)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "table" and node.args
                and isinstance(node.args[0], ast.Constant) and node.args[0].value in self.tables):
            return node.args[0].value
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "tables"
                and isinstance(node.slice, ast.Constant) and node.slice.value in self.tables):
            return node.slice.value
        return None

    def visit_Call(self, node):
        f = node.func
        fname = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
        if fname in self.names:
            self.found.append((node.lineno, f"constructs {fname}"))
        if fname in ("update", "delete", "insert") and node.args and (m := self._model_in(node.args[0])) \
                and isinstance(node.args[0], ast.Name | ast.Attribute):
            self.found.append((node.lineno, f"{fname}({m})"))
        # Core writes of the table: t.insert()/update()/delete(), or the table handed to a helper (insert_many)
        if isinstance(f, ast.Attribute) and f.attr in ("insert", "update", "delete") \
                and (t := self._table_named(f.value)) is not None:
            self.found.append((node.lineno, f"{f.attr}() on the table of {t}"))
        for arg in node.args:
            if isinstance(arg, ast.Attribute) and (t := self._table_named(arg)) is not None:
                self.found.append((node.lineno, f"passes the table of {t}"))
        if fname == "setattr" and node.args and (m := self._type_of(node.args[0])) is not None:
            self.found.append((node.lineno, f"setattr on {m}"))
        if (isinstance(f, ast.Attribute) and f.attr == "delete" and node.args
                and (m := self._type_of(node.args[0])) is not None):
            self.found.append((node.lineno, f"session.delete of {m}"))
        self.generic_visit(node)

    tables: set[str] = set()


def writes_in(source: str, names: set[str]) -> list[tuple[int, str]]:
    finder = _Writes(names)
    finder.tables = {model(n).__tablename__ for n in names}
    finder.visit(ast.parse(source))
    return finder.found


def offenders() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = str(path.relative_to(PACKAGE))
        if rel.startswith("models/") or rel in SHARED:
            continue
        names = {n for n, owner in OWNERS.items() if owner != rel}
        found = writes_in(path.read_text(encoding="utf-8"), names)
        if found:
            out[rel] = [f"line {line}: {what}" for line, what in found]
    return out


def test_only_the_owners_write_the_person_tables():
    assert offenders() == {}


def test_every_owner_module_exists_and_marks_only_its_own_tables():
    """Each owner's public writers are marked (owner_of) with tables it owns, and each owned table has a writer."""
    import importlib
    owners = table_owner()
    marked: dict[str, set[str]] = {}
    for path in set(OWNERS.values()):
        module = importlib.import_module("tuanjian." + path[:-3].replace("/", "."))
        for value in vars(module).values():
            for table in getattr(value, "__owner_tables__", ()):
                marked.setdefault(table, set()).add(path)
    assert {t: {owners[t]} for t in owners} == {t: marked.get(t, set()) for t in owners}


# planted writers: the static check must see each of them
PLANTED = {
    "construct": "from ..models import Person\ndef f(s):\n    s.add(Person(name='x'))\n",
    "annotated": "def f(s, m: Member):\n    m.org_id = 3\n",
    "tuple": "def f(s, member):\n    member.deleted_at, member.deleted_reason = 1, 2\n",
    "loaded": "def f(s):\n    g = s.scalar(select(AdminGrant).where(1))\n    g.revoked_at = 1\n",
    "loop": "def f(s):\n    for p in s.scalars(select(CadrePost)):\n        p.org_id = 2\n",
    "relation": "def f(s, m):\n    m.person.phone = '1'\n",
    "setattr": "def f(s, person, k):\n    setattr(person, k, 1)\n",
    "core update": "def f(s):\n    s.execute(update(Person).values(phone=None))\n",
    "core delete": "def f(s):\n    s.execute(delete(Member))\n",
    "table": "def f(s, rows):\n    insert_many(s, CadrePost.__table__, rows)\n",
    "table insert": "def f(s, rows):\n    s.execute(Person.__table__.insert(), rows)\n",
    "by name": "def f(s, rows):\n    s.execute(table('admin_grants').insert(), rows)\n",
    "metadata": "def f(s):\n    s.execute(Base.metadata.tables['post_changes'].delete())\n",
    "session.delete": "def f(s, grant):\n    s.delete(grant)\n",
}


@pytest.mark.parametrize("case", sorted(PLANTED))
def test_the_static_check_finds_a_planted_second_writer(case):
    assert writes_in(PLANTED[case], set(OWNERS)) != []


def test_the_static_check_leaves_reads_and_other_models_alone():
    source = ("def f(s, org: Org, person):\n    org.short_name = 'x'\n    n = person.phone\n"
              "    s.execute(select(Person).where(Person.id == 1))\n    s.delete(row)\n"
              "    c = table('members').c.org_id\n    s.execute(Org.__table__.insert(), [])\n")
    assert writes_in(source, set(OWNERS)) == []


# ---------------------------------------------------------------- the runtime guard

PLANTED_RUNTIME = '''
from sqlalchemy import update
from tuanjian.models import Member, Person

def orm_write(session, person):
    person.phone = "13900000000"

def construct(session):
    return Person(id_number="x", name="x", gender="男")

def core_write(session):
    session.execute(update(Member).values(has_card=True))
'''


def _planted(kind: str):
    """The planted writer, compiled as if it were a module under tuanjian/ (where the guard looks)."""
    ns: dict = {}
    exec(compile(PLANTED_RUNTIME, str(PACKAGE / "services" / "planted_writer.py"), "exec"), ns)
    return ns[kind]


def test_the_runtime_guard_fails_a_planted_second_writer(app, session):
    from tests import factories
    person = factories.make_person(session)
    owner_guard.check_no_violations()
    _planted("orm_write")(session, person)
    _planted("construct")(session)
    _planted("core_write")(session)
    found = owner_guard.check_no_violations()
    kinds = {f.split(": ", 1)[1] for f in found}
    assert {"assignment of phone of people outside its owner", "construction of people outside its owner",
            "update of members outside its owner"} <= kinds
    assert all(f.startswith("services/planted_writer.py:") for f in found)
    session.rollback()


def test_the_runtime_guard_lets_the_owner_write(app, session):
    from tests import factories
    from tuanjian.services.actor import Actor
    from tuanjian.services.owners import people
    person = factories.make_person(session)
    owner_guard.check_no_violations()
    people.update(session, Actor.system(), person, {"phone": "13900000001"})
    assert owner_guard.check_no_violations() == []
    assert person.phone == "13900000001"


def test_the_guard_covers_every_owned_table():
    owner_guard.install(owned_tables())
    assert set(owned_tables()) <= owner_guard._owned()
    assert {t.name for t in Base.metadata.sorted_tables} >= set(owned_tables())
