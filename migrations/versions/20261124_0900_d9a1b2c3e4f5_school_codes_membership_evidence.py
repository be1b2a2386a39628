"""学校标识码 on orgs, membership evidence (团员身份摸底) on members, and the org_stats facts they feed

Revision ID: d9a1b2c3e4f5
Revises: c3d8e4f1a2b6
Create Date: 2026-11-24 09:00:00

Existing members get no evidence recorded (NULL = not yet checked): they show as 身份待确认 until an admin
records it, which is what the 摸底 asks for. Every org_stats row is marked for recomputation.
"""
from alembic import op
import sqlalchemy as sa


revision = 'd9a1b2c3e4f5'
down_revision = 'c3d8e4f1a2b6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orgs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('school_code', sa.String(length=10), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_orgs_school_code'), ['school_code'])
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('has_application', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('has_card', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('card_year', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('has_letter', sa.Boolean(), nullable=True))
    with op.batch_alter_table('org_stats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unconfirmed', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('school_unit', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('has_school_code', sa.Boolean(), server_default=sa.false(), nullable=False))
    # the completeness of every member changed meaning: recompute each row the first time a progress page needs it
    stats = sa.table('org_stats', sa.column('rules', sa.String))
    op.get_bind().execute(stats.update().values(rules=''))


def downgrade():
    with op.batch_alter_table('org_stats', schema=None) as batch_op:
        batch_op.drop_column('has_school_code')
        batch_op.drop_column('school_unit')
        batch_op.drop_column('unconfirmed')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('has_letter')
        batch_op.drop_column('card_year')
        batch_op.drop_column('has_card')
        batch_op.drop_column('has_application')
    with op.batch_alter_table('orgs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_orgs_school_code'), type_='unique')
        batch_op.drop_column('school_code')
    stats = sa.table('org_stats', sa.column('rules', sa.String))
    op.get_bind().execute(stats.update().values(rules=''))
