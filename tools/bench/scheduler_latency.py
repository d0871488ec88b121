#!/usr/bin/env python
"""How late does the scheduler send a delayed message?

Writes ``--count`` delayed outbox rows (one transaction each, like an
engine applying a wait-before policy), each due ``--delay`` seconds after
its commit, while ``--schedulers`` scheduler components run in this
process on the in-memory transport (the writer's wake-up cast goes through
oslo.messaging to them). Prints how long after its due time each message
was handed to the transport: p50, p95, p99, max.

    python tools/bench/scheduler_latency.py --db sqlite --count 50
    python tools/bench/scheduler_latency.py --db postgresql --schedulers 2

PostgreSQL and MariaDB use a throw-away database of the functional test
harness.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import tempfile
import threading
import time

from oslo_config import cfg


def _pct(sorted_ms: list[float], q: float) -> float:
    """The q-quantile of a sorted list (nearest rank)."""
    return sorted_ms[max(0, min(len(sorted_ms) - 1,
                                int(round(q * len(sorted_ms))) - 1))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--db', default='sqlite',
                    choices=['sqlite', 'postgresql', 'mysql'])
    ap.add_argument('--count', type=int, default=50)
    ap.add_argument('--delay', type=float, default=0.2)
    ap.add_argument('--gap', type=float, default=0.05,
                    help='seconds between two writes')
    ap.add_argument('--schedulers', type=int, default=1)
    args = ap.parse_args()

    from mistral import config
    from mistral.db import api as db_api
    from mistral.db.migration import cli as db_cli
    from mistral.handoff import outbox
    from mistral.service import components
    from mistral.tests.functional import harness
    from mistral.utils import timeutils

    conf = cfg.CONF
    config.parse_args([], default_config_files=[])
    db = harness.make_database(args.db, tempfile.mkdtemp())
    db.create()
    conf.set_override('connection', db.url, group='database')
    conf.set_override('transport_url', 'fake:/')
    db_api.dispose()
    db_cli.upgrade('head')

    due: dict[str, datetime.datetime] = {}
    late: list[float] = []
    done = threading.Event()
    lock = threading.Lock()

    def record(ctx, method, server, payload):
        now = timeutils.utcnow()
        with lock:
            late.append((now - due[payload['n']]).total_seconds())
            if len(late) >= args.count:
                done.set()

    outbox._relay = outbox.Relay(senders={'engine': record})
    comps = [components.build('scheduler') for _ in range(args.schedulers)]
    for c in comps:
        c.start()
    try:
        time.sleep(0.5)
        for i in range(args.count):
            batch = outbox.Batch()
            at = timeutils.utcnow() + datetime.timedelta(seconds=args.delay)
            key = str(i)
            due[key] = at
            batch.add('engine', 'continue_task', {'n': key}, due_at=at)
            with db_api.transaction() as s:
                batch.write(s)
            time.sleep(args.gap)
        if not done.wait(60):
            print('only %d of %d sent' % (len(late), args.count))
            return 1
    finally:
        for c in comps:
            c.stop()
        outbox.reset()
        db_api.dispose()
        db.drop()
    late.sort()
    ms = [x * 1000 for x in late]
    print('%s, %d scheduler(s), %d messages due %.0f ms after commit: '
          'late by p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms, '
          'min %.1f ms'
          % (args.db, args.schedulers, args.count, args.delay * 1000,
             statistics.median(ms), _pct(ms, 0.95), _pct(ms, 0.99), ms[-1],
             ms[0]))
    return 0


if __name__ == '__main__':
    sys.exit(main())
