"""The layers stay apart: domain/ and services/ import neither Flask nor the web layer (settings, secrets and time
are passed in by the views and commands), so they run the same from a view, a command or a script."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tuanjian"
FORBIDDEN = ("flask", "flask_login", "flask_wtf", "flask_sqlalchemy", "werkzeug.local", "tuanjian.web")


def imported_modules(path: Path) -> list[str]:
    """Every module ``path`` imports (in functions too), relative imports resolved against the tuanjian package."""
    return imports_of(path.read_text(encoding="utf-8"), ["tuanjian", *path.relative_to(PACKAGE).parent.parts])


def imports_of(source: str, parts: list[str]) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = parts[:len(parts) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            names.append(module)
            names += [f"{module}.{a.name}" for a in node.names]
    return names


@pytest.mark.parametrize("layer", ["domain", "services"])
def test_lower_layers_import_no_flask_and_no_web(layer):
    offenders = {str(path.relative_to(PACKAGE)): bad for path in sorted((PACKAGE / layer).rglob("*.py"))
                 if (bad := [m for m in imported_modules(path) if m.startswith(FORBIDDEN)])}
    assert offenders == {}


def test_the_check_sees_imports_inside_functions_and_relative_ones():
    source = "import flask\ndef f():\n    from ..web.filters import local_time\n    from . import stats\n"
    found = imports_of(source, ["tuanjian", "services"])
    assert {"flask", "tuanjian.web.filters", "tuanjian.web.filters.local_time", "tuanjian.services.stats"} <= set(found)


def test_one_settings_accessor():
    """The rule settings are read in one place (tuanjian.settings_of / current_settings); no module keeps its own
    copy of the accessor."""
    readers = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                     if '"tuanjian_settings"' in p.read_text(encoding="utf-8"))
    assert readers == ["__init__.py"]
    copies = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                    if re.search(r"^def _settings\(", p.read_text(encoding="utf-8"), re.M))
    assert copies == []


def _views():
    return sorted(PACKAGE.glob("*/*views*.py"))


def test_views_hold_no_queries_no_rollbacks_and_no_code_comparisons():
    """Issue 17: views load (web/scope.py), act (services through web.actions.form_action), commit, render. Queries
    live in queries modules, the rollback in form_action, authority in domain/policy.py."""
    found = []
    for path in [*_views(), *sorted((PACKAGE / "web").glob("*.py"))]:
        source = path.read_text(encoding="utf-8")
        rel = path.relative_to(PACKAGE)
        if "select(" in source or "session.query(" in source or "session.execute(" in source:
            found.append(f"{rel}: a query")
        if path.name != "errors.py" and "rollback()" in source and rel.as_posix() not in (
                "web/actions.py", "web/importflow.py"):     # importflow: a database error of a racing import
            found.append(f"{rel}: a rollback outside web.actions.form_action")
        if "views" in path.name and re.search(r"is_within|is_strictly_below|parent_id ==|\.code\.startswith", source):
            found.append(f"{rel}: an authority comparison (ask domain.policy)")
    assert not found, found
    assert len(_views()) > 15


def _calls(source: str, name: str) -> list[int]:
    """Lines of every call of a method ``name`` (``x.commit()``, ``db.session.rollback()``, …) in ``source``."""
    return [node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == name]


def test_one_commit_per_request_in_one_place():
    """Issue 29: views never commit or roll back; the request's one commit is web.actions.end_transaction, the
    rollbacks of a refusal live in the action helpers and the error handlers."""
    found = []
    for path in [*_views(), *sorted((PACKAGE / "web").glob("*.py"))]:
        source = path.read_text(encoding="utf-8")
        rel = path.relative_to(PACKAGE).as_posix()
        found += [f"{rel}:{line}: commit()" for line in _calls(source, "commit") if rel != "web/actions.py"]
        if rel not in ("web/actions.py", "web/errors.py", "web/importflow.py"):
            found += [f"{rel}:{line}: rollback()" for line in _calls(source, "rollback")]
    assert not found, found
    assert len(_calls((PACKAGE / "web/actions.py").read_text(encoding="utf-8"), "commit")) == 1


def test_the_commit_check_sees_calls():
    assert _calls("def v():\n    db.session.commit()\n    s.rollback()\n", "commit") == [2]
    assert _calls("x = 'db.session.commit()'\n", "commit") == []


def test_live_children_have_one_home():
    """Issue 29: "the live children of an org" is written once, queries.children_of (live_children, has_children
    use it); services and views call those."""
    pattern = re.compile(r"parent_id\s*==[^\n]*\n?[^\n]*dissolved_at\.is_\(None\)")
    found = [p.relative_to(PACKAGE).as_posix() for p in sorted(PACKAGE.rglob("*.py"))
             if p.name != "queries.py" or p.parent != PACKAGE
             if pattern.search(p.read_text(encoding="utf-8"))]
    assert not found, found
    assert pattern.search((PACKAGE / "queries.py").read_text(encoding="utf-8"))


def test_no_import_circle_between_the_commands_and_their_helpers():
    """Issue 29: tuanjian.cli lists the command modules; they (and backup.py) take the shared helpers from
    tuanjian.clitools, which imports no command module."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in ("__init__.py", "cli.py"):
            continue
        names = imported_modules(path)
        if any(n == "tuanjian.cli" or n.startswith("tuanjian.cli.") for n in names):
            found.append(f"{rel} imports tuanjian.cli (take the helper from tuanjian.clitools)")
    tools = imported_modules(PACKAGE / "clitools.py")
    found += [f"clitools imports {n}" for n in tools if n.endswith(".cli") or ".cli." in n or n == "tuanjian.backup"]
    assert not found, found


def test_templates_use_the_shared_macros():
    found = []
    for path in sorted((PACKAGE / "templates").rglob("*.html")):
        if path.parent.name == "_macros":
            continue
        source = path.read_text(encoding="utf-8")
        if 'name="csrf_token"' in source:
            found.append(f"{path.name}: a hand-written CSRF input (use csrf())")
        if 'class="crumbs"' in source:
            found.append(f"{path.name}: a hand-written breadcrumb (use breadcrumbs())")
    assert not found, found
