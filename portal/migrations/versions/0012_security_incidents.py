"""security incidents (Art. 21)

Revision ID: 0012
Revises: 0011
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('security_incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('discovered_at', sa.DateTime(), nullable=False),
    sa.Column('personal_information', sa.Boolean(), nullable=False),
    sa.Column('police_reported', sa.Boolean(), nullable=False),
    sa.Column('police_reported_on', sa.Date(), nullable=True),
    sa.Column('police_reference', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('reported_at', sa.DateTime(), nullable=False),
    sa.Column('reported_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('result', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['closed_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], ),
    sa.ForeignKeyConstraint(['reported_by_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('security_incident', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_security_incident_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_security_incident_state'), ['state'], unique=False)

    op.create_table('security_incident_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], ),
    sa.ForeignKeyConstraint(['incident_id'], ['security_incident.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('incident_id', 'entry_id')
    )
    with op.batch_alter_table('security_incident_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_security_incident_entry_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_security_incident_entry_incident_id'), ['incident_id'], unique=False)

    op.create_table('security_incident_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['incident_id'], ['security_incident.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('security_incident_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_security_incident_event_incident_id'), ['incident_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('security_incident_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_security_incident_event_incident_id'))

    op.drop_table('security_incident_event')
    with op.batch_alter_table('security_incident_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_security_incident_entry_incident_id'))
        batch_op.drop_index(batch_op.f('ix_security_incident_entry_entry_id'))

    op.drop_table('security_incident_entry')
    with op.batch_alter_table('security_incident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_security_incident_state'))
        batch_op.drop_index(batch_op.f('ix_security_incident_department_id'))

    op.drop_table('security_incident')
