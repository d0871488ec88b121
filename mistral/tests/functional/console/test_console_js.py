"""The console's JavaScript logic, run in headless Chromium.

The modules are served by the console's own WSGI layer (no API behind
it) and imported into a page of the same origin; each test calls pure
functions (graph building, layout, highlighting, paging plans, item
states) and checks what they return.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Iterator
from wsgiref import simple_server

import pytest

from mistral.api import console
from mistral.tests.functional.console.browser import Browser


class _Quiet(simple_server.WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope='module')
def origin() -> Iterator[str]:
    def nothing(environ: dict, start_response: Any) -> list[bytes]:
        start_response('404 Not Found', [('Content-Type', 'text/plain')])
        return [b'']

    server = simple_server.make_server('127.0.0.1', 0,
                                       console.PublicConsole(nothing),
                                       handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield 'http://127.0.0.1:%d' % server.server_port
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope='module')
def page(browser: Browser, origin: str) -> Browser:
    # A plain page of the same origin: modules import without the app.
    browser.get(origin + '/ui/static/vendor/js-yaml.LICENSE')
    return browser


def run(b: Browser, module: str, body: str) -> Any:
    """``body`` is a JS function of the imported module; its (awaited)
    result comes back through JSON."""
    script = '''
const done = arguments[arguments.length - 1];
import(arguments[0]).then(async (m) => {
  try { done({ok: true, value: JSON.stringify(await (%s)(m))}); }
  catch (e) { done({ok: false, error: String(e && e.stack || e)}); }
}, (e) => done({ok: false, error: 'import failed: ' + e}));
''' % body
    result = b.js_async(script, '/ui/static/js/' + module)
    assert result['ok'], result['error']
    return json.loads(result['value']) if result['value'] else None


def test_transitions_in_every_form(page: Browser) -> None:
    got = run(page, 'graph/spec.js', '''(m) => [
      m.parseTransitions('next_task'),
      m.parseTransitions(['a', {b: '<% $.x > 1 %>'}, 'fail msg="boom"']),
      m.parseTransitions({publish: {x: 1}, next: [{c: '<% true %>'}]}),
      m.parseTransitions('<% $.target %>'),
      m.parseTransitions(null)]''')
    assert got[0] == [{'target': 'next_task', 'condition': None,
                       'params': None}]
    assert got[1] == [
        {'target': 'a', 'condition': None, 'params': None},
        {'target': 'b', 'condition': '<% $.x > 1 %>', 'params': None},
        {'target': 'fail', 'condition': None, 'params': 'msg="boom"'}]
    assert got[2] == [{'target': 'c', 'condition': '<% true %>',
                       'params': None}]
    assert got[3] == [{'target': '<% $.target %>', 'condition': None,
                       'dynamic': True}]
    assert got[4] == []


def test_direct_workflow_graph(page: Browser) -> None:
    got = run(page, 'graph/spec.js', '''(m) => {
      const wf = {
        'task-defaults': {'on-error': ['handle']},
        tasks: {
          a: {action: 'std.echo output=1', 'with-items': 'x in <% $.l %>',
              concurrency: 2, retry: {count: 3, delay: 1},
              'on-success': [{b: '<% $.ok %>'}, 'succeed'],
              'on-error': 'handle'},
          b: {workflow: 'child_wf x=1', 'wait-before': 2, join: 'all',
              'on-complete': ['<% $.next %>', 'ghost']},
          handle: {action: 'std.noop', 'on-success': 'fail msg="x"'},
        }};
      const g = m.buildGraph(wf);
      return {type: g.type, nodes: g.nodes.map((n) => [n.id, n.kind,
        n.detail, n.badges.map((b) => b.kind)]),
        edges: g.edges.map((e) => [e.from, e.to, e.kind, e.condition,
          Boolean(e.defaults)]), starts: m.startTasks(g)};
    }''')
    assert got['type'] == 'direct'
    nodes = {n[0]: n[1:] for n in got['nodes']}
    assert nodes['a'] == ['task', 'std.echo', ['with-items', 'retry']]
    assert nodes['b'] == ['workflow', 'child_wf', ['wait', 'join']]
    assert nodes['handle'] == ['task', 'std.noop', []]
    assert nodes['cmd:succeed'][0] == 'command'
    assert nodes['cmd:fail'] == ['command', 'msg="x"', []]
    assert nodes['ghost'] == ['missing', 'not defined', []]
    assert nodes['expr:<% $.next %>'][0] == 'dynamic'
    edges = got['edges']
    assert ['a', 'b', 'on-success', '<% $.ok %>', False] in edges
    assert ['a', 'cmd:succeed', 'on-success', None, False] in edges
    # a names handle itself: no second edge from task-defaults.
    assert [e for e in edges if e[0] == 'a' and e[1] == 'handle'] == [
        ['a', 'handle', 'on-error', None, False]]
    assert ['b', 'handle', 'on-error', None, True] in edges
    assert ['b', 'expr:<% $.next %>', 'on-complete', None, False] in edges
    assert got['starts'] == ['a']


def test_reverse_workflow_graph_and_documents(page: Browser) -> None:
    got = run(page, 'graph/spec.js', '''(m) => {
      const g = m.buildGraph({type: 'reverse', tasks: {
        a: {action: 'std.noop'}, b: {requires: 'a'},
        c: {requires: ['a', 'b', 'zz']}}});
      const book = {version: '2.0', name: 'wb', workflows: {
        one: {tasks: {}}, two: {tasks: {}}}};
      const file = {version: '2.0', main: {tasks: {t: {}}}, other: {}};
      return {type: g.type, edges: g.edges.map((e) => [e.from, e.to,
        e.kind]), missing: g.nodes.filter((n) => n.kind === 'missing')
        .map((n) => n.id), names: m.workflowNames(book),
        found: Boolean(m.findWorkflow(book, 'wb.two')),
        single: Object.keys(m.findWorkflow(file, 'main').tasks),
        none: m.findWorkflow(file, 'nothing')};
    }''')
    assert got['type'] == 'reverse'
    assert sorted(got['edges']) == [['a', 'b', 'requires'],
                                    ['a', 'c', 'requires'],
                                    ['b', 'c', 'requires'],
                                    ['zz', 'c', 'requires']]
    assert got['missing'] == ['zz']
    assert got['names'] == ['one', 'two'] and got['found']
    assert got['single'] == ['t']
    assert got['none'] is None


def test_layout_of_a_thousand_task_fan_out(page: Browser) -> None:
    got = run(page, 'graph/layout.js', '''(m) => {
      const nodes = [{id: 'start', w: 188, h: 52}, {id: 'join', w: 188,
        h: 52}];
      const edges = [];
      for (let i = 0; i < 1000; i++) {
        nodes.push({id: 't' + i, w: 188, h: 52});
        edges.push({from: 'start', to: 't' + i}, {from: 't' + i,
          to: 'join'});
      }
      const lay = m.layout(nodes, edges, {viewport: {w: 1200, h: 700}});
      const byRank = {};
      for (const [id, p] of lay.pos) (byRank[p.rank] ||= []).push(p);
      let overlaps = 0;
      for (const list of Object.values(byRank)) {
        const key = lay.orientation === 'TB' ? 'x' : 'y';
        const size = lay.orientation === 'TB' ? 'w' : 'h';
        list.sort((a, b) => a[key] - b[key]);
        for (let i = 1; i < list.length; i++)
          if (list[i][key] < list[i - 1][key] + list[i - 1][size]) overlaps++;
      }
      return {orientation: lay.orientation, count: lay.pos.size,
        ranks: lay.ranks, overlaps, routes: lay.routes.filter(
          (r) => r.length >= 2).length, start: lay.pos.get('start').rank,
        join: lay.pos.get('join').rank, width: lay.width,
        height: lay.height};
    }''')
    assert got['count'] == 1002 and got['ranks'] == 3
    assert got['start'] == 0 and got['join'] == 2
    assert got['overlaps'] == 0
    assert got['routes'] == 2000
    # A thousand side by side read better as a tall column.
    assert got['orientation'] == 'LR'
    assert got['height'] > got['width']


def test_layout_of_loops_and_long_edges(page: Browser) -> None:
    got = run(page, 'graph/layout.js', '''(m) => {
      const n = (id) => ({id, w: 100, h: 40});
      const lay = m.layout([n('a'), n('b'), n('c'), n('d')], [
        {from: 'a', to: 'b'}, {from: 'b', to: 'c'}, {from: 'c', to: 'a'},
        {from: 'a', to: 'd'}, {from: 'c', to: 'd'}, {from: 'd', to: 'd'},
        {from: 'a', to: 'nowhere'}], {orientation: 'TB'});
      return {ranks: Object.fromEntries([...lay.pos].map(([k, p]) =>
        [k, p.rank])), reversed: lay.reversed,
        points: lay.routes.map((r) => r.length), loop: lay.routes[5].loop};
    }''')
    assert got['ranks'] == {'a': 0, 'b': 1, 'c': 2, 'd': 3}
    assert got['reversed'] == 1
    # a -> d spans three ranks: routed through two dummy points.
    assert got['points'][3] == 4
    assert got['loop'] is True
    assert got['points'][6] == 0  # an edge to an unknown node: not drawn


def test_yaml_highlighting_escapes(page: Browser) -> None:
    html = run(page, 'yaml.js', '''(m) => m.highlightYaml(
      'wf:\\n  # note <b>\\n  action: std.echo output="<% $.x %>"\\n' +
      '  - <script>alert(1)</script>\\n  n: 42')''')
    assert '<script>' not in html and '&lt;script&gt;' in html
    assert '<span class="y-comment">  # note &lt;b&gt;</span>' in html
    assert '<span class="y-key">action</span>' in html
    assert 'class="y-expr">&lt;% $.x %&gt;</span>' in html
    assert '<span class="y-num">42</span>' in html
    assert html.count('<span class="line">') == 5
    err = run(page, 'yaml.js', '''(m) => { try { m.parseYaml('a: [1'); }
      catch (e) { return [e.name, e.line, e.message]; } }''')
    assert err[1] == 2 and 'line 2' in err[2]


def test_time_range_plans(page: Browser) -> None:
    got = run(page, 'pages/executions.js', '''(m) => {
      const from = new Date(Date.UTC(2026, 0, 1, 0, 0, 0));
      const to = new Date(Date.UTC(2026, 0, 2, 0, 0, 0));
      const rows = ['2026-01-03 00:00:00', '2026-01-01 12:00:00',
        '2025-12-31 23:00:00', '2025-12-30 00:00:00'].map(
          (created_at) => ({created_at}));
      const desc = m.planRange(from, to, 'created_at', 'desc');
      const asc = m.planRange(from, to, 'created_at', 'asc');
      const other = m.planRange(from, to, 'state', 'asc');
      return {
        desc: desc.server, descRows: m.applyRange(rows.slice(1), desc),
        asc: asc.server, ascRows: m.applyRange([...rows].reverse(), asc),
        other: other.server, otherRows: m.applyRange(rows, other),
        none: m.planRange(null, null, 'created_at', 'desc').server};
    }''')
    assert got['desc'] == {'created_at': 'lte:2026-01-02 00:00:00'}
    assert got['descRows'] == {'rows': [{'created_at':
                                         '2026-01-01 12:00:00'}],
                               'ended': True}
    assert got['asc'] == {'created_at': 'gte:2026-01-01 00:00:00'}
    assert got['ascRows']['ended'] is True
    assert got['other'] == {'created_at': 'gte:2026-01-01 00:00:00'}
    assert got['otherRows']['ended'] is False
    assert [r['created_at'] for r in got['otherRows']['rows']] == [
        '2026-01-01 12:00:00', '2025-12-31 23:00:00',
        '2025-12-30 00:00:00']
    assert got['none'] == {}


def test_execution_states_on_the_graph(page: Browser) -> None:
    got = run(page, 'pages/execution.js', '''(m) => {
      const t = (id, name, state, created_at, ctx) => ({id, name, state,
        created_at, runtime_context: JSON.stringify(ctx || {})});
      const tasks = [
        t('1', 'a', 'SUCCESS', '2026-01-01 00:00:00'),
        t('2', 'b', 'ERROR', '2026-01-01 00:00:01',
          {triggered_by: [{task_id: '1', event: 'on-success'}]}),
        t('3', 'b', 'RUNNING', '2026-01-01 00:00:05',
          {triggered_by: [{task_id: '1', event: 'on-success'}],
           retry_task_policy: {retry_no: 2}}),
        t('4', 'c', 'RUNNING', '2026-01-01 00:00:06',
          {with_items: {count: 7, capacity: 2}})];
      const graph = {nodes: [{id: 'a'}, {id: 'b'}, {id: 'c'}], edges: [
        {from: 'a', to: 'b', kind: 'on-success'},
        {from: 'a', to: 'b', kind: 'on-error'},
        {from: 'b', to: 'c', kind: 'on-success'}]};
      const states = m.nodeStates(tasks);
      const runtime = m.runtimeGraph(tasks);
      return {states: Object.fromEntries([...states].map(([k, v]) =>
        [k, [v.state, v.runs, v.note]])), taken: [...m.takenEdges(graph,
        tasks)], runtime: runtime.edges.map((e) => [e.from, e.to, e.kind])};
    }''')
    assert got['states'] == {'a': ['SUCCESS', 1, ''],
                             'b': ['RUNNING', 2, 'retry 2 ×2'],
                             'c': ['RUNNING', 1, '7 items']}
    assert got['taken'] == [0]
    assert got['runtime'] == [['a', 'b', 'on-success']]


def test_with_items_states_and_input_form(page: Browser) -> None:
    items = run(page, 'pages/task.js', '''(m) => m.itemStates([
      {index: 1, state: 'ERROR', accepted: false},
      {index: 0, state: 'SUCCESS', accepted: true},
      {index: 1, state: 'SUCCESS', accepted: true},
      {index: 2, state: 'RUNNING', accepted: true}])
      .map((i) => [i.index, i.state, i.attempts])''')
    assert items == [[0, 'SUCCESS', 1], [1, 'SUCCESS', 2],
                     [2, 'RUNNING', 1]]
    spec = run(page, 'forms.js', '''(m) => m.inputSpec({input: ['name',
      {greeting: 'hi'}, {count: 3}, {flag: false}, {opts: {a: 1}},
      {nothing: null}]})''')
    assert [(s['name'], s['required'], s['kind']) for s in spec] == [
        ('name', True, 'json'), ('greeting', False, 'text'),
        ('count', False, 'number'), ('flag', False, 'bool'),
        ('opts', False, 'json'), ('nothing', False, 'json')]
    read = run(page, 'forms.js', '''(m) => {
      const f = m.inputField({name: 'x', required: true, kind: 'json'});
      const out = [];
      for (const v of ['', '{"a": 1}', 'plain', '"quoted"', '12']) {
        f.control.value = v;
        out.push(f.read());
      }
      return out;
    }''')
    assert read[0] == {'ok': False, 'error': 'Required.'}
    assert read[1] == {'ok': True, 'value': {'a': 1}}
    assert read[2]['ok'] is False and 'Not valid JSON' in read[2]['error']
    assert read[3] == {'ok': True, 'value': 'quoted'}
    assert read[4] == {'ok': True, 'value': 12}


def test_timeline_escapes_and_scales(page: Browser) -> None:
    svg = run(page, 'timeline.js', '''(m) => m.timelineSvg([
      {id: '1', name: '<b>x</b>', state: 'SUCCESS',
       started_at: '2026-01-01 00:00:00', finished_at: '2026-01-01 00:01:00'},
      {id: '2', name: 'later', state: 'RUNNING',
       started_at: '2026-01-01 00:00:30'}],
      new Map([['1', [{name: 'std.echo', state: 'ERROR',
        created_at: '2026-01-01 00:00:00', updated_at: '2026-01-01 00:00:10'},
       {name: 'std.echo', state: 'SUCCESS',
        created_at: '2026-01-01 00:00:20',
        updated_at: '2026-01-01 00:01:00'}]]]),
      {width: 1000, now: Date.UTC(2026, 0, 1, 0, 2, 0)})''')
    assert '<b>x</b>' not in svg and '&lt;b&gt;x&lt;/b&gt;' in svg
    assert svg.count('class="bar attempt') == 2
    assert svg.count('class="row"') == 2
    assert 'Timeline of 2 task runs' in svg
