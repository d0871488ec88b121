"""A slice of the workflow-language corpus, played on this service and on
upstream Mistral 23.0.0 side by side (``tools/differential``).

Both servers run on PostgreSQL and RabbitMQ with private databases and
vhosts; upstream comes from PyPI into a cached virtualenv (built once per
machine, see ``upstream_db/upstream.py``). :data:`SLICE` holds a few cases
of every area file; each must come out identical to upstream, or differ
only as ``tools/differential/allowed.yaml`` allows (each entry explained
in ``doc/source/user/differences.rst``). The whole corpus runs with
``python -m tools.differential --start`` (doc/source/contributor/
testing.rst).

The comparison itself is tested first on made-up records, so that an
identical slice means something.
"""

from __future__ import annotations

import os
import re
import sys
import time

import pytest

# tools/ is not an installed package; it is imported from the work tree.
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from mistral.tests.functional.corpus import loader  # noqa: E402
from tools.differential import compare  # noqa: E402
from tools.differential import normalise  # noqa: E402
from tools.differential import portable  # noqa: E402
from tools.differential import record  # noqa: E402
from tools.differential import report  # noqa: E402
from tools.differential import run as run_mod  # noqa: E402
from tools.differential import servers  # noqa: E402

pytestmark = pytest.mark.functional

# A few cases of every area, with every kind of step; the two last ones
# differ from upstream as the allow-list allows.
SLICE = [
    'adhoc_chain', 'adhoc_async_base',
    'cmd_fail_msg', 'cmd_pause_then_resume',
    'ctx_env_actions_defaults', 'ctx_evaluate_env_false',
    'ctl_rerun_reset_true', 'ctl_stop_error_with_message',
    'ctl_resume_with_env',
    'dsl_version_missing', 'dsl_unknown_transition_target',
    'err_unhandled_fails_workflow',
    'fn_execution', 'typ_jinja_whole_string_native',
    'join_all_via_on_error', 'fork_two_branches',
    'pol_retry_break_on', 'pol_pause_before_state',
    'pub_task_level', 'out_on_error_merged_with_result',
    'rev_chain',
    'st_retry_delayed_info', 'st_skipped_task_info',
    'sub_inline_params', 'sub_default_output_is_context',
    'on_skip_falls_back_to_on_success',
    'wi_zipped_lists', 'wi_result_order_by_index',
    'wb_short_names', 'ns_sub_workflows_inherit_requested_namespace',
    # Once different, now as upstream.
    'cmd_task_shadows_fail', 'sub_inline_wins_over_input',
    'pol_fail_on_true', 'dsl_version_any_value',
    'st_pause_before_idle_info', 'fn_task_own_fields',
    'err_bare_word_inline_param', 'pub_atomic_counter_parallel',
]
EXPECT_ALLOWED = {'err_bare_word_inline_param', 'pub_atomic_counter_parallel'}

WORDS = frozenset({'a', 'b', 'wf', 'boom'})


def _rec(**kw):
    """A record as :func:`record.record` makes it."""
    base = {'phase': 'ran', 'steps': [], 'timed_out': False,
            'state': 'SUCCESS', 'state_info': None, 'output': {},
            'tasks': []}
    base.update(kw)
    return base


def _run(name, tid, state='SUCCESS', published=None, triggered_by=(),
         actions=1, state_info=None):
    return {'id': tid, 'name': name, 'state': state,
            'state_info': state_info, 'published': published or {},
            'triggered_by': list(triggered_by), 'actions': actions,
            'action_states': [state] * actions, 'workflows': 0,
            'workflow_states': [], 'created_at': '2020-01-01 00:00:00',
            'started_at': None, 'finished_at': None}


def _diff(ours, upstream, words=WORDS):
    return compare.differences(compare.view(ours), compare.view(upstream),
                               words)


# -- the comparison, on made-up records


def test_ids_and_timestamps_are_normalised():
    a = _rec(output={'id': '2b1e6a1c-3d4e-4f5a-8b9c-0d1e2f3a4b5c',
                     'at': '2024-05-01 10:00:00'})
    b = _rec(output={'id': 'ffffffff-3d4e-4f5a-8b9c-0d1e2f3a4b5c',
                     'at': '2025-06-02T11:30:00.123456'})
    assert _diff(a, b) == []
    assert _diff(_rec(output={'Date': 'Sat, 05 Dec 2026 17:37:30 GMT'}),
                 _rec(output={'Date': 'Sun, 06 Dec 2026 01:02:03 GMT'})) == []
    # A time of day alone is not a timestamp.
    assert _diff(_rec(output={'t': '17:37:30'}),
                 _rec(output={'t': '17:37:31'}))


def test_output_and_published_differences_are_found():
    a = _rec(output={'x': 1, 'y': [1, 2]},
             tasks=record.name_runs([_run('a', '1', published={'p': 1})]))
    b = _rec(output={'x': 1.0, 'y': [1, 2], 'z': None},
             tasks=record.name_runs([_run('a', '1', published={'p': 2})]))
    found = {d['what'] for d in _diff(a, b)}
    # 1 and 1.0 are not the same JSON value; a missing key is a
    # difference.
    assert found == {'output.x', 'output.z', 'a#1.published.p'}


def test_error_wording_is_forgiven_but_not_what_it_names():
    ours = 'Failed to run task [error=boom, wf=wf, task=a]'
    same = 'Failure caused by error in tasks: a\n\n  a -> boom'
    other = 'Failure caused by error in tasks: b\n\n  b -> boom'
    assert _diff(_rec(state='ERROR', state_info=ours),
                 _rec(state='ERROR', state_info=same)) == []
    found = _diff(_rec(state='ERROR', state_info=ours),
                  _rec(state='ERROR', state_info=other))
    assert [d['what'] for d in found] == ['state_info']
    # Two texts that are not errors are compared as they are.
    assert _diff(_rec(output={'m': 'a done'}), _rec(output={'m': 'a ok'}))


def test_runs_are_matched_in_trigger_order_not_by_time():
    # a -> b -> a -> b: the second round of a comes after the first b,
    # whatever the (whole-second) timestamps say.
    def cycle(second_a_published):
        runs = [_run('a', 'a1', published={'n': 1}),
                _run('b', 'b1', triggered_by=[('a1', 'on-success')]),
                _run('a', 'a2', published=second_a_published,
                     triggered_by=[('b1', 'on-success')]),
                _run('b', 'b2', triggered_by=[('a2', 'on-success')])]
        runs.reverse()  # the order of the listing does not matter
        return _rec(tasks=record.name_runs(runs))

    ours = cycle({'n': 2})
    assert [t['run'] for t in ours['tasks']] == ['a#1', 'b#1', 'a#2', 'b#2']
    assert _diff(ours, cycle({'n': 2})) == []
    found = _diff(ours, cycle({'n': 3}))
    assert [d['what'] for d in found] == ['a#2.published.n']


def test_task_runs_and_action_counts_are_compared():
    a = _rec(tasks=record.name_runs([_run('a', '1', actions=2)]))
    b = _rec(tasks=record.name_runs([_run('a', '1', actions=1),
                                     _run('b', '2', triggered_by=[
                                         ('1', 'on-success')])]))
    found = {d['what'] for d in _diff(a, b)}
    assert found == {'task runs', 'runs', 'a#1.actions',
                     'a#1.action_states'}


def test_a_refusal_is_compared_as_a_refusal():
    ours = {'phase': 'define_error', 'error': "Task 'a' is unknown"}
    same = {'phase': 'define_error', 'error': 'Invalid DSL: whatever'}
    assert _diff(ours, same) == []
    found = _diff(ours, _rec())
    assert found[0]['what'] == 'phase'
    assert (found[0]['ours'], found[0]['upstream']) == ('define_error',
                                                        'ran')


def test_error_text_needs_an_error_word():
    assert normalise.is_error_text('Task timed out [timeout(s)=1].')
    assert not normalise.is_error_text('all good')


def test_inline_parameters_are_made_portable():
    r = portable.rewrite_command
    assert r('std.echo output=b') == 'std.echo output="b"'
    assert r('std.echo output=a delay=0.2') == \
        'std.echo output="a" delay=<% 0.2 %>'
    for kept in ('std.echo output="x y" n=3', 'std.echo',
                 'std.echo output=<% $.x %>', 'std.echo output=[1, 2]',
                 'std.echo x=true y=null'):
        assert r(kept) == kept
    case = {'name': 'c', 'workflows': "version: '2.0'\nwf:\n  tasks:\n"
            "    t: {action: std.echo output=hi}\n"}
    assert portable.rewrite_case(case)
    assert 'output="hi"' in case['workflows']
    kept = {'name': 'err_bare_word_inline_param',
            'workflows': "version: '2.0'\nwf:\n  tasks:\n"
            "    t: {action: std.echo output=hi}\n"}
    assert not portable.rewrite_case(kept)


def test_a_case_upstream_cannot_play_is_not_runnable():
    case = {'name': 'x', 'steps': [{'complete_action': {
        'task': 'a', 'output': 'text'}}]}
    assert 'JSON object' in run_mod.not_runnable(case, True)
    case['steps'][0]['complete_action']['output'] = {'k': 1}
    assert run_mod.not_runnable(case, True) is None
    assert 'configuration' in run_mod.not_runnable(
        {'name': 'y', 'conf': {'engine': {'merge_strategy': 'merge'}}},
        False)


def test_allow_list_entries_are_documented_and_used():
    entries = run_mod.load_allowed()
    assert entries
    with open(os.path.join(_ROOT, 'doc', 'source', 'user',
                           'differences.rst')) as f:
        doc = f.read()
    terms = {line.strip() for line in doc.splitlines()
             if line and not line[0].isspace()}
    names = [c['name'] for c in loader.load()]
    import fnmatch
    for e in entries:
        assert e['doc'] in terms, 'no differences.rst entry %r' % e['doc']
        assert fnmatch.filter(names, e['case']), \
            'allow-list entry %r matches no corpus case' % e['case']
    allowed = run_mod.allowed_by(entries, 'any_case', {
        'what': 'a#1.published', 'ours': {}, 'upstream': None})
    assert allowed is not None
    assert run_mod.allowed_by(entries, 'any_case', {
        'what': 'a#1.published', 'ours': {'e': 1},
        'upstream': {'p': 1}}) is None


# -- the slice, on both servers


@pytest.fixture(scope='module')
def slice_outcomes():
    cases = [c for c in loader.load() if c['name'] in SLICE]
    assert sorted(c['name'] for c in cases) == sorted(SLICE)
    with servers.started_pair() as (ours, upstream):
        started = time.monotonic()
        outcomes = run_mod.run_cases(cases, ours, upstream, workers=4,
                                     allowed=run_mod.load_allowed())
        seconds = time.monotonic() - started
    print('\n' + report.table(outcomes, verbose=True))
    print('differential slice: %d cases in %.1fs' % (len(cases), seconds))
    return {o.case: o for o in outcomes}


@pytest.mark.parametrize('name', SLICE)
def test_slice_case_matches_upstream(slice_outcomes, name):
    o = slice_outcomes[name]
    text = report.table([o], verbose=True)
    if name in EXPECT_ALLOWED:
        # The case really differs (the comparison saw it) and every
        # difference is one the allow-list explains.
        assert o.result == 'allowed', text
        assert o.differences and all(d.get('allowed')
                                     for d in o.differences), text
    else:
        assert o.result == 'identical', text
    for side in (o.ours, o.upstream):
        assert side is not None and side['phase'] in (
            'ran', 'define_error', 'start_error'), text
        assert not re.search(r'[0-9a-f]{8}-[0-9a-f]{4}-', str(
            compare.view(side))), 'ids left after normalising: ' + text
