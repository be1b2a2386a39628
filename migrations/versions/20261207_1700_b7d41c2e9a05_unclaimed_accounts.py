"""unclaimed accounts: accounts.claimed_at replaces must_change_password; first-login codes carry the places
fingerprint they were issued for and the first login made with them (issue 24, issue 26 point 4)

Revision ID: b7d41c2e9a05
Revises: 6c76d8d15026
Create Date: 2026-12-07 17:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b7d41c2e9a05'
down_revision = '6c76d8d15026'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(), nullable=True))
    # An account whose holder set a password of their own is claimed (since it was opened: the best date known).
    # One still on the default password, or flagged to change it, is unclaimed and keeps only the default password:
    # it opens with that password and a 首次登录验证码.
    op.execute("UPDATE accounts SET claimed_at = created_at "
               "WHERE password_hash IS NOT NULL AND must_change_password = false")
    op.execute("UPDATE accounts SET password_hash = NULL WHERE claimed_at IS NULL")
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
    with op.batch_alter_table('first_login_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('places_fingerprint', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('logged_in_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('first_login_codes', schema=None) as batch_op:
        batch_op.drop_column('logged_in_at')
        batch_op.drop_column('places_fingerprint')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.execute("UPDATE accounts SET must_change_password = true WHERE claimed_at IS NULL")
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
