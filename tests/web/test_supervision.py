"""录入进度 pages: table, sorting, drill-down, highlight, print view, exports, exception lists and campaigns."""
from __future__ import annotations

import re
from datetime import date, timedelta
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import func, select

from tuanjian.models import AuditEntry, Campaign, CampaignConfirmation

from ..factories import make_code, make_member


def _rows(page: str) -> list[str]:
    """Names of the subordinate rows, in the order shown."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<th scope="row" class="name"><a [^>]*>([^<]+)</a>', body)


def _populate(session, tree):
    for i in range(3):
        make_member(session, tree.village, name=f"城东{'甲乙丙'[i]}")
    make_member(session, tree.klass, name="高一甲")
    make_member(session, tree.klass, name="高一乙", join_date=None)        # incomplete: no 入团年月
    make_member(session, tree.sibling_branch, name="邻村甲")
    session.commit()


def test_county_sees_one_row_per_subordinate_with_figures(client, session, login, tree):
    _populate(session, tree)
    login(tree.county_admin)
    page = client.get(f"/progress/org/{tree.county.id}").get_data(as_text=True)
    assert _rows(page) == ["华阳镇团委", "高士镇团委", "望江中学团委"] or set(_rows(page)) == {
        "华阳镇团委", "望江中学团委", "高士镇团委"}
    row = page.split("望江中学团委</a></th>", 1)[1].split("</tr>", 1)[0]
    cells = re.findall(r"<td[^>]*>([^<]*)", row)
    # orgs, branches, 5 rates, members, exceptions, updated
    assert cells[0] == "2" and cells[1] == "1"                     # below the 团委: 团总支 + 团支部; one branch
    assert cells[4] == "50.0%"                                     # 团员资料完整率: 1 of 2 complete
    assert cells[5] == "0.0%"                                      # 团支部录入完成率: the branch has only 2
    assert cells[7] == "2"                                          # members
    assert "合计（含本级）" in page and "本级" in page
    assert 'class="num below"' in page                              # below-threshold cells are marked
    assert "截至" in page and "异常清单" in page and "指标说明" in page


def test_sorting_and_fragment(client, session, login, tree):
    _populate(session, tree)
    login(tree.county_admin)
    by_members = _rows(client.get(f"/progress/org/{tree.county.id}?sort=members&desc=1").get_data(as_text=True))
    assert by_members[0] == "华阳镇团委" and by_members[-1] == "高士镇团委"
    ascending = _rows(client.get(f"/progress/org/{tree.county.id}?sort=members&desc=0").get_data(as_text=True))
    assert ascending == list(reversed(by_members))
    fragment = client.get(f"/progress/org/{tree.county.id}?sort=name", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in text and "<table" in text
    junk = client.get(f"/progress/org/{tree.county.id}?sort=%3Cscript%3E&desc=x")
    assert junk.status_code == 200 and len(_rows(junk.get_data(as_text=True))) == 3


def test_drill_down_to_any_depth(client, session, login, tree):
    _populate(session, tree)
    login(tree.county_admin)
    page = client.get(f"/progress/org/{tree.county.id}").get_data(as_text=True)
    assert f'href="/progress/org/{tree.school.id}"' in page
    school = client.get(f"/progress/org/{tree.school.id}").get_data(as_text=True)
    assert _rows(school) == ["高一年级团总支"] and f'href="/progress/org/{tree.grade.id}"' in school
    grade = client.get(f"/progress/org/{tree.grade.id}").get_data(as_text=True)
    assert _rows(grade) == ["高一(1)班团支部"]
    branch = client.get(f"/progress/org/{tree.klass.id}").get_data(as_text=True)
    assert "还没有下级组织" in branch and "本级" in branch


def test_township_cannot_see_the_county_or_a_sibling(client, login, tree):
    login(tree.township_admin)
    assert client.get(f"/progress/org/{tree.county.id}").status_code == 404
    assert client.get(f"/progress/org/{tree.sibling.id}/print").status_code == 404
    assert client.get(f"/progress/org/{tree.sibling.id}/exceptions/no_admin").status_code == 404


def test_print_view_is_the_a4_report(client, session, login, tree, app):
    _populate(session, tree)
    login(tree.county_admin)
    page = client.get(f"/progress/org/{tree.county.id}/print").get_data(as_text=True)
    assert "共青团测试县委员会 智慧团建基础信息录入进度通报" in page and "截至" in page
    assert "<thead>" in page and "合计（含本级）" in page and "指标说明" in page
    assert "附：各下级组织异常项" in page and "制表人" in page and "审核人" in page
    assert 'class="top"' not in page                                # no navigation on paper
    assert "/static/css/page-a4-landscape.css" in page and "page-a4-portrait" not in page
    resp = client.get("/static/css/print.css")
    css = resp.get_data(as_text=True)
    resp.close()
    # the paper comes from the view's own page stylesheet: Chrome before 85 ignores named pages in a shared one
    assert "table-header-group" in css and not re.search(r"@page\s*\w*\s*\{|\bpage:", css)
    resp = client.get("/static/css/page-a4-landscape.css")
    css = resp.get_data(as_text=True)
    resp.close()
    assert "size: A4 landscape" in css and "counter(page)" in css


def test_excel_export_is_audited_and_formula_safe(client, session, login, tree):
    _populate(session, tree)
    tree.school.full_name = "=HYPERLINK(\"x\")望江中学团委"
    session.commit()
    login(tree.county_admin)
    resp = client.get(f"/progress/org/{tree.county.id}/export.xlsx")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(BytesIO(resp.data)).active
    assert ws.cell(row=2, column=1).value == "排名" and ws.cell(row=2, column=2).value == "组织"
    names = [ws.cell(row=r, column=2).value for r in range(3, ws.max_row + 1)]
    assert names[-2:] == ["本级", "合计（含本级）"] and len(names) == 5
    formula_cell = next(ws.cell(row=r, column=2) for r in range(3, ws.max_row + 1)
                        if str(ws.cell(row=r, column=2).value).startswith("="))
    assert formula_cell.data_type == "s"
    assert session.scalar(select(func.count()).select_from(AuditEntry)
                          .where(AuditEntry.action == "export.progress")) == 1


def test_exception_lists_masked_paginated_exported(client, session, login, tree, app):
    old = make_member(session, tree.village, name="超龄甲", birth=date(1990, 1, 1), join_date="2005-05")
    make_code(session, tree.village, expired=True)
    session.commit()
    login(tree.township_admin)
    page = client.get(f"/progress/org/{tree.township.id}/exceptions/overage").get_data(as_text=True)
    assert "超龄甲" in page and old.person.id_number not in page and old.person.masked_id in page
    codes = client.get(f"/progress/org/{tree.township.id}/exceptions/stale_codes").get_data(as_text=True)
    assert "城东村团支部" in codes and "共 1 条" in codes
    empty = client.get(f"/progress/org/{tree.township.id}/exceptions/large_branches").get_data(as_text=True)
    assert "没有这类异常" in empty
    assert client.get(f"/progress/org/{tree.township.id}/exceptions/bogus").status_code == 404
    resp = client.get(f"/progress/org/{tree.township.id}/exceptions/overage/export.xlsx")
    ws = load_workbook(BytesIO(resp.data)).active
    values = [c.value for row in ws.iter_rows() for c in row]
    assert "超龄甲" in values and old.person.id_number not in values and old.person.masked_id in values
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "export.exceptions")) == 1
    app.config["PAGE_SIZE"] = 1
    for i in range(2):
        make_member(session, tree.village, name=f"超龄{'乙丙'[i]}", birth=date(1991, 1, 1 + i), join_date="2006-05")
    session.commit()
    first = client.get(f"/progress/org/{tree.township.id}/exceptions/overage").get_data(as_text=True)
    assert "第 1 / 3 页" in first and "共 3 条" in first


def test_campaign_set_confirmed_and_followed(client, session, login, tree):
    login(tree.county_admin)
    bad = client.post(f"/progress/org/{tree.county.id}/campaigns",
                      data={"name": "", "deadline": "2001-01-01", "target_branches_done": "120"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "请填写任务名称" in text and "截止日期不能早于今天" in text and "1 到 100" in text
    resp = client.post(f"/progress/org/{tree.county.id}/campaigns",
                       data={"name": "年底录入", "deadline": "2099-12-31", "target_branches_done": "100"})
    assert resp.status_code == 302
    campaign = session.scalar(select(Campaign))
    client.post("/auth/logout")

    login(tree.township_admin)
    notice = client.get(f"/progress/org/{tree.township.id}").get_data(as_text=True)
    assert "上级布置的阶段任务：“年底录入”（截止 2099-12-31）" in notice
    page = client.get(f"/progress/org/{tree.township.id}/campaigns").get_data(as_text=True)
    assert "年底录入" in page and "还不能提交确认" in page and "团支部录入完成率为 0.0%，目标 100%" in page
    refused = client.post(f"/progress/org/{tree.township.id}/campaigns/{campaign.id}/confirm")
    assert refused.status_code == 409 and "还不能提交确认" in refused.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(CampaignConfirmation)) == 0
    for i in range(3):
        make_member(session, tree.village, name=f"达标{'甲乙丙'[i]}")
    session.commit()
    ok = client.post(f"/progress/org/{tree.township.id}/campaigns/{campaign.id}/confirm")
    assert ok.status_code == 302
    again = client.post(f"/progress/org/{tree.township.id}/campaigns/{campaign.id}/confirm")
    assert again.status_code == 409
    # the township cannot open the county's campaign page itself, nor confirm for a branch
    assert client.get(f"/progress/campaigns/{campaign.id}").status_code == 404
    assert client.post(f"/progress/org/{tree.village.id}/campaigns/{campaign.id}/confirm").status_code == 404
    client.post("/auth/logout")

    login(tree.county_admin)
    detail = client.get(f"/progress/campaigns/{campaign.id}").get_data(as_text=True)
    assert "已提交确认 <strong class=\"ok-text\">1</strong>" in detail
    reminders = client.get(f"/progress/campaigns/{campaign.id}/reminders").get_data(as_text=True).replace("<wbr>", "")
    assert "高士镇团委" in reminders and "望江中学团委" in reminders and "华阳镇团委" not in reminders
    campaign.deadline = date.today() - timedelta(days=1)
    session.commit()
    assert "已逾期未确认" in client.get(f"/progress/campaigns/{campaign.id}").get_data(as_text=True)
    assert client.post(f"/progress/campaigns/{campaign.id}/close").status_code == 302
    assert session.get(Campaign, campaign.id).closed_at is not None
    client.post("/auth/logout")
    login(tree.sibling_admin)
    closed = client.post(f"/progress/org/{tree.sibling.id}/campaigns/{campaign.id}/confirm")
    assert closed.status_code == 409


def test_branch_cannot_set_a_campaign(client, login, tree):
    login(tree.branch_admin)
    page = client.get(f"/progress/org/{tree.village.id}/campaigns").get_data(as_text=True)
    assert "发布新的阶段任务" not in page
    resp = client.post(f"/progress/org/{tree.village.id}/campaigns", data={"name": "x", "deadline": "2099-01-01",
                                                                          "target_info": "100"})
    assert resp.status_code == 403 and "没有下级组织" in resp.get_data(as_text=True)


def test_member_lists_load_only_the_page_shown_and_lose_no_one(client, session, login, tree, app):
    """A member exception list finds who is on it, then loads one page: every listed member appears on exactly
    one page, in branch-then-name order, and a page past the end shows the last one."""
    names = ["甲一", "甲二", "乙一", "乙二", "丙一"]
    for i, name in enumerate(names):           # 2020 joins without an 入团志愿书: 身份待确认
        make_member(session, tree.village if i % 2 else tree.klass, name=name, join_date="2020-05",
                    evidence=(None, None, None, None))
    make_member(session, tree.village, name="已确认", join_date="2020-05")
    session.commit()
    app.config["PAGE_SIZE"] = 2
    login(tree.county_admin)
    url = f"/progress/org/{tree.county.id}/exceptions/unconfirmed"
    pages = [client.get(f"{url}?page={n}").get_data(as_text=True) for n in (1, 2, 3)]
    assert "共 5" in pages[0] and "第 1 / 3 页" in pages[0]
    shown = [[n for n in names + ["已确认"] if f">{n}<" in page] for page in pages]
    assert sorted(sum(shown, [])) == sorted(names) and all(len(s) <= 2 for s in shown)
    assert "第 3 / 3 页" in client.get(f"{url}?page=99").get_data(as_text=True)
    found = client.get(f"{url}?q=乙").get_data(as_text=True)                      # search: the whole list
    assert "乙一" in found and "乙二" in found and "甲一" not in found



def test_counts_labelled_xiaji_exclude_the_org_itself(client, session, login, tree):
    """Issue 16.5: 下级组织数 and the login summary count what is below, not the org itself."""
    _populate(session, tree)
    resp = client.post("/auth/login", data={"id_number": tree.county_admin.id_number, "password": "test1234pass"})
    page = client.get(resp.headers["Location"], follow_redirects=True).get_data(as_text=True)
    from tuanjian.models import Org
    below = session.scalar(select(func.count()).select_from(Org).where(Org.id != tree.county.id))
    assert f"全部下级共 {below} 个组织" in page
    row = page.split("高士镇团委</a></th>", 1)[1].split("</tr>", 1)[0]
    assert re.findall(r"<td[^>]*>([^<]*)", row)[0] == "1"           # 高士镇团委 has one branch below it
    totals = page.split("合计（含本级）</th>", 1)[1].split("</tr>", 1)[0]
    assert re.findall(r"<td[^>]*>([^<]*)", totals)[0] == str(below)
    own = page.split(">本级</th>", 1)[1].split("</tr>", 1)[0]
    assert re.findall(r"<td[^>]*>([^<]*)", own)[0] == "—"


def test_excel_rates_are_numbers_with_percent_format(client, session, login, tree):
    _populate(session, tree)
    login(tree.county_admin)
    resp = client.get(f"/progress/org/{tree.county.id}/export.xlsx")
    ws = load_workbook(BytesIO(resp.data)).active
    headers = [c.value for c in ws[2]]
    school = next(r for r in ws.iter_rows(min_row=3) if r[1].value == "望江中学团委")
    rate = school[headers.index("团员资料完整率")]
    assert rate.value == 0.5 and rate.number_format == "0.0%" and rate.data_type == "n"
    assert school[headers.index("下级组织数")].value == 2
    assert not [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str) and c.value.endswith("%")]


def test_exception_lists_count_members_like_the_progress_table(client, session, login, tree):
    """Issue 16.5: 团员人数 of a 团委 in an exception list is its whole subtree's, as in the progress table;
    a missing 全称 shows as missing, not as the short name; 建立日期 is shown."""
    from datetime import date as _date
    _populate(session, tree)
    tree.school.founded_on = _date(1990, 5, 4)
    tree.township.full_name = None
    session.commit()
    login(tree.county_admin)
    page = client.get(f"/progress/org/{tree.county.id}/exceptions/no_secretary").get_data(as_text=True)
    row = page.split(">望江中学团委<", 1)[1].split("</tr>", 1)[0]
    assert ">2<" in row and "1990-05-04" in row                   # 高一甲 + 高一乙 below the school
    town = page.split(">华阳镇团委<", 1)[0].rsplit("<tr", 1)[1]
    assert "（未填写）" in town
    resp = client.get(f"/progress/org/{tree.county.id}/exceptions/no_secretary/export.xlsx")
    name = resp.headers["Content-Disposition"]
    assert "no_secretary" not in name and "%E6%B2%A1%E6%9C%89%E4%B9%A6%E8%AE%B0" in name   # 没有书记


def test_welcome_box_is_shown_once_and_f5_does_not_bring_it_back(client, login, tree):
    """Issue 26.6: after logging in the summary box shows once; the address loses ?welcome=1, so a reload (F5) after
    知道了 shows the progress page alone, with JavaScript or without."""
    login(tree.county_admin)
    resp = client.get(f"/progress/org/{tree.county.id}?welcome=1&sort=name")
    assert resp.status_code == 302 and "welcome" not in resp.headers["Location"]
    assert "sort=name" in resp.headers["Location"]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "下级组织录入概况" in page
    again = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "下级组织录入概况" not in again and "录入进度" in again
    # the box belongs to the org it was asked for: another org's page does not pick it up
    client.get(f"/progress/org/{tree.county.id}?welcome=1")
    assert "下级组织录入概况" not in client.get(f"/progress/org/{tree.township.id}").get_data(as_text=True)
