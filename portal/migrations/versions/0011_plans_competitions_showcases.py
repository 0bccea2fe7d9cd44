"""plans competitions showcases

Revision ID: 0011
Revises: 0010
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('competition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('theme', sa.Text(), nullable=False),
    sa.Column('rules', sa.Text(), nullable=False),
    sa.Column('prizes', sa.Text(), nullable=False),
    sa.Column('opens_on', sa.Date(), nullable=False),
    sa.Column('closes_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('results_published_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('slug')
    )
    with op.batch_alter_table('competition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competition_state'), ['state'], unique=False)

    op.create_table('competition_dataset',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('competition_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['competition_id'], ['competition.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('competition_id', 'entry_id')
    )
    with op.batch_alter_table('competition_dataset', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competition_dataset_competition_id'), ['competition_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_competition_dataset_entry_id'), ['entry_id'], unique=False)

    op.create_table('competition_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('competition_id', sa.Integer(), nullable=False),
    sa.Column('leader_id', sa.Integer(), nullable=False),
    sa.Column('team_name', sa.String(length=100), nullable=False),
    sa.Column('members', sa.Text(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('award', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['competition_id'], ['competition.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['leader_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('competition_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competition_entry_competition_id'), ['competition_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_competition_entry_leader_id'), ['leader_id'], unique=False)

    op.create_table('competition_judge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('competition_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['competition_id'], ['competition.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('competition_id', 'user_id')
    )
    with op.batch_alter_table('competition_judge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competition_judge_competition_id'), ['competition_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_competition_judge_user_id'), ['user_id'], unique=False)

    op.create_table('plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('goals', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['approved_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('department_id', 'year', 'kind')
    )
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_state'), ['state'], unique=False)

    op.create_table('showcase',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('slug')
    )
    with op.batch_alter_table('showcase', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_showcase_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_showcase_submitted_by_id'), ['submitted_by_id'], unique=False)

    op.create_table('competition_entry_dataset',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('competition_entry_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['competition_entry_id'], ['competition_entry.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('competition_entry_id', 'entry_id')
    )
    with op.batch_alter_table('competition_entry_dataset', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competition_entry_dataset_competition_entry_id'), ['competition_entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_competition_entry_dataset_entry_id'), ['entry_id'], unique=False)

    op.create_table('competition_score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('competition_entry_id', sa.Integer(), nullable=False),
    sa.Column('judge_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('scored_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['competition_entry_id'], ['competition_entry.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['judge_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('competition_entry_id', 'judge_id')
    )
    with op.batch_alter_table('competition_score', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competition_score_competition_entry_id'), ['competition_entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_competition_score_judge_id'), ['judge_id'], unique=False)

    op.create_table('plan_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('planned_title', sa.String(length=200), nullable=False),
    sa.Column('target_open_type', sa.String(length=32), nullable=False),
    sa.Column('target_date', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('plan_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_item_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_item_plan_id'), ['plan_id'], unique=False)

    op.create_table('showcase_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('showcase_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['showcase_id'], ['showcase.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('showcase_id', 'entry_id')
    )
    with op.batch_alter_table('showcase_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_showcase_entry_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_showcase_entry_showcase_id'), ['showcase_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('showcase_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_showcase_entry_showcase_id'))
        batch_op.drop_index(batch_op.f('ix_showcase_entry_entry_id'))

    op.drop_table('showcase_entry')
    with op.batch_alter_table('plan_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_item_plan_id'))
        batch_op.drop_index(batch_op.f('ix_plan_item_entry_id'))

    op.drop_table('plan_item')
    with op.batch_alter_table('competition_score', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competition_score_judge_id'))
        batch_op.drop_index(batch_op.f('ix_competition_score_competition_entry_id'))

    op.drop_table('competition_score')
    with op.batch_alter_table('competition_entry_dataset', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competition_entry_dataset_entry_id'))
        batch_op.drop_index(batch_op.f('ix_competition_entry_dataset_competition_entry_id'))

    op.drop_table('competition_entry_dataset')
    with op.batch_alter_table('showcase', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_showcase_submitted_by_id'))
        batch_op.drop_index(batch_op.f('ix_showcase_state'))

    op.drop_table('showcase')
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_state'))
        batch_op.drop_index(batch_op.f('ix_plan_department_id'))

    op.drop_table('plan')
    with op.batch_alter_table('competition_judge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competition_judge_user_id'))
        batch_op.drop_index(batch_op.f('ix_competition_judge_competition_id'))

    op.drop_table('competition_judge')
    with op.batch_alter_table('competition_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competition_entry_leader_id'))
        batch_op.drop_index(batch_op.f('ix_competition_entry_competition_id'))

    op.drop_table('competition_entry')
    with op.batch_alter_table('competition_dataset', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competition_dataset_entry_id'))
        batch_op.drop_index(batch_op.f('ix_competition_dataset_competition_id'))

    op.drop_table('competition_dataset')
    with op.batch_alter_table('competition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competition_state'))

    op.drop_table('competition')
