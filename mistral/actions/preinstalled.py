"""What ``mistral-db-manage populate`` installs.

* Ad-hoc actions of this package: YAML action documents (as accepted by
  POST /v2/actions) stored as public ad-hoc actions in the default
  namespace.
* Workflows of installed packages, from the ``mistral.preinstalled_workflows``
  entry point. As upstream, an entry point names a callable that returns
  the paths of workflow files (mistral-extra's returns its
  ``create_instance`` and ``delete_instance``); a path, a list of paths, a
  workflow text, or a callable returning any of these is accepted too. An
  entry point that fails to load or names an unreadable file is reported
  and skipped, never silently ignored.
"""

from __future__ import annotations

import importlib.resources
import logging
import os
from importlib import metadata
from typing import Any, Iterator

LOG = logging.getLogger(__name__)

WORKFLOWS_ENTRY_POINT = 'mistral.preinstalled_workflows'

# std.wait_ssh: std.ssh with a harmless command, used by workflows that
# wait for a freshly booted server (retry policy on the task).
_FILES = ('wait_ssh.yaml',)


def definitions() -> list[str]:
    """YAML documents of the pre-installed ad-hoc actions."""
    base = importlib.resources.files('mistral.actions') / 'resources'
    return [(base / name).read_text(encoding='utf-8') for name in _FILES]


def _looks_like_text(value: str) -> bool:
    # A path is one line; a workflow document is several, or starts with
    # its version key or a YAML document marker.
    return '\n' in value or value.lstrip().startswith(
        ('version', '---', '{'))


def _items(value: Any) -> Iterator[Any]:
    if callable(value) and not hasattr(value, 'read_text'):
        value = value()
    if isinstance(value, (str, bytes, os.PathLike)) or hasattr(
            value, 'read_text'):
        yield value
        return
    if value is None:
        return
    for item in value:  # a list, tuple or generator of paths
        yield from _items(item)


def _read(item: Any) -> tuple[str, str]:
    """(where it came from, the YAML text) of one entry."""
    if isinstance(item, bytes):
        item = item.decode('utf-8')
    if isinstance(item, str) and _looks_like_text(item):
        return '<text>', item
    if hasattr(item, 'read_text') and not isinstance(item, os.PathLike):
        # importlib.resources Traversable (a file inside a zip, ...)
        return str(item), item.read_text(encoding='utf-8')
    path = os.fspath(item)
    with open(path, encoding='utf-8') as f:
        return path, f.read()


def workflow_texts() -> tuple[list[tuple[str, str]], list[str]]:
    """([(source, YAML text)], [problems]) of every
    ``mistral.preinstalled_workflows`` entry point, in entry point name
    order; a problem is a line naming the entry point and what failed."""
    texts: list[tuple[str, str]] = []
    problems: list[str] = []
    eps = sorted(metadata.entry_points(group=WORKFLOWS_ENTRY_POINT),
                 key=lambda ep: (ep.name, ep.value))
    for ep in eps:
        label = '%s = %s' % (ep.name, ep.value)
        try:
            items = list(_items(ep.load()))
        except Exception as e:
            problems.append('Pre-installed workflows %s: cannot load: %s: %s'
                            % (label, type(e).__name__, e))
            continue
        if not items:
            problems.append('Pre-installed workflows %s: no workflow given'
                            % label)
        for item in items:
            try:
                texts.append(_read(item))
            except Exception as e:
                problems.append('Pre-installed workflows %s: cannot read %s: '
                                '%s' % (label, item, e))
    for line in problems:
        LOG.error('%s', line)
    return texts, problems
