"""The helpers every command module shares: flat registration, Chinese usage errors, the Chinese command failure,
the org look-up by code. Command modules (``tuanjian/<feature>/cli.py``) and ``backup.py`` import them from here;
this module imports no command module, so there is no import circle (``tuanjian.cli`` lists the modules)."""
from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from .domain.canonical import canonical_code
from .domain.errors import DomainError
from .extensions import db
from .models import Org


def add_flat(app: Flask, group: click.Group) -> None:
    """Add a feature's commands to ``app.cli`` under their own names (no group name in front)."""
    for command in group.commands.values():
        app.cli.add_command(command)


# click's own usage errors, in Chinese (issue 16.11): (English start, Chinese replacement) applied in order
_USAGE_PHRASES = (
    ("Missing option", "缺少选项"), ("Missing argument", "缺少参数"),
    ("No such option:", "没有这个选项："), ("No such option", "没有这个选项"),
    ("Got unexpected extra arguments", "多余的参数"), ("Got unexpected extra argument", "多余的参数"),
    ("Invalid value for", "取值无效："), ("Option", "选项"), ("requires an argument.", "后面须写一个值。"),
    ("does not exist.", "不存在。"), ("is a directory.", "是一个目录。"), ("is not one of", "只能是"),
    ("Did you mean", "您是不是要写"),
)


def chinese_usage(message: str) -> str:
    for english, chinese in _USAGE_PHRASES:
        message = message.replace(english, chinese)
    return message


class ChineseUsageError(click.UsageError):
    """click's usage error shown as "用法：…" and "错误：…" (click's own prints "Usage:" and "Error:")."""

    def show(self, file=None) -> None:
        if self.ctx is not None:
            click.echo(self.ctx.get_usage().replace("Usage: ", "用法：", 1), err=True, file=file)
            click.echo(f"查看帮助：{self.ctx.command_path} --help", err=True, file=file)
        click.echo(f"错误：{chinese_usage(self.format_message())}", err=True, file=file)


class _ChineseUsage:
    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            if isinstance(exc, ChineseUsageError):
                raise
            raise ChineseUsageError(exc.format_message(), exc.ctx or ctx) from None


def _speak_chinese(command: click.Command) -> None:
    """Give a command (and its subcommands) Chinese usage errors, keeping its own class otherwise."""
    if not isinstance(command, _ChineseUsage):
        command.__class__ = type(f"Chinese{type(command).__name__}", (_ChineseUsage, type(command)), {})
    for sub in getattr(command, "commands", {}).values():
        _speak_chinese(sub)


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
