from mistral.tests.unit.triggers.conftest import app  # noqa: F401
from mistral.tests.unit.triggers.conftest import db  # noqa: F401
from mistral.tests.unit.triggers.conftest import sent  # noqa: F401
