"""member_tallies (issue 27, the 团内统计 of a province root under 3 s): counters kept on write

Revision ID: d7e9f1a3b5c8
Revises: c5f7a9b1d3e6
Create Date: 2026-12-08 01:00:00

Per counted field and value (性别, 民族, 出生日期, 学历, 职业, 政治面貌), how many people their latest counted 团籍变动 places as members now. The tallies owner keeps
them on every write; the 团内统计 of the whole data reads them and corrects them by the people with events dated
after the day asked (found by the new index on (on_date, person_id)). Filled here by a recount of the existing
data (the same rule as ``services/owners/tallies.recount_statement``, the arrival kinds as they are today).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'd7e9f1a3b5c8'
down_revision = 'c5f7a9b1d3e6'
branch_labels = None
depends_on = None

ARRIVING = ("new", "in_county", "in_outside", "restored", "first_entry")
PLACED = ("SELECT p.gender AS gender, p.ethnicity AS ethnicity, CAST(p.birth_date AS VARCHAR) AS birth, "
          "m.education AS education, m.occupation AS occupation, p.political_status AS political_status "
          "FROM membership_events e JOIN people p ON p.id = e.person_id "
          "LEFT OUTER JOIN members m ON m.person_id = e.person_id "
          "WHERE e.erased = false AND e.next_on IS NULL AND e.kind IN ("
          + ", ".join(f"'{k}'" for k in ARRIVING) + ")")
FIELDS = ("gender", "ethnicity", "birth", "education", "occupation", "political_status")
FILL = ("WITH placed AS (" + PLACED + ") INSERT INTO member_tallies (field, value, n) "
        + " UNION ALL ".join(f"SELECT '{f}', COALESCE({f}, ''), COUNT(*) FROM placed GROUP BY COALESCE({f}, '')"
                             for f in FIELDS))


def upgrade():
    op.create_table('member_tallies',
                    sa.Column('field', sa.String(length=20), nullable=False),
                    sa.Column('value', sa.String(length=32), nullable=False),
                    sa.Column('n', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('field', 'value'))
    with op.batch_alter_table('membership_events', schema=None) as batch_op:
        batch_op.create_index('ix_membership_events_on_person', ['on_date', 'person_id'], unique=False)
    op.execute(FILL)


def downgrade():
    with op.batch_alter_table('membership_events', schema=None) as batch_op:
        batch_op.drop_index('ix_membership_events_on_person')
    op.drop_table('member_tallies')
