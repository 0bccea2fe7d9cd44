"""search outbox and download counts

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("entry") as batch:
        batch.add_column(sa.Column("downloads", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "search_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_search_outbox_entry_id"), "search_outbox", ["entry_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_search_outbox_entry_id"), table_name="search_outbox")
    op.drop_table("search_outbox")
    with op.batch_alter_table("entry") as batch:
        batch.drop_column("downloads")
