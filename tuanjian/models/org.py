from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.orgtree import OrgKind
from .base import Base, utcnow


class Org(Base):
    """A 团组织. ``code`` is the hierarchical code and materialised path; everything else refers to ``id``."""

    __tablename__ = "orgs"
    # Subtree queries filter on ``code LIKE 'prefix.%'``. PostgreSQL uses a btree for that only under the "C"
    # collation or with the pattern operator class, so PostgreSQL gets this index (SQLite uses the unique one).
    __table_args__ = (Index("ix_orgs_code_pattern", "code", postgresql_ops={"code": "varchar_pattern_ops"})
                      .ddl_if(dialect="postgresql"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    short_name: Mapped[str] = mapped_column(String(50))
    full_name: Mapped[str | None] = mapped_column(String(100))
    is_township: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    # 组织信息 (DOMAIN.md 1.4). The four naming/category fields lock for the org's own admin at info_locked_at.
    industry: Mapped[str | None] = mapped_column(String(30))                  # 单位所属行业类别
    staff_admin_quota: Mapped[int | None] = mapped_column(Integer)           # 本级团组织行政编制数
    staff_admin_actual: Mapped[int | None] = mapped_column(Integer)          # 行政编制实际配备数
    staff_inst_quota: Mapped[int | None] = mapped_column(Integer)            # 本级团组织事业编制数
    staff_inst_actual: Mapped[int | None] = mapped_column(Integer)           # 事业编制实际配备数
    phone: Mapped[str | None] = mapped_column(String(30))                    # 联系电话
    email: Mapped[str | None] = mapped_column(String(100))                   # 电子邮箱
    wechat: Mapped[str | None] = mapped_column(String(50))                   # 团组织微信号
    weibo: Mapped[str | None] = mapped_column(String(50))                    # 团组织微博号
    youth_count: Mapped[int | None] = mapped_column(Integer)                 # 14–28周岁青年数
    party_recommended: Mapped[int | None] = mapped_column(Integer)           # 年度经推优入党团员数
    founded_on: Mapped[date | None] = mapped_column(Date)                    # 建立日期
    school_code: Mapped[str | None] = mapped_column(String(10), unique=True)  # 学校标识码 (schools, seed notice 002)
    # 暂无书记，记录的是主持工作的负责人
    secretary_presiding: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    info_locked_at: Mapped[datetime | None] = mapped_column(DateTime)
    dissolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    dissolved_reason: Mapped[str | None] = mapped_column(String(200))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"))

    parent: Mapped[Org | None] = relationship(remote_side=[id], back_populates="children",
                                              foreign_keys=[parent_id])
    children: Mapped[list[Org]] = relationship(back_populates="parent", order_by="(Org.sort_order, Org.code)",
                                               foreign_keys=[parent_id])

    @property
    def org_kind(self) -> OrgKind:
        return OrgKind(self.kind)

    @property
    def kind_label(self) -> str:
        return self.org_kind.label

    @property
    def display_name(self) -> str:
        return self.full_name or self.short_name

    @property
    def is_dissolved(self) -> bool:
        return self.dissolved_at is not None

    @property
    def depth(self) -> int:
        return self.code.count(".") + 1

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<Org {self.code} {self.short_name}>"


class OrgCodeChange(Base):
    """Old → new code of every org re-coded by a move, so exports and paper records stay interpretable."""

    __tablename__ = "org_code_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    old_code: Mapped[str] = mapped_column(String(40), index=True)
    new_code: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(20))                 # move
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
