"""ai run details: what was asked, whether the documents answered, what the assistant did; the assistant's
on/off switch per workspace

Revision ID: 0004
Revises: 0003
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel

import backend.models.types

revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('workspaces', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ai_enabled', sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table('ai_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('question', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('answered', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('reply_kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('reply_text', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('citations', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('draft_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reply_message_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('started_at', backend.models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key('fk_ai_runs_draft', 'drafts', ['draft_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key('fk_ai_runs_reply_message', 'messages', ['reply_message_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.create_index('ix_ai_runs_workspace_status', ['workspace_id', 'status'])


def downgrade() -> None:
    with op.batch_alter_table('ai_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_ai_runs_workspace_status')
        batch_op.drop_constraint('fk_ai_runs_reply_message', type_='foreignkey')
        batch_op.drop_constraint('fk_ai_runs_draft', type_='foreignkey')
        for column in ('started_at', 'reply_message_id', 'draft_id', 'citations', 'reason', 'reply_text',
                       'reply_kind', 'answered', 'question'):
            batch_op.drop_column(column)
    with op.batch_alter_table('workspaces', schema=None) as batch_op:
        batch_op.drop_column('ai_enabled')
