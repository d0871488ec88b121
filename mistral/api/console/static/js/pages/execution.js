// One execution: its workflow graph coloured by task state (live), a
// timeline of task runs, the task list, its data, and the commands.

import {api, listAll} from '../api.js';
import {h, clear} from '../dom.js';
import {localTime, relativeTime, duration, span, shortId, jsonField, wireTime, parseTime, TERMINAL} from '../format.js';
import {buildGraph, findWorkflow} from '../graph/spec.js';
import {GraphView} from '../graph/view.js';
import {href, navigate} from '../router.js';
import {can} from '../session.js';
import {timelineSvg} from '../timeline.js';
import {parseYaml} from '../yaml.js';
import {stateBadge, tabs, jsonView, facts, copyable, confirm, busy, toast, empty, link} from '../ui.js';
import {setExecutionState, rerunDialog, skipDialog} from '../commands.js';

const TASK_FIELDS = 'id,name,type,state,state_info,workflow_execution_id,runtime_context,created_at,updated_at,started_at,finished_at';
const FAST = 1000; // ms between refreshes while running: changes show within 2 s
const FULL_EVERY = 15; // a full task reload every this many refreshes
const LAG = 5; // s: re-read tasks changed this long before the newest seen

function ctxOf(task) { return jsonField(task.runtime_context) || {}; }

// {name -> {state, runs, note}} from the task executions, latest run wins.
export function nodeStates(tasks) {
  const byName = new Map();
  for (const t of tasks) {
    const list = byName.get(t.name) || [];
    list.push(t);
    byName.set(t.name, list);
  }
  const states = new Map();
  for (const [name, list] of byName) {
    list.sort((a, b) => (a.created_at || '').localeCompare(b.created_at || '') || a.id.localeCompare(b.id));
    const last = list[list.length - 1];
    const wi = ctxOf(last).with_items;
    let note = list.length > 1 ? `×${list.length}` : '';
    if (wi && wi.count !== undefined) note = `${wi.count} items${note ? ' ' + note : ''}`;
    const retry = ctxOf(last).retry_task_policy?.retry_no;
    if (retry) note = `retry ${retry}${note ? ' ' + note : ''}`;
    states.set(name, {state: last.state, runs: list.length, note, tasks: list});
  }
  return states;
}

// Indices of graph edges some task came through (runtime triggered_by).
export function takenEdges(graph, tasks) {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const index = new Map(graph.edges.map((e, i) => [`${e.from}|${e.to}|${e.kind}`, i]));
  const taken = new Set();
  for (const t of tasks) {
    for (const trig of ctxOf(t).triggered_by || []) {
      const src = byId.get(trig.task_id);
      if (!src) continue;
      const i = index.get(`${src.name}|${t.name}|${trig.event}`);
      if (i !== undefined) taken.add(i);
    }
  }
  return taken;
}

// A graph from the tasks alone (the definition is gone or unreadable):
// the transitions that were taken.
export function runtimeGraph(tasks) {
  const nodes = new Map();
  const edges = new Map();
  const byId = new Map(tasks.map((t) => [t.id, t]));
  for (const t of tasks) {
    if (!nodes.has(t.name)) nodes.set(t.name, {id: t.name, label: t.name, kind: t.type === 'WORKFLOW' ? 'workflow' : 'task', detail: t.type === 'WORKFLOW' ? 'sub-workflow' : 'action', badges: []});
    for (const trig of ctxOf(t).triggered_by || []) {
      const src = byId.get(trig.task_id);
      if (src) edges.set(`${src.name}|${t.name}|${trig.event}`, {from: src.name, to: t.name, kind: trig.event, condition: null});
    }
  }
  return {type: 'direct', nodes: [...nodes.values()], edges: [...edges.values()], runtime: true};
}

export async function render(view) {
  const id = view.params.id;
  const signal = view.abort.signal;
  let ex = await api.get(`/executions/${encodeURIComponent(id)}`, null, {signal});
  const tasks = new Map();
  for (const t of await listAll(`/executions/${id}/tasks`, 'tasks', {fields: TASK_FIELDS}, {signal})) tasks.set(t.id, t);

  // The graph: from the workflow's definition, else from what ran.
  let graph = null;
  let graphNote = '';
  try {
    const wf = await api.get(`/workflows/${ex.workflow_id}`, {fields: 'id,name,definition'}, {signal});
    const spec = findWorkflow(parseYaml(wf.definition), ex.workflow_name);
    if (spec) graph = buildGraph(spec);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    graphNote = `The workflow definition could not be read (${e.message}); the graph shows the tasks that ran.`;
  }
  if (!graph) graph = runtimeGraph([...tasks.values()]);
  // Marks for tools/bench/console.py: data loaded, graph on screen.
  performance.mark('console:data-loaded');

  const main = view.main;
  const title = h('h1');
  const sub = h('div', {class: 'sub'});
  const buttons = h('div', {class: 'actions'});
  const info = h('div');
  const counts = h('div', {class: 'counts', 'aria-live': 'polite'});
  main.append(
    h('div', {class: 'page-head'},
      h('div', {class: 'titles'},
        h('div', {class: 'crumbs'}, link(href('executions'), 'Executions'), ' / ', shortId(ex.id)),
        title, sub),
      buttons),
    info, counts);

  let graphView = null;
  let panel = null;
  let selected = null;
  let timelineBox = null;
  let taskTable = null;
  let reportCache = null;
  let reportAt = 0;

  function drawHead() {
    clear(title).append(h('span', ex.workflow_name), stateBadge(ex.state));
    const running = !TERMINAL.has(ex.state);
    clear(sub).append(h('span',
      copyable(ex.id), ' · started ', h('span', {title: localTime(ex.created_at)}, relativeTime(ex.created_at)),
      ' · ', running ? `running for ${duration(span(ex.created_at, null))}` : `took ${duration(span(ex.created_at, ex.updated_at))}`,
      ex.description ? h('span', ' · ', h('em', ex.description)) : null,
      ex.task_execution_id ? h('span', ' · sub-execution of ', link(href(`tasks/${ex.task_execution_id}`), 'a task'),
        ex.root_execution_id ? h('span', ' in ', link(href(`executions/${ex.root_execution_id}`), 'the root execution')) : null) : null));
    clear(buttons);
    const may = can('executions:update', ex.project_id);
    if (may && ex.state === 'RUNNING') {
      buttons.append(h('button', {class: 'btn', id: 'btn-pause', onclick: (e) => busy(e.currentTarget, async () => { ex = await setExecutionState(ex.id, 'PAUSED'); refresh(); })}, '❚❚ Pause'));
    }
    if (may && (ex.state === 'PAUSED' || ex.state === 'IDLE')) {
      buttons.append(h('button', {class: 'btn primary', id: 'btn-resume', onclick: (e) => busy(e.currentTarget, async () => { ex = await setExecutionState(ex.id, 'RUNNING'); refresh(); })}, '▶ Resume'));
    }
    if (may && !TERMINAL.has(ex.state)) {
      buttons.append(h('button', {class: 'btn danger', id: 'btn-cancel', onclick: async (e) => {
        const btn = e.currentTarget;
        if (await confirm('Cancel this execution?', 'Running tasks and sub-workflows are cancelled too.', {danger: true, ok: 'Cancel execution'})) {
          busy(btn, async () => { ex = await setExecutionState(ex.id, 'CANCELLED'); refresh(); });
        }
      }}, 'Cancel'));
    }
    if (can('executions:create')) {
      buttons.append(h('button', {class: 'btn', title: 'Start a new execution with the same workflow, input and parameters', onclick: (e) => busy(e.currentTarget, async () => {
        const again = await api.post('/executions', {source_execution_id: ex.id, workflow_id: ex.workflow_id});
        toast('Started again', 'ok');
        navigate(`executions/${again.id}`);
      })}, '↻ Run again'));
    }
    if (can('executions:delete', ex.project_id) && TERMINAL.has(ex.state) && !ex.task_execution_id) {
      buttons.append(h('button', {class: 'btn danger', onclick: async (e) => {
        const btn = e.currentTarget;
        if (await confirm('Delete this execution?', 'The execution, its tasks and sub-executions are removed for good.', {danger: true, ok: 'Delete'})) {
          busy(btn, async () => { await api.del(`/executions/${ex.id}`); toast('Execution deleted', 'ok'); navigate('executions'); });
        }
      }}, 'Delete'));
    }
    clear(info);
    if (ex.state_info) info.append(h('div', {class: 'state-info', role: 'note'}, ex.state_info));
    const all = [...tasks.values()];
    const by = {};
    for (const t of all) by[t.state] = (by[t.state] || 0) + 1;
    clear(counts).append(h('span', h('b', String(all.length)), ' tasks'),
      ...Object.entries(by).sort().map(([s, n]) => h('span', stateBadge(s), ' ', h('b', String(n)))));
  }

  function drawPanel() {
    if (!panel) return;
    clear(panel);
    const node = selected && graph.nodes.find((n) => n.id === selected);
    if (!node) {
      panel.append(h('p', {class: 'muted'}, 'Select a task in the graph (click, or arrow keys and Enter) to see its runs.'));
      return;
    }
    const runs = [...tasks.values()].filter((t) => t.name === node.id).sort((a, b) => (a.created_at || '').localeCompare(b.created_at || ''));
    const spec = node.task || {};
    panel.append(h('h2', node.label),
      facts([
        ['Kind', node.kind === 'workflow' ? `sub-workflow ${node.detail}` : node.kind === 'task' ? `action ${node.detail}` : node.kind],
        ...node.badges.map((b) => [b.kind, b.title.replace(/^[^:]*:\s*/, '')]),
        spec.description ? ['Description', spec.description] : null,
      ].filter(Boolean)));
    if (!runs.length) {
      panel.append(h('p', {class: 'muted'}, node.kind === 'command' ? 'An engine command: it ends (fail, succeed) or pauses the workflow.' : 'Not run (yet).'));
      return;
    }
    panel.append(h('h3', runs.length > 1 ? `${runs.length} runs` : 'Run'));
    const list = h('ul', {class: 'runs-list'});
    for (const t of runs) {
      const li = h('li', stateBadge(t.state), link(href(`tasks/${t.id}`), shortId(t.id)),
        h('span', {class: 'muted'}, duration(span(t.started_at || t.created_at, t.finished_at))));
      if (t.state === 'ERROR' && can('tasks:update', ex.project_id)) {
        li.append(h('button', {class: 'btn small', onclick: async () => { if (await rerunDialog(t)) refresh(); }}, 'Rerun…'),
          h('button', {class: 'btn small', onclick: async () => { if (await skipDialog(t)) refresh(); }}, 'Skip…'));
      }
      list.append(li);
      if (t.state_info) list.append(h('li', h('span', {class: 'state-info'}, t.state_info)));
    }
    panel.append(list);
    if (node.kind === 'workflow') {
      const subs = h('div', h('span', {class: 'muted'}, 'Loading sub-executions…'));
      panel.append(h('h3', 'Sub-executions'), subs);
      Promise.all(runs.map((t) => api.get('/executions', {task_execution_id: t.id, fields: 'id,state,workflow_name,created_at'}))).then((pages) => {
        const children = pages.flatMap((p) => p.executions || []);
        clear(subs).append(children.length
          ? h('ul', {class: 'runs-list'}, children.map((c) => h('li', stateBadge(c.state), link(href(`executions/${c.id}`), `${c.workflow_name} ${shortId(c.id)}`))))
          : h('span', {class: 'muted'}, 'None yet.'));
      }).catch((e) => { clear(subs).append(h('span', {class: 'form-error'}, e.message)); });
    }
  }

  async function openNode(nodeId) {
    const runs = [...tasks.values()].filter((t) => t.name === nodeId).sort((a, b) => (a.created_at || '').localeCompare(b.created_at || ''));
    if (!runs.length) return;
    const last = runs[runs.length - 1];
    if (last.type === 'WORKFLOW') {
      // A sub-workflow node opens the child execution when there is one.
      const r = await api.get('/executions', {task_execution_id: last.id, fields: 'id'});
      if ((r.executions || []).length === 1) { navigate(`executions/${r.executions[0].id}`); return; }
    }
    navigate(`tasks/${last.id}`);
  }

  function drawGraph(box) {
    if (!graph.nodes.length) {
      box.append(empty('No tasks', 'This workflow has no tasks to draw.'));
      return;
    }
    const split = h('div', {class: 'split'});
    const left = h('div');
    panel = h('aside', {class: 'card pad side-panel', 'aria-label': 'Selected task'});
    split.append(left, panel);
    box.append(split);
    graphView = new GraphView(left, graph, {
      onSelect: (nodeId) => { selected = nodeId; drawPanel(); },
      onOpen: openNode,
    });
    view.onCleanup(() => graphView.destroy());
    if (graph.runtime || graphNote) left.append(h('p', {class: 'graph-note'}, graphNote || 'Drawn from the tasks that ran.'));
    if (graph.type === 'reverse') left.append(h('p', {class: 'graph-note'}, 'A reverse workflow: arrows go from a required task to the task that requires it.'));
    applyStates();
    drawPanel();
    requestAnimationFrame(() => requestAnimationFrame(() => performance.mark('console:graph-painted')));
  }

  function applyStates() {
    if (!graphView) return;
    const all = [...tasks.values()];
    graphView.setStates(nodeStates(all));
    graphView.setTaken(takenEdges(graph, all));
  }

  async function loadReport(force) {
    if (!force && reportCache && Date.now() - reportAt < 5000) return reportCache;
    const report = await api.get(`/executions/${id}/report`, {max_depth: 1}, {signal});
    const attempts = new Map();
    for (const t of report.root_workflow_execution?.task_executions || []) {
      attempts.set(t.id, [...(t.action_executions || []), ...(t.workflow_executions || []).map((w) => ({...w, name: w.name || 'sub-workflow'}))]);
    }
    reportCache = attempts;
    reportAt = Date.now();
    return attempts;
  }

  async function drawTimeline(force) {
    if (!timelineBox) return;
    let attempts;
    try { attempts = await loadReport(force); } catch (e) { attempts = new Map(); }
    const width = Math.max(timelineBox.clientWidth || 1000, 640);
    const svg = timelineSvg([...tasks.values()], attempts, {width, hrefOf: (t) => href(`tasks/${t.id}`)});
    timelineBox.innerHTML = svg || '';
    if (!svg) timelineBox.append(empty('Nothing ran yet', 'Task runs appear here as they start.'));
  }

  function drawTasks() {
    if (!taskTable) return;
    const filter = taskTable.filter.value;
    const rows = [...tasks.values()].filter((t) => !filter || t.state === filter)
      .sort((a, b) => (a.created_at || '').localeCompare(b.created_at || '') || a.name.localeCompare(b.name));
    clear(taskTable.body).append(...rows.map((t) => h('tr', {dataset: {id: t.id}},
      h('td', stateBadge(t.state)),
      h('td', link(href(`tasks/${t.id}`), t.name)),
      h('td', {class: 'hide-narrow'}, t.type === 'WORKFLOW' ? 'sub-workflow' : 'action'),
      h('td', {class: 'hide-narrow', title: localTime(t.started_at)}, localTime(t.started_at || t.created_at)),
      h('td', {class: 'num'}, duration(span(t.started_at || t.created_at, t.finished_at))),
      h('td', {class: 'desc', title: t.state_info || ''}, t.state_info || ''))));
    if (!rows.length) taskTable.body.append(h('tr', h('td', {colspan: 6, class: 'muted'}, filter ? `No ${filter} tasks.` : 'No tasks yet.')));
  }

  function drawData(box) {
    clear(box);
    const params = jsonField(ex.params) || {};
    box.append(h('div', {class: 'grid-2'},
      h('div', h('h3', 'Input'), jsonView(jsonField(ex.input), {filename: `${ex.id}-input.json`})),
      h('div', h('h3', 'Output'), TERMINAL.has(ex.state) ? jsonView(jsonField(ex.output), {filename: `${ex.id}-output.json`}) : h('p', {class: 'muted'}, 'Known when the execution ends.')),
      h('div', h('h3', 'Parameters'), jsonView(Object.fromEntries(Object.entries(params).filter(([k]) => k !== 'env')), {filename: `${ex.id}-params.json`})),
      h('div', h('h3', 'Environment'), jsonView(params.env ?? {}, {filename: `${ex.id}-env.json`})),
      ex.published_global && ex.published_global !== '{}' ? h('div', h('h3', 'Published globally'), jsonView(jsonField(ex.published_global))) : null),
      h('h3', 'Details'),
      facts([['Execution', copyable(ex.id)], ['Workflow', link(href(`workflows/${ex.workflow_id}`), ex.workflow_name)],
        ['Namespace', ex.workflow_namespace || ''], ['Project', ex.project_id], ['Created', localTime(ex.created_at)],
        ['Updated', localTime(ex.updated_at)], ['State info', ex.state_info || '']]));
  }

  let dataBox = null;
  const tabset = tabs([
    {id: 'graph', label: 'Graph', render: drawGraph},
    {id: 'timeline', label: 'Timeline', render: (box) => { timelineBox = h('div', {class: 'timeline'}); box.append(timelineBox); drawTimeline(true); }},
    {id: 'tasks', label: 'Tasks', render: (box) => {
      const filter = h('select', {'aria-label': 'Task state', onchange: () => drawTasks()}, h('option', {value: ''}, 'All states'),
        ['RUNNING', 'SUCCESS', 'ERROR', 'WAITING', 'DELAYED', 'IDLE', 'SKIPPED', 'CANCELLED'].map((s) => h('option', {value: s}, s)));
      const body = h('tbody');
      taskTable = {filter, body};
      box.append(h('div', {class: 'filters'}, filter), h('div', {class: 'card table-wrap'}, h('table', {class: 'list'},
        h('thead', h('tr', h('th', 'State'), h('th', 'Task'), h('th', {class: 'hide-narrow'}, 'Type'), h('th', {class: 'hide-narrow'}, 'Started'), h('th', {class: 'num'}, 'Duration'), h('th', 'State info'))), body)));
      drawTasks();
    }},
    {id: 'data', label: 'Input & output', render: (box) => { dataBox = box; drawData(box); }},
  ], {initial: view.query.tab, onChange: (tab) => {
    const url = new URL(location.href);
    if (tab === 'graph') url.searchParams.delete('tab'); else url.searchParams.set('tab', tab);
    history.replaceState(null, '', url.pathname + url.search);
    if (tab === 'timeline') drawTimeline(false);
  }});
  main.append(tabset.el);
  drawHead();

  // Live updates: the execution and the tasks changed since the newest
  // change seen (minus a margin for transactions that commit late), and
  // now and then all tasks.
  let newest = 0;
  const note = (t) => {
    for (const v of [t.updated_at, t.created_at]) {
      const d = parseTime(v);
      if (d && d.getTime() > newest) newest = d.getTime();
    }
  };
  tasks.forEach(note);
  let ticks = 0;
  let wasTerminal = TERMINAL.has(ex.state);

  async function refresh() {
    ticks++;
    const before = ex.state;
    ex = await api.get(`/executions/${id}`, null, {signal});
    const full = ticks % FULL_EVERY === 0 || (TERMINAL.has(ex.state) && !wasTerminal) || !newest;
    let changed = [];
    if (full) {
      changed = await listAll(`/executions/${id}/tasks`, 'tasks', {fields: TASK_FIELDS}, {signal});
      tasks.clear();
    } else {
      const since = wireTime(new Date(newest - LAG * 1000));
      const [updated, created] = await Promise.all([
        listAll(`/executions/${id}/tasks`, 'tasks', {fields: TASK_FIELDS, updated_at: `gte:${since}`}, {signal}),
        listAll(`/executions/${id}/tasks`, 'tasks', {fields: TASK_FIELDS, created_at: `gte:${since}`}, {signal}),
      ]);
      changed = [...created, ...updated];
    }
    for (const t of changed) { tasks.set(t.id, t); note(t); }
    wasTerminal = TERMINAL.has(ex.state);
    drawHead();
    applyStates();
    drawPanel();
    if (taskTable) drawTasks();
    if (tabset.active === 'timeline') drawTimeline(false);
    if (dataBox && (before !== ex.state || tabset.active !== 'data')) drawData(dataBox);
  }

  // While it runs: every second; once it has ended, now and then (a rerun
  // or a resume brings it back to life).
  view.poll(refresh, () => (TERMINAL.has(ex.state) ? 5000 : FAST));
}
