"""mistral.testing: rehearse(), Rehearsal, the fixture and the command."""

from __future__ import annotations

import contextlib
import io
import json
import threading

import pytest

from mistral.testing import PENDING
from mistral.testing import REAL
from mistral.testing import ActionCall
from mistral.testing import Harness
from mistral.testing import HarnessError
from mistral.testing import Rehearsal
from mistral.testing import cli
from mistral.testing import error
from mistral.testing import rehearse
from mistral.testing import sequence

CHAIN = """
version: '2.0'
wf:
  input: [who]
  output:
    msg: <% $.msg %>
  tasks:
    fetch:
      action: std.http url=http://example.invalid/<% $.who %>
      publish: {user: <% task().result %>}
      on-success: [greet]
      on-error: [fallback]
    greet:
      action: std.echo output="hi <% $.user.name %>"
      publish: {msg: <% task().result %>}
    fallback:
      action: std.echo output="nobody"
      publish: {msg: <% task().result %>}
"""

RETRY = """
version: '2.0'
wf:
  tasks:
    flaky:
      action: std.http url=http://example.invalid
      retry: {count: 3, delay: 10}
      publish: {got: <% task().result %>}
"""

ITEMS = """
version: '2.0'
wf:
  output:
    sizes: <% $.sizes %>
  tasks:
    measure:
      with-items: x in <% [1, 2, 3] %>
      action: std.echo output=<% $.x %>
      publish: {sizes: <% task().result %>}
"""

TIMERS = """
version: '2.0'
wf:
  tasks:
    first:
      action: std.noop
      wait-after: 60
      on-success: [second]
    second:
      action: std.noop
      wait-before: 30
"""

WORKBOOK = """
version: '2.0'
name: shop
workflows:
  main:
    tasks:
      order:
        workflow: pay amount=5
        publish: {paid: <% task().result.receipt %>}
  pay:
    input: [amount]
    output: {receipt: <% $.receipt %>}
    tasks:
      charge:
        action: std.http url=http://bank.invalid
        publish: {receipt: <% task().result %>}
"""


def test_mocked_result_drives_the_sequence_publish_and_output():
    out = rehearse(CHAIN, {'who': 'ann'}, mocks={'fetch': {'name': 'Ann'}})
    assert out.state == 'SUCCESS'
    assert out.task_names == ['fetch', 'greet']
    assert out.published == {'user': {'name': 'Ann'}, 'msg': 'hi Ann'}
    assert out.output == {'msg': 'hi Ann'}
    assert out.task('greet').published == {'msg': 'hi Ann'}


def test_error_mock_takes_the_error_path():
    out = rehearse(CHAIN, {'who': 'x'}, mocks={'fetch': error('404')})
    assert out.task_names == ['fetch', 'fallback']
    assert out.task('fetch').state == 'ERROR'
    assert out.task('fetch').state_info == '404'
    assert out.output == {'msg': 'nobody'}


def test_sequence_gives_one_result_per_retry_and_delays_use_fake_time():
    out = rehearse(RETRY, mocks={'flaky': sequence(error('a'), error('b'),
                                                   {'ok': 1})})
    assert out.state == 'SUCCESS'
    assert out.task('flaky').published == {'got': {'ok': 1}}
    assert out.elapsed == 20  # two retry delays of 10 fake seconds


def test_retries_run_out_with_the_last_mock_repeating():
    out = rehearse(RETRY, mocks={'flaky': sequence(error('down'))})
    assert out.state == 'ERROR'
    assert out.elapsed == 30


def test_a_function_mock_sees_each_with_items_element():
    seen: list[ActionCall] = []

    def size(call: ActionCall) -> object:
        seen.append(call)
        return str(call.input['output']) * 2

    out = rehearse(ITEMS, mocks={'measure': size})
    assert out.output == {'sizes': ['11', '22', '33']}
    assert [c.call for c in seen] == [0, 1, 2]
    assert {c.task for c in seen} == {'measure'}
    assert {c.action for c in seen} == {'std.echo'}


def test_action_key_mocks_every_task_calling_the_action():
    out = rehearse(CHAIN, {'who': 'b'},
                   mocks={'action:std.http': {'name': 'Bo'}})
    assert out.output == {'msg': 'hi Bo'}


def test_real_runs_the_action():
    out = rehearse(CHAIN, {'who': 'b'},
                   mocks={'fetch': {'name': 'C'}, 'greet': REAL})
    assert out.output == {'msg': 'hi C'}


def test_timers_wait_for_the_fake_clock():
    with Rehearsal(TIMERS) as r:
        r.start(run=False)
        assert r.outcome().task_names == ['first']
        r.advance(59)
        assert r.outcome().task_names == ['first']
        r.advance(1)
        out = r.outcome()
        assert out.task_names == ['first', 'second']
        assert out.task('second').state == 'DELAYED'  # wait-before
        r.advance(30)
        out = r.outcome()
        assert out.state == 'SUCCESS'
        assert out.elapsed == 90


def test_pending_action_is_completed_later():
    with Rehearsal(CHAIN, mocks={'fetch': PENDING}) as r:
        r.start({'who': 'd'})
        assert r.outcome().state == 'RUNNING'
        assert r.outcome().task('fetch').state == 'RUNNING'
        r.complete('fetch', {'name': 'Dee'})
        assert r.outcome().output == {'msg': 'hi Dee'}
        with pytest.raises(HarnessError):
            r.complete('fetch', 1)


def test_pending_action_times_out_in_fake_time():
    wf = """
    version: '2.0'
    wf:
      tasks:
        slow:
          action: std.http url=http://example.invalid
          timeout: 600
    """
    out = rehearse(wf, mocks={'slow': PENDING})
    assert out.state == 'ERROR'
    assert 'timed out' in (out.task('slow').state_info or '')
    assert out.elapsed == 600


def test_std_sleep_takes_fake_time_not_real_time():
    wf = """
    version: '2.0'
    wf:
      tasks:
        nap:
          action: std.sleep seconds=3600
    """
    out = rehearse(wf)
    assert out.state == 'SUCCESS'
    assert out.elapsed == 3600


def test_workbook_with_a_sub_workflow_mocked_by_qualified_name():
    out = rehearse(WORKBOOK, workflow='main',
                   mocks={'shop.pay.charge': 'R-1'})
    assert out.workflow == 'shop.main'
    assert out.output == {'paid': 'R-1'}  # no output: what it published
    assert out.task('order').published == {'paid': 'R-1'}
    assert [t.name for t in out.all_tasks] == ['order', 'charge']


def test_several_workflows_need_a_name():
    two = CHAIN + """
other:
  tasks:
    t:
      action: std.noop
"""
    with pytest.raises(ValueError, match='several workflows'):
        rehearse(two)
    assert rehearse(two, workflow='other').task_names == ['t']


def test_runs_are_deterministic_and_start_no_threads():
    before = threading.active_count()
    a = rehearse(ITEMS, mocks={'measure': sequence(1, 2, 3)})
    b = rehearse(ITEMS, mocks={'measure': sequence(1, 2, 3)})
    assert threading.active_count() == before
    strip = [(t.name, t.state, t.published, t.started_at, t.finished_at)
             for t in a.tasks]
    assert strip == [(t.name, t.state, t.published, t.started_at,
                      t.finished_at) for t in b.tasks]
    assert a.output == b.output == {'sizes': [1, 2, 3]}


def test_only_one_harness_at_a_time():
    with Harness():
        with pytest.raises(HarnessError, match='another harness'):
            with Harness():
                pass
    with Harness():  # the first one was released
        pass


def test_fixture(rehearsal, tmp_path):
    path = tmp_path / 'wf.yaml'
    path.write_text(CHAIN)
    r = rehearsal(str(path), mocks={'fetch': {'name': 'Fix'}})
    r.start({'who': 'f'})
    assert r.outcome().output == {'msg': 'hi Fix'}
    second = rehearsal(path, mocks={'fetch': error('no')})
    second.start({'who': 'f'})
    assert second.outcome().output == {'msg': 'nobody'}


def _cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = cli.main(list(argv))
    return code, out.getvalue()


def test_command_prints_the_run_and_checks_the_state(tmp_path):
    path = tmp_path / 'wf.yaml'
    path.write_text(CHAIN)
    code, text = _cli(str(path), '--input', 'who=z',
                      '--mock', 'fetch={"name": "Zed"}')
    assert code == 0
    assert text.splitlines()[:3] == [
        'wf: SUCCESS', 'tasks:',
        '  1. fetch  SUCCESS  published {"user": {"name": "Zed"}}']
    code, text = _cli(str(path), '--input', 'who=z',
                      '--mock-error', 'fetch=nope', '--json')
    assert code == 0
    data = json.loads(text)
    assert data['task_names'] == ['fetch', 'fallback']
    code, text = _cli(str(path), '--input', 'who=z', '--mock-error',
                      'fetch=nope', '--expect-state', 'ERROR')
    assert code == 1
    assert text.splitlines()[-1] == 'expected ERROR, got SUCCESS'


def test_command_mocks_in_order_and_pending(tmp_path):
    path = tmp_path / 'wf.yaml'
    path.write_text(RETRY)
    code, text = _cli(str(path), '--mock-error', 'flaky=1', '--mock',
                      'flaky=2', '--json')
    assert code == 0
    assert json.loads(text)['published'] == {'got': 2}
    code, text = _cli(str(path), '--pending', 'flaky', '--expect-state',
                      'RUNNING')
    assert code == 0


def test_command_reports_a_bad_definition(tmp_path):
    path = tmp_path / 'wf.yaml'
    path.write_text("version: '2.0'\nwf:\n  tasks: 3\n")
    code, text = _cli(str(path))
    assert code == cli.EXIT_USAGE
    assert text.startswith('mistral-rehearse: ')


def test_long_timers_take_no_real_time():
    import time

    wf = """
    version: '2.0'
    wf:
      tasks:
        later:
          action: std.noop
          wait-before: 86400
          wait-after: 86400
    """
    started = time.monotonic()
    out = rehearse(wf)
    assert out.state == 'SUCCESS'
    assert out.elapsed == 2 * 86400
    assert time.monotonic() - started < 20


def test_each_rehearsal_starts_from_an_empty_database():
    first = rehearse(CHAIN, {'who': 'a'}, mocks={'fetch': {'name': 'A'}})
    with Rehearsal(CHAIN, mocks={'fetch': {'name': 'B'}}) as r:
        # The same workflow name stores again; the first execution is gone.
        with pytest.raises(HarnessError):
            r.outcome(first.id)
        r.start({'who': 'b'})
        assert r.outcome().output == {'msg': 'hi B'}
