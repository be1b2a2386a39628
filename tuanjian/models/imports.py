from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, PackedReport, utcnow


class ImportBatch(Base):
    """One uploaded workbook: validated rows wait here (status pending) until the user confirms or cancels."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))              # org_children, cadres, members
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    file_name: Mapped[str] = mapped_column(String(200))
    file_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="pending")   # pending, committed, cancelled
    # every row with its outcome: large (tens of MB for a 50,000-row file), so packed and loaded only when read
    report: Mapped[dict] = mapped_column(PackedReport, deferred=True)
    totals: Mapped[dict | None] = mapped_column(JSON)          # report.totals(), for lists of batches
    result: Mapped[dict | None] = mapped_column(JSON)          # what commit created
    committed_at: Mapped[datetime | None] = mapped_column(DateTime)

    def store_report(self, report, *, keep_ok_cells: int | None = None) -> None:
        """Keep ``report`` (an ImportReport) and its totals together (see ImportReport.to_json)."""
        doc = report.to_json(keep_ok_cells=keep_ok_cells)
        self.report, self.totals = doc, dict(doc["totals"])
