"""Large shapes complete correctly: a 10,000-item with-items task and a
1,000-branch fan-out into ``join: all``, on the embedded default and on
PostgreSQL + RabbitMQ with separate processes. (Counts, not timings: speed
is measured by tools/bench.)"""

from __future__ import annotations

import json

import pytest
import requests

from mistral.tests.functional import harness

ITEMS = 10000
BRANCHES = 1000


def _fanout(n: int) -> str:
    lines = ['fanout:', '  tasks:', '    start:', '      action: std.noop',
             '      on-success:']
    lines += ['        - b%d' % i for i in range(n)]
    for i in range(n):
        lines += ['    b%d:' % i, '      action: std.echo output=%d' % i,
                  '      publish: {v%d: <%% task().result %%>}' % i,
                  '      on-success: join']
    lines += ['    join:', '      join: all', '      action: std.noop',
              '      publish:',
              '        total: <% $.keys().where($.startsWith(v)).len() %>']
    return '\n'.join(lines) + '\n'


WORKFLOWS = """
version: '2.0'
items:
  input: [n]
  output:
    count: <% len($.r) %>
    first: <% $.r[0] %>
    last: <% $.r[-1] %>
    ordered: <% $.r = range($.n).select($ * 2).toList() %>
  tasks:
    many:
      with-items: i in <% range($.n).toList() %>
      action: std.echo output=<% $.i * 2 %>
      publish:
        r: <% task().result %>
""" + _fanout(BRANCHES)

DEPLOYMENTS = {
    'embedded': dict(db='sqlite', transport='fake', processes=[['all']]),
    'postgresql-rabbit': dict(db='postgresql', transport='rabbit',
                              processes=[['api'], ['engine'], ['executor'],
                                         ['scheduler']]),
}


@pytest.fixture(scope='module', params=sorted(DEPLOYMENTS))
def dep(request):
    with harness.Deployment(**DEPLOYMENTS[request.param]) as d:
        d.client().workflows.create(WORKFLOWS)
        yield d


def test_ten_thousand_items(dep):
    client = dep.client()
    ex = client.executions.create('items', workflow_input={'n': ITEMS})
    ex = dep.wait_execution(ex.id, timeout=600)
    assert ex.state == 'SUCCESS', ex.state_info
    assert json.loads(ex.output) == {'count': ITEMS, 'first': 0,
                                     'last': 2 * (ITEMS - 1),
                                     'ordered': True}


def test_thousand_branches_into_a_join(dep):
    client = dep.client()
    ex = client.executions.create('fanout')
    ex = dep.wait_execution(ex.id, timeout=600)
    assert ex.state == 'SUCCESS', ex.state_info
    # More tasks than one page holds: follow the `next` links.
    tasks, url = [], '%s/executions/%s/tasks?fields=name,state' % (
        dep.api_url, ex.id)
    while url:
        page = requests.get(url, timeout=30).json()
        tasks += page['tasks']
        url = page.get('next')
    assert len(tasks) == BRANCHES + 2
    assert {t['state'] for t in tasks} == {'SUCCESS'}
    [join] = [t for t in tasks if t['name'] == 'join']
    join = client.tasks.get(join['id'])
    assert json.loads(join.published) == {'total': BRANCHES}
    assert len(json.loads(join.runtime_context)['triggered_by']) == BRANCHES
