"""membership_events and register_snapshots (issue 27): 团籍变动 with date and kind; members, deletions, transfers become events

Revision ID: b4d1e2f3a5c7
Revises: b7d2e9f4c1a8
Create Date: 2026-12-07 18:00:00

Each member row gets its history back, without loss: a 首次录入 in the branch it was first entered in (the
``from`` branch of its earliest accepted transfer, or of its earliest deletion in the log), on the date it was
created; every accepted 组织关系转接 as a 转出（县内）/转入（县内） pair on the day it was accepted; every deletion in
the log (and the row's own deletion) as a departure on its day, its kind read from the free-text reason (录入错误
only when the text says so, 离团（原因未注明） when no kind is recognisable, the text kept as the note); every
restoration in the log as 恢复团籍; a move with no record (an import row naming another branch, a merge) as a pair
on the row's last update. The reason words are a frozen copy of ``domain.register`` at this revision.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from alembic import op
import sqlalchemy as sa


_OFFSET = timedelta(hours=8)     # stored times are UTC; dates are Beijing dates

revision = 'b4d1e2f3a5c7'
down_revision = 'b7d2e9f4c1a8'
branch_labels = None
depends_on = None

_REASON_WORDS = (
    ("error", ("录入错误", "录错", "重复", "误录", "错录", "测试")),
    ("party_overage", ("入党",)),
    ("overage", ("超龄", "满28", "年满二十八", "28周岁", "二十八周岁")),
    ("withdrawn", ("退团", "自愿")),
    ("expelled", ("除名", "开除", "脱团")),
    ("suspended", ("停止团籍",)),
    ("died", ("死亡", "去世", "病故", "身故")),
    ("emigrated", ("出国", "出境", "定居")),
    ("out_outside", ("转出", "外县", "县外", "迁出", "调出", "转走")),
)


def _kind(text):
    s = "".join((text or "").split())
    for kind, words in _REASON_WORDS:
        if any(w in s for w in words):
            return kind
    return "unstated"


def _day(value) -> date:
    if isinstance(value, datetime):
        return (value + _OFFSET).date()
    if isinstance(value, date):
        return value
    return (datetime.fromisoformat(str(value)[:19]) + _OFFSET).date()


def _json(value):
    if isinstance(value, str):
        import json
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def history(member: dict, transfers: list[dict], logged: list[dict]) -> list[dict]:
    """One member's events (see the module doc). ``transfers``: accepted, each with from_org_id, to_org_id, at,
    reason; ``logged``: audit entries with action ('member.delete' / 'member.restore'), at, org_id, reason."""
    steps = sorted([("move", t["at"], t) for t in transfers] + [(e["action"], e["at"], e) for e in logged],
                   key=lambda s: str(s[1]))
    if steps and steps[0][0] == "move":
        org = steps[0][2]["from_org_id"]
    elif steps and steps[0][2].get("org_id"):
        org = steps[0][2]["org_id"]
    else:
        org = member["org_id"]
    events = [dict(org_id=org, on=_day(member["created_at"]), kind="first_entry", note=None)]
    active = True
    for what, at, item in steps:
        if what == "move" and active:
            note = item.get("reason")
            events.append(dict(org_id=item["from_org_id"], on=_day(at), kind="out_county", note=note))
            events.append(dict(org_id=item["to_org_id"], on=_day(at), kind="in_county", note=note))
            org = item["to_org_id"]
        elif what == "member.delete" and active:
            events.append(dict(org_id=item.get("org_id") or org, on=_day(at), kind=_kind(item.get("reason")),
                               note=(item.get("reason") or None)))
            active = False
        elif what == "member.restore" and not active:
            org = item.get("org_id") or org
            events.append(dict(org_id=org, on=_day(at), kind="restored", note=None))
            active = True
    if active and member["deleted_at"] is None and org != member["org_id"]:
        events.append(dict(org_id=org, on=_day(member["updated_at"]), kind="out_county", note="迁移时补记"))
        events.append(dict(org_id=member["org_id"], on=_day(member["updated_at"]), kind="in_county", note="迁移时补记"))
        org = member["org_id"]
    if member["deleted_at"] is not None and active:
        events.append(dict(org_id=org, on=_day(member["deleted_at"]), kind=_kind(member["deleted_reason"]),
                           note=member["deleted_reason"]))
    elif member["deleted_at"] is None and not active:
        events.append(dict(org_id=member["org_id"], on=_day(member["updated_at"]), kind="restored", note="迁移时补记"))
    # a 录入错误 erases its span: back to the arrival that began it
    erased = [False] * len(events)
    start = 0
    for i, ev in enumerate(events):
        if ev["kind"] in ("first_entry", "restored"):
            start = i
        if ev["kind"] == "error":
            for j in range(start, i + 1):
                erased[j] = True
    for ev, gone in zip(events, erased):
        ev["erased"] = gone
        ev["note"] = ev["note"][:200] if ev["note"] else None
    return events


def upgrade():
    op.create_table('membership_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('dev_number', sa.String(length=20), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('erased', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['people.id'], name=op.f('fk_membership_events_created_by_id_people')),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_membership_events_org_id_orgs')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_membership_events_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_events'))
    )
    with op.batch_alter_table('membership_events', schema=None) as batch_op:
        batch_op.create_index('ix_membership_events_org_on', ['org_id', 'on_date'], unique=False)
        batch_op.create_index('ix_membership_events_person_on', ['person_id', 'on_date', 'id'], unique=False)
    op.create_table('register_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('frozen_at', sa.DateTime(), nullable=False),
    sa.Column('frozen_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['frozen_by_id'], ['people.id'], name=op.f('fk_register_snapshots_frozen_by_id_people')),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_register_snapshots_org_id_orgs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_register_snapshots'))
    )
    with op.batch_alter_table('register_snapshots', schema=None) as batch_op:
        batch_op.create_index('uq_register_snapshots_org_on', ['org_id', 'on_date'], unique=True)
    _backfill(op.get_bind())


def _backfill(conn) -> None:
    meta = sa.MetaData()
    members = sa.Table("members", meta, autoload_with=conn)
    transfers = sa.Table("transfer_requests", meta, autoload_with=conn)
    audit = sa.Table("audit_log", meta, autoload_with=conn)
    events = sa.Table("membership_events", meta, autoload_with=conn)
    moves: dict[int, list[dict]] = {}
    for mid, from_id, to_id, at, reason in conn.execute(sa.select(
            transfers.c.member_id, transfers.c.from_org_id, transfers.c.to_org_id, transfers.c.decided_at,
            transfers.c.reason).where(transfers.c.status == "accepted")):
        moves.setdefault(mid, []).append(dict(from_org_id=from_id, to_org_id=to_id, at=at, reason=reason))
    logged: dict[int, list[dict]] = {}
    for action, oid, at, org_id, summary, after in conn.execute(sa.select(
            audit.c.action, audit.c.object_id, audit.c.at, audit.c.org_id, audit.c.summary, audit.c.after).where(
            audit.c.object_type == "member", audit.c.action.in_(("member.delete", "member.add")))):
        if action == "member.delete":
            logged.setdefault(oid, []).append(dict(action=action, at=at, org_id=org_id,
                                                   reason=(_json(after) or {}).get("reason")))
        elif (summary or "").startswith("恢复"):
            logged.setdefault(oid, []).append(dict(action="member.restore", at=at, org_id=org_id))
    now = datetime.utcnow()
    batch = []
    for row in conn.execute(sa.select(members.c.id, members.c.person_id, members.c.org_id, members.c.created_at,
                                      members.c.updated_at, members.c.deleted_at, members.c.deleted_reason)
                            .order_by(members.c.id)).mappings():
        member = dict(row)
        member["updated_at"] = member["updated_at"] or member["created_at"]
        for ev in history(member, moves.get(member["id"], []), logged.get(member["id"], [])):
            batch.append(dict(person_id=member["person_id"], org_id=ev["org_id"], on_date=ev["on"], kind=ev["kind"],
                              dev_number=None, note=ev["note"], erased=ev["erased"], created_at=now,
                              created_by_id=None))
        if len(batch) >= 5000:
            conn.execute(events.insert(), batch)
            batch = []
    if batch:
        conn.execute(events.insert(), batch)


def downgrade():
    with op.batch_alter_table('register_snapshots', schema=None) as batch_op:
        batch_op.drop_index('uq_register_snapshots_org_on')
    op.drop_table('register_snapshots')
    with op.batch_alter_table('membership_events', schema=None) as batch_op:
        batch_op.drop_index('ix_membership_events_person_on')
        batch_op.drop_index('ix_membership_events_org_on')
    op.drop_table('membership_events')
