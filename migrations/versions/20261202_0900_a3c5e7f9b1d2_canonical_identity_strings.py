"""canonical identity strings (issue 15): ID numbers, 发展团员编号, names and org names in one form

Revision ID: a3c5e7f9b1d2
Revises: f1a9c0de2b14
Create Date: 2026-12-02 09:00:00

Data only (no schema change), the same statements on SQLite and PostgreSQL. Rows are rewritten into the canonical
form of tuanjian/domain/canonical.py (copied here as it stood, so this migration does not change if that module
does). It never merges anybody: a person whose canonical ID number another person already holds (the same person
entered twice, once with full-width digits) keeps the stored form, as does a 发展团员编号 that would collide;
`flask --app tuanjian check-people` lists them for an admin to resolve. Downgrade leaves the data as it is (the
old code reads the canonical forms as well).
"""
import re
import unicodedata

from alembic import op
import sqlalchemy as sa


revision = 'a3c5e7f9b1d2'
down_revision = 'f1a9c0de2b14'
branch_labels = None
depends_on = None

MIDDLE_DOT = "\u00b7"
_DOTS = str.maketrans({c: MIDDLE_DOT for c in
                       "\u00b7\u2022\u2027\u30fb\uff65\u2219\u22c5\u0387\u16eb\u2e31\u318d\u10fb\u2981\u25e6\u2024\ua78f"})
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_SPACE = re.compile(r"\s+")
_CJK = "\u2e80-\u2eff\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_GAP = re.compile(f"(?<=[{_CJK}{MIDDLE_DOT}])\\s+(?=[{_CJK}{MIDDLE_DOT}])")
_DOT_GAP = re.compile(f"\\s*{MIDDLE_DOT}\\s*")


def _text(raw):
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", str(raw)))


def _number(raw):
    return "".join(_text(raw).split()).replace("'", "").replace("\u2018", "").replace("\u2019", "").upper()


def _person_name(raw):
    text = _DOT_GAP.sub(MIDDLE_DOT, _text(raw).translate(_DOTS).strip())
    return _SPACE.sub(" ", _CJK_GAP.sub("", text))


def _org_name(raw):
    return " ".join(_text(raw).split())


people = sa.table("people", sa.column("id", sa.Integer), sa.column("id_number", sa.String),
                  sa.column("name", sa.String))
members = sa.table("members", sa.column("id", sa.Integer), sa.column("dev_number", sa.String))
orgs = sa.table("orgs", sa.column("id", sa.Integer), sa.column("short_name", sa.String),
                sa.column("full_name", sa.String))


def upgrade():
    conn = op.get_bind()
    rows = conn.execute(sa.select(people.c.id, people.c.id_number, people.c.name).order_by(people.c.id)).all()
    taken = {number for _, number, _ in rows}
    for pid, number, name in rows:
        values = {}
        canonical = _number(number)
        if canonical != number and canonical not in taken:       # never two people on one number: no merge
            values["id_number"] = canonical
            taken.discard(number)
            taken.add(canonical)
        if name is not None and _person_name(name) != name and _person_name(name):
            values["name"] = _person_name(name)
        if values:
            conn.execute(people.update().where(people.c.id == pid).values(**values))
    rows = conn.execute(sa.select(members.c.id, members.c.dev_number).where(members.c.dev_number.isnot(None))
                        .order_by(members.c.id)).all()
    taken = {dev for _, dev in rows}
    for mid, dev in rows:
        canonical = _number(dev)
        if canonical and canonical != dev and canonical not in taken:
            conn.execute(members.update().where(members.c.id == mid).values(dev_number=canonical))
            taken.discard(dev)
            taken.add(canonical)
    for oid, short, full in conn.execute(sa.select(orgs.c.id, orgs.c.short_name, orgs.c.full_name)).all():
        values = {}
        if short is not None and _org_name(short) and _org_name(short) != short:
            values["short_name"] = _org_name(short)
        if full is not None and _org_name(full) != full:
            values["full_name"] = _org_name(full) or None
        if values:
            conn.execute(orgs.update().where(orgs.c.id == oid).values(**values))


def downgrade():
    pass
