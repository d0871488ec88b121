// One task execution: state, published variables, result, every action
// (or sub-workflow) execution with its executor, attempts and timings,
// and for with-items the state of each item.

import {api} from '../api.js';
import {h, clear} from '../dom.js';
import {localTime, duration, span, shortId, jsonField, TERMINAL} from '../format.js';
import {href} from '../router.js';
import {can} from '../session.js';
import {stateBadge, jsonView, facts, copyable, link, empty} from '../ui.js';
import {rerunDialog, skipDialog, completeDialog} from '../commands.js';

// {index -> [runs oldest first]} and the latest state of each item.
export function itemStates(runs) {
  const byIndex = new Map();
  for (const r of runs) {
    const list = byIndex.get(r.index) || [];
    list.push(r);
    byIndex.set(r.index, list);
  }
  const items = [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([index, list]) => {
    // The accepted run decides; a rerun's new attempt comes last.
    const accepted = list.filter((r) => r.accepted !== false);
    const last = (accepted.length ? accepted : list)[(accepted.length ? accepted : list).length - 1];
    return {index, state: last.state, attempts: list.length, runs: list};
  });
  return items;
}

export async function render(view) {
  const id = view.params.id;
  const signal = view.abort.signal;
  const main = view.main;
  let task = await api.get(`/tasks/${encodeURIComponent(id)}`, null, {signal});
  let runs = {runs: []};
  let actionDetails = new Map();

  async function load() {
    task = await api.get(`/tasks/${id}`, null, {signal});
    runs = await api.console(`tasks/${id}/runs`, {signal});
    if (task.type !== 'WORKFLOW') {
      const list = await api.get(`/tasks/${id}/action_executions`, {limit: 1000}, {signal});
      actionDetails = new Map((list.action_executions || []).map((a) => [a.id, a]));
    }
  }
  await load();

  const head = h('div');
  const body = h('div');
  main.append(head, body);

  function draw() {
    const ctx = jsonField(task.runtime_context) || {};
    const running = !TERMINAL.has(task.state);
    clear(head).append(h('div', {class: 'page-head'},
      h('div', {class: 'titles'},
        h('div', {class: 'crumbs'}, link(href('executions'), 'Executions'), ' / ',
          link(href(`executions/${task.workflow_execution_id}`), `${task.workflow_name} ${shortId(task.workflow_execution_id)}`), ' / task'),
        h('h1', h('span', task.name), stateBadge(task.state)),
        h('div', {class: 'sub'}, copyable(task.id), ' · ', task.type === 'WORKFLOW' ? 'sub-workflow task' : 'action task',
          ' · ', running ? `running for ${duration(span(task.started_at || task.created_at, null))}` : `took ${duration(span(task.started_at || task.created_at, task.finished_at))}`)),
      h('div', {class: 'actions'},
        task.state === 'ERROR' && can('tasks:update', task.project_id) ? [
          h('button', {class: 'btn primary', id: 'btn-rerun', onclick: async () => { if (await rerunDialog(task)) refresh(); }}, '↻ Rerun…'),
          h('button', {class: 'btn', onclick: async () => { if (await skipDialog(task)) refresh(); }}, 'Skip…'),
        ] : null,
        link(href(`executions/${task.workflow_execution_id}`), h('span', {class: 'btn'}, 'Open the execution')))));
    if (task.state_info) head.append(h('div', {class: 'state-info', role: 'note'}, task.state_info));

    clear(body);
    const items = itemStates(runs.runs);
    const withItems = ctx.with_items;
    body.append(h('div', {class: 'grid-2'},
      h('div', {class: 'card pad'}, h('h2', 'Details'), facts([
        ['Workflow', link(href(`executions/${task.workflow_execution_id}`), task.workflow_name)],
        ['Created', localTime(task.created_at)], ['Started', localTime(task.started_at)], ['Finished', localTime(task.finished_at)],
        ['Updated', localTime(task.updated_at)],
        ['Retries', ctx.retry_task_policy?.retry_no !== undefined ? String(ctx.retry_task_policy.retry_no) : undefined],
        ['With-items', withItems ? `${withItems.count ?? items.length} items, ${withItems.capacity ?? '∞'} at once` : undefined],
        ['Triggered by', (ctx.triggered_by || []).length ? h('span', (ctx.triggered_by || []).map((t) => h('span', link(href(`tasks/${t.task_id}`), shortId(t.task_id)), ` (${t.event}) `))) : undefined],
      ])),
      h('div', h('h3', 'Published'), jsonView(jsonField(task.published), {filename: `${task.name}-published.json`}))));

    if (withItems || items.length > 1) {
      const grid = h('div', {class: 'items-grid', role: 'list', 'aria-label': 'Item states'},
        items.map((it) => h('span', {class: `st-${it.state}`, role: 'listitem', title: `item ${it.index}: ${it.state}${it.attempts > 1 ? ` (${it.attempts} attempts)` : ''}`})));
      const by = {};
      for (const it of items) by[it.state] = (by[it.state] || 0) + 1;
      body.append(h('h3', 'Items'), h('div', {class: 'counts'}, Object.entries(by).map(([s, n]) => h('span', stateBadge(s), ' ', h('b', String(n))))), grid);
    }

    body.append(h('h3', task.type === 'WORKFLOW' ? 'Sub-workflow executions' : 'Action executions'));
    if (!runs.runs.length) {
      body.append(h('div', {class: 'card'}, empty('Nothing ran yet', running ? 'Runs appear here when they start.' : 'This task ran no action.')));
    } else {
      const showItems = Boolean(withItems) || items.length > 1;
      const attemptNo = new Map();
      const rows = runs.runs.map((r) => {
        const n = (attemptNo.get(r.index) || 0) + 1;
        attemptNo.set(r.index, n);
        const detail = actionDetails.get(r.id);
        const completable = r.kind === 'action' && r.state === 'RUNNING' && can('action_executions:update', task.project_id);
        return h('tr', {dataset: {id: r.id}},
          h('td', stateBadge(r.state)),
          h('td', r.kind === 'workflow' ? link(href(`executions/${r.id}`), `${r.name} ${shortId(r.id)}`) : link(href(`action-executions/${r.id}`), `${r.name} ${shortId(r.id)}`)),
          showItems ? h('td', {class: 'num'}, String(r.index)) : null,
          h('td', {class: 'num'}, String(n), r.accepted === false && TERMINAL.has(r.state) ? h('span', {class: 'muted', title: 'its result was not used: a later attempt replaced it'}, ' (not used)') : null),
          h('td', {class: 'mono hide-narrow'}, r.executor_id || (r.kind === 'workflow' ? '—' : h('span', {class: 'muted'}, 'unclaimed'))),
          h('td', {class: 'hide-narrow'}, localTime(r.created_at)),
          h('td', {class: 'num'}, duration(span(r.created_at, r.state === 'RUNNING' ? null : r.updated_at))),
          h('td', {class: 'desc', title: r.state_info || ''}, r.state_info || ''),
          h('td', completable ? h('button', {class: 'btn small', dataset: {complete: r.id}, onclick: async () => {
            if (await completeDialog({id: r.id, name: r.name})) refresh();
          }}, 'Complete…') : null,
          detail ? h('button', {class: 'btn small', onclick: () => showAction(detail)}, 'Input') : null));
      });
      body.append(h('div', {class: 'card table-wrap'}, h('table', {class: 'list', id: 'runs-table'},
        h('thead', h('tr', h('th', 'State'), h('th', task.type === 'WORKFLOW' ? 'Execution' : 'Action'), showItems ? h('th', {class: 'num'}, 'Item') : null,
          h('th', {class: 'num'}, 'Attempt'), h('th', {class: 'hide-narrow'}, 'Executor'), h('th', {class: 'hide-narrow'}, 'Started'), h('th', {class: 'num'}, 'Took'),
          h('th', 'State info'), h('th', ''))),
        h('tbody', rows))));
    }
    const first = runs.runs.length ? actionDetails.get(runs.runs[0].id) : null;
    body.append(h('div', {class: 'grid-2'},
      task.type !== 'WORKFLOW' && first ? h('div', h('h3', runs.runs.length > 1 ? 'Input (first action)' : 'Input'), jsonView(jsonField(first.input), {filename: `${task.name}-input.json`})) : null,
      h('div', h('h3', 'Result'), task.result === undefined || task.result === null
        ? h('p', {class: 'muted'}, running ? 'Known when the task ends.' : 'No result.')
        : jsonView(jsonField(task.result), {filename: `${task.name}-result.json`}))));
  }

  const detailBox = h('div');
  function showAction(detail) {
    clear(detailBox).append(h('h3', `Action ${detail.name} ${shortId(detail.id)}`),
      h('div', {class: 'grid-2'}, h('div', h('h4', 'Input'), jsonView(jsonField(detail.input))),
        h('div', h('h4', 'Output'), link(href(`action-executions/${detail.id}`), 'Open the action execution'))));
    detailBox.scrollIntoView({behavior: 'smooth', block: 'nearest'});
  }

  async function refresh() {
    await load();
    draw();
  }

  draw();
  main.append(detailBox);
  view.poll(refresh, () => (TERMINAL.has(task.state) ? 5000 : 1500));
}
