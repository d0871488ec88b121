"""A history with every kind of resource, made through a Mistral v2 API.

:func:`build` drives a server (upstream 23.0.0 in the import tests) with
plain HTTP and returns a :class:`History`: the ids of what it made, so
that tests can find the failed execution to rerun, the trigger that will
be due, the executions still in flight and so on.

What it makes: a workbook (with a workflow and an ad-hoc action) in a
namespace, workflows and ad-hoc actions in the default namespace and in
``imp_ns`` (one name in both), an environment, a code source with a
dynamic action, direct and reverse workflows, sub-workflows, with-items
with concurrency, retries, joins, global publishes, handled and unhandled
failures, a failed task rerun to success, one left failed, a cancelled
execution, standalone action executions, cron triggers, an event trigger,
and, unless asked not to, executions still in flight (an async action
RUNNING, an execution PAUSED, a std.sleep running in the executor);
:func:`drain` cancels those.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import time
from typing import Any

import requests

TERMINAL = ('SUCCESS', 'ERROR', 'CANCELLED')

WORKFLOWS = """---
version: '2.0'

imp_hello:
  description: says hello
  tags: [greeting, imp]
  input:
    - name: world
  vars:
    v1: 1
  output:
    greeting: <% $.greeting %>
  tasks:
    say:
      action: std.echo output="Hello, <% $.name %>!"
      publish:
        greeting: <% task().result %>
      on-success: [done]
    done:
      action: std.noop

imp_global:
  vars:
    local: 1
  tasks:
    pub:
      action: std.echo output="g"
      on-success:
        publish:
          branch:
            mine: <% task().result %>
          global:
            shared: <% task().result %>
        next: [after]
    after:
      action: std.echo output=<% $.shared %>

imp_items:
  input:
    - xs: [1, 2, 3, 4, 5]
  tasks:
    each:
      with-items: x in <% $.xs %>
      concurrency: 2
      action: std.echo output=<% $.x * 10 %>
      publish:
        tens: <% task().result %>

imp_child:
  input:
    - v
  output:
    doubled: <% $.v * 2 %>
  tasks:
    t:
      action: std.echo output=<% $.v %>

imp_parent:
  input:
    - n: 2
  tasks:
    sub:
      workflow: imp_child
      input:
        v: <% $.n %>
      publish:
        got: <% task().result %>
      on-success: [fan]
    fan:
      with-items: i in <% range(3) %>
      workflow: imp_child v=<% $.i %>

imp_rerun:
  tasks:
    first:
      action: std.noop
      on-success: [divide]
    divide:
      action: std.echo output=<% 10 / env().d %>
      publish:
        q: <% task().result %>

imp_retry:
  tasks:
    flaky:
      action: std.fail error_data="still broken"
      retry:
        count: 2
        delay: 0
      on-error: [cleanup]
    cleanup:
      action: std.echo output="cleaned"

imp_fail_hard:
  tasks:
    boom:
      action: std.fail error_data="boom"

imp_join:
  tasks:
    left:
      action: std.echo output="L"
      on-success: [both]
    right:
      action: std.echo output="R"
      on-success: [both]
    both:
      join: all
      action: std.echo output="joined"

imp_reverse:
  type: reverse
  tasks:
    a:
      action: std.echo output="a"
    b:
      action: std.echo output="b"
      requires: [a]

imp_adhoc:
  tasks:
    greet:
      action: imp_greet name="adhoc"
      on-success: [dyn]
    dyn:
      action: imp_dyn

imp_async:
  tasks:
    wait:
      action: std.async_noop

imp_sleep:
  tasks:
    nap:
      action: std.sleep seconds=600
      safe-rerun: true

imp_event_target:
  input:
    - payload: null
  tasks:
    t:
      action: std.noop
"""

NS_WORKFLOW = """---
version: '2.0'

imp_hello:
  description: the namespaced one
  tasks:
    only:
      action: std.echo output="namespaced"
"""

ACTIONS = """---
version: '2.0'

imp_greet:
  description: greets
  tags: [imp]
  base: std.echo
  base-input:
    output: "Hi, <% $.name %>"
  input:
    - name
"""

NS_ACTION = """---
version: '2.0'

imp_greet:
  base: std.echo
  base-input:
    output: "namespaced hi"
"""

WORKBOOK = """---
version: '2.0'
name: imp_wb
description: a workbook
tags: [wbtag]

actions:
  shout:
    base: std.echo
    base-input:
      output: <% $.text %>
    input:
      - text

workflows:
  main:
    tasks:
      t:
        action: imp_wb.shout text="hey"
"""

CODE_SOURCE = '''from mistral_lib import actions


class Dyn(actions.Action):
    def run(self, context):
        return {'dynamic': True}
'''


@dataclasses.dataclass
class History:
    """Ids of what :func:`build` made (for the tests' own checks)."""

    workflow_ids: dict[str, str] = dataclasses.field(default_factory=dict)
    executions: dict[str, str] = dataclasses.field(default_factory=dict)
    # Non-terminal at the end of the build (only with in_flight=True).
    in_flight: dict[str, str] = dataclasses.field(default_factory=dict)
    # The RUNNING action execution of the in-flight 'imp_async'.
    running_action_id: str = ''
    # The RUNNING std.sleep (a sync action, safe-rerun) of 'imp_sleep'.
    sleeping_action_id: str = ''
    # The task left in ERROR, and what its rerun needs.
    failed_task_id: str = ''
    failed_rerun_env: dict[str, Any] = dataclasses.field(
        default_factory=dict)
    due_cron_trigger: str = ''
    action_executions: list[str] = dataclasses.field(default_factory=list)


class Api:
    """A thin client of a Mistral v2 API (no Keystone)."""

    def __init__(self, url: str, timeout: float = 60) -> None:
        self.url = url.rstrip('/')
        self.timeout = timeout
        self.http = requests.Session()

    def _check(self, r: requests.Response, want: tuple[int, ...]) -> Any:
        if r.status_code not in want:
            raise AssertionError('%s %s -> %d: %s' % (
                r.request.method, r.url, r.status_code, r.text[:2000]))
        return r.json() if r.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self._check(self.http.get(self.url + path, params=params,
                                         timeout=self.timeout), (200,))

    def post_text(self, path: str, text: str, **params: Any) -> Any:
        return self._check(self.http.post(
            self.url + path, data=text.encode(), params=params,
            headers={'Content-Type': 'text/plain'}, timeout=self.timeout),
            (200, 201))

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._check(self.http.post(self.url + path, json=body,
                                          timeout=self.timeout), (200, 201))

    def put(self, path: str, body: dict[str, Any]) -> Any:
        return self._check(self.http.put(self.url + path, json=body,
                                         timeout=self.timeout), (200,))

    def start(self, wf: str, wf_input: dict[str, Any] | None = None,
              **extra: Any) -> str:
        body: dict[str, Any] = {'workflow_name': wf}
        if wf_input is not None:
            body['input'] = json.dumps(wf_input)
        for key in ('params',):
            if key in extra:
                body[key] = json.dumps(extra.pop(key))
        body.update(extra)
        return self.post('/executions', body)['id']

    def wait(self, ex_id: str, states: tuple[str, ...] = TERMINAL,
             timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            ex = self.get('/executions/%s' % ex_id)
            if ex['state'] in states:
                return ex
            if time.monotonic() > deadline:
                raise AssertionError('execution %s still %s after %ss' % (
                    ex_id, ex['state'], timeout))
            time.sleep(0.2)

    def tasks(self, ex_id: str) -> list[dict[str, Any]]:
        return self.get('/executions/%s/tasks' % ex_id)['tasks']


def _wait_action_running(api: Api, ex_id: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for task in api.tasks(ex_id):
            aexs = api.get('/tasks/%s/action_executions' % task['id'])
            for aex in aexs['action_executions']:
                if aex['state'] == 'RUNNING':
                    return aex['id']
        time.sleep(0.2)
    raise AssertionError('no RUNNING action in execution %s' % ex_id)


def build(url: str, in_flight: bool = True) -> History:
    """Make the history on the server at ``url`` (see the module doc)."""
    api = Api(url)
    h = History()

    for wf in api.post_text('/workflows', WORKFLOWS, scope='private')[
            'workflows']:
        h.workflow_ids[wf['name']] = wf['id']
    # Upstream refuses a first time less than 60 s ahead. The tests make
    # this trigger past due by moving its next time back in the source
    # database, as if upstream had been stopped for a while (their
    # upstream runs with its cron loop off, so it never fires there).
    first = (datetime.datetime.now(datetime.timezone.utc).replace(
        tzinfo=None) + datetime.timedelta(minutes=3))
    trig = api.post('/cron_triggers', {
        'name': 'imp_cron_due', 'workflow_name': 'imp_hello',
        'workflow_input': json.dumps({'name': 'cron'}),
        'pattern': '0 0 1 1 *',
        'first_execution_time': first.strftime('%Y-%m-%d %H:%M')})
    h.due_cron_trigger = trig['id']

    ns_wf = api.post_text('/workflows', NS_WORKFLOW, namespace='imp_ns')
    h.workflow_ids['imp_ns:imp_hello'] = ns_wf['workflows'][0]['id']
    api.post_text('/actions', ACTIONS, scope='public')
    api.post_text('/actions', NS_ACTION, namespace='imp_ns')
    api.post_text('/workbooks', WORKBOOK, namespace='imp_ns')
    api.post('/environments', {
        'name': 'imp_env', 'description': 'an environment',
        'variables': json.dumps({'d': 5, 'greeting': 'hi'}),
        'scope': 'private'})
    api.post_text('/code_sources', CODE_SOURCE, name='imp_code')
    api.post('/dynamic_actions', {'name': 'imp_dyn', 'class_name': 'Dyn',
                                  'code_source_id': None,
                                  'code_source_name': 'imp_code'})
    api.post_text('/workflows', """---
version: '2.0'
imp_public:
  tasks:
    t:
      action: std.noop
""", scope='public')

    api.post('/cron_triggers', {
        'name': 'imp_cron_yearly', 'workflow_name': 'imp_items',
        'workflow_input': json.dumps({'xs': [7]}),
        'workflow_params': json.dumps({'env': {'k': 'v'}}),
        'pattern': '0 0 1 1 *'})
    api.post('/cron_triggers', {
        'name': 'imp_cron_count', 'workflow_name': 'imp_hello',
        'pattern': '0 0 1 * *', 'remaining_executions': 3})
    api.post('/event_triggers', {
        'name': 'imp_event', 'workflow_id': h.workflow_ids[
            'imp_event_target'],
        'exchange': 'imp_exchange', 'topic': 'imp_topic',
        'event': 'imp.event', 'workflow_input': {'payload': 'p'}})

    ex = h.executions
    ex['hello'] = api.start('imp_hello', {'name': 'upstream'},
                            description='first')
    ex['hello_ns'] = api.start('imp_hello', {}, workflow_namespace='imp_ns')
    ex['items'] = api.start('imp_items')
    ex['global'] = api.start('imp_global')
    ex['parent'] = api.start('imp_parent', {'n': 4})
    ex['retry'] = api.start('imp_retry')
    ex['fail_hard'] = api.start('imp_fail_hard')
    ex['join'] = api.start('imp_join')
    ex['reverse'] = api.start('imp_reverse', params={'task_name': 'b'})
    ex['adhoc'] = api.start('imp_adhoc')
    ex['workbook'] = api.start('imp_wb.main', workflow_namespace='imp_ns')
    ex['env'] = api.start('imp_hello', {'name': 'env'},
                          params={'env': 'imp_env'})
    ex['rerun_done'] = api.start('imp_rerun')
    ex['rerun_left'] = api.start('imp_rerun')
    for _name, ex_id in ex.items():
        api.wait(ex_id)

    # A failed task rerun to success upstream, another left failed.
    for key in ('rerun_done', 'rerun_left'):
        state = api.get('/executions/%s' % ex[key])['state']
        assert state == 'ERROR', (key, state)
    task = [t for t in api.tasks(ex['rerun_done'])
            if t['name'] == 'divide'][0]
    api.put('/tasks/%s' % task['id'], {
        'state': 'RUNNING', 'reset': True, 'env': json.dumps({'d': 2})})
    assert api.wait(ex['rerun_done'])['state'] == 'SUCCESS'
    h.failed_task_id = [t for t in api.tasks(ex['rerun_left'])
                        if t['name'] == 'divide'][0]['id']
    h.failed_rerun_env = {'d': 10}

    ex['cancelled'] = api.start('imp_async')
    _wait_action_running(api, ex['cancelled'])
    api.put('/executions/%s' % ex['cancelled'], {'state': 'CANCELLED'})
    api.wait(ex['cancelled'])

    for body in ({'name': 'std.echo', 'input': json.dumps({'output': 'x'})},
                 {'name': 'imp_greet', 'input': json.dumps({'name': 'a'}),
                  'description': 'standalone',
                  'params': json.dumps({'save_result': True})},
                 {'name': 'std.echo', 'input': json.dumps({'output': 'y'}),
                  'params': json.dumps({'save_result': True})}):
        h.action_executions.append(api.post('/action_executions',
                                            body)['id'])
    # Those saved but not run synchronously finish in the executor.
    for aex_id in filter(None, h.action_executions):
        deadline = time.monotonic() + 60
        while api.get('/action_executions/%s' % aex_id)['state'] not in \
                TERMINAL:
            if time.monotonic() > deadline:
                raise AssertionError('action execution %s did not finish'
                                     % aex_id)
            time.sleep(0.2)

    if in_flight:
        running = api.start('imp_async')
        h.running_action_id = _wait_action_running(api, running)
        h.in_flight['running'] = running
        paused = api.start('imp_async')
        _wait_action_running(api, paused)
        api.put('/executions/%s' % paused, {'state': 'PAUSED'})
        api.wait(paused, ('PAUSED',))
        h.in_flight['paused'] = paused
        sleeping = api.start('imp_sleep')
        h.sleeping_action_id = _wait_action_running(api, sleeping)
        h.in_flight['sleeping'] = sleeping
    return h


def drain(url: str, h: History) -> None:
    """What an operator does before the final pass: cancel what has not
    finished. A cancelled workflow leaves its running actions RUNNING
    upstream (the std.sleep one is still sleeping in upstream's
    executor): finished trees with actions that never end."""
    api = Api(url)
    for ex_id in h.in_flight.values():
        api.put('/executions/%s' % ex_id, {'state': 'CANCELLED'})
    for ex_id in h.in_flight.values():
        api.wait(ex_id)
