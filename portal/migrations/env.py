"""Alembic environment: runs migrations on the engine that `portal.db.upgrade` hands over."""

from alembic import context

from portal.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True, compare_type=True)
    context.run_migrations()
