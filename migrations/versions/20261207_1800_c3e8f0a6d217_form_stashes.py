"""form_stashes: the expired-session stash moves from the instance folder into the database, bound to the browser
and the account (issue 24, class 5)

Revision ID: c3e8f0a6d217
Revises: b7d41c2e9a05
Create Date: 2026-12-07 18:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c3e8f0a6d217'
down_revision = 'b7d41c2e9a05'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'form_stashes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('client_hash', sa.String(length=64), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=500), nullable=False),
        sa.Column('page', sa.String(length=2000), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_form_stashes_account_id_accounts'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_form_stashes')),
        sa.UniqueConstraint('token', name=op.f('uq_form_stashes_token')),
    )
    with op.batch_alter_table('form_stashes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_stashes_client_hash'), ['client_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_form_stashes_created_at'), ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('form_stashes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_form_stashes_created_at'))
        batch_op.drop_index(batch_op.f('ix_form_stashes_client_hash'))
    op.drop_table('form_stashes')
