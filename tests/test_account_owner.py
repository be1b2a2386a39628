"""The accounts owner (issue 24): ``tuanjian/services/owners/accounts.py`` is the only code that creates or changes
``Account``, ``FirstLoginCode`` and ``ResetCode`` rows. A static check over the whole package: no other module
constructs these models, passes them to ``update``/``insert``/``delete`` or uses their ``__table__``, writes SQL
against their tables, or assigns one of their columns. Column names the models share with other tables
(``locked_until``, ``used_at``, ``revoked_at`` …) may be assigned elsewhere only where the object is known to be of
another model (``OTHER_MODEL_ASSIGNMENTS``); a new one fails until someone checks it and lists it there.

The shared OWNERS table of ``tests/test_owners.py`` lists these models too (its static check by inferred type and its
runtime guard); this file adds the name-based check of the accounts' own columns."""
from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tuanjian"
OWNER = "services/owners/accounts.py"
MODELS = {"Account", "FirstLoginCode", "ResetCode"}
TABLES = ("accounts", "first_login_codes", "reset_codes")
# columns no other model has: assigning them anywhere is writing one of these rows
OWN_COLUMNS = {"password_hash", "claimed_at", "failed_logins", "session_version", "last_login_at",
               "places_fingerprint", "logged_in_at"}
# columns shared with other models (Throttle, RegistrationCode, AdminGrant, CadrePost …)
SHARED_COLUMNS = {"locked_until", "used_at", "revoked_at", "expires_at", "issued_at", "issued_by_id", "code",
                  "person_id", "grant_id"}
# (module, assigned expression): every place outside the owner that assigns a shared column name, with the model
# it really writes
OTHER_MODEL_ASSIGNMENTS = {
    ("services/throttle.py", "row.locked_until"),          # Throttle
    ("services/codes.py", "previous.revoked_at"),          # RegistrationCode
    ("services/owners/grants.py", "row.revoked_at"),       # AdminGrant (revoke, revoke_all)
    ("services/codes.py", "code.revoked_at"),              # RegistrationCode (revoke_code)
    ("services/orgs.py", "o.code"),                        # Org (moving a subtree)
    ("services/orgs.py", "code.revoked_at"),               # RegistrationCode (closing an org)
}
WRITE_SQL = re.compile(r"\b(update|insert\s+into|delete\s+from)\s+\"?(%s)\b" % "|".join(TABLES), re.I)


def _name(node) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def writers(source: str, module: str) -> list[str]:
    """Every write to the owned models in ``source`` (the module's path under tuanjian/, for the allow-list)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = _name(node.func)
            if func in MODELS:
                found.append(f"{module}:{node.lineno}: constructs {func}")
            elif func in ("update", "insert", "delete") and node.args and _name(node.args[0]) in MODELS:
                found.append(f"{module}:{node.lineno}: {func}({_name(node.args[0])})")
            elif func == "setattr" and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) \
                    and node.args[1].value in OWN_COLUMNS:
                found.append(f"{module}:{node.lineno}: setattr(…, {node.args[1].value!r})")
        elif isinstance(node, ast.Attribute) and node.attr == "__table__" and _name(node.value) in MODELS:
            found.append(f"{module}:{node.lineno}: {_name(node.value)}.__table__")
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            flat = []
            for t in targets:
                flat += t.elts if isinstance(t, ast.Tuple) else [t]
            for t in flat:
                if not isinstance(t, ast.Attribute):
                    continue
                text = ast.unparse(t)
                if t.attr in OWN_COLUMNS or (t.attr in SHARED_COLUMNS
                                             and (module, text) not in OTHER_MODEL_ASSIGNMENTS):
                    found.append(f"{module}:{node.lineno}: assigns {text}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and WRITE_SQL.search(node.value):
            found.append(f"{module}:{node.lineno}: SQL writes {WRITE_SQL.search(node.value).group(2)}")
    return found


def package_writers() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = str(path.relative_to(PACKAGE))
        if module != OWNER:
            out += writers(path.read_text(encoding="utf-8"), module)
    return out


def test_only_the_owner_writes_accounts_and_their_codes():
    assert package_writers() == []


def test_the_owner_is_where_the_writes_are():
    """The check is not vacuous: run on the owner itself it finds its writes."""
    found = writers((PACKAGE / OWNER).read_text(encoding="utf-8"), OWNER)
    text = "\n".join(found)
    for expected in ("constructs Account", "constructs FirstLoginCode", "constructs ResetCode",
                     "update(FirstLoginCode)", "update(ResetCode)", "Account.__table__",
                     "assigns account.password_hash", "assigns account.claimed_at", "assigns account.failed_logins"):
        assert expected in text, expected


PLANTED = '''
from sqlalchemy import update, text
from ..models import Account, FirstLoginCode, ResetCode
from .. import models

def sneaky(session, person, account, code):
    session.add(models.Account(person_id=person.id))
    session.add(ResetCode(person_id=person.id, code="P-x"))
    session.execute(update(FirstLoginCode).values(used_at=None))
    session.execute(text("UPDATE accounts SET password_hash = NULL"))
    account.password_hash = None
    account.claimed_at, account.session_version = None, 1
    account.failed_logins += 1
    account.locked_until = None
    code.used_at = None
    setattr(account, "password_hash", None)
    insert_many(session, Account.__table__, [])
'''


def test_a_planted_second_writer_is_found():
    found = writers(PLANTED, "services/sneaky.py")
    assert len(found) == 12, "\n".join(found)
    for needle in ("constructs Account", "constructs ResetCode", "update(FirstLoginCode)", "SQL writes accounts",
                   "assigns account.password_hash", "assigns account.claimed_at", "assigns account.session_version",
                   "assigns account.failed_logins", "assigns account.locked_until", "assigns code.used_at",
                   "setattr(…, 'password_hash')", "Account.__table__"):
        assert any(needle in f for f in found), needle


def test_the_allow_list_has_no_stale_entries():
    """Every listed assignment still exists (a stale entry would let a new writer of the same text through)."""
    seen = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        module = str(path.relative_to(PACKAGE))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    for e in (t.elts if isinstance(t, ast.Tuple) else [t]):
                        if isinstance(e, ast.Attribute):
                            seen.add((module, ast.unparse(e)))
    assert OTHER_MODEL_ASSIGNMENTS <= seen
