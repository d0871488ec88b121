"""Pre-installed content written by ``mistral-db-manage populate``.

* The pre-installed ad-hoc actions (``std.wait_ssh``): public, system,
  default namespace; replaced on every run so that upgrades refresh them.
* Workflows of the ``mistral.preinstalled_workflows`` entry point (see
  :func:`mistral.actions.preinstalled.workflow_texts`: upstream's list of
  paths, or a path or text): existing system workflows are deleted first,
  the new ones are created public with ``is_system`` set, as upstream
  does. A file that cannot be read or parsed is logged and skipped.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import sqlalchemy as sa

from mistral.actions import preinstalled
from mistral.db import api as db_api
from mistral.db import models
from mistral.lang import parser

LOG = logging.getLogger(__name__)


def _workflow_specs() -> list[Any]:
    specs: list[Any] = []
    texts, _problems = preinstalled.workflow_texts()
    for source, text in texts:
        try:
            specs.extend(parser.parse_workflows(text))
        except Exception as e:
            LOG.error('Pre-installed workflow file %s is not valid: %s',
                      source, e)
    return specs


def populate() -> dict[str, int]:
    """Install the pre-installed actions and workflows; returns counts."""
    counts = {'actions': 0, 'workflows': 0}
    with db_api.transaction() as s:
        ad = models.ActionDefinition
        for text in preinstalled.definitions():
            for spec in parser.parse_actions(text):
                s.execute(sa.delete(ad).where(ad.name == spec.name,
                                              ad.namespace == '',
                                              ad.is_system.is_(True)))
                s.add(ad(name=spec.name, namespace='',
                         definition=spec.definition, spec=spec.to_dict(),
                         tags=spec.tags, description=spec.description,
                         input=spec.input_string, scope='public',
                         is_system=True, project_id=None))
                counts['actions'] += 1
        wf = models.WorkflowDefinition
        specs = _workflow_specs()
        if specs:
            s.execute(sa.delete(wf).where(wf.is_system.is_(True)))
        for spec in specs:
            s.add(wf(name=spec.name, namespace='',
                     definition=spec.definition, spec=spec.to_dict(),
                     tags=spec.tags, scope='public', is_system=True,
                     project_id=None,
                     checksum=hashlib.md5(
                         spec.definition.encode()).hexdigest()))
            counts['workflows'] += 1
    LOG.info('Populated %(actions)d action(s), %(workflows)d workflow(s)',
             counts)
    return counts
