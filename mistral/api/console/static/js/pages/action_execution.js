// One action execution: input, output, and completing it when it waits.

import {api} from '../api.js';
import {h, clear} from '../dom.js';
import {localTime, duration, span, jsonField, shortId} from '../format.js';
import {href} from '../router.js';
import {can} from '../session.js';
import {stateBadge, jsonView, facts, copyable, link} from '../ui.js';
import {completeDialog} from '../commands.js';

export async function render(view) {
  const id = view.params.id;
  const box = h('div');
  view.main.append(box);
  let ax;
  async function draw() {
    ax = await api.get(`/action_executions/${encodeURIComponent(id)}`, null, {signal: view.abort.signal});
    clear(box).append(h('div', {class: 'page-head'},
      h('div', {class: 'titles'}, h('div', {class: 'crumbs'}, link(href('action-executions'), 'Action runs'), ' / ', shortId(ax.id)),
        h('h1', ax.name, stateBadge(ax.state)), h('div', {class: 'sub'}, copyable(ax.id))),
      h('div', {class: 'actions'},
        ax.state === 'RUNNING' && can('action_executions:update', ax.project_id)
          ? h('button', {class: 'btn primary', id: 'btn-complete', onclick: async () => { if (await completeDialog(ax)) draw(); }}, 'Complete…') : null,
        ax.task_execution_id ? link(href(`tasks/${ax.task_execution_id}`), h('span', {class: 'btn'}, 'Open the task')) : null)),
    ax.state_info ? h('div', {class: 'state-info'}, ax.state_info) : h('span'),
    facts([['Workflow', ax.workflow_name || '—'], ['Accepted', String(ax.accepted)], ['Created', localTime(ax.created_at)],
      ['Updated', localTime(ax.updated_at)], ['Took', duration(span(ax.created_at, ax.state === 'RUNNING' ? null : ax.updated_at))]]),
    h('div', {class: 'grid-2'},
      h('div', h('h3', 'Input'), jsonView(jsonField(ax.input), {filename: `${ax.id}-input.json`})),
      h('div', h('h3', 'Output'), jsonView(jsonField(ax.output), {filename: `${ax.id}-output.json`}))));
  }
  await draw();
  view.poll(draw, () => (ax.state === 'RUNNING' ? 2000 : 10000));
}
