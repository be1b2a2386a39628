"""Command line: flask --app tuanjian <command>. Commands call the same services as the web."""
from __future__ import annotations

import click
from flask import Flask, current_app

from .domain.errors import DomainError
from .domain.orgtree import OrgKind
from .extensions import db
from .models import Org, utcnow
from .services.actor import Actor


def _settings():
    return current_app.extensions["tuanjian_settings"]


def _fail(exc: DomainError):
    db.session.rollback()
    raise click.ClickException(exc.message)


def init_app(app: Flask) -> None:
    from .people.cli import init_app as init_people_cli     # check-people (issue 15)
    init_people_cli(app)
    @app.cli.command("init-root")
    @click.option("--name", required=True, help="根组织简称，例如 共青团望江县委员会")
    @click.option("--code", required=True, help="根组织代码，例如 000.012.016.007")
    @click.option("--full-name", default=None, help="根组织全称（可选）")
    @click.option("--kind", type=click.Choice([k.value for k in OrgKind]), default=OrgKind.LEADING.value,
                  show_default=True, help="组织类别")
    def init_root(name, code, full_name, kind):
        """创建根组织（团县委）并打印其第一名管理员的注册码。"""
        from .services.codes import issue_root_code
        from .services.orgs import create_root
        actor = Actor.system()
        try:
            org = create_root(db.session, actor, name=name, code=code, kind=OrgKind(kind), full_name=full_name)
            code_row = issue_root_code(db.session, actor, org, _settings(), utcnow())
            db.session.commit()
        except DomainError as exc:
            _fail(exc)
        _print_code(org, code_row)

    @app.cli.command("root-code")
    @click.option("--code", "org_code", required=True, help="根组织代码")
    def root_code(org_code):
        """为根组织重新生成管理员注册码（原未使用的注册码作废）。"""
        from sqlalchemy import select

        from .services.codes import issue_root_code
        org = db.session.scalar(select(Org).where(Org.code == org_code.strip()))
        if org is None:
            raise click.ClickException(f"没有代码为 {org_code} 的组织")
        try:
            code_row = issue_root_code(db.session, Actor.system(), org, _settings(), utcnow())
            db.session.commit()
        except DomainError as exc:
            _fail(exc)
        _print_code(org, code_row)

    @app.cli.command("demo")
    @click.option("--if-empty", is_flag=True, help="数据库已有数据时跳过（make run 使用）")
    def demo(if_empty):
        """导入演示数据：望江县 36 个团组织（代码同望青字〔2013〕10号附件1）、下级团总支/团支部、团员和演示管理员。"""
        from .demo import database_is_empty, seed_demo
        if not database_is_empty(db.session):
            if if_empty:
                click.echo("数据库已有数据，跳过演示数据。")
                return
            raise click.ClickException("数据库已有数据：演示数据只能导入空数据库。")
        logins = seed_demo(db.session, _settings(), utcnow())
        db.session.commit()
        click.echo("已导入望江县演示数据。演示账号（用户名为身份证号码）：")
        for login in logins:
            click.echo(f"  {login.role:<8} {login.org:<12} {login.name}  身份证号 {login.id_number}  密码 {login.password}")

    @app.cli.command("import-members")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--org", "org_code", required=True, help="导入到哪个组织（组织代码）：团支部，或其上级（须填所在团支部）")
    @click.option("--commit", is_flag=True, help="写入数据库（不加此项只检查、不写入）")
    @click.option("--all-or-nothing", is_flag=True, help="有任何错误就一行也不写入")
    @click.option("--json", "as_json", is_flag=True, help="以 JSON 输出统计和每个错误（行、列、值、原因）")
    def import_members(file, org_code, commit, all_or_nothing, as_json):
        """导入团员团干部 Excel（与网页相同的检查）；有错误时退出码非 0。"""
        from pathlib import Path

        from sqlalchemy import select

        from .domain.imports import ImportReport
        from .domain.member_import import COLUMNS
        from .services.member_imports import commit_members, preview_members
        from .spreadsheets.reader import ImportFileError
        org = db.session.scalar(select(Org).where(Org.code == org_code.strip()))
        if org is None:
            raise click.ClickException(f"没有代码为 {org_code} 的组织")
        actor = Actor(person_id=None, name="命令行导入", org_id=org.id, scope_code=org.code)
        path = Path(file)
        try:
            batch = preview_members(db.session, actor, org, data=path.read_bytes(), filename=path.name,
                                    settings=_settings(), now=utcnow())
        except ImportFileError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        except DomainError as exc:
            _fail(exc)
        report = ImportReport.from_json(batch.report)
        note = None
        if commit:
            try:
                commit_members(db.session, actor, batch, mode="all" if all_or_nothing else "valid",
                               settings=_settings(), now=utcnow())
                db.session.commit()
                report = ImportReport.from_json(batch.report)
            except DomainError as exc:
                db.session.rollback()
                commit, note = False, exc.message
        else:
            db.session.rollback()
        _print_report(report, COLUMNS, as_json, committed=commit, note=note)
        if report.error_rows or note:
            raise SystemExit(1)

    @app.cli.command("export-package")
    @click.option("--org", "org_code", required=True, help="导出哪个组织（组织代码）及其全部下级")
    @click.option("--out", "out_path", required=True, type=click.Path(dir_okay=True),
                  help="上报文件保存到哪里（文件名，或已有的目录）")
    @click.option("--secret", default=None, help="交换密钥（不填则用该组织在“数据交换”中保存的密钥或 TUANJIAN_EXCHANGE_SECRET）")
    def export_package(org_code, out_path, secret):
        """导出上报文件（组织、团员、团干部、管理员名单，不含密码；带交换密钥签名）。"""
        from pathlib import Path

        from .services import exchange
        org = _org_by_code(org_code)
        now = utcnow()
        try:
            data, counts = exchange.export_package(db.session, Actor.system("命令行导出"), org, now=now, key=secret)
        except DomainError as exc:
            _fail(exc)
        path = Path(out_path)
        if path.is_dir():
            path = path / exchange.package_filename(org, now)
        if path.exists():
            raise click.ClickException(f"{path} 已存在，不会覆盖")
        path.write_bytes(data)
        db.session.commit()
        click.echo(f"已导出上报文件：{path}（{len(data)} 字节）：组织 {counts['orgs']} 个，团员 {counts['active_members']} 人，"
                   f"团干部职务 {counts['cadre_posts']} 条，管理员记录 {counts['admin_grants']} 条。")

    @app.cli.command("import-package")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--org", "org_code", required=True, help="在哪个组织下导入（组织代码；上报文件的组织须是它或它的下级）")
    @click.option("--yes", "--apply", "apply", is_flag=True, help="确认导入（不加此项只核验并显示将有的改动，不写入）")
    def import_package(file, org_code, apply):
        """核验并导入下级的上报文件；不加 --yes 只预览。"""
        from pathlib import Path

        from .services import exchange
        org = _org_by_code(org_code)
        actor = Actor(person_id=None, name="命令行导入", org_id=None, scope_code=None)
        try:
            incoming = exchange.read_package(db.session, org, Path(file).read_bytes())
            plan = exchange.plan_import(db.session, actor, org, incoming, settings=_settings())
        except DomainError as exc:
            _fail(exc)
        from .web.filters import local_time
        click.echo(f"上报单位：{exchange._label(incoming)}，文件生成于 {local_time(incoming.created_at, '%Y-%m-%d %H:%M:%S')}，"
                   "签名核验通过。")
        for note in plan.notes:
            click.echo(f"注意：{note}")
        for spec in exchange.SPECS:
            c = plan.changes[spec.name]
            click.echo(f"  {spec.label}：文件中 {len(incoming.rows[spec.name])}，新增 {len(c.adds)}，更新 {len(c.updates)}，"
                       f"移除 {len(c.retires)}")
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
            _fail(exc)
        click.echo("已导入上报文件。" if result.changed else "没有需要改动的内容，未写入。")

    @app.cli.command("export-zhtj")
    @click.option("--org", "org_code", required=True, help="导出哪个组织（组织代码）及其全部下级")
    @click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Excel 文件名（.xlsx）")
    def export_zhtj(org_code, out_path):
        """按智慧团建团员团干部导入模板的列导出团员和团干部（每个团支部一张工作表，含完整身份证号码）。"""
        from pathlib import Path

        from .services import audit
        from .services.zhtj import zhtj_workbook
        org = _org_by_code(org_code)
        path = Path(out_path)
        if path.exists():
            raise click.ClickException(f"{path} 已存在，不会覆盖")
        out, counts = zhtj_workbook(db.session, org)
        path.write_bytes(out.getvalue())
        audit.record(db.session, Actor.system("命令行导出"), "export.zhtj", object_type="org", object_id=org.id,
                     org_id=org.id, summary=f"导出智慧团建导入格式：{org.short_name} 及全部下级（命令行），"
                                           f"团员 {counts['members']} 人（含完整身份证号码）", after=counts)
        db.session.commit()
        click.echo(f"已导出 {path}：{counts['sheets']} 张工作表，团支部 {counts['branches']} 个，团员 {counts['members']} 人，"
                   f"团干部 {counts['cadres']} 人。文件含完整身份证号码，请妥善保管。")

    @app.cli.command("refresh-stats")
    def refresh_stats():
        """重新计算全部组织的录入进度统计（通常不需要：每次保存都会实时更新；导入旧数据库或改动规则设置后可运行）。"""
        from .services.stats import refresh_all
        n = refresh_all(db.session, settings=app.extensions["tuanjian_settings"])
        db.session.commit()
        click.echo(f"已重新计算 {n} 个组织的录入进度统计。")

    @app.cli.command("backup")
    @click.argument("dest", type=click.Path(file_okay=True, dir_okay=True))
    @click.option("--keep", type=click.IntRange(min=1), default=None,
                  help="DEST 为目录时，只保留最新的 N 个备份，删除更早的")
    def backup(dest, keep):
        """备份数据库到 DEST（文件，或目录：在其中生成 tuanjian-日期-时间.sqlite3/.dump）。网站运行时也可备份。"""
        from .backup import cli_backup
        cli_backup(dest, keep)

    @app.cli.command("restore")
    @click.argument("src", type=click.Path())
    @click.option("--yes", is_flag=True, help="确认用备份覆盖当前数据库（不加此项只检查备份文件、不做改动）")
    def restore(src, yes):
        """用备份文件 SRC 恢复数据库（当前数据库先另存一份）。"""
        from .backup import cli_restore
        cli_restore(src, yes)

    @app.cli.command("demo-logins")
    def demo_logins():
        """打印演示账号。"""
        from sqlalchemy import select

        from .demo import DEMO_PASSWORD
        from .models import Account, AdminGrant, Person
        from .services.accounts import verify_password
        rows = db.session.execute(select(Person, Org).join(AdminGrant, AdminGrant.person_id == Person.id)
                                  .join(Org, AdminGrant.org_id == Org.id).join(Account, Account.person_id == Person.id)
                                  .where(AdminGrant.revoked_at.is_(None)).order_by(Org.code)).all()
        shown = [(p, o) for p, o in rows if verify_password(p.account, DEMO_PASSWORD)]
        if not shown:
            click.echo("（没有仍使用演示密码的账号）")
        for person, org in shown:
            click.echo(f"  {org.short_name:<12} {person.name}  身份证号 {person.id_number}  密码 {DEMO_PASSWORD}")


def _org_by_code(org_code: str) -> Org:
    from sqlalchemy import select
    org = db.session.scalar(select(Org).where(Org.code == org_code.strip()))
    if org is None:
        raise click.ClickException(f"没有代码为 {org_code} 的组织")
    return org


def _print_report(report, columns: dict, as_json: bool, *, committed: bool, note: str | None = None) -> None:
    labels = {v: k for k, v in columns.items()}
    errors = [{"row": r.number, "sheet": r.sheet, "where": r.where, "column": labels.get(field, field),
               "value": r.cells.get(field, ""), "reason": msg}
              for r in report.error_rows for field, msgs in r.errors.items() for msg in msgs]
    totals = report.totals()
    if as_json:
        import json
        click.echo(json.dumps({"totals": totals, "committed": committed, "note": note, "errors": errors,
                               "unused_columns": report.meta.get("unused_columns", []),
                               "skipped_sheets": report.meta.get("skipped_sheets", []), "notices": report.notices},
                              ensure_ascii=False, indent=2))
        return
    click.echo(f"共 {totals['rows']} 行：新增 {totals['new']}，更新 {totals['update']}，未变 {totals['unchanged']}，"
               f"有错误 {totals['error']}。" + ("已写入数据库。" if committed else "未写入数据库。"))
    for notice in report.notices:
        click.echo(notice)
    if note:
        click.echo(note)
    for e in errors:
        click.echo(f"  {e['where']} [{e['column']}] “{e['value']}”：{e['reason']}")


def _print_code(org: Org, code_row) -> None:
    from .web.filters import local_time
    click.echo(f"根组织：{org.short_name}（{org.code}）")
    click.echo(f"管理员注册码：{code_row.code}（区分大小写，有效期至 {local_time(code_row.expires_at)}，仅可使用一次）")
    click.echo("请打开 /register/ 页面，搜索本组织并用此注册码注册第一名管理员。")
