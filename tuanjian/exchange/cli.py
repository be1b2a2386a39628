"""Commands for data exchange: 上报文件 out and in, and the 智慧团建 import-format export."""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .. import current_settings
from ..clitools import CliError, add_flat, fail, org_by_code
from ..domain.errors import DomainError
from ..extensions import db
from ..models import utcnow
from ..services.actor import Actor

commands = AppGroup("exchange")    # AppGroup: each command runs in an app context


def register(app: Flask) -> None:
    add_flat(app, commands)


@commands.command("export-package")
@click.option("--org", "org_code", required=True, help="导出哪个组织（组织代码）及其全部下级")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=True),
              help="上报文件保存到哪里（文件名，或已有的目录）")
@click.option("--secret", default=None,
              help="交换密钥（不填则用该组织在“数据交换”中保存的密钥或 TUANJIAN_EXCHANGE_SECRET）")
def export_package(org_code, out_path, secret):
    """导出上报文件（组织、团员、团干部、管理员名单，不含密码；带交换密钥签名）。"""
    from ..services import exchange
    org = org_by_code(org_code)
    now = utcnow()
    try:
        data, counts = exchange.export_package(db.session, Actor.system("命令行导出"), org, now=now, key=secret,
                                               default_key=current_app.config.get("EXCHANGE_SECRET"))
    except DomainError as exc:
        fail(exc)
    path = Path(out_path)
    if path.is_dir():
        path = path / exchange.package_filename(org, now)
    if path.exists():
        raise CliError(f"{path} 已存在，不会覆盖")
    path.write_bytes(data)
    db.session.commit()
    click.echo(f"已导出上报文件：{path}（{len(data)} 字节）：组织 {counts['orgs']} 个，"
               f"团员 {counts['active_members']} 人，团干部职务 {counts['cadre_posts']} 条，"
               f"管理员记录 {counts['admin_grants']} 条。")


@commands.command("import-package")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--org", "org_code", required=True, help="在哪个组织下导入（组织代码；上报文件的组织须是它或它的下级）")
@click.option("--yes", "--apply", "apply", is_flag=True, help="确认导入（不加此项只核验并显示将有的改动，不写入）")
def import_package(file, org_code, apply):
    """核验并导入下级的上报文件；不加 --yes 只预览。"""
    from ..services import exchange
    from ..web.filters import local_time
    org = org_by_code(org_code)
    actor = Actor(person_id=None, name="命令行导入", org_id=None, scope_code=None)
    try:
        incoming = exchange.read_package(db.session, org, Path(file).read_bytes(),
                                         default_key=current_app.config.get("EXCHANGE_SECRET"))
        plan = exchange.plan_import(db.session, actor, org, incoming, settings=current_settings())
    except DomainError as exc:
        fail(exc)
    created = local_time(incoming.created_at, '%Y-%m-%d %H:%M:%S')
    click.echo(f"上报单位：{exchange._label(incoming)}，文件生成于 {created}，签名核验通过。")
    for note in plan.notes:
        click.echo(f"注意：{note}")
    for spec in exchange.SPECS:
        c = plan.changes[spec.name]
        click.echo(f"  {spec.label}：文件中 {len(incoming.rows[spec.name])}，新增 {len(c.adds)}，"
                   f"更新 {len(c.updates)}，移除 {len(c.retires)}")
    if plan.empty:
        click.echo("本系统中的数据与这份上报文件完全一致。")
    if not apply:
        db.session.rollback()
        click.echo("未写入数据库（确认无误后加 --yes 导入）。")
        return
    try:
        result = exchange.apply_plan(db.session, actor, plan, now=utcnow())
        db.session.commit()
    except DomainError as exc:
        fail(exc)
    click.echo("已导入上报文件。" if result.changed else "没有需要改动的内容，未写入。")


@commands.command("export-zhtj")
@click.option("--org", "org_code", required=True, help="导出哪个组织（组织代码）及其全部下级")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Excel 文件名（.xlsx）")
def export_zhtj(org_code, out_path):
    """按智慧团建团员团干部导入模板的列导出团员和团干部（每个团支部一张工作表，含完整身份证号码）。"""
    from ..services import audit
    from ..services.zhtj import zhtj_workbook
    org = org_by_code(org_code)
    path = Path(out_path)
    if path.exists():
        raise CliError(f"{path} 已存在，不会覆盖")
    out, counts = zhtj_workbook(db.session, org)
    path.write_bytes(out.getvalue())
    audit.record(db.session, Actor.system("命令行导出"), "export.zhtj", object_type="org", object_id=org.id,
                 org_id=org.id, summary=f"导出智慧团建导入格式：{org.short_name} 及全部下级（命令行），"
                                       f"团员 {counts['members']} 人（含完整身份证号码）", after=counts)
    db.session.commit()
    click.echo(f"已导出 {path}：{counts['sheets']} 张工作表，团支部 {counts['branches']} 个，"
               f"团员 {counts['members']} 人，团干部 {counts['cadres']} 人。文件含完整身份证号码，请妥善保管。")
