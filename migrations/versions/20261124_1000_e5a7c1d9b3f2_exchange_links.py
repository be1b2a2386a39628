"""exchange_links: 交换密钥 and the last applied 上报文件 per exchanged subtree

Revision ID: e5a7c1d9b3f2
Revises: d9a1b2c3e4f5
Create Date: 2026-11-24 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e5a7c1d9b3f2'
down_revision = 'd9a1b2c3e4f5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'exchange_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('root_code', sa.String(length=40), nullable=False),
        sa.Column('secret', sa.String(length=64), nullable=True),
        sa.Column('secret_set_at', sa.DateTime(), nullable=True),
        sa.Column('secret_set_by_id', sa.Integer(), nullable=True),
        sa.Column('last_source_name', sa.String(length=100), nullable=True),
        sa.Column('last_created_at', sa.DateTime(), nullable=True),
        sa.Column('last_sha256', sa.String(length=64), nullable=True),
        sa.Column('last_applied_at', sa.DateTime(), nullable=True),
        sa.Column('last_applied_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['last_applied_by_id'], ['people.id'],
                                name=op.f('fk_exchange_links_last_applied_by_id_people')),
        sa.ForeignKeyConstraint(['secret_set_by_id'], ['people.id'],
                                name=op.f('fk_exchange_links_secret_set_by_id_people')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_links')),
        sa.UniqueConstraint('root_code', name=op.f('uq_exchange_links_root_code')),
    )


def downgrade():
    op.drop_table('exchange_links')
