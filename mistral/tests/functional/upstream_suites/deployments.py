"""The servers the gate suites run against.

``embedded`` is the default install: one ``mistral-server --server all``
process on SQLite with the in-memory transport. ``pg-rabbit`` is the
production shape: PostgreSQL, RabbitMQ and one process per component.
Either runs without authentication, or with a :class:`~.cloud.GateCloud`:
Keystone, ``[pecan] auth_enable = True``. Like upstream's gate, the
servers have mistral-extra (upstream's OpenStack actions and its two
workflows), installed beside them (see ``mistral_extra_env``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from typing import Any, Iterator

from mistral.tests.functional import harness
from mistral.tests.functional import mistral_extra_env
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
def _pythonpath(first: str) -> Iterator[None]:
    """``first`` ahead on PYTHONPATH while the deployment starts: its
    processes take their environment from ours."""
    old = os.environ.get('PYTHONPATH')
    os.environ['PYTHONPATH'] = os.pathsep.join([first] + ([old] if old
                                                         else []))
    try:
        yield
    finally:
        if old is None:
            del os.environ['PYTHONPATH']
        else:
            os.environ['PYTHONPATH'] = old


def populate(dep: harness.Deployment) -> None:
    """``mistral-db-manage populate``, as a gate's devstack runs it."""
    cmd = [harness._script('mistral-db-manage'), '--config-file',
           dep.conf_path, 'populate']
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL, env=dep._child_env(),
                          check=False)
    if proc.returncode != 0:
        raise harness.DeploymentError('%s failed (exit %d):\n%s%s' % (
            ' '.join(cmd), proc.returncode, proc.stdout, proc.stderr))


@contextlib.contextmanager
def serve(name: str, cloud: GateCloud | None = None
          ) -> Iterator[harness.Deployment]:
    """Deployment ``name`` as upstream's gate has it: mistral-extra (the
    OpenStack actions) installed beside the server and its workflows
    populated; with Keystone auth when ``cloud`` is given."""
    if name not in DEPLOYMENTS:
        raise ValueError('deployment must be one of %s, not %r'
                         % (sorted(DEPLOYMENTS), name))
    auth = cloud.server_conf(harness.free_port()) if cloud else {}
    extra_site = mistral_extra_env.ensure_site()
    with contextlib.ExitStack() as stack:
        with _pythonpath(extra_site):
            dep = stack.enter_context(harness.Deployment(
                **DEPLOYMENTS[name],
                conf_overrides=_merge(GATE_OPTIONS, auth)))
            populate(dep)
        yield dep
