"""Alembic environment: uses the connection handed over by ``service.migrations_runner``,
or opens one from ``sqlalchemy.url`` when run by the ``alembic`` command itself."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from service.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    _run(given)
else:
    with create_engine(config.get_main_option("sqlalchemy.url") or "").begin() as opened:
        _run(opened)
