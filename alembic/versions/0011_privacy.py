"""privacy: data retention per workspace, workspace deletion with a grace period (and the tombstone a purge
leaves), and who/where in the audit log

Revision ID: 0011
Revises: 0010
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0011'
down_revision: Union[str, None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


# recreate="never": every table here is referenced by others with ON DELETE CASCADE; rebuilding one on SQLite would
# drop it with foreign keys on, and take the rows of those others with it. SQLite adds columns in place.
def upgrade() -> None:
    with op.batch_alter_table('workspaces', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('retention_months', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('deletion_requested_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deletion_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deletion_requested_by', sa.Integer(), nullable=True))
    op.create_index('ix_workspaces_deletion_due_at', 'workspaces', ['deletion_due_at'], unique=False)

    with op.batch_alter_table('audit_events', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('client_address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False,
                                      server_default=''))

    op.create_table(
        'workspace_tombstones',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_workspace_tombstones_workspace_id', 'workspace_tombstones', ['workspace_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_workspace_tombstones_workspace_id', table_name='workspace_tombstones')
    op.drop_table('workspace_tombstones')
    with op.batch_alter_table('audit_events', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('client_address')
        batch_op.drop_column('actor')
    op.drop_index('ix_workspaces_deletion_due_at', table_name='workspaces')
    with op.batch_alter_table('workspaces', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('deletion_requested_by')
        batch_op.drop_column('deletion_due_at')
        batch_op.drop_column('deletion_requested_at')
        batch_op.drop_column('retention_months')
