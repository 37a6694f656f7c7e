"""Column types shared by the models: aware UTC datetimes and embeddings that fit either database."""

from __future__ import annotations

from array import array
from datetime import datetime, timezone

from sqlalchemy import DateTime, LargeBinary
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Stores UTC, always returns aware datetimes (SQLite forgets the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class EmbeddingType(TypeDecorator):
    """pgvector `vector(dim)` on PostgreSQL (HNSW-indexable); packed float32 bytes on SQLite."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, dim: int = 384, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.dim = dim

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            from pgvector.sqlalchemy import Vector

            return dialect.type_descriptor(Vector(self.dim))
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        values = [float(x) for x in value]
        if len(values) != self.dim:
            raise ValueError(f"embedding has {len(values)} dimensions, expected {self.dim}")
        if dialect.name == "postgresql":
            return values  # pgvector's own bind processor (the dialect impl) formats it
        return array("f", values).tobytes()

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "postgresql":
            return [float(x) for x in value]  # already parsed by pgvector's result processor
        vec = array("f")
        vec.frombytes(value)
        return list(vec)
