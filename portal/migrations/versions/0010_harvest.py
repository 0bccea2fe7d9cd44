"""harvest sources, jobs, items and the GUID table

Revision ID: 0010
Revises: 0009
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('harvest_source',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('allow_private', sa.Boolean(), nullable=False),
    sa.Column('schedule', sa.String(length=10), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('harvest_org_mapping',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('remote_org', sa.String(length=200), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], ),
    sa.ForeignKeyConstraint(['source_id'], ['harvest_source.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_id', 'remote_org')
    )
    op.create_index(op.f('ix_harvest_org_mapping_source_id'), 'harvest_org_mapping', ['source_id'], unique=False)
    op.create_table('harvest_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('guid', sa.String(length=500), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('missing_since', sa.DateTime(), nullable=True),
    sa.Column('archived_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['source_id'], ['harvest_source.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_id', 'guid')
    )
    op.create_index(op.f('ix_harvest_record_entry_id'), 'harvest_record', ['entry_id'], unique=False)
    op.create_index(op.f('ix_harvest_record_source_id'), 'harvest_record', ['source_id'], unique=False)
    op.create_table('harvest_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('since', sa.DateTime(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('started_by', sa.String(length=100), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('archived', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['harvest_source.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_harvest_job_source_id'), 'harvest_job', ['source_id'], unique=False)
    op.create_index(op.f('ix_harvest_job_state'), 'harvest_job', ['state'], unique=False)
    op.create_table('harvest_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('guid', sa.String(length=500), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['job_id'], ['harvest_job.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_harvest_item_job_id'), 'harvest_item', ['job_id'], unique=False)
    op.create_index(op.f('ix_harvest_item_status'), 'harvest_item', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_harvest_item_status'), table_name='harvest_item')
    op.drop_index(op.f('ix_harvest_item_job_id'), table_name='harvest_item')
    op.drop_table('harvest_item')
    op.drop_index(op.f('ix_harvest_job_state'), table_name='harvest_job')
    op.drop_index(op.f('ix_harvest_job_source_id'), table_name='harvest_job')
    op.drop_table('harvest_job')
    op.drop_index(op.f('ix_harvest_record_source_id'), table_name='harvest_record')
    op.drop_index(op.f('ix_harvest_record_entry_id'), table_name='harvest_record')
    op.drop_table('harvest_record')
    op.drop_index(op.f('ix_harvest_org_mapping_source_id'), table_name='harvest_org_mapping')
    op.drop_table('harvest_org_mapping')
    op.drop_table('harvest_source')
