"""Paper for a branch without a computer (issue 26.5; seed notice 000: the township prints the template, the village
fills it in by hand, the township enters it): a 采集表 with the member template's columns, the branch's name and
code, empty rows and the allowed values, and a 核对表 of the branch's current members (ID numbers masked, the print
audited) with room for corrections. Both are plain A4 landscape pages: no script, Ctrl+P."""
from __future__ import annotations

from flask import render_template, url_for

from .. import current_settings as _settings
from ..clock import local_today
from ..domain.cadres import NATURES
from ..domain.members import EDUCATIONS, OCCUPATIONS
from ..domain.people import ETHNICITIES, MEMBER_POLITICAL_STATUSES, POSITIONS_GRASSROOTS
from ..extensions import db
from ..models import utcnow
from ..services import paper as service
from ..web.actions import flash_redirect
from ..web.scope import admin_required, current_actor, int_arg, org_or_404
from . import bp
from . import queries as member_queries
from .import_views import _columns

# the 采集表 writes each person on two lines: who they are, then 团员身份摸底 and the cadre's columns (every other
# column of the member template, so a column added to the template lands on the paper too)
FIRST_LINE = ("name", "id_number", "ethnicity", "political_status", "join_date", "dev_number", "phone", "education",
              "occupation", "workplace")
PAPER_ROWS, PAPER_ROWS_MAX = 12, 60
CHECK_BLANK_ROWS = 5


def _branch_or_back(org_id: int):
    org = org_or_404(org_id)
    if not org.org_kind.holds_members:
        return org, flash_redirect("采集表和核对表按团支部打印：请先进入具体的团支部。",
                                   url_for("members.index", org_id=org.id), "error")
    return org, None


def paper_columns(branch):
    """(first line, second line) of the member template's columns for ``branch`` (its 所在团支部 is printed above)."""
    columns = [c for c in _columns(branch) if c.key != "branch"]
    first = [c for key in FIRST_LINE for c in columns if c.key == key]
    return first, [c for c in columns if c.key not in FIRST_LINE]


@bp.get("/org/<int:org_id>/paper")
@admin_required
def paper_form(org_id: int):
    branch, back = _branch_or_back(org_id)
    if back is not None:
        return back
    rows = min(max(int_arg("rows", PAPER_ROWS) or PAPER_ROWS, 1), PAPER_ROWS_MAX)
    first, second = paper_columns(branch)
    legend = [("民族", ETHNICITIES), ("政治面貌", MEMBER_POLITICAL_STATUSES), ("文化程度（学历）", EDUCATIONS),
              ("职业", OCCUPATIONS), ("团内现任职务", POSITIONS_GRASSROOTS), ("团干部性质", NATURES)]
    return render_template("members/paper_form.html", org=branch, first=first, second=second, rows=rows,
                           legend=legend, dev_from=_settings().dev_number_required_from_year, printed_at=utcnow())


@bp.get("/org/<int:org_id>/paper-check")
@admin_required
def paper_check(org_id: int):
    branch, back = _branch_or_back(org_id)
    if back is not None:
        return back
    settings = _settings()
    rows = member_queries.all_member_rows(db.session, branch, overage_years=settings.overage_years,
                                          today=local_today())
    service.record_check_sheet(db.session, current_actor(), branch, len(rows))      # committed with the page
    return render_template("members/paper_check.html", org=branch, rows=rows, blank=CHECK_BLANK_ROWS,
                           printed_at=utcnow())
