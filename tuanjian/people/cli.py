"""`flask --app tuanjian check-people`: people (and 发展团员编号) that are one value in canonical form but are stored
twice (issue 15). The migration that made identity strings canonical never merges anybody; this lists what it left."""
from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from ..domain.canonical import canonical_dev_number, canonical_id_number, duplicate_groups
from ..domain.people import mask_id_number
from ..extensions import db
from ..models import Account, CadrePost, Member, Org, Person


def find_duplicates(session) -> dict:
    """{"people": [[(person id, stored ID number, name), …], …], "dev_numbers": [[(member id, stored number,
    person id), …], …]}. Only people who still hold a place count (团籍, a post or an account): a record whose
    membership was deleted to resolve a duplicate is no longer listed."""
    live = set(session.scalars(select(Member.person_id).where(Member.deleted_at.is_(None))))
    live |= set(session.scalars(select(CadrePost.person_id).where(CadrePost.ended_at.is_(None))))
    live |= set(session.scalars(select(Account.person_id)))
    people = [r for r in session.execute(select(Person.id, Person.id_number, Person.name).order_by(Person.id))
              if r[0] in live]
    devs = session.execute(select(Member.id, Member.dev_number, Member.person_id).where(
        Member.dev_number.isnot(None), Member.deleted_at.is_(None)).order_by(Member.id)).all()
    return {"people": duplicate_groups(people, canonical_id_number),
            "dev_numbers": duplicate_groups(devs, canonical_dev_number)}


def _places(session, person_id: int) -> str:
    places = [f"团员·{o.short_name}（{o.code}）" for o in session.scalars(
        select(Org).join(Member, Member.org_id == Org.id).where(Member.person_id == person_id,
                                                              Member.deleted_at.is_(None)))]
    places += [f"{p.position}·{o.short_name}（{o.code}）" for p, o in session.execute(
        select(CadrePost, Org).join(Org, CadrePost.org_id == Org.id).where(CadrePost.person_id == person_id,
                                                                          CadrePost.ended_at.is_(None)))]
    return "；".join(places) or "没有团籍或职务"


def init_app(app: Flask) -> None:
    @app.cli.command("check-people")
    @click.option("--reveal", is_flag=True, help="显示完整身份证号码（默认只显示前6位和后4位）")
    def check_people(reveal):
        """列出按统一格式（全角/半角、空格等）其实相同、却登记为两个人的身份证号码和发展团员编号，\
供管理员核对处理；有则退出码为 1。"""
        session = db.session
        found = find_duplicates(session)
        show = (lambda n: n) if reveal else mask_id_number
        if not found["people"] and not found["dev_numbers"]:
            click.echo("没有发现重复登记的人员或发展团员编号。")
            return
        for group in found["people"]:
            click.echo(f"身份证号码 {show(canonical_id_number(group[0][1]))} 登记了 {len(group)} 次：")
            for pid, number, name in group:
                form = "（统一格式）" if number == canonical_id_number(number) else "（非统一格式：含全角字符或空格）"
                click.echo(f"  人员#{pid} {name} {show(number)}{form}：{_places(session, pid)}")
        for group in found["dev_numbers"]:
            click.echo(f"发展团员编号 {canonical_dev_number(group[0][1])} 被 {len(group)} 名团员使用：")
            for mid, number, pid in group:
                click.echo(f"  团员#{mid}（人员#{pid}）{number}：{_places(session, pid)}")
        click.echo("处理方法：核实是同一人后，在“人员查询”中找到非统一格式的那条记录，把其团籍转接或删除、职务卸任，"
                   "使其不再有团籍或职务；如确是两个人，请核对身份证号码。处理后重新运行本命令确认。")
        raise SystemExit(1)
