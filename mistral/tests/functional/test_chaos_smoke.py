"""A short chaos run for CI (see tools/chaos and
doc/source/admin/reliability.rst).

About 30 workflows of every shape on PostgreSQL and RabbitMQ; one engine
and one executor are killed with SIGKILL mid-run and restarted, and one
batch of duplicated messages is injected (outbox rows sent again, RPC
casts of results and run requests repeated). Then every execution must
end as a clean run ends, nothing may run twice, nothing may be left
stuck or orphaned.

The checks themselves are tested on made-up rows first, so that a smoke
run that passes means something.
"""

from __future__ import annotations

import os
import sys
import types

import pytest

# tools/ is not an installed package; it is imported from the work tree.
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tools.chaos import checks  # noqa: E402
from tools.chaos import run as chaos_run  # noqa: E402

pytestmark = pytest.mark.functional

SMOKE_PROCESSES = (['api'], ['engine'], ['engine'], ['executor'],
                   ['executor'], ['scheduler'])


def _row(**kw):
    return types.SimpleNamespace(**kw)


def _data(**over):
    """Rows of one finished chaos_chain execution (n=1), all correct."""
    data = {
        'executions': [_row(id='e1', workflow_name='chaos_chain',
                            state='SUCCESS', state_info=None,
                            input='{"n": 1}', output='{"result": 20}',
                            root_execution_id=None,
                            task_execution_id=None)],
        'tasks': [_row(id='t%d' % i, workflow_execution_id='e1',
                       workflow_name='chaos_chain', name=name,
                       state='SUCCESS', state_info=None)
                  for i, name in enumerate('abc')],
        'actions': [_row(id='a%d' % i, task_execution_id='t%d' % i,
                         workflow_execution_id='e1', name='std.echo',
                         state='SUCCESS', state_info=None, is_sync=True)
                    for i in range(3)],
        'outbox': [],
    }
    data.update(over)
    return data


def _all(data, ledger, submitted=None):
    v, _ = checks.outcomes(data, submitted or {'e1': ('chaos_chain', 1)})
    return (v + checks.stuck(data) + checks.orphans(data)
            + checks.run_once(data, ledger))


def test_checks_pass_a_clean_run():
    assert _all(_data(), {'call/e1/b': 1}) == []


def test_checks_catch_violations():
    good = _data()
    # A wrong output.
    bad = _data(executions=[_row(**dict(vars(good['executions'][0]),
                                        output='{"result": 21}'))])
    assert any('wrong outcome' in v for v in _all(bad, {'call/e1/b': 1}))
    # An effect that happened twice, or never for a success.
    assert any('twice' in v for v in _all(good, {'call/e1/b': 2}))
    assert any('effect' in v for v in _all(good, {}))
    # A lost execution.
    assert any('lost' in v for v in _all(
        good, {'call/e1/b': 1}, {'e1': ('chaos_chain', 1),
                                 'e2': ('chaos_chain', 1)}))
    # Stuck, orphaned and leftover rows.
    stuck = _data(executions=[_row(**dict(vars(good['executions'][0]),
                                          state='RUNNING'))])
    assert any('stuck' in v for v in _all(stuck, {'call/e1/b': 1}))
    running = _data(actions=good['actions'][:2] + [_row(
        **dict(vars(good['actions'][2]), state='RUNNING'))])
    assert any('orphan' in v for v in _all(running, {'call/e1/b': 1}))
    left = _data(outbox=[_row(id='o', target='engine', method='x',
                              due_at=None)])
    assert any('leftover' in v for v in _all(left, {'call/e1/b': 1}))
    # A task created twice.
    dup = _data(tasks=good['tasks'] + [good['tasks'][0]])
    assert any('twice' in v for v in _all(dup, {'call/e1/b': 1}))


def _failed_http(state_info):
    """A chaos_chain run whose std.http action (executor pid 123) failed
    with ``state_info``."""
    return _data(
        executions=[_row(**dict(vars(_data()['executions'][0]),
                                state='ERROR', output='{}'))],
        actions=_data()['actions'][:1] + [_row(
            id='a1', task_execution_id='t1', workflow_execution_id='e1',
            name='std.http', state='ERROR', is_sync=True,
            executor_id='host:123:abc', state_info=state_info)])


def test_lost_executor_errors_are_explained_not_hidden():
    lost = _failed_http('The executor running this action stopped before '
                        'it reported a result')
    v, counts = checks.outcomes(lost, {'e1': ('chaos_chain', 1)}, {123})
    assert v == [] and counts['explained_error'] == 1
    # Failed as lost while its executor (pid 123) was never killed.
    v, counts = checks.outcomes(lost, {'e1': ('chaos_chain', 1)}, {456})
    assert any('false lost' in x for x in v)
    assert any('wrong outcome' in x for x in v)


def test_redelivered_errors_are_explained_only_for_injected_messages():
    failed = _failed_http(
        'Request to run an action was redelivered, but it cannot be re-run '
        'safely. The only safe thing to do is fail it [action=std.http].')
    v, counts = checks.outcomes(failed, {'e1': ('chaos_chain', 1)}, set(),
                                {'a1'})
    assert v == [] and counts['explained_error'] == 1
    # No redelivered message was sent for it: a violation.
    v, counts = checks.outcomes(failed, {'e1': ('chaos_chain', 1)}, set(),
                                {'other'})
    assert any('false redelivery' in x for x in v)
    assert any('wrong outcome' in x for x in v)


def test_chaos_smoke():
    cfg = chaos_run.Config(
        db='postgresql', workflows=30, processes=SMOKE_PROCESSES,
        kill_interval=0,
        # Mid-run: an engine after 10 submissions, an executor after 20.
        scripted_kills=((10, 1), (20, 3)),
        restart_broker=False, restart_db=False,
        dup_outbox=15, dup_rpc=15, dup_interval=0,
        inflight=30, settle=60)
    result = chaos_run.run(cfg)
    print(result.summary)
    # The faults did happen: a pass is not vacuous.
    assert result.counts['kills'] == 2
    assert result.counts['dup_outbox'] > 0 and result.counts['dup_rpc'] > 0
    assert result.counts['workflows'] == 30
    assert result.new_violations == [], '\n'.join(result.new_violations)
