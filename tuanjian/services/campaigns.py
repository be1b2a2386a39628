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


@dataclass
class Participant:
    org: Org
    standing: Standing
    confirmation: CampaignConfirmation | None
    overdue: bool


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
    report = progress(session, campaign.org, settings=settings, now=now, today=today)
    confirmed = {c.org_id: c for c in session.scalars(select(CampaignConfirmation).where(
        CampaignConfirmation.campaign_id == campaign.id))}
    out = []
    for row in report.rows:
        confirmation = confirmed.get(row.org.id)
        out.append(Participant(row.org, campaign_standing(row.tally, campaign.targets), confirmation,
                               overdue=confirmation is None and today > campaign.deadline))
    return out


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
            today: date) -> CampaignConfirmation:
    """提交确认 by ``org`` (a direct subordinate of the campaign's org): refused until its checks pass."""
    refusal = policy.campaign_confirm_refusal(org.short_name, direct_subordinate=org.parent_id == campaign.org_id,
                                              own_admin=True)
    if refusal:
        raise NotAllowed(refusal)
    check_may_confirm(admin_org_ids(session, actor.person_id), org)
    if campaign.closed_at is not None:
        raise Conflict("这项阶段任务已经结束，不能再提交确认")
    if confirmation_of(session, campaign, org) is not None:
        raise Conflict("已经提交过确认")
    standing = standing_of(session, campaign, org, settings=settings, now=now, today=today)
    if not standing.passed:
        raise Conflict("还不能提交确认：" + "；".join(standing.missing))
    confirmation = CampaignConfirmation(campaign_id=campaign.id, org_id=org.id, confirmed_by_id=actor.person_id,
                                        confirmed_at=now)
    session.add(confirmation)
    audit.record(session, actor, "campaign.confirm", object_type="campaign", object_id=campaign.id, org_id=org.id,
                 summary=f"“{org.short_name}”对阶段任务“{campaign.name}”提交确认")
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
