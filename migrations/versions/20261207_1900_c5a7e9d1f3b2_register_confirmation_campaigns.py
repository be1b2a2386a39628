"""campaigns.kind and on_date, campaign_confirmations.note (issue 27): 团内统计确认 as a 阶段任务 of its own kind

Revision ID: c5a7e9d1f3b2
Revises: b4d1e2f3a5c7
Create Date: 2026-12-07 19:00:00

Existing campaigns are target-rate tasks ("progress"); a "register" task asks the direct subordinates to confirm
their 团内统计 as of ``on_date`` (a date the publishing org froze), with an optional 说明 kept on the confirmation.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = 'c5a7e9d1f3b2'
down_revision = 'b4d1e2f3a5c7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default='progress', nullable=False))
        batch_op.add_column(sa.Column('on_date', sa.Date(), nullable=True))
    with op.batch_alter_table('campaign_confirmations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('campaign_confirmations', schema=None) as batch_op:
        batch_op.drop_column('note')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('on_date')
        batch_op.drop_column('kind')
