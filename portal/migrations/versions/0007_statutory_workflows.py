"""error reports, catalog adjustments, open reviews, clock rules, notifications

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('clock_rule',
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('rule', sa.String(length=20), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.Column('changed_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('kind')
    )
    op.create_table('catalog_adjustment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('cause', sa.String(length=20), nullable=False),
    sa.Column('event', sa.Text(), nullable=False),
    sa.Column('event_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('clock_rule', sa.String(length=20), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], ),
    sa.ForeignKeyConstraint(['opened_by_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('catalog_adjustment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalog_adjustment_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_catalog_adjustment_state'), ['state'], unique=False)

    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('task_kind', sa.String(length=20), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.Column('emailed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'key')
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_user_id'), ['user_id'], unique=False)

    op.create_table('open_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('proposed', sa.Enum('open', 'on-application', 'closed', name='opentype', native_enum=False, length=32), nullable=False),
    sa.Column('previous', sa.Enum('open', 'on-application', 'closed', name='opentype', native_enum=False, length=32), nullable=False),
    sa.Column('open_condition', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('proposed_at', sa.DateTime(), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('proposed_by', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('checklist', sa.JSON(), nullable=False),
    sa.Column('scan', sa.JSON(), nullable=False),
    sa.Column('conclusion', sa.Text(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('reviewer', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['reviewer_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('open_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open_review_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_open_review_state'), ['state'], unique=False)

    op.create_table('adjustment_target',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('adjustment_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('version_at_open', sa.Integer(), nullable=False),
    sa.Column('updated_version', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['adjustment_id'], ['catalog_adjustment.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('adjustment_id', 'entry_id')
    )
    with op.batch_alter_table('adjustment_target', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_adjustment_target_adjustment_id'), ['adjustment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_adjustment_target_entry_id'), ['entry_id'], unique=False)

    op.create_table('error_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=True),
    sa.Column('reporter_name', sa.String(length=100), nullable=False),
    sa.Column('contact', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=20), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=True),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('clock_rule', sa.String(length=20), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('corrected_version', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['answered_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], ),
    sa.ForeignKeyConstraint(['file_id'], ['entry_file.id'], ),
    sa.ForeignKeyConstraint(['reporter_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('error_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_error_report_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_error_report_state'), ['state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('error_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_error_report_state'))
        batch_op.drop_index(batch_op.f('ix_error_report_entry_id'))

    op.drop_table('error_report')
    with op.batch_alter_table('adjustment_target', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_adjustment_target_entry_id'))
        batch_op.drop_index(batch_op.f('ix_adjustment_target_adjustment_id'))

    op.drop_table('adjustment_target')
    with op.batch_alter_table('open_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_open_review_state'))
        batch_op.drop_index(batch_op.f('ix_open_review_entry_id'))

    op.drop_table('open_review')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_user_id'))

    op.drop_table('notification')
    with op.batch_alter_table('catalog_adjustment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalog_adjustment_state'))
        batch_op.drop_index(batch_op.f('ix_catalog_adjustment_department_id'))

    op.drop_table('catalog_adjustment')
    op.drop_table('clock_rule')
