"""resource pipeline: file revisions, normalised tables, schema, reports, personal-information
findings and clearance, download counts per format, data items' constraints

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("entry") as batch:
        batch.add_column(sa.Column("data_updated_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("data_item") as batch:
        batch.add_column(sa.Column("constraints", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("entry_file") as batch:
        batch.alter_column("size", type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=False)
        batch.add_column(sa.Column("tabular", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("normalised_sha256", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("row_count", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("table_schema", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("report", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("quality", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("findings", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("clearance", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("clearance_note", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("cleared_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("cleared_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("derived_from_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("replaced_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("replaced_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_entry_file_cleared_by_id_user_account", "user_account", ["cleared_by_id"], ["id"])
        batch.create_foreign_key("fk_entry_file_derived_from_id_entry_file", "entry_file", ["derived_from_id"], ["id"])
        batch.create_foreign_key("fk_entry_file_replaced_by_id_entry_file", "entry_file", ["replaced_by_id"], ["id"])
    op.create_table(
        "download_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["entry_file.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("file_id", "format"),
    )
    op.create_index(op.f("ix_download_count_file_id"), "download_count", ["file_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_download_count_file_id"), table_name="download_count")
    op.drop_table("download_count")
    with op.batch_alter_table("entry_file") as batch:
        for name in ("fk_entry_file_replaced_by_id_entry_file", "fk_entry_file_derived_from_id_entry_file",
                     "fk_entry_file_cleared_by_id_user_account"):
            batch.drop_constraint(name, type_="foreignkey")
        for column in ("replaced_by_id", "replaced_at", "derived_from_id", "cleared_at", "cleared_by_id", "clearance_note",
                       "clearance", "findings", "quality", "report", "table_schema", "row_count", "normalised_sha256", "tabular"):
            batch.drop_column(column)
        batch.alter_column("size", type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=False)
    with op.batch_alter_table("data_item") as batch:
        batch.drop_column("constraints")
    with op.batch_alter_table("entry") as batch:
        batch.drop_column("data_updated_at")
