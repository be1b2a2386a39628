from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow


class OrgStats(Base):
    """The facts about one organisation that the progress page sums over subtrees. Kept current in the same
    transaction as every write that changes them (services/stats.py), so the page always shows committed data
    and never scans every member."""

    __tablename__ = "org_stats"
    # the progress page groups these rows by code prefix without joining orgs (PostgreSQL: pattern operators)
    __table_args__ = (Index("ix_org_stats_code", "code", postgresql_ops={"code": "varchar_pattern_ops"}),)

    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), primary_key=True)
    # copies of the org's code, category and 14–28周岁青年数, refreshed with the row (a move touches every
    # moved org); rows exist for live organisations only
    code: Mapped[str] = mapped_column(String(40), default="", server_default="")
    kind: Mapped[str] = mapped_column(String(16), default="", server_default="")
    youth: Mapped[int | None] = mapped_column(Integer)
    members: Mapped[int] = mapped_column(Integer, default=0)
    complete_members: Mapped[int] = mapped_column(Integer, default=0)
    bad_dev_numbers: Mapped[int] = mapped_column(Integer, default=0)
    unconfirmed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")    # 身份待确认 members
    cadres: Mapped[int] = mapped_column(Integer, default=0)               # people holding a post here
    complete_cadres: Mapped[int] = mapped_column(Integer, default=0)
    has_secretary: Mapped[bool] = mapped_column(Boolean, default=False)
    info_complete: Mapped[bool] = mapped_column(Boolean, default=False)
    admins: Mapped[int] = mapped_column(Integer, default=0)
    branches_below: Mapped[int] = mapped_column(Integer, default=0)       # live 团支部 strictly below
    # the organisation stands for a whole school (domain.orginfo.is_school_unit), and whether it has its 学校标识码
    school_unit: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    has_school_code: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # 超龄 members (aged overage_years+ with no post anywhere) as of overage_on: the count changes with the
    # calendar, so rows of an earlier day are recounted (in one grouped query) before they are summed
    overage: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    overage_on: Mapped[date | None] = mapped_column(Date)
    rules: Mapped[str] = mapped_column(String(40), default="")            # the settings the row was computed with
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Campaign(Base):
    """阶段任务: an upper organisation asks its direct subordinates to reach target rates by a deadline."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    deadline: Mapped[date] = mapped_column(Date)
    targets: Mapped[dict] = mapped_column(JSON)                           # metric key -> percent
    # the kind of task (issue 27): "progress" (target rates) or "register" (团内统计确认 of the figures as of
    # ``on_date``, a date the publishing org froze)
    kind: Mapped[str] = mapped_column(String(16), default="progress", server_default="progress")
    on_date: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)

    org: Mapped["Org"] = relationship()  # noqa: F821, UP037


class CampaignConfirmation(Base):
    """提交确认: a subordinate confirmed, once its own checks passed, that its part of a campaign is done."""

    __tablename__ = "campaign_confirmations"
    __table_args__ = (UniqueConstraint("campaign_id", "org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    confirmed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(String(200))                 # 说明 given with the confirmation
