from mistral.tests.unit.triggers.conftest import app, db, sent  # noqa: F401
