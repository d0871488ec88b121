from mistral.tests.unit.triggers.conftest import db, sent  # noqa: F401
