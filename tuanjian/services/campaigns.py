"""阶段任务: an upper organisation sets target rates and a deadline for its direct subordinates; each
subordinate confirms once its own subtree meets them; the upper level follows who has confirmed."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from ..domain import policy
from ..domain.errors import Conflict, NotAllowed
from ..domain.progress import Standing, campaign_standing, validate_campaign
from ..models import AdminGrant, Campaign, CampaignConfirmation, Org
from . import audit
from .actor import Actor
from .progress import progress

PROGRESS, REGISTER = "progress", "register"           # Campaign.kind


@dataclass
class Participant:
    org: Org
    standing: Standing | None                 # None for a 团内统计确认
    confirmation: CampaignConfirmation | None
    overdue: bool
    figure: int | None = None                 # 团内统计确认: its 本年数 in the publisher's frozen comparison


@dataclass
class RegisterCheck:
    """What a subordinate confirms in a 团内统计确认 and whether it may: its own frozen figures of the day if it froze
    them, else its subtree's statistics as of the day computed now."""
    org: Org
    day: date
    frozen: bool
    total: list                               # [上年数, 增加, 减少, 本年数]
    blockers: list[str]

    @property
    def passed(self) -> bool:
        return not self.blockers


def create_campaign(session, actor: Actor, org: Org, data: dict, *, now: datetime, today: date) -> Campaign:
    from ..queries import has_children
    policy.require("campaign.create", actor.scope_code, org.code)
    if not has_children(session, org.id):
        raise NotAllowed(f"“{org.short_name}”没有下级组织，不能发布阶段任务")
    clean = validate_campaign(name=data.get("name"), deadline=data.get("deadline"), targets=data.get("targets", {}),
                              today=today)
    campaign = Campaign(org_id=org.id, name=clean["name"], deadline=clean["deadline"], targets=clean["targets"],
                        created_by_id=actor.person_id, created_at=now)
    session.add(campaign)
    session.flush()
    audit.record(session, actor, "campaign.create", object_type="campaign", object_id=campaign.id, org_id=org.id,
                 summary=f"发布阶段任务“{campaign.name}”，截止 {campaign.deadline.isoformat()}",
                 after={"targets": campaign.targets, "deadline": campaign.deadline.isoformat()})
    return campaign


def create_register_campaign(session, actor: Actor, org: Org, *, on: date, deadline, now: datetime,
                             today: date) -> Campaign:
    """团内统计确认: ``org`` (which froze its figures as of ``on``) asks its direct subordinates to confirm theirs."""
    from ..domain import register
    from ..models import RegisterSnapshot
    from ..queries import has_children
    policy.require("register.confirm_task", actor.scope_code, org.code)
    if not has_children(session, org.id):
        raise NotAllowed(f"“{org.short_name}”没有下级组织，不能发布团内统计确认任务")
    if session.scalar(select(RegisterSnapshot.id).where(RegisterSnapshot.org_id == org.id,
                                                        RegisterSnapshot.on_date == on)) is None:
        raise Conflict(f"请先冻结 {org.short_name} 截至 {on.isoformat()} 的团内统计，再发布确认任务")
    if register_campaign_of(session, org, on) is not None:
        raise Conflict(f"截至 {on.isoformat()} 的团内统计确认任务已经发布过")
    due = register.validate_confirm_deadline(deadline, today=today)
    campaign = Campaign(org_id=org.id, name=register.CONFIRM_TASK_NAME.format(day=on.isoformat()), deadline=due,
                        targets={}, kind=REGISTER, on_date=on, created_by_id=actor.person_id, created_at=now)
    session.add(campaign)
    session.flush()
    audit.record(session, actor, "campaign.create", object_type="campaign", object_id=campaign.id, org_id=org.id,
                 summary=f"发布阶段任务“{campaign.name}”，请直属下级核对并提交确认，截止 {due.isoformat()}",
                 after={"kind": REGISTER, "on_date": on.isoformat(), "deadline": due.isoformat()})
    return campaign


def register_campaign_of(session, org: Org, on: date) -> Campaign | None:
    return session.scalar(select(Campaign).where(Campaign.org_id == org.id, Campaign.kind == REGISTER,
                                                 Campaign.on_date == on))


def register_check(session, org: Org, day: date, *, settings, today: date) -> RegisterCheck:
    """``org``'s figures as of ``day`` (frozen if it froze them) and what still stands in the way of confirming:
    a comparison row that does not balance, or people whose record and 团籍变动 disagree today."""
    from ..domain import register
    from ..tuanji import queries as tq
    snap = tq.snapshot_of(session, org, day)
    if snap is not None:
        d = snap.data
        rows = [(name, nums) for _, name, *nums in d["comparison"]] + [("合计", d["total"])]
        unbalanced = [name for name, (last, arr, dep, this) in rows if last + arr - dep != this]
        unexplained = len(tq.unexplained(session, org, today))
        total = list(d["total"])
    else:
        report = tq.statistics(session, org, day, age_bounds=settings.register_age_bounds,
                               small=settings.branch_complete_min_members)
        unbalanced = [o.short_name for o, c in report.comparison if not c.balanced]
        if not report.total.balanced:
            unbalanced.append("合计")
        unexplained = len(report.unexplained)
        t = report.total
        total = [t.last, t.arrivals, t.departures, t.this]
    return RegisterCheck(org, day, snap is not None, total, register.confirm_blockers(unbalanced, unexplained))


def close_campaign(session, actor: Actor, campaign: Campaign, *, now: datetime) -> None:
    policy.require("campaign.close", actor.scope_code, campaign.org.code)
    if campaign.closed_at is not None:
        raise Conflict("这项阶段任务已经结束")
    campaign.closed_at = now
    audit.record(session, actor, "campaign.close", object_type="campaign", object_id=campaign.id,
                 org_id=campaign.org_id, summary=f"结束阶段任务“{campaign.name}”")


def standing_of(session, campaign: Campaign, org: Org, *, settings, now: datetime, today: date) -> Standing:
    """``org``'s own standing: its whole subtree against the campaign's targets."""
    report = progress(session, org, settings=settings, now=now, today=today)
    return campaign_standing(report.totals.tally, campaign.targets)


def confirmation_of(session, campaign: Campaign, org: Org) -> CampaignConfirmation | None:
    return session.scalar(select(CampaignConfirmation).where(CampaignConfirmation.campaign_id == campaign.id,
                                                             CampaignConfirmation.org_id == org.id))


def participants(session, campaign: Campaign, *, settings, now: datetime, today: date) -> list[Participant]:
    """Every live direct subordinate with its standing (from one progress computation of the campaign's org)."""
    confirmed = {c.org_id: c for c in session.scalars(select(CampaignConfirmation).where(
        CampaignConfirmation.campaign_id == campaign.id))}
    if campaign.kind == REGISTER:
        return _register_participants(session, campaign, confirmed, today)
    report = progress(session, campaign.org, settings=settings, now=now, today=today)
    out = []
    for row in report.rows:
        confirmation = confirmed.get(row.org.id)
        out.append(Participant(row.org, campaign_standing(row.tally, campaign.targets), confirmation,
                               overdue=confirmation is None and today > campaign.deadline))
    return out


def _register_participants(session, campaign: Campaign, confirmed: dict, today: date) -> list[Participant]:
    """Every live direct subordinate, with its 本年数 in the publisher's frozen comparison (if it has a row)."""
    from ..queries import live_children
    from ..tuanji import queries as tq
    snap = tq.snapshot_of(session, campaign.org, campaign.on_date)
    figures = {row[0]: row[-1] for row in (snap.data["comparison"] if snap is not None else [])}
    children = live_children(session, campaign.org_id)
    return [Participant(o, None, confirmed.get(o.id), overdue=o.id not in confirmed and today > campaign.deadline,
                        figure=figures.get(o.id)) for o in children]


def admin_org_ids(session, person_id: int | None) -> set[int]:
    """The organisations ``person_id`` is an active admin of."""
    if person_id is None:
        return set()
    return set(session.scalars(select(AdminGrant.org_id).where(AdminGrant.person_id == person_id,
                                                              AdminGrant.revoked_at.is_(None))))


def check_may_confirm(actor_admin_org_ids: set[int], org: Org) -> None:
    """提交确认 is the subordinate's own statement (domain.policy.campaign_confirm_refusal)."""
    refusal = policy.campaign_confirm_refusal(org.short_name, direct_subordinate=True,
                                              own_admin=org.id in actor_admin_org_ids)
    if refusal:
        raise NotAllowed(refusal)


def confirm(session, actor: Actor, campaign: Campaign, org: Org, *, settings, now: datetime,
            today: date, note: str | None = None) -> CampaignConfirmation:
    """提交确认 by ``org`` (a direct subordinate of the campaign's org): refused until its checks pass (target
    rates; for a 团内统计确认, figures that balance and no unexplained people). ``note``: the optional 说明."""
    from ..domain import register
    refusal = policy.campaign_confirm_refusal(org.short_name, direct_subordinate=org.parent_id == campaign.org_id,
                                              own_admin=True)
    if refusal:
        raise NotAllowed(refusal)
    check_may_confirm(admin_org_ids(session, actor.person_id), org)
    if campaign.closed_at is not None:
        raise Conflict("这项阶段任务已经结束，不能再提交确认")
    if confirmation_of(session, campaign, org) is not None:
        raise Conflict("已经提交过确认")
    clean_note = register.clean_confirm_note(note)
    after = None
    if campaign.kind == REGISTER:
        check = register_check(session, org, campaign.on_date, settings=settings, today=today)
        if not check.passed:
            raise Conflict("还不能提交确认：" + "；".join(check.blockers))
        after = {"on_date": campaign.on_date.isoformat(), "frozen": check.frozen, "total": check.total}
    else:
        standing = standing_of(session, campaign, org, settings=settings, now=now, today=today)
        if not standing.passed:
            raise Conflict("还不能提交确认：" + "；".join(standing.missing))
    confirmation = CampaignConfirmation(campaign_id=campaign.id, org_id=org.id, confirmed_by_id=actor.person_id,
                                        confirmed_at=now, note=clean_note or None)
    session.add(confirmation)
    figures = (f"（{'冻结的' if after['frozen'] else '按现有记录计算的'}本年数 {after['total'][3]} 人）"
               if after else "")
    audit.record(session, actor, "campaign.confirm", object_type="campaign", object_id=campaign.id, org_id=org.id,
                 summary=f"“{org.short_name}”对阶段任务“{campaign.name}”提交确认{figures}"
                         + (f"，说明：{clean_note}" if clean_note else ""), after=after)
    session.flush()
    return confirmation


def campaigns_set_by(session, org: Org) -> list[Campaign]:
    return list(session.scalars(select(Campaign).where(Campaign.org_id == org.id).order_by(Campaign.id.desc())))


def campaigns_for(session, org: Org) -> list[Campaign]:
    """Open campaigns of ``org``'s parent: the ones ``org`` takes part in."""
    if org.parent_id is None:
        return []
    return list(session.scalars(select(Campaign).where(Campaign.org_id == org.parent_id,
                                                       Campaign.closed_at.is_(None)).order_by(Campaign.deadline)))
