"""Declarative base with a naming convention, so SQLite batch migrations can name constraints."""
import json
import marshal
import zlib
from datetime import UTC, datetime

from sqlalchemy import LargeBinary, MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def exists_on(obj, dialect_name: str) -> bool:
    """False for schema objects declared for another database only (``.ddl_if(dialect=...)``), so Alembic's
    autogenerate and the migration test do not expect them where they are never created."""
    ddl_if = getattr(obj, "_ddl_if", None)
    return ddl_if is None or ddl_if.dialect is None or ddl_if.dialect == dialect_name


def utcnow() -> datetime:
    """Naive UTC: every timestamp in the database is UTC without tzinfo (SQLite keeps no zone)."""
    return datetime.now(UTC).replace(tzinfo=None)


class PackedJSON(TypeDecorator):
    """JSON kept zlib-compressed in a binary column: for large staging documents (an import report of 50,000
    rows is ~30 MB of JSON and ~3 MB packed), which the database need not parse or index."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, check_circular=False)
        # UTF-8, not \uXXXX: Chinese text packs smaller and faster (json.loads reads lone surrogates back too)
        return zlib.compress(text.encode("utf-8", "surrogatepass"), 1)

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(zlib.decompress(value))


REPORT_MARSHAL = b"M"          # the first byte of a report packed by marshal; zlib's own output starts with 0x78


class PackedReport(PackedJSON):
    """An import batch's report: a row report (``ImportReport.to_json``, format 2: a 50,000-row file's rows as
    tuples of plain values) is packed with marshal, ~10× faster to write and read back than JSON; anything else,
    and reports stored before, as PackedJSON. Loading is safe: marshal only ever builds the plain values it wrote
    (the stored bytes are ours, zlib-checksummed; never unpickled). Tuples come back as tuples, which the report's
    reader takes as it takes lists."""

    cache_ok = True

    def process_bind_param(self, value, dialect):
        if isinstance(value, dict) and value.get("format") == 2:
            try:
                packed = marshal.dumps(value, 4)
            except ValueError:                   # a value marshal does not write: JSON as before
                pass
            else:
                return REPORT_MARSHAL + zlib.compress(packed, 1)
        return super().process_bind_param(value, dialect)

    def process_result_value(self, value, dialect):
        if value is not None and bytes(value[:1]) == REPORT_MARSHAL:
            return marshal.loads(zlib.decompress(value[1:]))
        return super().process_result_value(value, dialect)
