"""limits by client address: login attempts and texted codes remember the address that made them, codes belong to
the browser session that asked, and every password-reset request is counted

Revision ID: 0010
Revises: 0009
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel

revision: str = '0010'
down_revision: Union[str, None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_ADDRESS = sqlmodel.sql.sqltypes.AutoString(length=64)


def upgrade() -> None:
    # recreate="never": SQLite adds the column in place (see 0008 on why rebuilding tables is avoided).
    with op.batch_alter_table('login_attempts', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('client_address', _ADDRESS, nullable=False, server_default=''))
    op.create_index('ix_login_attempts_email_address_created', 'login_attempts',
                    ['email', 'client_address', 'created_at'], unique=False)
    op.create_index('ix_login_attempts_address_created', 'login_attempts', ['client_address', 'created_at'],
                    unique=False)

    op.create_table(
        'password_reset_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column('client_address', _ADDRESS, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_password_reset_requests_address_created', 'password_reset_requests',
                    ['client_address', 'created_at'], unique=False)

    # No table references verification_codes, so rebuilding it on SQLite (to add the foreign key) cascades nowhere.
    # Codes issued before this revision belong to no session and can no longer be entered: they expire within
    # minutes anyway, and the customer asks for a new one.
    with op.batch_alter_table('verification_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('portal_session_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('client_address', _ADDRESS, nullable=False, server_default=''))
        batch_op.create_foreign_key('fk_verification_codes_portal_session', 'portal_sessions',
                                    ['portal_session_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index('ix_verification_codes_portal_session_id', ['portal_session_id'], unique=False)
        batch_op.create_index('ix_verification_codes_contact_address_created',
                              ['contact_id', 'client_address', 'created_at'], unique=False)
        batch_op.create_index('ix_verification_codes_address_created', ['client_address', 'created_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('verification_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_verification_codes_address_created')
        batch_op.drop_index('ix_verification_codes_contact_address_created')
        batch_op.drop_index('ix_verification_codes_portal_session_id')
        batch_op.drop_constraint('fk_verification_codes_portal_session', type_='foreignkey')
        batch_op.drop_column('client_address')
        batch_op.drop_column('portal_session_id')
    op.drop_index('ix_password_reset_requests_address_created', table_name='password_reset_requests')
    op.drop_table('password_reset_requests')
    op.drop_index('ix_login_attempts_address_created', table_name='login_attempts')
    op.drop_index('ix_login_attempts_email_address_created', table_name='login_attempts')
    with op.batch_alter_table('login_attempts', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('client_address')
