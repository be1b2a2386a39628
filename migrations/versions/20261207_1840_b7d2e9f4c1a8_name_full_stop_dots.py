"""name dots (issue 25): a full stop typed between the parts of a minority name becomes the middle dot "·"

Revision ID: b7d2e9f4c1a8
Revises: 464e440b20ca
Create Date: 2026-12-07 17:00:00

Data only (no schema change), the same statements on SQLite and PostgreSQL, like a3c5e7f9b1d2: names stored with
". ． 。 ｡" between two parts of which one is in Chinese characters ("阿依古丽.艾买提", stored so before issue 25)
are rewritten with "·", the rule of tuanjian/domain/canonical.py copied here as it stood. A name is not a key: no
person is merged or matched by this. Downgrade leaves the names as they are (the old code reads "·" as well).
"""
import re

from alembic import op
import sqlalchemy as sa


revision = 'b7d2e9f4c1a8'
down_revision = '464e440b20ca'
branch_labels = None
depends_on = None

MIDDLE_DOT = "\u00b7"
IDEOGRAPHS = ("\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df\U0002a700-\U0002ee5f"
              "\U0002f800-\U0002fa1f\U00030000-\U000323af")
_STOP_DOT = re.compile(f"(?<=[{IDEOGRAPHS}])\\s*[.\uff0e\u3002\uff61]\\s*(?=[{IDEOGRAPHS}A-Za-z])"
                       f"|(?<=[A-Za-z])\\s*[.\uff0e\u3002\uff61]\\s*(?=[{IDEOGRAPHS}])")

people = sa.table("people", sa.column("id", sa.Integer), sa.column("name", sa.String))


def upgrade():
    conn = op.get_bind()
    rows = conn.execute(sa.select(people.c.id, people.c.name).where(sa.or_(
        people.c.name.contains("."), people.c.name.contains("\uff0e"), people.c.name.contains("\u3002"),
        people.c.name.contains("\uff61"))).order_by(people.c.id)).all()
    for pid, name in rows:
        fixed = _STOP_DOT.sub(MIDDLE_DOT, name)
        if fixed != name:
            conn.execute(people.update().where(people.c.id == pid).values(name=fixed))


def downgrade():
    pass
