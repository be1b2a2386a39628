"""Commands for 录入进度: the stored per-organisation counts the progress page sums."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from .. import current_settings
from ..cli import add_flat
from ..extensions import db

commands = AppGroup("supervision")    # AppGroup: each command runs in an app context


def register(app: Flask) -> None:
    add_flat(app, commands)


@commands.command("refresh-stats")
def refresh_stats():
    """重新计算全部组织的录入进度统计（通常不需要：每次保存都会实时更新；导入旧数据库或改动规则设置后可运行）。"""
    from ..services.stats import refresh_all
    n = refresh_all(db.session, settings=current_settings())
    db.session.commit()
    click.echo(f"已重新计算 {n} 个组织的录入进度统计。")
