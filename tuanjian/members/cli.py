"""Commands for members: import a 团员团干部 workbook with the same checks as the web page."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from .. import current_settings
from ..clitools import CliError, add_flat, fail, org_by_code
from ..domain.errors import DomainError
from ..extensions import db
from ..models import utcnow
from ..services.actor import Actor

commands = AppGroup("members")    # AppGroup: each command runs in an app context


def register(app: Flask) -> None:
    add_flat(app, commands)


@commands.command("import-members")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--org", "org_code", required=True, help="导入到哪个组织（组织代码）：团支部，或其上级（须填所在团支部）")
@click.option("--commit", is_flag=True, help="写入数据库（不加此项只检查、不写入）")
@click.option("--all-or-nothing", is_flag=True, help="有任何错误就一行也不写入")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出统计和每个错误（行、列、值、原因）")
@click.option("--clear-blanks", is_flag=True,
              help="用表中空白清除已有内容（不加此项时，表中留空的栏目保留系统中已有的登记；表中没有的列一律不修改）")
@click.option("--include-hidden", is_flag=True,
              help="包括在 Excel 中隐藏和筛选掉的行（不加此项时这些行不导入，并逐一列出）")
def import_members(file, org_code, commit, all_or_nothing, as_json, clear_blanks, include_hidden):
    """导入团员团干部 Excel（与网页相同的检查）；有错误时退出码非 0。"""
    from ..domain.imports import ImportReport
    from ..domain.member_import import COLUMNS
    from ..services.member_imports import commit_members, preview_members
    from ..spreadsheets.reader import ImportFileError
    org = org_by_code(org_code)
    actor = Actor(person_id=None, name="命令行导入", org_id=org.id, scope_code=org.code)
    path = Path(file)
    try:
        batch = preview_members(db.session, actor, org, data=path.read_bytes(), filename=path.name,
                                settings=current_settings(), now=utcnow(), include_hidden=include_hidden)
    except ImportFileError as exc:
        db.session.rollback()
        raise CliError(str(exc)) from None
    except DomainError as exc:
        fail(exc)
    report = ImportReport.from_json(batch.report)
    note = None
    if commit:
        try:
            commit_members(db.session, actor, batch, mode="all" if all_or_nothing else "valid",
                           settings=current_settings(), now=utcnow(), clear_blanks=clear_blanks)
            db.session.commit()
            report = ImportReport.from_json(batch.report)
        except DomainError as exc:
            db.session.rollback()
            commit, note = False, exc.message
    else:
        db.session.rollback()
    _print_report(report, COLUMNS, as_json, committed=commit, note=note, clear_blanks=clear_blanks)
    if report.error_rows or note:
        raise SystemExit(1)


def _blank_lines(report, clear_blanks: bool, committed: bool) -> tuple[list[dict], str]:
    """The recorded values the file's empty cells clear (or would clear with --clear-blanks), and a sentence."""
    from ..domain.member_import import blank_clear_summary
    fields = [{"column": label, "people": n} for label, n in blank_clear_summary(report.meta)]
    if not fields:
        return fields, ""
    listed = "、".join(f"{f['column']} {f['people']} 人" for f in fields)
    if clear_blanks:
        return fields, f"按表中空白{'已清除' if committed else '将清除'}已有登记：{listed}。"
    return fields, f"表中留空而系统中已有登记（已保留，未清除）：{listed}。如要清除，请加 --clear-blanks。"


def _print_report(report, columns: dict, as_json: bool, *, committed: bool, note: str | None = None,
                  clear_blanks: bool = False) -> None:
    labels = {v: k for k, v in columns.items()}
    blank_fields, blank_line = _blank_lines(report, clear_blanks, committed)
    errors = [{"row": r.number, "sheet": r.sheet, "where": r.where, "column": labels.get(field, field),
               "value": r.cells.get(field, ""), "reason": msg}
              for r in report.error_rows for field, msgs in r.errors.items() for msg in msgs]
    totals = report.totals()
    if as_json:
        click.echo(json.dumps({"totals": totals, "committed": committed, "note": note, "errors": errors,
                               "unused_columns": report.meta.get("unused_columns", []),
                               "skipped_sheets": report.meta.get("skipped_sheets", []), "notices": report.notices,
                               "blanks": {"clear": clear_blanks, "fields": blank_fields}},
                              ensure_ascii=False, indent=2))
        return
    click.echo(f"共 {totals['rows']} 行：新增 {totals['new']}，更新 {totals['update']}，未变 {totals['unchanged']}，"
               f"有错误 {totals['error']}。" + ("已写入数据库。" if committed else "未写入数据库。"))
    for notice in report.notices:
        click.echo(notice)
    if blank_line:
        click.echo(blank_line)
    if note:
        click.echo(note)
    for e in errors:
        click.echo(f"  {e['where']} [{e['column']}] “{e['value']}”：{e['reason']}")
