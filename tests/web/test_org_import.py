from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tuanjian.models import AuditEntry, ImportBatch, Org

from ..factories import text_workbook


def workbook(rows, headers=("组织简称", "组织类别"), sheet="下级组织", title_row=False) -> BytesIO:
    return text_workbook(headers, rows, sheet=sheet, title="华阳镇团委 批量创建下级组织" if title_row else None)

def upload(client, org_id, data, name="下级组织.xlsx"):
    return client.post(f"/orgs/{org_id}/children/import", data={"file": (data, name)},
                       content_type="multipart/form-data")


def count_orgs(session):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Org))


def test_template_has_instructions_dropdowns_and_text_columns(client, login, tree):
    login(tree.school_admin)
    resp = client.get(f"/orgs/{tree.school.id}/children/template.xlsx")
    assert resp.status_code == 200
    wb = load_workbook(BytesIO(resp.data))
    assert wb.sheetnames == ["填写说明", "下级组织", "下拉列表"]
    assert wb["下拉列表"].sheet_state == "hidden"
    ws = wb["下级组织"]
    assert [c.value for c in ws[1]][:2] == ["组织简称", "组织类别"]
    assert ws["A1"].font.color.rgb.endswith("C00000")               # required header in red
    dv = ws.data_validations.dataValidation
    assert any("下拉列表" in v.formula1 and "1048576" in str(v.sqref) for v in dv)
    kinds = [c.value for c in wb["下拉列表"]["A"] if c.value]
    assert kinds == ["基层团委", "团工委", "团总支", "团支部"]          # what may appear below a 基层团委
    assert ws.column_dimensions["A"].number_format == "@"            # the whole column is text, every row


def test_preview_then_commit_valid_rows(client, session, login, tree):
    login(tree.school_admin)
    before = count_orgs(session)
    rows = [("高二年级团总支", "团总支"), ("高三年级团总支", "团总支"), ("", "团支部"), ("高一年级团总支", "团总支"),
            ("教师团支部", "团委"), ("高二年级团总支", "团总支"), ("心理社团支部", "火星组织"), (None, None),
            ("计算机专业2017级3班团支部", "团支部")]
    resp = upload(client, tree.school.id, workbook(rows, title_row=True))
    assert resp.status_code == 302
    assert count_orgs(session) == before                           # nothing written before confirmation
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "共 8 行" in page and "3 行无误" in page and "5 行有错误" in page
    assert "请填写组织简称" in page and "上级组织下已有“高一年级团总支”" in page
    assert "与第3行重名" in page and "基层团委下不能建立基层团委" in page and "未知的组织类别" in page
    batch = session.scalar(select(ImportBatch))
    resp = client.post(f"/orgs/imports/{batch.id}/commit", data={"mode": "all"})
    assert resp.status_code == 409 and "没有导入任何数据" in resp.get_data(as_text=True)
    assert count_orgs(session) == before
    resp = client.post(f"/orgs/imports/{batch.id}/commit", data={"mode": "valid"})
    assert resp.status_code == 302
    created = session.scalars(select(Org).where(Org.parent_id == tree.school.id).order_by(Org.code)).all()
    assert [o.short_name for o in created] == ["高一年级团总支", "高二年级团总支", "高三年级团总支",
                                               "计算机专业2017级3班团支部"]
    assert [o.code[-3:] for o in created] == ["001", "002", "003", "004"]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "导入完成" in page and created[1].code in page
    assert client.post(f"/orgs/imports/{batch.id}/commit", data={"mode": "valid"}).status_code == 409
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "import.org_children"))
    assert entry.after == {"created": 3, "skipped": 5}
    # the error workbook: failed rows with 原行号 and 错误说明
    resp = client.get(f"/orgs/imports/{batch.id}/errors.xlsx")
    ws = load_workbook(BytesIO(resp.data)).active
    header = [c.value for c in ws[1]]
    assert header[-2:] == ["原行号", "错误说明"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 5 and rows[0][header.index("原行号")] == 5
    assert ws.cell(row=2, column=1).fill.fgColor.rgb.endswith("FFE0E0")


def test_reuploading_the_same_file_creates_nothing_twice(client, session, login, tree):
    login(tree.school_admin)
    rows = [("高二年级团总支", "团总支"), ("高三年级团总支", "团总支")]
    resp = upload(client, tree.school.id, workbook(rows))
    batch_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    client.post(f"/orgs/imports/{batch_id}/commit", data={"mode": "all"})
    n = count_orgs(session)
    resp = upload(client, tree.school.id, workbook(rows))
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "0 行无误" in page and "重复上传" in page
    batch_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/orgs/imports/{batch_id}/commit", data={"mode": "valid"}).status_code in (302, 409)
    assert count_orgs(session) == n


def test_stale_batch_is_revalidated_at_commit(client, session, login, tree):
    login(tree.school_admin)
    resp = upload(client, tree.school.id, workbook([("高二年级团总支", "团总支")]))
    batch_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    client.post(f"/orgs/{tree.school.id}/children", data={"short_name": "高二年级团总支", "kind": "general"})
    n = count_orgs(session)
    resp = client.post(f"/orgs/imports/{batch_id}/commit", data={"mode": "all"})
    assert resp.status_code == 409 and count_orgs(session) == n


@pytest.mark.parametrize("data,name,fragment", [
    (b"", "a.xlsx", "空的"),
    (b"hello world", "a.txt", "只能上传 Excel"),
    (b"PK\x03\x04garbage", "a.xlsx", "损坏"),
    (b"\x00\x01random bytes" * 50, "a.xlsx", "不是有效的 Excel"),
])
def test_bad_files_are_4xx_with_chinese_messages(client, session, login, tree, data, name, fragment):
    login(tree.school_admin)
    n = count_orgs(session)
    resp = upload(client, tree.school.id, BytesIO(data), name)
    assert resp.status_code == 422 and fragment in resp.get_data(as_text=True)
    assert count_orgs(session) == n
    assert session.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_wrong_headers_and_empty_sheet(client, login, tree):
    login(tree.school_admin)
    resp = upload(client, tree.school.id, workbook([("x", "y")], headers=("姓名", "身份证号码")))
    assert resp.status_code == 422 and "没有找到表头" in resp.get_data(as_text=True)
    resp = upload(client, tree.school.id, workbook([]))
    assert resp.status_code == 422 and "没有数据行" in resp.get_data(as_text=True)
    resp = client.post(f"/orgs/{tree.school.id}/children/import", data={}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "请选择要上传" in resp.get_data(as_text=True)


def test_formula_cells_are_plain_text(client, session, login, tree):
    login(tree.school_admin)
    resp = upload(client, tree.school.id, workbook([("=1+1团支部", "团支部")]))
    batch_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    client.post(f"/orgs/imports/{batch_id}/commit", data={"mode": "all"})
    assert session.scalar(select(Org).where(Org.short_name == "=1+1团支部")) is not None


def test_only_own_org_and_cancel(client, session, login, tree):
    login(tree.county_admin)
    resp = upload(client, tree.school.id, workbook([("高二年级团总支", "团总支")]))
    assert resp.status_code == 403
    client.post("/auth/logout")
    login(tree.school_admin)
    resp = upload(client, tree.school.id, workbook([("高二年级团总支", "团总支")]))
    batch_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/orgs/imports/{batch_id}/cancel").status_code == 302
    # a cancelled import is in the audit log too, in Chinese, filed under the importing org
    session.expire_all()
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "import.cancel",
                                                    AuditEntry.object_id == batch_id))
    assert entry is not None and entry.org_id == tree.school.id and entry.summary.startswith("取消导入：")
    assert client.post(f"/orgs/imports/{batch_id}/commit", data={"mode": "all"}).status_code == 409
    client.post("/auth/logout")
    login(tree.township_admin)
    assert client.get(f"/orgs/imports/{batch_id}").status_code == 404


def test_one_file_builds_general_branches_and_their_branches(client, session, login, tree):
    login(tree.school_admin)
    rows = []
    for g in ("高二年级团总支", "高三年级团总支", "初三年级团总支"):
        rows.append((g, "团总支", ""))
        rows += [(f"{g[:2]}({i})班团支部", "团支部", g) for i in range(1, 5)]
    rows.append(("高一(3)班团支部", "团支部", "高一年级团总支"))      # under an existing 团总支
    resp = upload(client, tree.school.id, workbook(rows, headers=("组织简称", "组织类别", "上级组织")))
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "16 行无误" in page
    batch_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/orgs/imports/{batch_id}/commit", data={"mode": "all"}).status_code == 302
    session.expire_all()
    g2 = session.scalar(select(Org).where(Org.short_name == "高二年级团总支"))
    kids = session.scalars(select(Org).where(Org.parent_id == g2.id).order_by(Org.code)).all()
    assert [k.code for k in kids] == [f"{g2.code}.{i:03d}" for i in range(1, 5)]
    assert session.scalar(select(Org).where(Org.short_name == "高一(3)班团支部")).parent_id == tree.grade.id
    assert session.scalar(select(func.count()).select_from(Org).where(Org.parent_id == tree.school.id)) == 4
    # uploading the same file again: every row, nested ones included, says it already exists
    resp = upload(client, tree.school.id, workbook(rows, headers=("组织简称", "组织类别", "上级组织")))
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "0 行无误" in page and page.count("如是重复上传") == 16 and "本身有错误" not in page


def test_parent_column_errors(client, session, login, tree):
    login(tree.school_admin)
    rows = [("甲班团支部", "团支部", "乙年级团总支"), ("乙年级团总支", "团总支", ""),
            ("丙班团支部", "团支部", "不存在"),
            ("丁年级团总支", "团委", ""), ("戊班团支部", "团支部", "丁年级团总支"),
            ("己年级团总支", "团总支", "城东村团支部")]
    resp = upload(client, tree.school.id, workbook(rows, headers=("组织简称", "组织类别", "上级组织")))
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "须写在本行之前" in page and "找不到上级组织“不存在”" in page
    assert "本身有错误" in page                                    # 戊 under the faulty 丁
    assert "找不到上级组织“城东村团支部”" in page                     # outside the school's subtree
    assert "1 行无误" in page
