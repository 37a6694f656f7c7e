"""conversation opened unverified: the portal browser that started it had not entered the texted code

Revision ID: 0008
Revises: 0007
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0008'
down_revision: Union[str, None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


# recreate="never": rebuilding the table on SQLite would drop the old one with foreign keys on, and that cascades
# (messages, drafts and runs deleted, portal sessions cut loose). SQLite adds and drops a column in place.
def upgrade() -> None:
    with op.batch_alter_table('conversations', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('opened_unverified', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    # An unverified portal session only ever wrote in the conversation it created itself, so the conversations
    # still held by such sessions are the ones opened without the code. Others (sessions since deleted) cannot be
    # told apart any more and stay unmarked.
    conversations = sa.table('conversations', sa.column('id', sa.Integer),
                             sa.column('opened_unverified', sa.Boolean))
    sessions = sa.table('portal_sessions', sa.column('conversation_id', sa.Integer),
                        sa.column('verified', sa.Boolean))
    op.execute(
        conversations.update()
        .where(conversations.c.id.in_(
            sa.select(sessions.c.conversation_id)
            .where(sessions.c.verified == sa.false(), sessions.c.conversation_id.is_not(None))))
        .values(opened_unverified=True)
    )


def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('opened_unverified')
