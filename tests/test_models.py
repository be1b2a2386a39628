import pytest
from sqlalchemy import select

from tuanjian.domain.errors import ValidationFailed
from tuanjian.models import Member

from .conftest import DB_KINDS
from .factories import make_member, make_person


def test_member_cannot_be_placed_outside_a_branch(session, tree):
    make_member(session, tree.village)
    session.commit()
    person = make_person(session, name="错放")
    session.add(Member(person_id=person.id, org_id=tree.township.id))
    with pytest.raises(ValidationFailed) as exc:
        session.flush()
    assert "团员只能编入团支部" in exc.value.message
    session.rollback()
    member = session.scalar(select(Member))
    member.org_id = tree.grade.id                 # a 团总支
    with pytest.raises(ValidationFailed):
        session.flush()
    session.rollback()


def test_one_membership_per_person(session, tree):
    from sqlalchemy.exc import IntegrityError
    m = make_member(session, tree.village)
    session.add(Member(person_id=m.person_id, org_id=tree.klass.id))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_insert_many_converts_types_and_applies_defaults(session, tree):
    """The bulk path of imports (COPY on PostgreSQL, one executemany elsewhere) stores what the ORM would."""
    from datetime import date, datetime

    from tuanjian.dbsetup import insert_many
    from tuanjian.models import Account, Person

    from .factories import new_id
    now = datetime(2026, 11, 23, 8, 30, 15, 123456)
    rows = [{"id_number": new_id(date(2001, 2, 3 + i)), "name": f"批量{'甲乙丙'[i]}", "gender": "女",
             "birth_date": date(2001, 2, 3 + i), "ethnicity": None, "created_at": now}
            for i in range(3)]
    insert_many(session, Person.__table__, rows, {"updated_at": now})      # a column with one value, given once
    insert_many(session, Person.__table__, [])                       # nothing to do is fine
    people = session.scalars(select(Person).where(Person.name.like("批量%")).order_by(Person.birth_date)).all()
    assert [(p.name, p.birth_date, p.ethnicity, p.created_at, p.updated_at) for p in people] == [
        ("批量甲", date(2001, 2, 3), None, now, now), ("批量乙", date(2001, 2, 4), None, now, now),
        ("批量丙", date(2001, 2, 5), None, now, now)]
    insert_many(session, Account.__table__, [{"person_id": p.id, "password_hash": None} for p in people])
    accounts = session.scalars(select(Account).where(Account.person_id.in_([p.id for p in people]))).all()
    # Python-side defaults filled in as an ORM insert would: booleans, counters and the creation time
    assert {(a.claimed_at, a.failed_logins, a.session_version) for a in accounts} == {(None, 0, 1)}
    assert all(a.created_at is not None for a in accounts)
    session.rollback()
    assert session.scalar(select(Person).where(Person.name.like("批量%"))) is None   # inside the transaction


def test_insert_many_column_by_column_stores_what_rows_store(session, tree):
    """insert_many given {column: values} (the member import's commit) stores what the same rows as dicts store,
    defaults included; columns of different lengths are refused, empty columns do nothing."""
    from datetime import date, datetime

    from tuanjian.dbsetup import insert_many
    from tuanjian.models import Account, Person

    from .factories import new_id
    now = datetime(2026, 11, 23, 8, 30, 15, 123456)
    births = [date(2003, 4, 3 + i) for i in range(4)]
    as_rows = [{"id_number": new_id(b), "name": f"逐列{i}", "gender": "女", "birth_date": b, "ethnicity": None}
               for i, b in enumerate(births)]
    insert_many(session, Person.__table__, as_rows[:2], {"created_at": now, "updated_at": now})
    insert_many(session, Person.__table__, {key: [r[key] for r in as_rows[2:]] for key in as_rows[0]},
                {"created_at": now, "updated_at": now})
    insert_many(session, Person.__table__, {key: [] for key in as_rows[0]}, {"created_at": now, "updated_at": now})
    people = session.scalars(select(Person).where(Person.name.like("逐列%")).order_by(Person.birth_date)).all()
    assert [(p.name, p.id_number, p.birth_date, p.gender, p.ethnicity, p.created_at) for p in people] == [
        (r["name"], r["id_number"], r["birth_date"], "女", None, now) for r in as_rows]
    insert_many(session, Account.__table__, {"person_id": [p.id for p in people], "password_hash": [None] * 4})
    assert {(a.claimed_at, a.failed_logins, a.session_version) for a in session.scalars(
        select(Account).where(Account.person_id.in_([p.id for p in people])))} == {(None, 0, 1)}
    with pytest.raises(ValueError):
        insert_many(session, Account.__table__, {"person_id": [people[0].id], "password_hash": []})
    session.rollback()


@pytest.mark.parametrize("db_kind", [k for k in DB_KINDS if k == "postgresql"])    # COPY is PostgreSQL's
def test_insert_many_binary_copy_and_its_text_fallback(session, tree, monkeypatch):
    """PostgreSQL: COPY goes in binary format when every column holds exactly its plain Python type (dates, times,
    booleans, numbers, text, None), in text format otherwise (a date given as text, a time with a zone); both
    store the same values."""
    from datetime import UTC, date, datetime

    from tuanjian import dbsetup
    from tuanjian.models import Account, Person

    from .factories import new_id
    assert session.get_bind().dialect.name == "postgresql"
    formats = []
    chosen = dbsetup._binary_oids

    def spy(*args):
        oids = chosen(*args)
        formats.append(oids is not None)
        return oids
    monkeypatch.setattr(dbsetup, "_binary_oids", spy)
    now = datetime(2026, 11, 23, 8, 30, 15, 123456)

    def rows(first: int, birth):
        return [{"id_number": new_id(date(2002, 3, first + i)), "name": f"二进制{first + i}", "gender": "男",
                 "birth_date": birth(date(2002, 3, first + i)), "ethnicity": "汉族", "created_at": now}
                for i in range(2)]
    dbsetup.insert_many(session, Person.__table__, rows(1, lambda d: d), {"updated_at": now})       # binary
    dbsetup.insert_many(session, Person.__table__, rows(3, lambda d: d.isoformat()),                # a date as text
                        {"updated_at": now})
    dbsetup.insert_many(session, Person.__table__, rows(5, lambda d: d),
                        {"updated_at": now.replace(tzinfo=UTC)})                                   # a time zone
    people = session.scalars(select(Person).where(Person.name.like("二进制%")).order_by(Person.birth_date)).all()
    assert [(p.name, p.birth_date, p.gender, p.ethnicity, p.created_at) for p in people] == [
        (f"二进制{i}", date(2002, 3, i), "男", "汉族", now) for i in range(1, 7)]
    dbsetup.insert_many(session, Account.__table__, [{"person_id": p.id, "password_hash": None} for p in people])
    assert {(a.failed_logins, a.session_version, a.claimed_at) for a in session.scalars(
        select(Account).where(Account.person_id.in_([p.id for p in people])))} == {(0, 1, None)}
    assert formats == [True, False, False, True]
    session.rollback()


def test_packed_json_round_trip(session, tree):
    from tuanjian.domain.imports import ImportReport, RowOutcome
    from tuanjian.models import ImportBatch
    report = ImportReport([RowOutcome(2, {"name": "张三", "id_number": "X"}, data={"name": "张三", "n": 1}),
                           RowOutcome(3, {"name": "李四", "id_number": ""}, kind="error",
                                      errors={"id_number": ["请填写身份证号码"]})])
    batch = ImportBatch(kind="members", org_id=tree.village.id, file_name="a.xlsx", file_sha256="0" * 64)
    batch.store_report(report)
    session.add(batch)
    session.commit()
    batch_id = batch.id
    session.expunge_all()
    loaded = session.get(ImportBatch, batch_id)
    assert loaded.totals == {"rows": 2, "ok": 1, "error": 1, "new": 0, "update": 0, "unchanged": 0}
    assert ImportReport.from_json(loaded.report) == report


def test_packed_json_round_trips_chinese_and_lone_surrogates():
    from tuanjian.models.base import PackedJSON
    packed = PackedJSON()
    value = {"rows": [[2, "汉族", "\ud800坏", None, 1.5, True]], "k": {"名": "值"}}
    stored = packed.process_bind_param(value, None)
    assert isinstance(stored, bytes) and "汉族".encode() not in stored          # compressed, not plain text
    assert packed.process_result_value(stored, None) == value
    assert packed.process_bind_param(None, None) is None and packed.process_result_value(None, None) is None


def test_packed_report_marshals_row_reports_and_reads_json_ones():
    import json
    import zlib

    from markupsafe import Markup

    from tuanjian.models.base import REPORT_MARSHAL, PackedJSON, PackedReport
    packed = PackedReport()
    report = {"format": 2, "rows": [(2, "ok", None, ("张三", "\ud800坏", 1.5, True, None), None, "", "")],
              "meta": {"blank_clears": {"phone": 3}}, "totals": {"rows": 1}}
    stored = packed.process_bind_param(report, None)
    assert stored[:1] == REPORT_MARSHAL and "张三".encode() not in stored
    assert packed.process_result_value(stored, None) == report
    assert packed.process_result_value(memoryview(stored), None) == report          # psycopg hands bytea so
    # anything else (a 上报文件's content, a value marshal cannot write) is JSON, as are reports stored before
    for other in ({"package": {"a": [1, 2]}}, {"format": 2, "rows": [], "meta": {"x": Markup("<b>")}}):
        stored = packed.process_bind_param(other, None)
        assert stored[:1] != REPORT_MARSHAL and json.loads(zlib.decompress(stored)) == other
        assert packed.process_result_value(stored, None) == other
    old = PackedJSON().process_bind_param(report, None)
    assert packed.process_result_value(old, None) == json.loads(json.dumps(report))
