#!/usr/bin/env python3
"""How long ``mistral-db-manage import-upstream`` takes on a big history.

    python tools/bench/import_upstream.py [--source postgresql]
        [--target postgresql] [--copies 500]

1. Starts upstream Mistral 23.0.0 (its own venv, as the import tests do)
   on a fresh ``--source`` database and makes the import tests' history
   through its API (every resource kind; 22 execution trees, nothing in
   flight).
2. Stops upstream and clones those execution trees ``--copies`` times
   straight in its database (new ids, links kept, timestamps shifted a
   second per copy), so the history holds about 22 x copies root
   executions.
3. Imports into a fresh ``--target`` database built by our ``upgrade
   head``: the first pass, a second pass with nothing changed (it copies
   again the trees stamped in the minute before the first pass: the
   default ``--overlap``), a third with ``--overlap 0`` (the fixed cost of
   a pass: what the final pass at a switch costs when little changed),
   then ``--verify``.

Prints the rows of each table and the seconds of each step (and writes
``--json``). The databases are dropped at the end.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
import uuid
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

from mistral.tests.functional import harness  # noqa: E402
from mistral.tests.functional.upstream_db import history  # noqa: E402
from mistral.tests.functional.upstream_db import upstream  # noqa: E402

TABLES = ('workflow_executions_v2', 'task_executions_v2',
          'action_executions_v2')
# Columns holding ids of rows of these tables (remapped in a copy).
LINKS = {'workflow_executions_v2': ('id', 'task_execution_id',
                                    'root_execution_id'),
         'task_executions_v2': ('id', 'workflow_execution_id'),
         'action_executions_v2': ('id', 'task_execution_id')}
STAMPS = ('created_at', 'updated_at', 'started_at', 'finished_at',
          'last_heartbeat')


def clone(db_url: str, copies: int) -> dict[str, int]:
    """Copy every execution row ``copies`` times with new ids."""
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    md = sa.MetaData()
    tables = {t: sa.Table(t, md, autoload_with=engine) for t in TABLES}
    with engine.connect() as conn:
        originals = {t: [dict(r) for r in conn.execute(
            sa.select(tables[t])).mappings()] for t in TABLES}
    ids = {r['id'] for rows in originals.values() for r in rows}
    for n in range(1, copies + 1):
        mapping = {i: str(uuid.uuid4()) for i in ids}
        shift = datetime.timedelta(seconds=n)
        with engine.begin() as conn:
            parents = []
            for t in TABLES:
                batch = []
                for r in originals[t]:
                    row = dict(r)
                    for col in LINKS[t]:
                        if row.get(col) in mapping:
                            row[col] = mapping[row[col]]
                    for col in STAMPS:
                        if row.get(col) is not None:
                            row[col] = row[col] - shift
                    # Contexts name their execution; keep that true.
                    if t == 'workflow_executions_v2' and row.get('context'):
                        row['context'] = row['context'].replace(
                            r['id'], row['id'])
                    if row.get('unique_key'):
                        row['unique_key'] = '%s-%d' % (row['unique_key'][
                            :240], n)
                    if t == 'workflow_executions_v2' and \
                            row['task_execution_id']:
                        # Upstream's migrations link the two tables both
                        # ways: the parent task is set once it exists.
                        parents.append({'i': row['id'],
                                        't': row['task_execution_id']})
                        row['task_execution_id'] = None
                    batch.append(row)
                conn.execute(tables[t].insert(), batch)
            wf = tables['workflow_executions_v2']
            if parents:
                conn.execute(wf.update().where(
                    wf.c.id == sa.bindparam('i')).values(
                    task_execution_id=sa.bindparam('t')), parents)
    with engine.connect() as conn:
        counts = {t: conn.execute(sa.select(sa.func.count()).select_from(
            tables[t])).scalar() for t in TABLES}
    engine.dispose()
    return counts


def manage(conf: str, env: dict[str, str], *args: str
           ) -> tuple[float, str]:
    started = time.monotonic()
    proc = subprocess.run(
        [harness._script('mistral-db-manage'), '--config-file', conf,
         *args], capture_output=True, text=True, env=env, check=False)
    took = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit('mistral-db-manage %s failed (%d):\n%s%s' % (
            ' '.join(args), proc.returncode, proc.stdout, proc.stderr))
    return took, proc.stdout


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--source', default='postgresql',
                   choices=('sqlite', 'postgresql', 'mysql'))
    p.add_argument('--target', default='postgresql',
                   choices=('sqlite', 'postgresql', 'mysql'))
    p.add_argument('--copies', type=int, default=500)
    p.add_argument('--json')
    args = p.parse_args()
    result: dict[str, Any] = {'source': args.source, 'target': args.target}
    with upstream.UpstreamServer(args.source) as up:
        started = time.monotonic()
        history.build(up.url, in_flight=False)
        result['history_seconds'] = round(time.monotonic() - started, 1)
        up.stop()
        started = time.monotonic()
        result['source_rows'] = clone(up.db_url, args.copies)
        result['clone_seconds'] = round(time.monotonic() - started, 1)
        # Only its database, config file and upgrade head: no server.
        dep = harness.Deployment(db=args.target, transport='fake',
                                 processes=[['all']])
        try:
            dep.setup()
            env = dep._child_env()
            steps = {}
            for name, extra in (
                    ('first pass', ()),
                    # The last minute of history before the first pass is
                    # looked at again (the default overlap)...
                    ('second pass, nothing changed', ()),
                    # ... and without overlap: the fixed cost of a pass.
                    ('third pass, nothing changed, --overlap 0',
                     ('--overlap', '0')),
                    ('verify', ('--verify',))):
                took, out = manage(dep.conf_path, env, 'import-upstream',
                                   '--from', up.db_url, *extra)
                steps[name] = round(took, 1)
                print('--- %s: %.1f s\n%s' % (name, took, out))
            result['seconds'] = steps
        finally:
            dep.close()
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
