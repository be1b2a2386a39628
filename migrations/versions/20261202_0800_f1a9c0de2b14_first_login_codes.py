"""first_login_codes: 首次登录验证码 for admin accounts that still have the default password

Revision ID: f1a9c0de2b14
Revises: f6b8d2e4a1c3
Create Date: 2026-12-02 08:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f1a9c0de2b14'
down_revision = 'f6b8d2e4a1c3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'first_login_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('grant_id', sa.Integer(), nullable=True),
        sa.Column('code', sa.String(length=16), nullable=False),
        sa.Column('issued_at', sa.DateTime(), nullable=False),
        sa.Column('issued_by_id', sa.Integer(), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['grant_id'], ['admin_grants.id'], name=op.f('fk_first_login_codes_grant_id_admin_grants')),
        sa.ForeignKeyConstraint(['issued_by_id'], ['people.id'], name=op.f('fk_first_login_codes_issued_by_id_people')),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_first_login_codes_person_id_people')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_first_login_codes')),
        sa.UniqueConstraint('code', name=op.f('uq_first_login_codes_code')),
    )
    with op.batch_alter_table('first_login_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_first_login_codes_person_id'), ['person_id'], unique=False)


def downgrade():
    with op.batch_alter_table('first_login_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_first_login_codes_person_id'))
    op.drop_table('first_login_codes')
