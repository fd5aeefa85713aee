"""The database tests run on the downtime store's fixtures (SQLite and PostgreSQL)."""

from tests.downtime.conftest import clock, database_url, engine, store  # noqa: F401
