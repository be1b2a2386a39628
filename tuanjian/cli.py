"""Command line: flask --app tuanjian <command>. Commands call the same services as the web.

Each feature keeps its commands in its own ``cli.py`` with a ``register(app)`` that adds them to ``app.cli``
(names stay flat: ``flask import-members``, not ``flask members import-members``); ``register_cli`` below is the one
list of those modules. The helpers the commands share live in ``clitools.py`` (imported from there, never from
here: this module imports the command modules).
"""
from __future__ import annotations

from flask import Flask

# the helpers' old home, re-exported for command modules written before clitools (new code imports clitools)
from .clitools import ChineseUsageError, CliError, _speak_chinese, add_flat, chinese_usage, fail, org_by_code  # noqa: F401


def register_cli(app: Flask) -> None:
    """Add every feature's commands to ``app.cli``."""
    from .exchange import cli as exchange_cli
    from .main import cli as main_cli
    from .members import cli as members_cli
    from .orgs import cli as orgs_cli
    from .people import cli as people_cli
    from .supervision import cli as supervision_cli

    for module in (orgs_cli, main_cli, members_cli, exchange_cli, supervision_cli):
        module.register(app)
    people_cli.init_app(app)        # check-people (issue 15)
    for command in app.cli.commands.values():
        _speak_chinese(command)
