"""上报文件: export a subtree as one signed package; preview and apply a package under the matching organisation.

One module per job:

- ``wire``: which columns travel and how; a subtree read in exported form; the signed package written (export) and
  read back and verified (``Incoming``);
- ``keys``: the 交换密钥 of a subtree and the links' last imports;
- ``plan``: validate a package against this instance and plan what applying it would change (``Plan``: adds,
  updates, retires, row problems, totals); reads only;
- ``apply``: write a plan through the owners of the person tables (``services/owners``);
- ``flow``: the pending import batch (``services/imports``) behind the web's ``ImportFlow``: preview and commit.

Applying a package makes the subtree on this instance equal to the package: rows are added or updated by natural
key, rows of the subtree that the package no longer has are retired the way the app retires them (organisations
dissolved, members deleted, posts ended, admin rights revoked; nothing is hard-deleted). People are only added
or updated. Accounts and passwords never travel: an admin in the package cannot log in here. Services never
commit; the view or command does, once.
"""
from __future__ import annotations

from .apply import Applied, apply_plan
from .flow import ALREADY_APPLIED, BATCH_KIND, commit_package, preview_package
from .keys import display_key, key_for, key_refusal, last_links, link_for, set_key, settings_secret
from .plan import Plan, Problem, TableChanges, plan_import, to_report
from .wire import (
                  RETIRED_REASON,
                  SPEC,
                  SPECS,
                  BadValue,
                  Incoming,
                  Snapshot,
                  Spec,
                  _label,
                  check_fits,
                  decode,
                  encode,
                  export_package,
                  exported_columns,
                  from_batch_report,
                  package_filename,
                  read_package,
                  read_subtree,
                  to_batch_report,
                  validate,
)

__all__ = ["ALREADY_APPLIED", "BATCH_KIND", "RETIRED_REASON", "SPEC", "SPECS", "Applied", "BadValue", "Incoming",
           "Plan", "Problem", "Snapshot", "Spec", "TableChanges", "_label", "apply_plan", "check_fits",
           "commit_package", "decode", "display_key", "encode", "export_package", "exported_columns",
           "from_batch_report", "key_for", "key_refusal", "last_links", "link_for", "package_filename",
           "plan_import", "preview_package", "read_package", "read_subtree", "set_key", "settings_secret",
           "to_batch_report", "to_report", "validate"]
