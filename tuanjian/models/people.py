from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, event, text
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from ..domain.orgtree import OrgKind, check_holds_members
from ..domain.people import mask_id_number
from .base import Base, utcnow


class Person(Base):
    """One real person, identified by the ID number. Member records, cadre posts and accounts point here."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(30))
    gender: Mapped[str] = mapped_column(String(2))
    birth_date: Mapped[date] = mapped_column(Date, index=True)          # 超龄 lists look up by birth date
    ethnicity: Mapped[str | None] = mapped_column(String(20))
    political_status: Mapped[str | None] = mapped_column(String(10))
    join_date: Mapped[str | None] = mapped_column(String(7))      # 入团年月 "YYYY-MM"
    phone: Mapped[str | None] = mapped_column(String(11))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    account: Mapped[Account | None] = relationship(back_populates="person", uselist=False)  # noqa: F821
    posts: Mapped[list[CadrePost]] = relationship(back_populates="person")

    @property
    def masked_id(self) -> str:
        return mask_id_number(self.id_number)


class Member(Base):
    """团员: a person's membership record in exactly one 团支部."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    dev_number: Mapped[str | None] = mapped_column(String(20), unique=True)       # 发展团员编号
    education: Mapped[str | None] = mapped_column(String(20))                     # 学历
    occupation: Mapped[str | None] = mapped_column(String(20))                    # 职业
    workplace: Mapped[str | None] = mapped_column(String(100))                    # 学习工作单位
    # 团员身份摸底 (seed notice 002): evidence of membership; None = not yet checked (shows as 身份待确认)
    has_application: Mapped[bool | None] = mapped_column(Boolean)                 # 入团志愿书
    has_card: Mapped[bool | None] = mapped_column(Boolean)                        # 团员证
    card_year: Mapped[int | None] = mapped_column(Integer)                        # 团员证上最近的团籍注册年度
    has_letter: Mapped[bool | None] = mapped_column(Boolean)                      # 组织关系介绍信
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)
    deleted_reason: Mapped[str | None] = mapped_column(String(200))
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    # 特殊情况录入: the approved request this member was entered by (which rules, reason, approver, when)
    exception_id: Mapped[int | None] = mapped_column(ForeignKey("exception_requests.id"))

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    org: Mapped[Org] = relationship()  # noqa: F821
    exception: Mapped[ExceptionRequest | None] = relationship(foreign_keys=[exception_id])

    @property
    def evidence(self) -> tuple:
        """(has_application, has_card, card_year, has_letter), as domain.progress.member_identity takes it."""
        return self.has_application, self.has_card, self.card_year, self.has_letter


class MembershipEvent(Base):
    """团籍变动 (issue 27): one arrival into or departure from a 团支部, with its date and kind
    (``domain.register``). ``members`` is the current place; spans over time come from these rows. ``erased``: the
    span this row belongs to was ended by 录入错误 and counts in no figure. ``next_on``: the date of the person's
    next counted event after this one (by date, then id; NULL: none, or this row is erased), kept by the
    memberships owner on every write, so "the latest event on or before D" is the row with on_date <= D < next_on
    (no window query)."""

    __tablename__ = "membership_events"
    __table_args__ = (
        Index("ix_membership_events_person_on", "person_id", "on_date", "id"),
        Index("ix_membership_events_org_on", "org_id", "on_date"),
        Index("ix_membership_events_created_at", "created_at"),     # a frozen 团内统计's later corrections
        Index("ix_membership_events_on_person", "on_date", "person_id"),   # the people with events after a day
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    on_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    dev_number: Mapped[str | None] = mapped_column(String(20))           # 新发展: the 发展团员编号
    note: Mapped[str | None] = mapped_column(String(200))
    erased: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    next_on: Mapped[date | None] = mapped_column(Date)

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    org: Mapped[Org] = relationship()  # noqa: F821


class MemberTally(Base):
    """团内统计 counters kept on write (issue 27, province root): how many people the events place as members now
    (their latest counted event, whatever its date, is an arrival) have each value of each counted field (``field``:
    gender, ethnicity, birth (ISO date), education, occupation, political_status). ``value`` "" stands for an empty
    field. The tallies owner
    (services/owners/tallies.py) adds each write's difference; the 团内统计 of the whole data reads these instead of
    every member."""

    __tablename__ = "member_tallies"

    field: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class RegisterSnapshot(Base):
    """团内统计 frozen (issue 27): an org's figures as of a date, kept as reported; later 团籍变动 dated on or before
    that date are listed beside it, never folded in."""

    __tablename__ = "register_snapshots"
    __table_args__ = (Index("uq_register_snapshots_org_on", "org_id", "on_date", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    on_date: Mapped[date] = mapped_column(Date)
    data: Mapped[dict] = mapped_column(JSON)
    frozen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    frozen_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))

    frozen_by: Mapped[Person | None] = relationship(foreign_keys=[frozen_by_id])


class CadrePost(Base):
    """团干部职务: (person, organisation, position). One person may hold posts in several organisations."""

    __tablename__ = "cadre_posts"
    __table_args__ = (
        Index("uq_cadre_posts_active", "person_id", "org_id", "position", unique=True,
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    position: Mapped[str] = mapped_column(String(20))
    title: Mapped[str | None] = mapped_column(String(30))           # free text for 其他 / 工作人员 (e.g. 组织部部长)
    nature: Mapped[str | None] = mapped_column(String(4))           # 团干部性质: 专职/兼职/挂职
    start_month: Mapped[str | None] = mapped_column(String(7))      # 任现职年月 YYYY-MM
    party_committee: Mapped[bool | None] = mapped_column(Boolean)   # 是否同级党委（支部）成员
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_on: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(100))

    person: Mapped[Person] = relationship(back_populates="posts")
    org: Mapped[Org] = relationship()  # noqa: F821


@event.listens_for(Session, "before_flush")
def _members_only_in_branches(session, flush_context, instances):  # noqa: ARG001
    """Whatever path writes a member (form, import, CLI), it can only land in a 团支部."""
    from .org import Org
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Member) and obj.org_id is not None:
            org = obj.org if obj.org is not None and obj.org.id == obj.org_id else session.get(Org, obj.org_id)
            if org is not None:
                check_holds_members(OrgKind(org.kind), org.short_name)


class PostChange(Base):
    """团干部职务变更 history: a position changed (from → to) or a post ended (to is None), when and by whom."""

    __tablename__ = "post_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("cadre_posts.id"), index=True)
    from_position: Mapped[str | None] = mapped_column(String(20))
    to_position: Mapped[str | None] = mapped_column(String(20))
    changed_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(100))
    by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    by: Mapped[Person | None] = relationship(foreign_keys=[by_person_id])


class TransferRequest(Base):
    """组织关系转接: move a member from the branch holding them to another branch. The receiving side asks;
    an admin over the holding branch (its own or a common ancestor's) accepts or refuses."""

    __tablename__ = "transfer_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    from_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    to_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")      # pending, accepted, refused, cancelled
    reason: Mapped[str | None] = mapped_column(String(200))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decision_note: Mapped[str | None] = mapped_column(String(200))

    member: Mapped[Member] = relationship()
    from_org: Mapped[Org] = relationship(foreign_keys=[from_org_id])  # noqa: F821
    to_org: Mapped[Org] = relationship(foreign_keys=[to_org_id])  # noqa: F821
    requested_by: Mapped[Person | None] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[Person | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def status_label(self) -> str:
        return {"pending": "待处理", "accepted": "已同意（已转入）", "refused": "已拒绝",
                "cancelled": "已撤回"}[self.status]


class ExceptionRequest(Base):
    """特殊情况录入 (issue 18): a member that only exceptable rules block, asked for by a branch's admin with a
    reason and a vouching org, decided by the approving level (domain.exceptions). On approval the member is
    created and points here (Member.exception_id): which rules, the reason, who approved and when."""

    __tablename__ = "exception_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)              # the branch
    approver_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)     # the approving level's org
    name: Mapped[str] = mapped_column(String(30))                                       # for lists and search
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    data: Mapped[dict] = mapped_column(JSON)                   # the member's cleaned values (rules waived)
    rules: Mapped[str] = mapped_column(String(100))            # exceptable rule codes, comma-separated
    reason: Mapped[str] = mapped_column(String(500))
    voucher: Mapped[str] = mapped_column(String(100))          # the org that vouches (出具说明的组织)
    scan: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    scan_type: Mapped[str | None] = mapped_column(String(40))  # sniffed: application/pdf, image/jpeg, image/png
    scan_size: Mapped[int | None] = mapped_column(Integer)
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    import_row: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)   # pending, approved, refused
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decision_note: Mapped[str | None] = mapped_column(String(200))

    org: Mapped[Org] = relationship(foreign_keys=[org_id])  # noqa: F821
    approver_org: Mapped[Org] = relationship(foreign_keys=[approver_org_id])  # noqa: F821
    requested_by: Mapped[Person | None] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[Person | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def status_label(self) -> str:
        from ..domain.exceptions import STATUS_LABELS
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def rule_codes(self) -> tuple[str, ...]:
        from ..domain.exceptions import parse_rules
        return parse_rules(self.rules)

    @property
    def rule_labels(self) -> str:
        from ..domain.exceptions import rule_labels
        return rule_labels(self.rule_codes)

    @property
    def masked_id(self) -> str:
        return mask_id_number(self.id_number)
