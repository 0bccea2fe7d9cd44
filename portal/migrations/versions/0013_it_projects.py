"""IT projects and their pre-compiled data resource catalogs (Art. 9)

Revision ID: 0013
Revises: 0012
"""

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('it_project',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approval_reference', sa.String(length=100), nullable=False),
    sa.Column('accepted_at', sa.DateTime(), nullable=True),
    sa.Column('accepted_by_id', sa.Integer(), nullable=True),
    sa.Column('acceptance_reference', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['accepted_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['approved_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('it_project', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_it_project_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_it_project_state'), ['state'], unique=False)

    op.create_table('it_project_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], ),
    sa.ForeignKeyConstraint(['project_id'], ['it_project.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id', 'entry_id')
    )
    with op.batch_alter_table('it_project_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_it_project_entry_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_it_project_entry_project_id'), ['project_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('it_project_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_it_project_entry_project_id'))
        batch_op.drop_index(batch_op.f('ix_it_project_entry_entry_id'))

    op.drop_table('it_project_entry')
    with op.batch_alter_table('it_project', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_it_project_state'))
        batch_op.drop_index(batch_op.f('ix_it_project_department_id'))

    op.drop_table('it_project')
