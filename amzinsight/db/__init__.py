"""PostgreSQL: tables (SQLAlchemy Core), Alembic migrations, engine and bulk upsert."""
