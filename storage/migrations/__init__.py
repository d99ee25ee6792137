"""Alembic migrations: the only way the schema changes. See storage/migrate.py."""
