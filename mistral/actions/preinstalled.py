"""Ad-hoc actions that ``mistral-db-manage populate`` installs.

Each entry is a YAML action document (as accepted by POST /v2/actions)
to be stored as a public ad-hoc action in the default namespace.
"""

from __future__ import annotations

import importlib.resources

# std.wait_ssh: std.ssh with a harmless command, used by workflows that
# wait for a freshly booted server (retry policy on the task).
_FILES = ('wait_ssh.yaml',)


def definitions() -> list[str]:
    """YAML documents of the pre-installed ad-hoc actions."""
    base = importlib.resources.files('mistral.actions') / 'resources'
    return [(base / name).read_text(encoding='utf-8') for name in _FILES]
