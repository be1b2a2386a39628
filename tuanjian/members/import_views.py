"""导入团员团干部: template → upload → preview → commit → result and error workbook (web.importflow.ImportFlow with
the row checks of domain.member_import). An error row that only exceptable rules block links to 特殊情况录入."""
from __future__ import annotations

from flask import url_for

from ..domain.cadres import NATURES
from ..domain.members import EDUCATIONS, OCCUPATIONS
from ..domain.people import ETHNICITIES, MEMBER_POLITICAL_STATUSES, POSITIONS_GRASSROOTS
from ..extensions import db
from ..services.member_imports import branches_in, commit_members, preview_members
from ..spreadsheets.writer import Column
from ..web.importflow import ImportFlow
from . import bp
from .exception_views import row_action


def _columns(org) -> list[Column]:
    names = tuple(dict.fromkeys(b.short_name for b in branches_in(db.session, org)))
    branch_required = not org.org_kind.holds_members
    return [Column("姓名", "name", required=True, width=12),
            Column("身份证号码", "id_number", required=True, width=22,
                   note="18位，须为文本格式（模板已设置），末位X大小写均可"),
            Column("民族", "ethnicity", required=True, width=10, choices=ETHNICITIES, note="也可写“汉”“回”等"),
            Column("政治面貌", "political_status", required=True, width=12, choices=MEMBER_POLITICAL_STATUSES),
            Column("入团年月", "join_date", required=True, width=10, note="如 2015-06、2015.6、201506"),
            Column("所在团支部", "branch", required=branch_required, width=26, choices=names,
                   note="从下拉列表选择" if branch_required else "可不填（即本团支部）"),
            Column("是否为团干部", "is_cadre", required=True, width=10, choices=("是", "否")),
            Column("团内现任职务", "position", width=12, choices=POSITIONS_GRASSROOTS,
                   note="是团干部时必填；也可写“团支部书记”"),
            Column("发展团员编号", "dev_number", width=16, note="2017年及以后入团的必填，12位"),
            Column("手机号码", "phone", width=14),
            Column("文化程度", "education", width=14, choices=EDUCATIONS, note="即学历"),
            Column("职业", "occupation", width=14, choices=OCCUPATIONS),
            Column("学习工作单位", "workplace", width=24),
            Column("入团志愿书", "has_application", width=10, choices=("是", "否"),
                   note="团员身份摸底：有无入团志愿书；2016年及以后入团的必须有"),
            Column("团员证", "has_card", width=8, choices=("是", "否"), note="有无团员证"),
            Column("团籍注册年度", "card_year", width=12, note="团员证上最近一次团籍注册的年份，如 2018"),
            Column("组织关系介绍信", "has_letter", width=14, choices=("是", "否"),
                   note="有公章、由团的领导机关或基层团委开具的介绍信"),
            Column("任现职年月", "start_month", width=10, note="团干部填写，如 2023-09"),
            Column("团干部性质", "nature", width=10, choices=NATURES, note="团干部填写：专职、兼职或挂职"),
            Column("是否同级党委（支部）成员", "party_committee", width=14, choices=("是", "否"), note="团干部填写")]


FLOW = ImportFlow(
    kind="members", what="导入团员团干部", sheet="团员",
    endpoints={"upload_page": "members.import_page", "template": "members.template", "upload": "members.upload",
               "batch": "members.batch", "commit": "members.commit_batch", "cancel": "members.cancel_batch",
               "errors": "members.batch_errors"},
    columns=_columns,
    instructions=lambda org: [
        "1. 在“团员”工作表中从第2行起每行填写一名团员；红色表头为必填。"
        "团支部的团干部也在这里填写（是否为团干部填“是”并选团内职务）。",
        "2. 身份证号码、手机号码、入团年月列已设为文本格式，请勿改成数字，否则身份证号末几位会丢失。",
        "3. 下拉列表的栏目请从列表中选择；列的顺序可以调整。"
        "智慧团建模板、省级平台导出的表格和本系统导出的“智慧团建格式”"
        "文件也能直接上传（如“身份证号”“学历”“团内职务”“是否团干部”等写法都认得，每个团支部一张工作表亦可）；"
        "系统用不到的列不导入，预览页会列出“以下列未导入”。",
        "4. 已在系统中的团员按身份证号更新，信息未变的行自动跳过；同一文件重复上传不会重复录入。",
        "5. 团干部自动开通账号，初始密码为身份证号后八位。",
        "6. 团员身份摸底：入团志愿书、团员证、组织关系介绍信填“是”或“否”。2016年以前入团的，三者有其一即可"
        "（团员证须在2017年或以后进行过团籍注册，并填写团籍注册年度）；2016年及以后入团的，必须有入团志愿书。"
        "不符合的团员列入“身份待确认”清单。更新已有团员时，这几列留空表示不修改已登记的情况。",
        "7. 团干部可填写任现职年月、团干部性质、是否同级党委（支部）成员；更新时留空表示不修改。"],
    steps=["每行一名团员；团支部的团干部也在这里填写。团委、团总支导入时须填写“所在团支部”。",
           "已在系统中的团员按身份证号更新，未变的行自动跳过。"],
    preview=preview_members, commit_rows=commit_members,
    result_columns={"name": "姓名", "branch": "所在团支部", "change": "结果"},
    next_step=lambda org: (url_for("members.index", org_id=org.id), "查看团员名单"),
    success=lambda written: f"已导入 {len(written)} 名团员（新增或更新）。",
    row_action=row_action, clears_blanks=True)

FLOW.register(bp, upload_rule="/org/<int:org_id>/import", template_rule="/org/<int:org_id>/template.xlsx")
