"""Command line: flask --app tuanjian <command>. Commands call the same services as the web.

Each feature keeps its commands in its own ``cli.py`` with a ``register(app)`` that adds them to ``app.cli``
(names stay flat: ``flask import-members``, not ``flask members import-members``); ``register_cli`` below is the one
list of those modules. This module also holds the small helpers the commands share.
"""
from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from .domain.canonical import canonical_code
from .domain.errors import DomainError
from .extensions import db
from .models import Org


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


def add_flat(app: Flask, group: click.Group) -> None:
    """Add a feature's commands to ``app.cli`` under their own names (no group name in front)."""
    for command in group.commands.values():
        app.cli.add_command(command)


class CliError(click.ClickException):
    """A command failure in Chinese: "错误：…" on stderr, exit code 1 (click's own says "Error: …")."""

    def show(self, file=None) -> None:
        click.echo(f"错误：{self.format_message()}", err=True, file=file)


def fail(exc: DomainError):
    """Roll back and stop the command with the domain error's Chinese message (exit status 1)."""
    db.session.rollback()
    raise CliError(exc.message)


def org_by_code(org_code: str) -> Org:
    org = db.session.scalar(select(Org).where(Org.code == canonical_code(org_code)))
    if org is None:
        raise CliError(f"没有代码为 {org_code} 的组织")
    return org
