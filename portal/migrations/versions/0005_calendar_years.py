"""official calendar years loaded by the Bureau

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_year",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("days_off", sa.JSON(), nullable=False),
        sa.Column("workdays", sa.JSON(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.Column("loaded_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )


def downgrade() -> None:
    op.drop_table("calendar_year")
