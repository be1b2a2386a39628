"""Commands for the site as a whole: the demo county, its logins, backup and restore."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from .. import current_settings
from ..clitools import CliError, add_flat
from ..extensions import db
from ..models import utcnow

commands = AppGroup("main")    # AppGroup: each command runs in an app context


def register(app: Flask) -> None:
    add_flat(app, commands)


@commands.command("demo")
@click.option("--if-empty", is_flag=True, help="数据库已有数据时跳过（make run 使用）")
def demo(if_empty):
    """导入演示数据：望江县 36 个团组织（代码同望青字〔2013〕10号附件1）、下级团总支/团支部、团员和演示管理员。"""
    from ..demo import database_is_empty, seed_demo
    if not database_is_empty(db.session):
        if if_empty:
            click.echo("数据库已有数据，跳过演示数据。")
            _print_demo_logins(quiet_if_none=True)   # make run shows the logins once, whether seeded now or before
            return
        raise CliError("数据库已有数据：演示数据只能导入空数据库。")
    logins = seed_demo(db.session, current_settings(), utcnow())
    db.session.commit()
    click.echo("已导入望江县演示数据。演示账号（用户名为身份证号码）：")
    for login in logins:
        click.echo(f"  {login.role:<8} {login.org:<12} {login.name}  身份证号 {login.id_number}  密码 {login.password}")


@commands.command("demo-logins")
def demo_logins():
    """打印仍使用演示密码的管理员账号。"""
    _print_demo_logins()


def _print_demo_logins(*, quiet_if_none: bool = False) -> None:
    from sqlalchemy import select

    from ..demo import DEMO_PASSWORD
    from ..models import Account, AdminGrant, Org, Person
    from ..services.accounts import verify_password
    rows = db.session.execute(select(Person, Org).join(AdminGrant, AdminGrant.person_id == Person.id)
                              .join(Org, AdminGrant.org_id == Org.id).join(Account, Account.person_id == Person.id)
                              .where(AdminGrant.revoked_at.is_(None)).order_by(Org.code)).all()
    shown = [(p, o) for p, o in rows if verify_password(p.account, DEMO_PASSWORD)]
    if not shown:
        if not quiet_if_none:
            click.echo("（没有仍使用演示密码的账号）")
        return
    click.echo("演示账号（用户名为身份证号码）：")
    for person, org in shown:
        click.echo(f"  {org.short_name:<12} {person.name}  身份证号 {person.id_number}  密码 {DEMO_PASSWORD}")


@commands.command("backup")
@click.argument("dest", type=click.Path(file_okay=True, dir_okay=True))
@click.option("--keep", type=click.IntRange(min=1), default=None,
              help="DEST 为目录时，只保留最新的 N 个备份，删除更早的")
def backup(dest, keep):
    """备份数据库到 DEST（文件，或目录：在其中生成 tuanjian-日期-时间.sqlite3/.dump）。网站运行时也可备份。"""
    from ..backup import cli_backup
    cli_backup(dest, keep)


@commands.command("restore")
@click.argument("src", type=click.Path())
@click.option("--yes", is_flag=True, help="确认用备份覆盖当前数据库（不加此项只检查备份文件、不做改动）")
def restore(src, yes):
    """用备份文件 SRC 恢复数据库（当前数据库先另存一份）。"""
    from ..backup import cli_restore
    cli_restore(src, yes)
