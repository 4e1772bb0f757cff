"""Alembic migrations of the seragam-watch schema (``api.db.migrate`` or ``alembic upgrade head``)."""
