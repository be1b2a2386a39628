"""audit_orgs: an audit entry is also filed under every org where a person the write touched holds a place

Revision ID: f6b8d2e4a1c3
Revises: e5a7c1d9b3f2
Create Date: 2026-12-02 08:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f6b8d2e4a1c3'
down_revision = 'e5a7c1d9b3f2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'audit_orgs',
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['entry_id'], ['audit_log.id'], name=op.f('fk_audit_orgs_entry_id_audit_log'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_audit_orgs_org_id_orgs')),
        sa.PrimaryKeyConstraint('entry_id', 'org_id', name=op.f('pk_audit_orgs')),
    )
    op.create_index(op.f('ix_audit_orgs_org_id'), 'audit_orgs', ['org_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_audit_orgs_org_id'), table_name='audit_orgs')
    op.drop_table('audit_orgs')
