"""conversation assistant state: where the assistant is in a multi-turn dialog (booking), per conversation;
the contact's own time zone (from their browser), so offered times can be shown in it too

Revision ID: 0007
Revises: 0006
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assistant_state', sa.JSON(), nullable=False, server_default='{}'))
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('timezone')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('assistant_state')
