"""flask export-package / import-package / export-zhtj."""
from __future__ import annotations

from openpyxl import load_workbook
from sqlalchemy import func, select

from tuanjian.extensions import db
from tuanjian.models import AuditEntry, Member, Org

from ..factories import make_tree
from .helpers import KEY, assert_same_subtree, county_instance, dump, instance, populate


def test_export_then_import_by_command_line(tmp_path, db_kind):
    out = tmp_path / "u盘"
    out.mkdir()
    with instance(db_kind, tmp_path / "a", EXCHANGE_SECRET=None) as a:
        tree = make_tree(db.session)
        populate(db.session, tree)
        runner = a.test_cli_runner()
        missing = runner.invoke(args=["export-package", "--org", tree.township.code, "--out", str(out)])
        assert missing.exit_code != 0 and "尚未设置" in missing.output
        result = runner.invoke(args=["export-package", "--org", tree.township.code, "--out", str(out), "--secret", KEY])
        assert result.exit_code == 0, result.output
        assert "团员 5 人" in result.output
        expected = dump(db.session, tree.township.code)
        code = tree.township.code
    [package] = list(out.iterdir())
    assert package.name.startswith("上报文件_华阳镇团委_") and package.suffix == ".zip"
    with instance(db_kind, tmp_path / "b") as b:
        session = db.session
        tree = county_instance(session)
        runner = b.test_cli_runner()
        foreign = runner.invoke(args=["import-package", str(package), "--org", tree.sibling.code])
        assert foreign.exit_code != 0 and "不能在这里导入" in foreign.output
        before = session.scalar(select(func.count()).select_from(Member))
        preview = runner.invoke(args=["import-package", str(package), "--org", tree.county.code])
        assert preview.exit_code == 0, preview.output
        assert "签名核验通过" in preview.output and "团员：文件中 6，新增 6" in preview.output
        assert "未写入数据库" in preview.output
        session.expire_all()
        assert session.scalar(select(func.count()).select_from(Member)) == before
        done = runner.invoke(args=["import-package", str(package), "--org", tree.county.code, "--yes"])
        assert done.exit_code == 0 and "已导入上报文件" in done.output, done.output
        assert_same_subtree(dump(session, code), expected)
        again = runner.invoke(args=["import-package", str(package), "--org", tree.county.code, "--apply"])
        assert again.exit_code == 0 and "完全一致" in again.output and "没有需要改动" in again.output
        xlsx = tmp_path / "zhtj.xlsx"
        z = runner.invoke(args=["export-zhtj", "--org", code, "--out", str(xlsx)])
        assert z.exit_code == 0 and "团员 5 人" in z.output, z.output
        wb = load_workbook(xlsx)
        assert wb.sheetnames[0] == "目录" and {"城东村团支部", "城西村团支部", "镇机关团支部"} <= set(wb.sheetnames)
        assert runner.invoke(args=["export-zhtj", "--org", code, "--out", str(xlsx)]).exit_code != 0   # no overwrite
        session.expire_all()
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "export.zhtj")) == 1
        assert session.scalar(select(Org).where(Org.code == code)).full_name == "中国共产主义青年团华阳镇委员会"
