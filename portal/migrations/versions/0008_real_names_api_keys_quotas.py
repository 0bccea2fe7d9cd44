"""real names api keys quotas

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('quota_tier',
    sa.Column('tier', sa.String(length=20), nullable=False),
    sa.Column('per_minute', sa.Integer(), nullable=False),
    sa.Column('per_day', sa.Integer(), nullable=False),
    sa.Column('bytes_per_day', sa.BigInteger(), nullable=False),
    sa.Column('max_export_bytes', sa.BigInteger(), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.Column('changed_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('tier')
    )
    op.create_table('usage_counter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=80), nullable=False),
    sa.Column('window', sa.String(length=20), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subject', 'window')
    )
    with op.batch_alter_table('usage_counter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_counter_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_usage_counter_window'), ['window'], unique=False)

    op.create_table('api_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_key_user_id'), ['user_id'], unique=False)

    op.create_table('real_name_verification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('individual', 'organisation', name='accountkind', native_enum=False, length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('id_number_token', sa.Text(), nullable=False),
    sa.Column('id_number_masked', sa.String(length=20), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('contact_name', sa.String(length=100), nullable=False),
    sa.Column('contact_phone_masked', sa.String(length=20), nullable=False),
    sa.Column('contact_phone_token', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('real_name_verification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_real_name_verification_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_real_name_verification_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('real_name_verification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_real_name_verification_user_id'))
        batch_op.drop_index(batch_op.f('ix_real_name_verification_state'))

    op.drop_table('real_name_verification')
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_key_user_id'))

    op.drop_table('api_key')
    with op.batch_alter_table('usage_counter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_counter_window'))
        batch_op.drop_index(batch_op.f('ix_usage_counter_expires_at'))

    op.drop_table('usage_counter')
    op.drop_table('quota_tier')
