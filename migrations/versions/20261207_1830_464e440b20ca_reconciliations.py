"""reconciliations: the last 对账 with 智慧团建 per org, each branch's figures, and explained differences (issue 28)

Revision ID: 464e440b20ca
Revises: c3e8f0a6d217
Create Date: 2026-12-07 16:43:24.649137

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '464e440b20ca'
down_revision = 'c3e8f0a6d217'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reconcile_explanations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('field', sa.String(length=20), nullable=False),
    sa.Column('here_value', sa.String(length=200), nullable=False),
    sa.Column('there_value', sa.String(length=200), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['people.id'], name=op.f('fk_reconcile_explanations_created_by_id_people')),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_reconcile_explanations_org_id_orgs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconcile_explanations'))
    )
    with op.batch_alter_table('reconcile_explanations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reconcile_explanations_id_number'), ['id_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_reconcile_explanations_org_id'), ['org_id'], unique=False)

    op.create_table('reconciliations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('file_names', sa.String(length=500), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('totals', sa.JSON(), nullable=False),
    sa.Column('result', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['people.id'], name=op.f('fk_reconciliations_created_by_id_people')),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_reconciliations_org_id_orgs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliations')),
    sa.UniqueConstraint('org_id', name=op.f('uq_reconciliations_org_id'))
    )
    op.create_table('reconcile_figures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reconciliation_id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('compared_at', sa.DateTime(), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.Column('matching', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['orgs.id'], name=op.f('fk_reconcile_figures_branch_id_orgs')),
    sa.ForeignKeyConstraint(['reconciliation_id'], ['reconciliations.id'], name=op.f('fk_reconcile_figures_reconciliation_id_reconciliations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconcile_figures'))
    )
    with op.batch_alter_table('reconcile_figures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reconcile_figures_branch_id'), ['branch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reconcile_figures_reconciliation_id'), ['reconciliation_id'], unique=False)



def downgrade():
    with op.batch_alter_table('reconcile_figures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reconcile_figures_reconciliation_id'))
        batch_op.drop_index(batch_op.f('ix_reconcile_figures_branch_id'))

    op.drop_table('reconcile_figures')
    op.drop_table('reconciliations')
    with op.batch_alter_table('reconcile_explanations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reconcile_explanations_org_id'))
        batch_op.drop_index(batch_op.f('ix_reconcile_explanations_id_number'))

    op.drop_table('reconcile_explanations')
