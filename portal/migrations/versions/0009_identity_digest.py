"""identity digest of real-name verifications: one ID number or credit code, one account

Revision ID: 0009
Revises: 0008
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('real_name_verification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('identity_digest', sa.String(length=64), nullable=False, server_default=''))
        batch_op.create_index(batch_op.f('ix_real_name_verification_identity_digest'), ['identity_digest'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('real_name_verification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_real_name_verification_identity_digest'))
        batch_op.drop_column('identity_digest')
