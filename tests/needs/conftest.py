"""The need tests use the session's ``extractor`` fixture from tests/conftest.py."""
