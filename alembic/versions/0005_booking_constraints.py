"""booking constraints: the range each appointment blocks (its time plus the service's buffers), and on
PostgreSQL an exclusion constraint so two live appointments of one workspace can never overlap

`block_starts_at` / `block_ends_at` are filled for existing rows from `starts_at` / `ends_at` (buffers were not
recorded before), then made NOT NULL. A NULL bound would read as an unbounded range and block the whole calendar.

PostgreSQL: `btree_gist` (for `workspace_id WITH =` inside a GiST index) and the constraint
`ex_appointments_no_overlap`: EXCLUDE USING gist (workspace_id WITH =, tstzrange(block_starts_at, block_ends_at,
'[)') WITH &&) WHERE (status IN ('pending', 'confirmed')). Half-open ranges, so back-to-back appointments are
fine; cancelled, completed and no-show rows do not take part, so a cancelled time can be booked again.
The constraint is not in the SQLModel metadata (it exists on PostgreSQL only); autogenerate does not compare
exclusion constraints, so alembic/env.py needs no exception for it.
SQLite has no such constraint: backend/calendar/booking.py takes the database's write lock (BEGIN IMMEDIATE)
before its overlap check, which serialises every check-and-insert.

Revision ID: 0005
Revises: 0004
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import backend.models.types

revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PG_UP = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    "ALTER TABLE appointments ADD CONSTRAINT ex_appointments_no_overlap EXCLUDE USING gist ("
    "workspace_id WITH =, tstzrange(block_starts_at, block_ends_at, '[)') WITH &&) "
    "WHERE (status IN ('pending', 'confirmed'))",
]

PG_DOWN = [
    "ALTER TABLE appointments DROP CONSTRAINT IF EXISTS ex_appointments_no_overlap",
    # btree_gist stays: other objects may use it, and it is harmless.
]


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('block_starts_at', backend.models.types.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('block_ends_at', backend.models.types.UTCDateTime(timezone=True),
                                      nullable=True))
    op.execute("UPDATE appointments SET block_starts_at = starts_at, block_ends_at = ends_at")
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.alter_column('block_starts_at', existing_type=backend.models.types.UTCDateTime(timezone=True),
                              nullable=False)
        batch_op.alter_column('block_ends_at', existing_type=backend.models.types.UTCDateTime(timezone=True),
                              nullable=False)
    if _is_postgres():
        for statement in PG_UP:
            op.execute(statement)


def downgrade() -> None:
    if _is_postgres():
        for statement in PG_DOWN:
            op.execute(statement)
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_column('block_ends_at')
        batch_op.drop_column('block_starts_at')
