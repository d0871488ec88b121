"""Fuzzing the REST API from its own OpenAPI description (schemathesis).

An embedded server (SQLite, in-memory messaging, no authentication) is
started on 127.0.0.1; the description is read from its
``/v2/openapi.json`` and every operation gets requests generated from it
by schemathesis, both valid ones (positive mode) and ones that break the
schema (negative mode). In half of the examples the path parameters name
objects that exist (a workflow, finished and failed executions, their
tasks and actions, an environment, a workbook), so that the handlers get
past "not found". Every answer must:

* not be a 5xx;
* hold no traceback (``Traceback``, ``File "``);
* if it is a 4xx, be a JSON object with a non-empty ``faultstring``;
* if it rejects the request (4xx), leave every stored row as it was.

The size is bounded for CI (``MISTRAL_FUZZ_EXAMPLES`` examples per
operation and mode, default 8, derandomized); a deeper run, optionally
on PostgreSQL or MariaDB (with RabbitMQ)::

    MISTRAL_FUZZ_EXAMPLES=200 MISTRAL_FUZZ_RANDOM=1 \\
        MISTRAL_FUZZ_DB=postgresql python -m pytest -p no:cacheprovider \\
        mistral/tests/functional/test_fuzz_api.py
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any, Iterator

import hypothesis
import pytest
import requests
from hypothesis import strategies as st

from mistral.api import openapi
from mistral.tests.functional.harness import Deployment

EXAMPLES = int(os.environ.get('MISTRAL_FUZZ_EXAMPLES', '8'))
RANDOM = bool(os.environ.get('MISTRAL_FUZZ_RANDOM'))
# sqlite (the embedded default), postgresql or mysql.
DB = os.environ.get('MISTRAL_FUZZ_DB', 'sqlite')

WF = """---
version: '2.0'
fuzz_wf:
  input:
    - name: x
  tasks:
    t:
      action: std.echo output=<% $.name %>
"""

FAIL_WF = """---
version: '2.0'
fuzz_fail:
  tasks:
    t:
      action: std.fail
"""

WB = """---
version: '2.0'
name: fuzz_wb
workflows:
  w:
    tasks:
      t:
        action: std.noop
"""

TEXT = {'Content-Type': 'text/plain'}

# Operations not fuzzed, and why.
SKIPPED = {
    # The description itself: a GET without parameters, checked by the
    # unit tests of the description.
    ('get', '/v2/openapi.json'),
}

# What counts as stored state: every table but the metrics samples.
VOLATILE_TABLES = ('mistral_metrics',)


def _operations() -> list[tuple[str, str, str]]:
    """(mode, method, path): every operation in positive mode, those
    with something to get wrong in negative mode too."""
    doc = openapi.build()
    out = []
    for path, ops in doc['paths'].items():
        for method, op in ops.items():
            if (method, path) in SKIPPED:
                continue
            out.append(('positive', method, path))
            # A string path parameter takes any value: nothing to break.
            if op.get('requestBody') or any(
                    p['in'] != 'path' or p['schema'] != {'type': 'string'}
                    for p in op.get('parameters', ())):
                out.append(('negative', method, path))
    return out


OPERATIONS = _operations()


class Fuzzing:
    def __init__(self, dep: Deployment, schema: Any,
                 seeds: dict[str, list[str]]) -> None:
        self.dep = dep
        self.schema = schema
        self.seeds = seeds
        self.base = dep.api_url[:-len('/v2')]
        import sqlalchemy as sa

        # Read-only use: row hashes and "is anything running".
        self.engine = sa.create_engine(dep.db_url, poolclass=sa.pool.NullPool)
        self.session = requests.Session()
        self.counts: dict[str, int] = {}

    def _tables(self, conn: Any) -> list[str]:
        import sqlalchemy as sa

        names = sa.inspect(conn).get_table_names()
        return sorted(t for t in names if t not in VOLATILE_TABLES
                      and t != 'mistral_alembic_version')

    def digest(self) -> dict[str, str]:
        """A hash of every row of every table, per table."""
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            out = {}
            for table in self._tables(conn):
                rows = sorted(repr(tuple(r)) for r in conn.execute(
                    sa.text('SELECT * FROM %s' % table)))
                out[table] = hashlib.sha256(
                    '\n'.join(rows).encode()).hexdigest()[:16]
            return out

    def busy(self) -> bool:
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            running = conn.execute(sa.text(
                'SELECT count(*) FROM workflow_executions_v2 WHERE state '
                "NOT IN ('SUCCESS', 'ERROR', 'CANCELLED', 'PAUSED')")
            ).scalar()
            outbox = conn.execute(sa.text(
                'SELECT count(*) FROM outbox')).scalar()
            return bool(running or outbox)

    def settle(self, timeout: float = 60) -> None:
        """Wait until no execution runs and no message is pending, so
        that nothing changes behind the next request's back."""
        deadline = time.monotonic() + timeout
        while self.busy():
            if time.monotonic() > deadline:
                raise AssertionError('the deployment did not settle')
            time.sleep(0.1)

    def seed_for(self, path: str, name: str) -> list[str]:
        key = {
            '/v2/workflows/{identifier}': 'wf',
            '/v2/workflows/{resource_id}': 'wf_id',
            '/v2/executions/{id}': 'ex', '/v2/executions/'
            '{workflow_execution_id}': 'ex', '/v2/tasks/{id}': 'task',
            '/v2/tasks/{task_execution_id}': 'task',
            '/v2/action_executions/{id}': 'aex',
            '/v2/environments/{name}': 'env',
            '/v2/workbooks/{name}': 'wb',
            '/v2/actions/{identifier}': 'action',
        }
        if name == 'action_ex_id':
            return self.seeds['aex']
        for prefix, seed in key.items():
            if path.startswith(prefix) and '{%s}' % name in prefix:
                return self.seeds[seed]
        return []

    def check(self, method: str, path: str, case: Any) -> None:
        # Stored rows are compared around writes (POST, PUT, DELETE);
        # reads only use read-only sessions.
        write = method != 'get'
        self.settle()
        before = self.digest() if write else None
        kwargs = case.as_transport_kwargs(base_url=self.base)
        kwargs.pop('base_url', None)
        resp = self.session.request(timeout=120, **kwargs)
        status = resp.status_code
        self.counts[str(status)[0] + 'xx'] = \
            self.counts.get(str(status)[0] + 'xx', 0) + 1
        sent = resp.request
        what = '%s %s (%s, body %r) -> %d\n%s' % (
            sent.method, sent.url, sent.headers.get('Content-Type'),
            (sent.body or b'')[:500], status, resp.text[:2000])
        assert status < 500, what
        assert 'Traceback' not in resp.text, what
        assert 'File "' not in resp.text, what
        if 400 <= status < 500:
            try:
                body = resp.json()
            except ValueError:
                raise AssertionError('not JSON: ' + what) from None
            assert isinstance(body, dict), what
            assert isinstance(body.get('faultstring'), str), what
            assert body['faultstring'].strip(), what
            if write:
                self.settle()
                assert self.digest() == before, \
                    'rejected but stored: ' + what


def _seeds(url: str, dep: Deployment) -> dict[str, list[str]]:
    for text in (WF, FAIL_WF):
        r = requests.post(url + '/workflows', data=text, headers=TEXT,
                          timeout=60)
        assert r.status_code == 201, r.text
    wf = requests.get(url + '/workflows/fuzz_wf', timeout=60).json()
    r = requests.post(url + '/workbooks', data=WB, headers=TEXT, timeout=60)
    assert r.status_code == 201, r.text
    r = requests.post(url + '/environments', json={
        'name': 'fuzz_env', 'variables': {'a': 1}}, timeout=60)
    assert r.status_code == 201, r.text
    exs = []
    for name in ('fuzz_wf', 'fuzz_fail'):
        r = requests.post(url + '/executions', json={'workflow_name': name},
                          timeout=60)
        assert r.status_code == 201, r.text
        exs.append(r.json()['id'])
        dep.wait_execution(exs[-1], timeout=120)
    tasks = [t['id'] for ex in exs for t in requests.get(
        '%s/executions/%s/tasks' % (url, ex), timeout=60).json()['tasks']]
    aexs = [a['id'] for t in tasks for a in requests.get(
        '%s/tasks/%s/action_executions' % (url, t),
        timeout=60).json()['action_executions']]
    assert len(exs) == 2 and len(tasks) == 2 and aexs
    return {'wf': ['fuzz_wf', wf['id']], 'wf_id': [wf['id']], 'ex': exs,
            'task': tasks, 'aex': aexs, 'env': ['fuzz_env'],
            'wb': ['fuzz_wb'], 'action': ['std.echo', 'std.noop']}


@pytest.fixture(scope='module')
def fuzzing() -> Iterator[Fuzzing]:
    import schemathesis

    with Deployment(db=DB, transport='fake' if DB == 'sqlite' else 'rabbit',
                    processes=[['all']]) as dep:
        seeds = _seeds(dep.api_url, dep)
        schema = schemathesis.openapi.from_url(dep.api_url + '/openapi.json')
        fz = Fuzzing(dep, schema, seeds)
        yield fz
        print('\nfuzz: %d operations, answers %s' % (
            len(OPERATIONS), json.dumps(dict(sorted(fz.counts.items())))))
        fz.engine.dispose()


def _settings() -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=EXAMPLES, deadline=None, database=None,
        derandomize=not RANDOM, print_blob=True,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate,
                hypothesis.Phase.shrink])


@pytest.mark.timeout(900)
@pytest.mark.parametrize('mode,method,path', OPERATIONS,
                         ids=['%s %s %s' % o for o in OPERATIONS])
def test_fuzz(fuzzing: Fuzzing, method: str, path: str, mode: str) -> None:
    from schemathesis import GenerationMode

    op = fuzzing.schema[path][method.upper()]
    generation = GenerationMode(mode)
    # DELETE keeps random identifiers: deleting the seeds would starve the
    # examples after it.
    seeded = {}
    if method != 'delete':
        for param in op.path_parameters:
            values = fuzzing.seed_for(path, param.name)
            if values:
                seeded[param.name] = values
    strategy = op.as_strategy(generation_mode=generation)
    if seeded:
        real = st.fixed_dictionaries(
            {k: st.sampled_from(v) for k, v in seeded.items()})
        strategy = st.tuples(strategy, st.one_of(st.none(), real))
    else:
        strategy = st.tuples(strategy, st.none())

    @_settings()
    @hypothesis.given(pair=strategy)
    def run(pair: Any) -> None:
        case, params = pair
        if params:
            case.path_parameters = dict(case.path_parameters or {},
                                        **params)
        fuzzing.check(method, path, case)

    run()
