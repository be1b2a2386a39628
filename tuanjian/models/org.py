from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.orgtree import OrgKind
from .base import Base, utcnow


class Org(Base):
    """A 团组织. ``code`` is the hierarchical code and materialised path; everything else refers to ``id``."""

    __tablename__ = "orgs"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    short_name: Mapped[str] = mapped_column(String(50))
    full_name: Mapped[str | None] = mapped_column(String(100))
    is_township: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    parent: Mapped[Org | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Org]] = relationship(back_populates="parent", order_by="(Org.sort_order, Org.code)")

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
    def depth(self) -> int:
        return self.code.count(".") + 1

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<Org {self.code} {self.short_name}>"
