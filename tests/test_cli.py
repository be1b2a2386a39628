import re

from sqlalchemy import func, select

from tuanjian.demo import COUNTY_ORGS, ROOT_CODE, database_is_empty
from tuanjian.domain.people import parse_id_number
from tuanjian.models import AdminGrant, Member, Org, Person, RegistrationCode


def test_init_root_prints_a_redeemable_code(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["init-root", "--name", "共青团望江县委员会", "--code", "000.012.016.007"])
    assert result.exit_code == 0, result.output
    code = re.search(r"管理员注册码：(\w{8})", result.output).group(1)
    row = session.scalar(select(RegistrationCode).where(RegistrationCode.code == code))
    root = session.get(Org, row.org_id)
    assert root.code == "000.012.016.007" and root.parent_id is None and root.kind == "leading"
    again = runner.invoke(args=["init-root", "--name", "x", "--code", "000.012.016.007"])
    assert again.exit_code != 0 and "已存在" in again.output
    bad = runner.invoke(args=["init-root", "--name", "x", "--code", "12.3"])
    assert bad.exit_code != 0 and "格式" in bad.output
    re_issue = runner.invoke(args=["root-code", "--code", "000.012.016.007"])
    assert re_issue.exit_code == 0
    session.refresh(row)
    assert row.revoked_at is not None


def test_demo_seeds_wangjiang_with_exact_codes(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "wangjiang2026" in result.output and "县团委管理员" in result.output
    orgs = {o.short_name: o.code for o in session.scalars(select(Org))}
    assert orgs["共青团望江县委员会"] == ROOT_CODE
    for name, seq, _, _ in COUNTY_ORGS:
        assert orgs[name] == f"{ROOT_CODE}.{seq}"
    assert len(COUNTY_ORGS) == 36
    assert orgs["华阳镇机关团支部"].startswith(orgs["华阳镇团委"] + ".")
    assert orgs["高一(1)班团支部"].startswith(orgs["高一年级团总支"] + ".")
    # members sit only in branches and carry valid ID numbers
    for member, org in session.execute(select(Member, Org).join(Org, Member.org_id == Org.id)):
        assert org.kind == "branch"
        parse_id_number(member.person.id_number)
    assert session.scalar(select(func.count()).select_from(Member)) > 40
    assert session.scalar(select(func.count()).select_from(AdminGrant)) == 4
    assert session.scalar(select(func.count()).select_from(Person)) == session.scalar(
        select(func.count(func.distinct(Person.id_number))))
    # only into an empty database
    again = runner.invoke(args=["demo"])
    assert again.exit_code != 0 and "已有数据" in again.output
    skip = runner.invoke(args=["demo", "--if-empty"])
    assert skip.exit_code == 0 and "跳过" in skip.output
    logins = runner.invoke(args=["demo-logins"])
    assert logins.output.count("wangjiang2026") == 4
    assert not database_is_empty(session)


def test_demo_admins_can_log_in(app, session, client):
    app.test_cli_runner().invoke(args=["demo"])
    county = session.scalar(select(Person).where(Person.name == "王青"))
    resp = client.post("/auth/login", data={"id_number": county.id_number, "password": "wangjiang2026"})
    assert resp.status_code == 302
    page = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert page.count('class="node"') == 36


def test_import_members_cli(app, session, tree, tmp_path):
    import json
    from datetime import date

    from tuanjian.demo import make_id

    from .web.test_member_import import book, row
    n = [make_id(date(2003, 5, 5), 601 + 2 * i, True) for i in range(3)]
    path = tmp_path / "团员.xlsx"
    path.write_bytes(book([row("甲", n[0]), row("乙", n[1]),
                           row("丙", n[2][:17] + "0" if n[2][17] != "0" else n[2][:17] + "1")]).getvalue())
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["import-members", str(path), "--org", tree.village.code, "--json"])
    assert dry.exit_code == 1
    out = json.loads(dry.output)
    assert out["totals"]["new"] == 2 and out["committed"] is False
    assert (out["errors"][0]["row"] == 4 and out["errors"][0]["column"] == "身份证号码"
            and "校验位" in out["errors"][0]["reason"])
    assert session.scalar(select(func.count()).select_from(Member)) == 0
    refused = runner.invoke(args=["import-members", str(path), "--org", tree.village.code, "--commit",
                                  "--all-or-nothing"])
    assert refused.exit_code == 1 and "没有导入任何数据" in refused.output
    assert session.scalar(select(func.count()).select_from(Member)) == 0
    done = runner.invoke(args=["import-members", str(path), "--org", tree.village.code, "--commit"])
    assert done.exit_code == 1 and "已写入数据库" in done.output and "第4行 [身份证号码]" in done.output
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Member)) == 2
    assert runner.invoke(args=["import-members", str(path), "--org", "999.999"]).exit_code != 0


def test_refresh_stats_rebuilds_every_row(app, session, tree):
    from tuanjian.models import OrgStats

    from .factories import make_member
    make_member(session, tree.village)
    session.commit()
    maintained = {s.org_id: (s.members, s.complete_members, s.admins, s.branches_below)
                  for s in session.scalars(select(OrgStats))}
    session.execute(OrgStats.__table__.delete())
    session.commit()
    result = app.test_cli_runner().invoke(args=["refresh-stats"])
    assert result.exit_code == 0 and "已重新计算 8 个组织" in result.output, result.output
    session.expire_all()
    rebuilt = {s.org_id: (s.members, s.complete_members, s.admins, s.branches_below)
               for s in session.scalars(select(OrgStats))}
    assert rebuilt == maintained and rebuilt[tree.village.id] == (1, 1, 1, 0) and rebuilt[tree.county.id][3] == 3


def test_recount_tallies_corrects_tallies_changed_behind_the_owners(app, session, tree):
    from datetime import date, datetime

    from tuanjian.domain.members import validate_member
    from tuanjian.domain.settings import DEFAULT_SETTINGS
    from tuanjian.models import MemberTally
    from tuanjian.services import members
    from tuanjian.services.actor import Actor
    from tuanjian.services.owners import tallies

    from .factories import new_id
    county = Actor(person_id=tree.county_admin.id, name="王县", ip="10.0.0.1", org_id=tree.county.id,
                   scope_code=tree.county.code)
    data = validate_member({"name": "计数", "id_number": new_id(date(2001, 4, 5)), "ethnicity": "汉族",
                            "political_status": "共青团员", "join_date": "2015-05", "dev_number": "",
                            "is_cadre": "否", "has_application": "是"}, settings=DEFAULT_SETTINGS,
                           today=date(2026, 11, 23))
    members.add_member(session, county, tree.village, data, now=datetime(2026, 11, 23, 4))
    session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["recount-tallies"])
    assert result.exit_code == 0 and "不同的 0 项" in result.output, result.output
    session.execute(MemberTally.__table__.update().values(n=MemberTally.n + 5))      # a hand edit of the database
    session.commit()
    result = runner.invoke(args=["recount-tallies"])
    assert result.exit_code == 0 and "不同的 0 项" not in result.output, result.output
    session.expire_all()
    assert tallies.stored(session) == tallies.recount(session)
    assert tallies.stored(session)[("birth", "2001-04-05")] == 1


def test_every_command_is_registered_under_its_own_name(tmp_path):
    """The commands live in per-feature modules (tuanjian/<feature>/cli.py) and register_cli adds them all, flat:
    the names users and scripts type are unchanged, and each command runs in an app context of its own."""
    from .conftest import make_app
    app = make_app("sqlite", tmp_path)
    names = set(app.cli.commands)
    assert {"init-root", "root-code", "demo", "demo-logins", "import-members", "export-package", "import-package",
            "export-zhtj", "refresh-stats", "recount-tallies", "backup", "restore"} <= names
    # no command outside an app context: the runner pushes none, so a command that needs one would fail here
    result = app.test_cli_runner().invoke(args=["root-code", "--code", "000.999"])
    assert result.exit_code != 0 and "没有代码为 000.999 的组织" in result.output


def test_cli_errors_are_chinese_without_click_english_prefix(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["root-code", "--code", "999.999"])
    assert result.exit_code == 1
    assert "错误：没有代码为 999.999 的组织" in result.output
    assert "Error" not in result.output


def test_make_run_prints_the_demo_logins_once(app, session):
    """make run = flask demo --if-empty (seeds or skips), then the server; each path lists the logins once."""
    from pathlib import Path
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text(encoding="utf-8")
    run_recipe = makefile.split("\nrun:")[1].split("\n\n")[0]
    assert "demo-logins" not in run_recipe and "demo --if-empty" in makefile
    runner = app.test_cli_runner()
    seeded = runner.invoke(args=["demo", "--if-empty"])
    assert seeded.exit_code == 0 and seeded.output.count("wangjiang2026") == 4, seeded.output
    again = runner.invoke(args=["demo", "--if-empty"])
    assert again.exit_code == 0 and "跳过" in again.output and again.output.count("wangjiang2026") == 4
    assert again.output.count("演示账号") == 1


def test_org_codes_typed_full_width_or_padded_are_found(app, session, tree):
    """Issue 15: the CLI's --org takes the org code in its canonical form too (full-width digits, stray spaces)."""
    typed = " " + tree.county.code.translate(str.maketrans("0123456789.", "０１２３４５６７８９．")) + "\u3000"
    result = app.test_cli_runner().invoke(args=["root-code", "--code", typed])
    assert result.exit_code == 0, result.output
    assert tree.county.code in result.output


def test_usage_errors_are_chinese_too(app):
    """Issue 16.11: click's own usage errors (a missing option, an unknown one) are shown in Chinese as well."""
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import-members", "nothing.xlsx"])
    assert result.exit_code == 2
    assert "错误：" in result.output and "Error" not in result.output and "用法：" in result.output
    result = runner.invoke(args=["root-code", "--code", "000", "--bogus"])
    assert result.exit_code == 2 and "没有这个选项" in result.output and "Error" not in result.output
    result = runner.invoke(args=["root-code"])
    assert "缺少选项" in result.output and "--code" in result.output
