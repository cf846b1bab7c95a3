"""Alembic environment: runs on the connection handed over by Database.migrate()."""

from alembic import context

from assistant.storage.models import Base
import assistant.tools.simulator.models  # noqa: F401  (the simulated broker's tables share the metadata)

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - migrations only run through Database.migrate()
    raise RuntimeError("run migrations through assistant.storage.Database.migrate()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
