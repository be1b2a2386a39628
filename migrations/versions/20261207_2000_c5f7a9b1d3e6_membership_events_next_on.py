"""membership_events.next_on (issue 27, statistics at scale): the date of the person's next counted event

Revision ID: c5f7a9b1d3e6
Revises: c5a7e9d1f3b2
Create Date: 2026-12-07 20:00:00

"Members at the end of day D" was the latest event per person on or before D (a window query over every event, twice
per 团内统计). With ``next_on`` (the date of the next non-erased event of the same person, by date then id; NULL for
the latest and for erased rows) it is the plain filter on_date <= D < next_on. Filled here with LEAD over each
person's counted events; the memberships owner keeps it on every write from now on. An index on created_at finds
the corrections written after a freeze without reading every event (the frozen page of a province).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'c5f7a9b1d3e6'
down_revision = 'c5a7e9d1f3b2'
branch_labels = None
depends_on = None


FILL = ("UPDATE membership_events SET next_on = n.nx FROM ("
        "SELECT id, LEAD(on_date) OVER (PARTITION BY person_id ORDER BY on_date, id) AS nx "
        "FROM membership_events WHERE erased = false) AS n "
        "WHERE membership_events.id = n.id AND n.nx IS NOT NULL")


def upgrade():
    with op.batch_alter_table('membership_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_on', sa.Date(), nullable=True))
        batch_op.create_index('ix_membership_events_created_at', ['created_at'], unique=False)
    op.execute(FILL)


def downgrade():
    with op.batch_alter_table('membership_events', schema=None) as batch_op:
        batch_op.drop_index('ix_membership_events_created_at')
        batch_op.drop_column('next_on')
