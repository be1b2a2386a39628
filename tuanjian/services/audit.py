from __future__ import annotations

from sqlalchemy import select

from ..models import AdminGrant, AuditEntry, AuditOrg, CadrePost, Member, utcnow
from ..queries import among
from .actor import Actor

ACTION_LABELS = {
    "org.create_root": "初始化根组织",
    "org.create": "创建下级组织",
    "code.issue": "生成注册码",
    "code.revoke": "撤销注册码",
    "admin.register": "管理员注册",
    "admin.grant": "设定管理员",
    "admin.revoke": "解除管理员",
    "account.login": "登录",
    "account.login_failed": "登录失败",
    "account.locked": "账号锁定",
    "account.password_changed": "修改密码",
    "account.password_reset": "重置密码",
    "account.claimed": "启用账号（首次设置密码）",
    "resetcode.issue": "生成重置密码验证码",
    "firstlogin.issue": "生成首次登录验证码",
    "member.search_id": "按身份证号查找",
    "org.info": "录入组织信息",
    "org.reorder": "调整顺序",
    "org.move": "迁移组织",
    "org.merge": "合并团支部",
    "org.dissolve": "撤销组织",
    "import.org_children": "批量创建下级组织",
    "cadre.add": "录入团干部",
    "cadre.change": "团干部职务变更",
    "cadre.end": "团干部卸任",
    "import.cadres": "批量录入团干部",
    "member.add": "录入团员",
    "member.update": "修改团员信息",
    "member.delete": "删除团员记录",
    "member.leave": "团员离团",
    "member.leave_batch": "批量办理超龄离团",
    "register.freeze": "冻结团内统计",
    "register.print": "打印团内统计",
    "export.register_stats": "导出团内统计",
    "export.register_roll": "导出团籍名册",
    "member.reveal": "查看完整身份证号",
    "member.print": "打印团员名单",
    "member.print_check": "打印团员核对表",
    "profile.update": "本人修改个人信息",
    "person.correct": "更正姓名和身份证号码",
    "export.progress": "导出录入进度",
    "export.exceptions": "导出异常清单",
    "export.members": "导出团员名单",
    "export.members_full": "导出团员名单（完整身份证号）",
    "export.zhtj": "导出智慧团建格式",
    "export.reconcile": "导出对账差异",
    "export.reconcile_full": "导出对账差异（完整身份证号）",
    "export.reconcile_zhtj": "导出对账结果（智慧团建格式）",
    "reconcile.compare": "与智慧团建对账",
    "reconcile.explain": "对账差异已说明",
    "reconcile.reveal": "查看完整身份证号（对账）",
    "reconcile.import": "对账结果转入团员导入",
    "exchange.export": "导出上报文件",
    "exchange.import": "导入上报文件",
    "exchange.key": "设置交换密钥",
    "campaign.create": "发布阶段任务",
    "campaign.close": "结束阶段任务",
    "campaign.confirm": "阶段任务提交确认",
    "import.members": "导入团员",
    "import.cancel": "取消导入",
    "transfer.request": "申请组织关系转接",
    "transfer.accept": "同意转接",
    "transfer.refuse": "拒绝转接",
    "transfer.cancel": "撤回转接申请",
    "exception.request": "申请特殊情况录入",
    "exception.approve": "批准特殊情况录入",
    "exception.refuse": "退回特殊情况录入",
    "exception.edit": "修改特殊情况录入的例外字段",
    "exception.scan": "查看特殊情况录入扫描件",
    "export.exceptions_excepted": "导出特殊情况录入清单",
    "demo.seed": "导入演示数据",
    "system.backup": "备份数据库",
    "system.restore": "恢复数据库",
}


def action_label(action: str) -> str:
    """The Chinese name of an action; an action without one (none should exist) reads 其他操作, never the key."""
    return ACTION_LABELS.get(action, "其他操作")


def record(session, actor: Actor, action: str, *, object_type: str, object_id: int | None, org_id: int | None,
           summary: str, before: dict | None = None, after: dict | None = None, people=()) -> AuditEntry:
    """One entry, filed under ``org_id``. ``people``: ids of the people the write touched; the entry is also filed
    under every organisation where one of them holds a place (member, post, admin grant) at this moment, so the
    admins of each such organisation see it in their log."""
    entry = AuditEntry(at=utcnow(), actor_person_id=actor.person_id, actor_name=actor.name[:60], ip=actor.ip,
                       action=action, object_type=object_type, object_id=object_id, org_id=org_id,
                       summary=summary, before=before, after=after)
    places = place_org_ids(session, people) - {org_id}
    entry.also = [AuditOrg(org_id=oid) for oid in sorted(places)]
    session.add(entry)
    return entry


def place_org_ids(session, person_ids) -> set[int]:
    """The organisations where these people hold a place now (pending changes of the session included)."""
    ids = sorted({pid for pid in person_ids if pid is not None})
    if not ids:
        return set()
    session.flush()
    out: set[int] = set()
    for model, active in ((Member, Member.deleted_at.is_(None)), (CadrePost, CadrePost.ended_at.is_(None)),
                          (AdminGrant, AdminGrant.revoked_at.is_(None))):
        for cond in among(session, model.person_id, ids):
            out.update(session.scalars(select(model.org_id).where(cond, active).distinct()))
    return out
