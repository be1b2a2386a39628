"""import batches: totals beside the report, and the report packed (zlib-compressed JSON)

Revision ID: a41c5e2b7d10
Revises: 73ea640e6c24
Create Date: 2026-11-23 22:00:00

"""
import json
import zlib

from alembic import op
import sqlalchemy as sa


revision = 'a41c5e2b7d10'
down_revision = '73ea640e6c24'
branch_labels = None
depends_on = None


def _pack(value):
    return zlib.compress(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(), 1)


def upgrade():
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totals', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('report_packed', sa.LargeBinary(), nullable=True))
    batches = sa.table('import_batches', sa.column('id', sa.Integer), sa.column('report', sa.JSON),
                       sa.column('totals', sa.JSON), sa.column('report_packed', sa.LargeBinary))
    conn = op.get_bind()
    for batch_id, report in conn.execute(sa.select(batches.c.id, batches.c.report)).all():
        if isinstance(report, str):
            report = json.loads(report)
        report = report or {"rows": [], "totals": {}}
        conn.execute(batches.update().where(batches.c.id == batch_id)
                     .values(totals=report.get('totals'), report_packed=_pack(report)))
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.drop_column('report')
        batch_op.alter_column('report_packed', new_column_name='report', existing_type=sa.LargeBinary(),
                              nullable=False)


def downgrade():
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('report_json', sa.JSON(), nullable=True))
    batches = sa.table('import_batches', sa.column('id', sa.Integer), sa.column('report', sa.LargeBinary),
                       sa.column('report_json', sa.JSON))
    conn = op.get_bind()
    for batch_id, packed in conn.execute(sa.select(batches.c.id, batches.c.report)).all():
        conn.execute(batches.update().where(batches.c.id == batch_id)
                     .values(report_json=json.loads(zlib.decompress(packed))))
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.drop_column('report')
        batch_op.drop_column('totals')
        batch_op.alter_column('report_json', new_column_name='report', existing_type=sa.JSON(), nullable=False)
