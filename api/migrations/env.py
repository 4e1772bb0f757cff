"""Alembic environment: migrates the database named by ``sqlalchemy.url`` to the models' metadata."""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any, Literal

from alembic import context

from api.db.engine import make_engine
from api.db.models import Base
from api.db.types import UTCDateTime

config = context.config
if config.config_file_name is not None:  # the alembic CLI; api.db.migrate leaves logging alone
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def render_item(kind: str, item: Any, autogen_context: Any) -> str | Literal[False]:
    """Write UTCDateTime as a plain timestamp so revisions do not import model code."""
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=Base.metadata,
        literal_binds=True,
        render_as_batch=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "", sqlite_foreign_keys=False)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=True,
                render_item=render_item,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
