"""org_stats carry the org's code, kind and youth count (the progress page scans them without a join)

Revision ID: c3d8e4f1a2b6
Revises: b7e2c91d0a55
Create Date: 2026-11-23 23:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c3d8e4f1a2b6'
down_revision = 'b7e2c91d0a55'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('org_stats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code', sa.String(length=40), server_default='', nullable=False))
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default='', nullable=False))
        batch_op.add_column(sa.Column('youth', sa.Integer(), nullable=True))
        batch_op.create_index('ix_org_stats_code', ['code'], unique=False,
                              postgresql_ops={'code': 'varchar_pattern_ops'})
    orgs = sa.table('orgs', sa.column('id', sa.Integer), sa.column('code', sa.String), sa.column('kind', sa.String),
                    sa.column('youth_count', sa.Integer), sa.column('dissolved_at', sa.DateTime))
    stats = sa.table('org_stats', *[sa.column(n) for n in (
        'org_id', 'code', 'kind', 'youth', 'members', 'complete_members', 'bad_dev_numbers', 'cadres',
        'complete_cadres', 'has_secretary', 'info_complete', 'admins', 'branches_below', 'rules', 'updated_at',
        'overage')])
    conn = op.get_bind()
    # existing rows: copy the org's fields and mark them for recomputation (an empty rules tag never matches)
    for column, source in (('code', orgs.c.code), ('kind', orgs.c.kind), ('youth', orgs.c.youth_count)):
        conn.execute(stats.update().values({column: sa.select(source).where(orgs.c.id == stats.c.org_id)
                                            .scalar_subquery()}))
    conn.execute(stats.update().values(rules=''))
    # every live org gets a row, to be computed the first time a progress page covers it
    missing = sa.select(orgs.c.id, orgs.c.code, orgs.c.kind, orgs.c.youth_count, *[sa.literal(0)] * 5, sa.false(),
                        sa.false(), sa.literal(0), sa.literal(0), sa.literal(''), sa.func.current_timestamp(),
                        sa.literal(0)).where(orgs.c.dissolved_at.is_(None),
                                             orgs.c.id.not_in(sa.select(stats.c.org_id)))
    conn.execute(stats.insert().from_select([c.name for c in stats.columns], missing))


def downgrade():
    with op.batch_alter_table('org_stats', schema=None) as batch_op:
        batch_op.drop_index('ix_org_stats_code')
        batch_op.drop_column('youth')
        batch_op.drop_column('kind')
        batch_op.drop_column('code')
