"""Commands for 录入进度: the stored per-organisation counts the progress page sums."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from .. import current_settings
from ..clitools import add_flat
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


@commands.command("recount-overage")
def recount_overage():
    """按今天（北京时间）重新统计各组织的超龄团员人数并保存（可由 cron 每天凌晨运行，录入进度页就不必临时统计）。"""
    from sqlalchemy import select

    from ..clock import local_today
    from ..models import Org
    from ..services.stats import recount_overage as recount
    today = local_today()
    roots = list(db.session.scalars(select(Org).where(Org.parent_id.is_(None))))
    for root in roots:
        recount(db.session, root, settings=current_settings(), today=today)
    db.session.commit()
    click.echo(f"已按 {today.isoformat()} 重新统计超龄团员人数（{len(roots)} 个根组织及其全部下级）。")


@commands.command("recount-tallies")
def recount_tallies():
    """重新统计团内统计使用的团员计数（通常不需要：每次保存团员、团籍变动都会同时更新；直接改动过数据库后可运行）。"""
    from ..services.owners import tallies
    kept, fresh = tallies.stored(db.session), tallies.recount(db.session)
    differ = sum(1 for k in set(kept) | set(fresh) if kept.get(k, 0) != fresh.get(k, 0))
    tallies.rebuild(db.session)
    db.session.commit()
    click.echo(f"已重新统计团员计数（{len(fresh)} 项；与保存的计数不同的 {differ} 项已更正）。")
