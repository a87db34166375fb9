"""The shop database: SQLAlchemy 1.4 models, engine/session helpers and queries."""
