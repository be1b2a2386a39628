from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, PackedJSON, utcnow


class Reconciliation(Base):
    """The last 对账 with 智慧团建 of one organisation (issue 28): the files compared, when, by whom, the figures, and
    every item of the result (full ID numbers, as the files hold them: shown masked, exported on purpose). A new
    comparison of the same organisation replaces it."""

    __tablename__ = "reconciliations"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    file_names: Mapped[str] = mapped_column(String(500))
    file_sha256: Mapped[str] = mapped_column(String(64))      # of the files' own checksums, sorted
    totals: Mapped[dict] = mapped_column(JSON)                # domain.reconcile.Figures of the whole comparison
    # {"items": [...], "branches": {id: figures}, "names": {id: name}, "problems": [...]}: packed, loaded when read
    result: Mapped[dict] = mapped_column(PackedJSON, deferred=True)

    org = relationship("Org")
    created_by = relationship("Person")


class ReconcileFigure(Base):
    """One branch's figures in a comparison: the progress page's 与智慧团建相符率 takes each branch's latest."""

    __tablename__ = "reconcile_figures"

    id: Mapped[int] = mapped_column(primary_key=True)
    reconciliation_id: Mapped[int] = mapped_column(ForeignKey("reconciliations.id", ondelete="CASCADE"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    compared_at: Mapped[datetime] = mapped_column(DateTime)
    people: Mapped[int] = mapped_column(Integer)
    matching: Mapped[int] = mapped_column(Integer)


class ReconcileExplanation(Base):
    """A difference marked as explained (ID number, field, the two values) with a note: the next comparison of the
    same values does not list it as new. Filed under the branch the person is counted in (or the compared
    organisation when the file names no branch of it), so every admin above sees it."""

    __tablename__ = "reconcile_explanations"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    field: Mapped[str] = mapped_column(String(20))
    here_value: Mapped[str] = mapped_column(String(200))
    there_value: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
