"""mistral-server: every component joins the bus and says so, each in its
own OS process with a real transport, and SIGTERM stops them cleanly."""

from __future__ import annotations

import re

from mistral.tests.functional import harness

COMPONENTS = ('api', 'engine', 'executor', 'scheduler', 'notifier',
              'event-engine')


def test_components_start_ready_and_stop_cleanly():
    dep = harness.Deployment(db='sqlite', transport='rabbit',
                             processes=[['api'], ['all']])
    with dep:
        log = dep.logs()
        names = COMPONENTS
        for name in names:
            assert re.search(r'\b%s ready' % re.escape(name), log), name
        # One OS process per component under the launcher of group 1.
        pids = set(re.findall(r'Started (\S+) as pid (\d+)', log))
        assert {n for n, _ in pids} >= set(names) - {'api'}
        codes = dep.stop()
    assert codes == [0, 0], dep.logs(tail=40)
