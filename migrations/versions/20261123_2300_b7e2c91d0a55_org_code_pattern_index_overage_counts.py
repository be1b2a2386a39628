"""orgs.code pattern index on PostgreSQL; 超龄 counts in org_stats

Revision ID: b7e2c91d0a55
Revises: 9cd2169789f7
Create Date: 2026-11-23 23:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b7e2c91d0a55'
down_revision = '9cd2169789f7'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.create_index('ix_orgs_code_pattern', 'orgs', ['code'], unique=False,
                        postgresql_ops={'code': 'varchar_pattern_ops'})
    with op.batch_alter_table('org_stats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overage', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('overage_on', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('org_stats', schema=None) as batch_op:
        batch_op.drop_column('overage_on')
        batch_op.drop_column('overage')
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_orgs_code_pattern', table_name='orgs')
