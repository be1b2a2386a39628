"""批量创建下级组织: template → upload → preview → commit → result and error workbook."""
from __future__ import annotations

from flask import url_for

from .. import current_settings
from ..domain.orgtree import OrgKind, allowed_children
from ..services import imports as service
from ..spreadsheets.writer import Column
from ..web.importflow import ImportFlow
from . import bp


def _columns(org) -> list[Column]:
    placement = current_settings().placement
    reachable, frontier = set(), [org.org_kind]          # every category that may appear below this org
    while frontier:
        for child in allowed_children(frontier.pop(), placement):
            if child not in reachable:
                reachable.add(child)
                frontier.append(child)
    kinds = tuple(k.label for k in OrgKind if k in reachable)
    return [Column("组织简称", "short_name", required=True, width=34,
                   note="最多25个字，如“华阳镇城东村团支部”“计算机专业2017级3班团支部”"),
            Column("组织类别", "kind", required=True, width=16, choices=kinds, note="可选：" + "、".join(kinds)),
            Column("上级组织", "parent", width=24,
                   note="直属本组织的留空；要建在本表前面某行组织（如团总支）之下的，填那一行的组织简称"),
            Column("是否为乡镇（街道）团委（团工委）", "is_township", width=30, choices=("是", "否"),
                   note="只对基层团委、团工委有效；企业、学校等填“否”或不填")]


FLOW = ImportFlow(
    kind="org_children", what="批量创建下级组织", sheet=service.ORG_SHEET,
    endpoints={"upload_page": "orgs.import_children", "template": "orgs.children_template",
               "upload": "orgs.upload_children", "batch": "orgs.import_batch", "commit": "orgs.commit_batch",
               "cancel": "orgs.cancel_batch", "errors": "orgs.batch_errors"},
    columns=_columns,
    instructions=lambda org: [
        "1. 在“下级组织”工作表中从第2行起每行填写一个组织；红色表头为必填。",
        "   直属本组织的，“上级组织”留空；要建在团总支等之下的，先写上级那一行，再在“上级组织”填它的简称。",
        "2. 组织类别请从下拉列表中选择；不要修改表头，不要增删列。",
        "3. 组织代码由系统自动编定，无需填写。",
        "4. 填好后保存，在系统“批量创建下级组织”页面上传，先预览再确认导入。"],
    steps=["每行填写一个组织的组织简称和组织类别；直属本组织的“上级组织”留空，建在本表前面某个团总支之下的填它的简称。",
           "组织代码由系统按上级代码自动编定。"],
    preview=service.preview_org_children, commit_rows=service.commit_org_children,
    result_columns={"code": "组织代码", "short_name": "组织简称", "parent": "上级组织"},
    next_step=lambda org: (url_for("orgs.detail", org_id=org.id), "回到组织树，生成注册码"),
    success=lambda created: f"已创建 {len(created)} 个组织。下一步：为直属下级生成管理员注册码。")


FLOW.register(bp, upload_rule="/<int:org_id>/children/import", template_rule="/<int:org_id>/children/template.xlsx")
