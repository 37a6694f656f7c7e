"""calendar event links: which event on each connected calendar (CalDAV, Google) is which appointment, what
was last written there, and which push failed and waits for the next sync

Revision ID: 0006
Revises: 0005
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.models.types

revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'calendar_event_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('appointment_id', sa.Integer(), nullable=True),
        sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
        sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('pending', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column('created_at', backend.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', backend.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['connection_id'], ['calendar_connections.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('connection_id', 'appointment_id', name='uq_event_link_connection_appt'),
    )
    with op.batch_alter_table('calendar_event_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_event_links_appointment_id'), ['appointment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calendar_event_links_connection_id'), ['connection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calendar_event_links_workspace_id'), ['workspace_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('calendar_event_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_event_links_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_calendar_event_links_connection_id'))
        batch_op.drop_index(batch_op.f('ix_calendar_event_links_appointment_id'))
    op.drop_table('calendar_event_links')
