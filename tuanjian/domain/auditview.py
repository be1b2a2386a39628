"""How an audit entry reads (issue 16.4): Chinese labels for every action and every recorded field, display
values instead of Python ones (是/否, （空）, organisation names instead of ids, Beijing time instead of ISO
timestamps in UTC). Pure: the caller passes the organisation names it looked up."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from .orginfo import FIELD_LABELS as ORG_INFO_LABELS
from .orgtree import KIND_LABELS, OrgKind

# Every field name that appears in an entry's before/after (services record them) -> its label.
FIELD_LABELS = {
    **ORG_INFO_LABELS,
    # people and members
    "person": "人员", "name": "姓名", "id_number": "身份证号码", "gender": "性别", "birth_date": "出生日期",
    "ethnicity": "民族", "political_status": "政治面貌", "join_date": "入团年月", "phone": "手机号码",
    "dev_number": "发展团员编号", "education": "学历", "occupation": "职业", "workplace": "学习工作单位",
    "has_application": "入团志愿书", "has_card": "团员证", "card_year": "团籍注册年度", "has_letter": "组织关系介绍信",
    "cadre": "是否为团干部", "is_cadre": "是否为团干部", "deleted": "已删除", "reason": "原因",
    "leave_kind": "离团原因", "leave_on": "离团日期",
    "members": "团员", "count": "人数", "full_id_numbers": "含完整身份证号码",
    # posts, admins, codes
    "position": "团内职务", "nature": "职务性质", "date": "变更日期", "ended_on": "卸任日期", "admin": "管理员",
    "secretary": "书记", "org": "组织", "expires_at": "有效期至", "status": "状态",
    # organisations
    "code": "组织代码", "parent": "上级组织", "parent_id": "上级组织", "is_township": "是否为乡镇（街道）团委",
    "sort_order": "排列顺序", "recoded": "重新编码的组织数", "dissolved": "已撤销", "source": "原团支部",
    "target": "并入的团支部",
    # campaigns, imports, exports, data exchange
    "targets": "目标", "deadline": "截止日期", "created": "新建", "skipped": "跳过（有错误）",
    "rows": "行数", "ok": "无错误", "error": "有错误", "new": "新增", "update": "更新", "unchanged": "未变",
    "sheets": "工作表", "cadres": "团干部", "branches": "团支部", "orgs": "团组织", "people": "人员",
    "active_members": "在册团员", "cadre_posts": "团干部职务", "post_changes": "职务变更记录",
    "admin_grants": "管理员", "totals": "各类数据", "sha256": "文件校验码", "adds": "新增", "updates": "更新",
    "retires": "移除",
    # progress campaign targets
    "admins": "管理员到位率", "info": "组织信息完善率", "member_complete": "团员资料完整率",
    "branches_done": "团支部录入完成率",
}

STATUS_LABELS = {"pending": "待处理", "accepted": "已同意", "refused": "已拒绝", "cancelled": "已撤回",
                 "unused": "未使用", "used": "已使用", "expired": "已过期", "revoked": "已撤销"}
_KIND_VALUES = {k.value: KIND_LABELS[k] for k in OrgKind}
_ISO_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2}(\.\d+)?)?$")
_UTC_IN_TEXT = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(?::\d{2})?\s*[(（]UTC[)）]")
EMPTY = "（空）"


def field_label(key: str) -> str:
    return FIELD_LABELS.get(key, key)


def _local(stamp: datetime, offset_hours: int) -> datetime:
    return stamp + timedelta(hours=offset_hours)


def display_value(key: str, value, *, org_names: dict, offset_hours: int = 8) -> str:
    """One recorded value as a user reads it. ``org_names``: organisation id or code -> name."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return "是" if value else "否"
    if key in ("parent_id", "org_id") and isinstance(value, int):
        return org_names.get(value, f"（编号 {value} 的组织）")
    if key in ("parent", "org", "source", "target") and isinstance(value, str) and value in org_names:
        return f"{org_names[value]}（{value}）"
    if key == "kind" and value in _KIND_VALUES:
        return _KIND_VALUES[value]
    if key == "status" and value in STATUS_LABELS:
        return STATUS_LABELS[value]
    if key == "targets" and isinstance(value, dict):
        return "，".join(f"{field_label(k)} {v}%" for k, v in value.items())
    if isinstance(value, dict):
        return "，".join(f"{field_label(k)} {display_value(k, v, org_names=org_names, offset_hours=offset_hours)}"
                        for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "、".join(display_value(key, v, org_names=org_names, offset_hours=offset_hours) for v in value) or EMPTY
    if isinstance(value, datetime):
        return f"{_local(value, offset_hours):%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        m = _ISO_TIME.match(value)
        if m:   # stored timestamps are UTC
            stamp = datetime.fromisoformat(f"{m.group(1)} {m.group(2)}")
            return f"{_local(stamp, offset_hours):%Y-%m-%d %H:%M}"
    return str(value)


def display_changes(values: dict | None, *, org_names: dict, offset_hours: int = 8) -> list[tuple[str, str]]:
    """(label, display value) for each recorded field, in the recorded order."""
    return [(field_label(k), display_value(k, v, org_names=org_names, offset_hours=offset_hours))
            for k, v in (values or {}).items()]


def referenced_orgs(values: dict | None) -> tuple[set[int], set[str]]:
    """The organisation ids and codes an entry's values mention (to look their names up in one query)."""
    ids, codes = set(), set()
    for k, v in (values or {}).items():
        if k in ("parent_id", "org_id") and isinstance(v, int) and not isinstance(v, bool):
            ids.add(v)
        elif k in ("parent", "org", "source", "target") and isinstance(v, str):
            codes.add(v)
    return ids, codes


def local_summary(text: str, *, offset_hours: int = 8) -> str:
    """Older entries wrote times as "2026-11-23 08:00 (UTC)": show them in Beijing time."""
    def repl(m):
        stamp = datetime.fromisoformat(f"{m.group(1)} {m.group(2)}")
        return f"{_local(stamp, offset_hours):%Y-%m-%d %H:%M}"
    return _UTC_IN_TEXT.sub(repl, text or "")
