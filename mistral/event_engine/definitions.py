"""``event_definitions.yaml``: how a notification becomes ``event_params``.

The file is a list of ``{event_types: [glob, ...], properties: {name:
value-or-expression}}``. Expressions are evaluated against the event
``{event_type, payload, publisher, timestamp, context}``. The last
definition whose ``event_types`` match wins; with none, the event params
are the notification's service, project, user and timestamp.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from typing import Any

import yaml

from mistral import expressions

LOG = logging.getLogger(__name__)


class EventDefinition:
    def __init__(self, raw: dict[str, Any]) -> None:
        if not isinstance(raw, dict) or 'event_types' not in raw or \
                'properties' not in raw:
            raise ValueError('An event definition needs event_types and '
                             'properties: %r' % (raw,))
        types = raw['event_types']
        self.event_types = [types] if isinstance(types, str) else list(types)
        self.properties = raw['properties']

    def matches(self, event_type: str) -> bool:
        return any(fnmatch.fnmatch(event_type, t) for t in self.event_types)

    def convert(self, event: dict[str, Any]) -> dict[str, Any]:
        return expressions.evaluate_recursively(self.properties, event)


def load(path: str | None) -> list[EventDefinition]:
    """Definitions from ``path``; a missing file means none."""
    if not path or not os.path.exists(path):
        return []
    with open(path) as f:
        raw = yaml.safe_load(f) or []
    if not isinstance(raw, list):
        raise ValueError('%s must hold a list of event definitions' % path)
    return [EventDefinition(d) for d in raw]


def default_params(event: dict[str, Any]) -> dict[str, Any]:
    ctx = event.get('context') or {}
    return {
        'service': event.get('publisher'),
        'project_id': ctx.get('project_id') or ctx.get('tenant_id')
        or ctx.get('tenant'),
        'user_id': ctx.get('user_id') or ctx.get('user'),
        'timestamp': event.get('timestamp'),
    }


def event_params(defs: list[EventDefinition], event: dict[str, Any]
                 ) -> dict[str, Any]:
    for definition in reversed(defs):
        if definition.matches(event.get('event_type') or ''):
            return definition.convert(event)
    return default_params(event)
