"""Commands for the organisation tree: the root organisation and its first administrator's registration code."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from .. import current_settings
from ..clitools import add_flat, fail, org_by_code
from ..domain.errors import DomainError
from ..domain.orgtree import OrgKind
from ..extensions import db
from ..models import Org, utcnow
from ..services.actor import Actor

commands = AppGroup("orgs")    # AppGroup: each command runs in an app context


def register(app: Flask) -> None:
    add_flat(app, commands)


@commands.command("init-root")
@click.option("--name", required=True, help="根组织简称，例如 共青团望江县委员会")
@click.option("--code", required=True, help="根组织代码，例如 000.012.016.007")
@click.option("--full-name", default=None, help="根组织全称（可选）")
@click.option("--kind", type=click.Choice([k.value for k in OrgKind]), default=OrgKind.LEADING.value,
              show_default=True, help="组织类别")
def init_root(name, code, full_name, kind):
    """创建根组织（团县委）并打印其第一名管理员的注册码。"""
    from ..services.codes import issue_root_code
    from ..services.orgs import create_root
    actor = Actor.system()
    try:
        org = create_root(db.session, actor, name=name, code=code, kind=OrgKind(kind), full_name=full_name)
        code_row = issue_root_code(db.session, actor, org, current_settings(), utcnow())
        db.session.commit()
    except DomainError as exc:
        fail(exc)
    _print_code(org, code_row)


@commands.command("root-code")
@click.option("--code", "org_code", required=True, help="根组织代码")
def root_code(org_code):
    """为根组织重新生成管理员注册码（原未使用的注册码作废）。"""
    from ..services.codes import issue_root_code
    org = org_by_code(org_code)
    try:
        code_row = issue_root_code(db.session, Actor.system(), org, current_settings(), utcnow())
        db.session.commit()
    except DomainError as exc:
        fail(exc)
    _print_code(org, code_row)


def _print_code(org: Org, code_row) -> None:
    from ..web.filters import local_time
    click.echo(f"根组织：{org.short_name}（{org.code}）")
    click.echo(f"管理员注册码：{code_row.code}（区分大小写，有效期至 {local_time(code_row.expires_at)}，仅可使用一次）")
    click.echo("请打开 /register/ 页面，搜索本组织并用此注册码注册第一名管理员。")
