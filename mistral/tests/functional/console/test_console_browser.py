"""The web console driven in a real headless Chromium against a live server.

One ``mistral-server --server all`` (the embedded default: SQLite,
in-memory messaging, no authentication) serves the API and ``/ui/``; the
tests do what a person would: write a workflow in the editor, start it
from the generated form, watch its graph change state without a reload,
drill into a task, rerun a failed task, pause and resume, complete an
asynchronous action. Each page is saved as a screenshot (see
``conftest.artifacts``).
"""

from __future__ import annotations

import time
from typing import Any, Callable

import pytest
import requests

from mistral.tests.functional import harness
from mistral.tests.functional.console.browser import Browser

pytestmark = [pytest.mark.deployment(db='sqlite', transport='fake',
                                     processes=[['all']]),
              pytest.mark.timeout(900)]

# Starts, then waits at `gate` (an async action) until it is completed;
# `flaky` fails until the execution's env has answer.value.
DEMO = """---
version: '2.0'

console_demo:
  description: Waits for a callback, then needs an env value.
  input:
    - who: world
    - rounds: 2
    - options: {"fast": true}
  output:
    answer: <% $.answer %>
  tasks:
    greet:
      action: std.echo output="Hello <% $.who %>"
      publish:
        greeting: <% task().result %>
      on-success:
        - gate: <% $.rounds > 0 %>
        - fail: <% $.rounds < 0 %>
    gate:
      action: std.async_noop
      on-success: flaky
      on-error: cleanup
    flaky:
      action: std.echo output=<% env().answer.value %>
      publish:
        answer: <% task().result %>
      on-success: done
    cleanup:
      action: std.noop
    done:
      join: all
      action: std.noop
"""

HOLD = """---
version: '2.0'

console_hold:
  tasks:
    hold:
      action: std.async_noop
      on-success: after
    after:
      action: std.echo output="released"
"""


def api(dep: harness.Deployment, method: str, path: str,
        **kwargs: Any) -> Any:
    r = requests.request(method, dep.api_url + path, timeout=60, **kwargs)
    assert r.status_code < 400, r.text
    return r.json() if r.content else None


def ui(dep: harness.Deployment, path: str = '') -> str:
    return dep.api_url[:-len('/v2')] + '/ui/' + path


def tasks_by_name(dep: harness.Deployment, ex_id: str) -> dict[str, Any]:
    return {t['name']: t for t in
            api(dep, 'GET', '/executions/%s/tasks' % ex_id)['tasks']}


def wait_task(dep: harness.Deployment, ex_id: str, name: str,
              state: str) -> dict[str, Any]:
    found: list[Any] = []

    def ready() -> bool:
        task = tasks_by_name(dep, ex_id).get(name)
        found[:] = [task]
        return bool(task) and task['state'] == state

    harness.wait_for(ready, 60, 'task %s to be %s' % (name, state))
    return found[0]


def async_action(dep: harness.Deployment, task_id: str) -> dict[str, Any]:
    return api(dep, 'GET', '/tasks/%s/action_executions'
               % task_id)['action_executions'][0]


@pytest.fixture(scope='module')
def demo(deployment: harness.Deployment, browser: Browser) -> dict[str, Any]:
    """The console_demo workflow, created through the console's editor."""
    browser.get(ui(deployment, 'workflows/new'))
    browser.wait_css('#definition')
    # A definition the server refuses: its message is shown, nothing saved.
    browser.fill('#definition', DEMO.replace('action: std.noop\n',
                                             'action: std.noop\n      '
                                             'on-success: nowhere\n', 1))
    message = browser.wait_text('.validation.bad', 'nowhere', 30)
    assert 'nowhere' in message
    browser.fill('#definition', DEMO)
    browser.wait_text('.validation.ok', 'Valid')
    browser.wait_css('svg.graph g.node[data-id="gate"]')
    browser.click('#def-save')
    browser.wait(lambda: '/ui/workflows/' in browser.driver.current_url
                 and not browser.driver.current_url.endswith('/new'),
                 30, 'the new workflow page')
    wf_id = browser.driver.current_url.rstrip('/').split('/')[-1]
    wf = api(deployment, 'GET', '/workflows/%s' % wf_id)
    assert wf['name'] == 'console_demo'
    return wf


def test_editor_creates_a_workflow(deployment: harness.Deployment,
                                   browser: Browser, demo: dict[str, Any],
                                   shot: Callable[..., str]) -> None:
    browser.wait_css('svg.graph g.node[data-id="flaky"]')
    # The graph shows the transitions with their conditions and commands.
    conditions = browser.js('return [...document.querySelectorAll('
                            '"svg.graph .cond text")].map(e => '
                            'e.textContent)')
    assert any('$.rounds > 0' in c for c in conditions), conditions
    assert browser.css('svg.graph g.node[data-id="cmd:fail"]')
    assert 'k-task' in browser.node_class('done')
    shot('workflow-graph')
    browser.click('[data-tab="definition"]')
    browser.wait_css('pre.code .y-expr')
    shot('workflow-definition')


def test_start_from_form_and_watch_the_graph_live(
        deployment: harness.Deployment, browser: Browser,
        demo: dict[str, Any], shot: Callable[..., str]) -> None:
    browser.get(ui(deployment, 'workflows/%s/run' % demo['id']))
    # Defaults from the input spec are filled in.
    assert browser.wait_css('#in-who').get_attribute('value') == 'world'
    assert browser.css('#in-rounds').get_attribute('value') == '2'
    assert '"fast": true' in browser.css('#in-options').get_attribute(
        'value')
    browser.css('#in-who').clear()
    browser.css('#in-who').send_keys('console')
    # Bad JSON is caught before anything is sent.
    browser.fill('#in-options', '{"fast": tru')
    shot('run-form')
    browser.click('#run-submit')
    assert 'Not valid JSON' in browser.wait_text('.field.invalid .err',
                                                 'JSON')
    assert '/run' in browser.driver.current_url
    browser.fill('#in-options', '{"fast": false}')
    browser.fill('#run-description', 'from the console test')
    browser.click('#run-submit')
    browser.wait(lambda: '/ui/executions/' in browser.driver.current_url,
                 30, 'the execution page')
    ex_id = browser.driver.current_url.split('/executions/')[1].split('?')[0]
    ex = api(deployment, 'GET', '/executions/%s' % ex_id)
    assert ex['description'] == 'from the console test'
    assert '"who": "console"' in ex['input']
    assert '"fast": false' in ex['input']

    # The gate waits: RUNNING on the graph.
    browser.wait(lambda: 'st-RUNNING' in (browser.node_class('gate') or ''),
                 30, 'gate to be drawn RUNNING')
    assert 'st-SUCCESS' in browser.node_class('greet')
    shot('execution-running')
    shot('execution-phone', width=390, height=844)
    browser.js('window.__noReload = "still here"')

    # The callback arrives (through the API, as the action's own callback
    # would): the node turns SUCCESS and the next one fails, without a
    # reload of the page.
    gate = wait_task(deployment, ex_id, 'gate', 'RUNNING')
    action = async_action(deployment, gate['id'])
    sent = time.monotonic()
    api(deployment, 'PUT', '/action_executions/%s' % action['id'],
        json={'state': 'SUCCESS', 'output': '"open"'})
    browser.wait(lambda: 'st-SUCCESS' in (browser.node_class('gate') or ''),
                 20, 'gate to be drawn SUCCESS')
    latency = time.monotonic() - sent
    print('gate drawn SUCCESS %.2fs after the callback' % latency)
    browser.wait(lambda: 'st-ERROR' in (browser.node_class('flaky') or ''),
                 20, 'flaky to be drawn ERROR')
    assert browser.js('return window.__noReload') == 'still here'
    browser.wait(lambda: 'ERROR' in browser.text('h1 .badge'), 20,
                 'the execution to be ERROR')
    assert browser.css('.state-info').text
    # The transition that was taken is drawn bold.
    assert browser.js('return document.querySelectorAll('
                      '"svg.graph .edge.taken").length') >= 2
    shot('execution-error')

    # Drill down: select the failed node, open its task.
    browser.js('document.querySelector(\'svg.graph g.node[data-id="flaky"]\')'
               '.dispatchEvent(new MouseEvent("click", {bubbles: true}))')
    browser.wait_text('.side-panel', 'flaky')
    assert browser.buttons('Rerun')

    # Rerun it with the env value it lacked: the workflow goes on.
    browser.button('Rerun', within='//aside').click()
    browser.wait_css('#rerun-env')
    browser.fill('#rerun-env', '{"answer": {"value')
    browser.button('Rerun', within='//div[@role="dialog"]').click()
    assert 'Not valid JSON' in browser.wait_text('#rerun-env-err', 'JSON')
    browser.fill('#rerun-env', '{"answer": {"value": 42}}')
    shot('rerun-dialog')
    browser.button('Rerun', within='//div[@role="dialog"]').click()
    browser.wait(lambda: 'st-SUCCESS' in (browser.node_class('done') or ''),
                 30, 'done to be drawn SUCCESS')
    browser.wait(lambda: 'SUCCESS' in browser.text('h1 .badge'), 30,
                 'the execution to be SUCCESS')
    assert browser.js('return window.__noReload') == 'still here'
    final = api(deployment, 'GET', '/executions/%s' % ex_id)
    assert final['state'] == 'SUCCESS', final['state_info']
    assert '42' in final['output']

    # The timeline shows every task run.
    browser.click('[data-tab="timeline"]')
    browser.wait(lambda: len(browser.all('svg.gantt .row')) == 4, 20,
                 'four rows in the timeline')
    shot('execution-timeline')
    browser.click('[data-tab="data"]')
    browser.wait_text('[data-panel="data"]', '"who": "console"')
    shot('execution-data')

    # The task page of the rerun task: both attempts, their executor.
    flaky = tasks_by_name(deployment, ex_id)['flaky']
    browser.get(ui(deployment, 'tasks/%s' % flaky['id']))
    # Its first run failed before any action ran (the env value was
    # missing); the rerun ran one, on the engine itself (inline).
    row = browser.wait_css('#runs-table tbody tr')
    assert 'SUCCESS' in row.text and 'inline' in row.text, row.text
    assert '42' in browser.text('main')
    shot('task')


def test_with_items_task_page(deployment: harness.Deployment,
                              browser: Browser,
                              shot: Callable[..., str]) -> None:
    api(deployment, 'POST', '/workflows', headers={
        'Content-Type': 'text/plain'}, data="""---
version: '2.0'
console_items:
  tasks:
    each:
      with-items: x in [10, 20, 30]
      action: std.async_noop
""")
    ex = api(deployment, 'POST', '/executions',
             json={'workflow_name': 'console_items'})
    task = wait_task(deployment, ex['id'], 'each', 'RUNNING')
    harness.wait_for(lambda: len(api(
        deployment, 'GET', '/tasks/%s/action_executions' % task['id'])[
            'action_executions']) == 3, 30, 'three item actions')
    actions = api(deployment, 'GET', '/tasks/%s/action_executions'
                  % task['id'])['action_executions']
    by_item = {a['input']: a for a in actions}
    api(deployment, 'PUT', '/action_executions/%s'
        % by_item['{"x": 10}' if '{"x": 10}' in by_item else
                  actions[0]['input']]['id'],
        json={'state': 'SUCCESS', 'output': '"ok"'})
    browser.get(ui(deployment, 'tasks/%s' % task['id']))
    browser.wait(lambda: len(browser.all('.items-grid span')) == 3, 20,
                 'three items')
    browser.wait(lambda: len(browser.all('.items-grid .st-SUCCESS')) == 1,
                 20, 'one finished item')
    assert len(browser.all('.items-grid .st-RUNNING')) == 2
    assert len(browser.all('#runs-table tbody tr')) == 3
    # The waiting items can be completed one by one.
    assert len(browser.all('[data-complete]')) == 2
    shot('task-with-items')
    for a in actions:
        requests.put(deployment.api_url + '/action_executions/%s' % a['id'],
                     json={'state': 'SUCCESS', 'output': '"ok"'},
                     timeout=60)
    assert deployment.wait_execution(ex['id']).state == 'SUCCESS'
    browser.wait(lambda: len(browser.all('.items-grid .st-SUCCESS')) == 3,
                 20, 'every item finished')


def test_pause_resume_and_complete_an_async_action(
        deployment: harness.Deployment, browser: Browser,
        shot: Callable[..., str]) -> None:
    api(deployment, 'POST', '/workflows', data=HOLD,
        headers={'Content-Type': 'text/plain'})
    ex = api(deployment, 'POST', '/executions',
             json={'workflow_name': 'console_hold'})
    hold = wait_task(deployment, ex['id'], 'hold', 'RUNNING')
    browser.get(ui(deployment, 'executions/%s' % ex['id']))
    browser.click('#btn-pause')
    browser.wait(lambda: 'PAUSED' in browser.text('h1 .badge'), 20,
                 'PAUSED')
    assert api(deployment, 'GET', '/executions/%s' % ex['id'])['state'] \
        == 'PAUSED'
    assert not browser.all('#btn-pause')
    shot('execution-paused')
    browser.click('#btn-resume')
    browser.wait(lambda: 'RUNNING' in browser.text('h1 .badge'), 20,
                 'RUNNING again')
    assert browser.css('#btn-pause')

    # The waiting action is completed from its task's page.
    browser.get(ui(deployment, 'tasks/%s' % hold['id']))
    browser.click('[data-complete]')
    browser.wait_css('#complete-output')
    browser.fill('#complete-output', '{"approved": true}')
    shot('complete-dialog')
    browser.button('Send result').click()
    browser.wait(lambda: 'SUCCESS' in browser.text('h1 .badge'), 20,
                 'hold to be SUCCESS')
    done = deployment.wait_execution(ex['id'])
    assert done.state == 'SUCCESS'
    action = async_action(deployment, hold['id'])
    assert action['state'] == 'SUCCESS'
    assert 'approved' in api(deployment, 'GET', '/action_executions/%s'
                             % action['id'])['output']

    # A refused command shows the API's own message: the execution has
    # ended, so it cannot be paused any more.
    r = requests.put(deployment.api_url + '/executions/%s' % ex['id'],
                     json={'state': 'PAUSED'}, timeout=60)
    assert r.status_code == 400
    fault = r.json()['faultstring']
    browser.get(ui(deployment, 'executions/%s' % ex['id']))
    browser.wait_css('h1 .badge')
    browser.js('import("/ui/static/js/commands.js").then(m => '
               'm.setExecutionState(arguments[0], "PAUSED")).catch(e => '
               'import("/ui/static/js/ui.js").then(u => u.toast(e.message, '
               '"error")))', ex['id'])
    toast = browser.wait_text('.toast.error', 'PAUSED')
    assert toast == fault


def test_executions_list(deployment: harness.Deployment, browser: Browser,
                         shot: Callable[..., str]) -> None:
    api(deployment, 'POST', '/workflows', headers={
        'Content-Type': 'text/plain'}, data="""---
version: '2.0'
console_child:
  tasks:
    one:
      action: std.noop
console_parent:
  tasks:
    call:
      workflow: console_child
""")
    parent = api(deployment, 'POST', '/executions', json={
        'workflow_name': 'console_parent', 'description': 'tree root'})
    assert deployment.wait_execution(parent['id']).state == 'SUCCESS'
    browser.get(ui(deployment, 'executions'))
    row = browser.wait_css('tr[data-id="%s"]' % parent['id'])
    assert 'tree root' in row.text
    # Only top-level executions; the child appears when expanded.
    child = api(deployment, 'GET', '/executions',
                params={'workflow_name': 'console_child'})['executions'][0]
    assert not browser.all('tr[data-id="%s"]' % child['id'])
    browser.click('tr[data-id="%s"] .tree-toggle' % parent['id'])
    browser.wait_css('tr.child[data-id="%s"]' % child['id'])
    shot('executions')
    shot('executions-phone', width=390, height=844)
    # Filters go to the server: by state, by text in the description.
    browser.fill('#f-text', 'tree root')
    browser.click('.filters button[type=submit]')
    browser.wait(lambda: len(browser.all('#executions-table tbody tr')) == 1,
                 20, 'one matching execution')
    browser.fill('#f-text', 'no such description anywhere')
    browser.click('.filters button[type=submit]')
    browser.wait_text('.empty', 'No executions match')
    # An execution id finds that execution.
    browser.fill('#f-text', child['id'])
    browser.click('.filters button[type=submit]')
    browser.wait_css('tr[data-id="%s"]' % child['id'])
    assert 'q=' in browser.driver.current_url


def test_deep_links_and_errors(deployment: harness.Deployment,
                               browser: Browser,
                               shot: Callable[..., str]) -> None:
    missing = '00000000-0000-4000-8000-000000000000'
    browser.get(ui(deployment, 'executions/%s' % missing))
    box = browser.wait_css('.error-box')
    assert 'not found' in box.text.lower() and missing in box.text
    shot('error-not-found')
    browser.get(ui(deployment, 'no/such/page'))
    assert 'no console page' in browser.wait_css('.error-box').text.lower()
    # Empty states say what to do.
    browser.get(ui(deployment, 'cron-triggers'))
    assert 'No cron triggers yet' in browser.wait_css('.empty').text
    # Keyboard: "g w" goes to the workflows.
    from selenium.webdriver.common.action_chains import ActionChains

    browser.css('body').click()
    ActionChains(browser.driver).send_keys('gw').perform()
    browser.wait(lambda: browser.driver.current_url.endswith('/workflows'),
                 10, 'the workflows page after "g w"')
    browser.wait_css('table.list')
    shot('workflows')
