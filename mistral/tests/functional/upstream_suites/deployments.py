"""The servers the gate suites run against.

``embedded`` is the default install: one ``mistral-server --server all``
process on SQLite with the in-memory transport. ``pg-rabbit`` is the
production shape: PostgreSQL, RabbitMQ and one process per component.
Either runs without authentication, or with a :class:`~.cloud.GateCloud`:
Keystone, ``[pecan] auth_enable = True``.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from mistral.tests.functional import harness
from mistral.tests.functional.realkeystone import KeystoneServer
from mistral.tests.functional.upstream_suites.cloud import GateCloud

DEPLOYMENTS: dict[str, dict[str, Any]] = {
    'embedded': dict(db='sqlite', transport='fake', processes=[['all']]),
    'pg-rabbit': dict(
        db='postgresql', transport='rabbit',
        processes=[['api'], ['engine'], ['executor'],
                   ['scheduler', 'notifier', 'event-engine']]),
}

# As upstream's gate configures its server: the action execution tests
# delete what they create.
GATE_OPTIONS: dict[str, dict[str, Any]] = {
    'api': {'allow_action_execution_deletion': True},
}


def _merge(*confs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for conf in confs:
        for section, opts in conf.items():
            out.setdefault(section, {}).update(opts)
    return out


@contextlib.contextmanager
def keystone_cloud() -> Iterator[GateCloud]:
    """A fresh Keystone with the accounts of a devstack."""
    with KeystoneServer() as ks:
        yield GateCloud(ks)


@contextlib.contextmanager
def serve(name: str, cloud: GateCloud | None = None
          ) -> Iterator[harness.Deployment]:
    """Deployment ``name``, with Keystone auth when ``cloud`` is given."""
    if name not in DEPLOYMENTS:
        raise ValueError('deployment must be one of %s, not %r'
                         % (sorted(DEPLOYMENTS), name))
    auth = cloud.server_conf(harness.free_port()) if cloud else {}
    with harness.Deployment(**DEPLOYMENTS[name],
                            conf_overrides=_merge(GATE_OPTIONS,
                                                  auth)) as dep:
        yield dep
