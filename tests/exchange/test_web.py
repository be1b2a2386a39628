"""The 数据交换 page: 交换密钥, export, upload → preview → apply, refusals as Chinese 4xx, and the two Excel exports."""
from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tuanjian.domain import exchange as fmt
from tuanjian.models import AuditEntry, ExchangeLink, ImportBatch, Member, Org

from ..factories import make_member
from .helpers import KEY, township_export

ALERT = re.compile(r'role="alert">(.*?)</p>', re.S)


@pytest.fixture
def package(db_kind, tmp_path):
    """A township's package from its own instance (built before this test's app, which shares PostgreSQL)."""
    return township_export(db_kind, tmp_path / "a")


def _counts(session):
    session.expire_all()
    return {m.__tablename__: session.scalar(select(func.count()).select_from(m)) for m in (Org, Member, AuditEntry)}


def _set_key(client, org, key=KEY):
    resp = client.post(f"/exchange/org/{org.id}/key", data={"key": key})
    assert resp.status_code == 200 and "交换密钥已保存" in resp.get_data(as_text=True)


def _upload(client, org, data, name="上报文件.zip"):
    return client.post(f"/exchange/org/{org.id}/upload", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_page_is_in_the_menu_and_works_without_javascript(client, login, tree):
    login(tree.county_admin)
    home = client.get(f"/orgs/{tree.county.id}").get_data(as_text=True)
    assert f'href="/exchange/org/{tree.county.id}"' in home
    page = client.get(f"/exchange/org/{tree.county.id}").get_data(as_text=True)
    assert "导出上报文件" in page and "导入下级的上报文件" in page and "尚未设置交换密钥" in page
    for action in ("key", "package", "upload"):
        assert re.search(rf'<form method="post" action="/exchange/org/{tree.county.id}/{action}"', page), action
    assert f'href="/exchange/org/{tree.county.id}/zhtj.xlsx"' in page and "reveal=1" in page


def test_key_is_generated_or_typed_and_audited_without_the_key(client, session, login, tree):
    login(tree.county_admin)
    page = client.post(f"/exchange/org/{tree.township.id}/key", data={"key": ""}).get_data(as_text=True)
    shown = re.search(r'<strong class="code">([A-Z0-9-]{29})</strong>', page).group(1)
    assert session.scalar(select(ExchangeLink.secret).where(ExchangeLink.root_code == tree.township.code)) == \
        shown.replace("-", "")
    bad = client.post(f"/exchange/org/{tree.township.id}/key", data={"key": "abc"})
    assert bad.status_code == 422 and "至少" in ALERT.search(bad.get_data(as_text=True)).group(1)
    _set_key(client, tree.township)
    page = client.get(f"/exchange/org/{tree.township.id}").get_data(as_text=True)
    assert KEY in page
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "exchange.key")).all()
    assert len(entries) == 2 and not any(shown[:5] in e.summary or "ABCDE" in e.summary for e in entries)


def test_export_package_downloads_a_signed_zip(client, session, login, tree):
    login(tree.township_admin)
    resp = client.post(f"/exchange/org/{tree.township.id}/package")
    assert resp.status_code == 422 and "尚未设置" in ALERT.search(resp.get_data(as_text=True)).group(1)
    assert client.post(f"/exchange/org/{tree.township.id}/key", data={"key": KEY}).status_code == 403
    login(tree.county_admin)                 # only an admin above the township sets its key in this instance
    _set_key(client, tree.township)
    login(tree.township_admin)
    make_member(session, tree.village, name="李导")
    session.commit()
    resp = client.post(f"/exchange/org/{tree.township.id}/package")
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    assert "attachment" in resp.headers["Content-Disposition"]
    opened = fmt.open_package(resp.data)
    assert opened.manifest.root_code == tree.township.code and opened.manifest.counts["active_members"] == 1
    data = fmt.verify(opened, KEY)
    assert "password_hash" not in str(data)
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "exchange.export")).org_id == tree.township.id


def test_upload_preview_apply_and_reimport(package, client, session, login, tree):
    data, _, expected, code = package
    login(tree.county_admin)
    _set_key(client, tree.township)
    before = _counts(session)
    resp = _upload(client, tree.county, data)
    assert resp.status_code == 302, ALERT.search(resp.get_data(as_text=True))
    preview = client.get(resp.headers["Location"])
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "签名核验通过" in html and "确认导入" in html and "新增" in html
    assert "上报文件带有 1 条团籍变动" in html                           # 孙老's leaving, with its date and reason
    assert not any(idn in html for idn in expected["people"])          # masked in the preview
    assert _counts(session)["orgs"] == before["orgs"]                   # nothing written yet
    batch_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    done = client.post(f"/exchange/packages/{batch_id}/apply")
    assert done.status_code == 302
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "上报文件已导入" in page
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Member).join(Org).where(
        Org.code.startswith(code + "."), Member.deleted_at.is_(None))) == 5
    assert session.get(ImportBatch, batch_id).status == "committed"
    # the stored preview carried the sender's 团籍变动 to the commit: 孙老's leaving as the township recorded it, and
    # no arrival derived on the day of applying for him
    from tuanjian.models import MembershipEvent, Person
    sun = session.scalar(select(Person.id).where(Person.name == "孙老"))
    assert session.execute(select(MembershipEvent.kind, MembershipEvent.note).where(
        MembershipEvent.person_id == sun)).all() == [("out_outside", "迁出外省")]
    assert client.post(f"/exchange/packages/{batch_id}/apply").status_code == 409
    # the same file again: nothing to do
    again = _upload(client, tree.county, data)
    html = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "完全一致" in html
    after = _counts(session)
    done = client.post(f"/exchange/packages/{again.headers['Location'].rsplit('/', 1)[1]}/apply")
    assert "没有需要改动" in client.get(done.headers["Location"]).get_data(as_text=True)
    assert _counts(session) == after


def _rezip(data: bytes, change) -> bytes:
    src = zipfile.ZipFile(BytesIO(data))
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info.filename, change(info.filename, src.read(info)))
    return out.getvalue()


def test_tampered_foreign_and_older_packages_are_refused(package, client, session, login, tree):
    data, _, expected, code = package
    login(tree.county_admin)
    _set_key(client, tree.township)
    flipped = bytearray(data)
    flipped[len(flipped) // 2] ^= 0x40
    idn = next(iter(expected["people"]))
    cases = [
        ("byte flipped", bytes(flipped), ("损坏", "签名不符", "与清单不符", "不是有效的上报文件")),
        ("data edited", _rezip(data, lambda n, b: b.replace(idn.encode(), idn[:-4].encode() + b"0000")
                               if n == fmt.DATA else b), ("与清单不符",)),
        ("manifest edited", _rezip(data, lambda n, b: b.replace(b'"active_members": 5', b'"active_members": 50')
                                   if n == fmt.MANIFEST else b), ("签名不符",)),
        ("signature removed", _rezip(data, lambda n, b: b"HMAC-SHA256:00" if n == fmt.SIGNATURE else b), ("签名不符",)),
    ]
    before = _counts(session)
    for label, body, expect in cases:
        resp = _upload(client, tree.county, body)
        message = ALERT.search(resp.get_data(as_text=True))
        assert 400 <= resp.status_code < 500 and message, label
        assert any(e in message.group(1) for e in expect), (label, message.group(1))
        assert _counts(session) == before, label
    # a wrong key on this side
    _set_key(client, tree.township, "QQQQQ-QQQQQ-QQQQQ-QQQQQ-QQQQQ")
    resp = _upload(client, tree.county, data)
    assert resp.status_code == 422 and "交换密钥不一致" in ALERT.search(resp.get_data(as_text=True)).group(1)
    _set_key(client, tree.township)
    # foreign: the township's package uploaded on a sibling township's page
    resp = _upload(client, tree.sibling, data)
    assert resp.status_code == 422 and "不能在这里导入" in ALERT.search(resp.get_data(as_text=True)).group(1)
    # older: a newer package of the township was applied already
    link = session.scalar(select(ExchangeLink).where(ExchangeLink.root_code == code))
    link.last_created_at = fmt.open_package(data).manifest.created_at + timedelta(days=1)
    link.last_sha256 = "0" * 64
    session.commit()
    before = _counts(session)
    resp = _upload(client, tree.county, data)
    assert resp.status_code == 409 and "不能用旧数据覆盖新数据" in ALERT.search(resp.get_data(as_text=True)).group(1)
    assert _counts(session) == before
    # not logged in at the township's level: the township admin cannot import at the county page (404)
    login(tree.township_admin)
    assert _upload(client, tree.county, data).status_code == 404


def test_zhtj_export_has_one_sheet_per_branch_with_text_ids(client, session, login, tree):
    m1 = make_member(session, tree.village, name="李一")
    m1.dev_number = "201800100001"
    make_member(session, tree.klass, name="王二")
    from tuanjian.models import CadrePost
    session.add(CadrePost(person_id=m1.person_id, org_id=tree.village.id, position="书记", nature="兼职",
                          start_month="2024-01", party_committee=True))
    session.commit()
    login(tree.county_admin)
    resp = client.get(f"/exchange/org/{tree.county.id}/zhtj.xlsx")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(BytesIO(resp.data))
    assert wb.sheetnames[0] == "目录" and "城东村团支部" in wb.sheetnames and "高一(1)班团支部" in wb.sheetnames
    ws = wb["城东村团支部"]
    headers = [c.value for c in ws[1]]
    assert headers[:7] == ["姓名", "身份证号码", "民族", "政治面貌", "入团年月", "所在团支部", "是否为团干部"]
    rows = {r[0].value: r for r in ws.iter_rows(min_row=2)}
    li = rows["李一"]
    assert li[1].value == m1.person.id_number and li[1].data_type == "s" and li[1].number_format == "@"
    assert li[headers.index("是否为团干部")].value == "是" and li[headers.index("团内现任职务")].value == "书记"
    assert li[headers.index("发展团员编号")].value == "201800100001"
    assert li[headers.index("是否同级党委（支部）成员")].value == "是"
    # the branch admin (a 副书记 of the branch, not a member) is listed too; the county's own cadres get a sheet
    assert "陈支" in rows and any(name.endswith("本级团干部") for name in wb.sheetnames)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "export.zhtj"))
    assert entry and m1.person.id_number not in entry.summary


def test_member_export_masks_ids_unless_revealed(client, session, login, tree):
    m = make_member(session, tree.klass, name="王二")
    session.commit()
    login(tree.school_admin)
    masked = load_workbook(BytesIO(client.get(f"/members/org/{tree.school.id}/export.xlsx").data)).active
    head = [c.value for c in masked[2]]
    assert head[:3] == ["团委", "团总支", "团支部"]
    row = [c.value for c in masked[3]]
    assert row[:3] == ["望江中学团委", "高一年级团总支", "高一(1)班团支部"] and row[6] == m.person.masked_id
    full = load_workbook(BytesIO(client.get(f"/members/org/{tree.school.id}/export.xlsx?reveal=1").data)).active
    assert [c.value for c in full[3]][6] == m.person.id_number
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("export.members%"))
                              .order_by(AuditEntry.id)).all()
    assert actions == ["export.members", "export.members_full"]
    # out of scope: another township's admin gets 404
    login(tree.township_admin)
    assert client.get(f"/members/org/{tree.school.id}/export.xlsx?reveal=1").status_code == 404
