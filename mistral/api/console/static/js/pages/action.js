// One action: its input spec, its definition (ad-hoc), and a form to run it.

import {api} from '../api.js';
import {h, clear} from '../dom.js';
import {href, navigate} from '../router.js';
import {can} from '../session.js';
import {facts, link, jsonView, toast} from '../ui.js';
import {jsonField as jsonInput} from '../commands.js';
import {yamlOf, deleteButton} from '../definition.js';

export async function render(view) {
  const ns = view.query.namespace || '';
  const a = await api.get(`/actions/${encodeURIComponent(view.params.id)}`, {namespace: ns || undefined}, {signal: view.abort.signal});
  const adhoc = !a.is_system && a.definition;
  view.main.append(h('div', {class: 'page-head'},
    h('div', {class: 'titles'}, h('div', {class: 'crumbs'}, link(href('actions'), 'Actions')),
      h('h1', a.name, adhoc ? h('span', {class: 'tag'}, 'ad-hoc') : h('span', {class: 'tag'}, 'system')),
      h('div', {class: 'sub'}, a.description || '')),
    h('div', {class: 'actions'},
      adhoc && can('actions:update', a.project_id) ? link(href(`actions/${encodeURIComponent(a.name)}/edit${ns ? `?namespace=${encodeURIComponent(ns)}` : ''}`), h('span', {class: 'btn'}, 'Edit')) : null,
      adhoc && can('actions:delete', a.project_id) ? deleteButton(`action ${a.name}`, `/actions/${encodeURIComponent(a.name)}`, {namespace: ns || undefined}, 'actions') : null)),
  facts([['Input', h('code', a.input || '(none)')], ['Namespace', a.namespace || '—'], ['Scope', a.scope || '—']]));
  if (adhoc) view.main.append(h('h3', 'Definition'), yamlOf(a.definition));
  if (!can('action_executions:create')) return;
  const input = jsonInput('Input', {id: 'action-input', value: '{}', rows: 4});
  const save = h('input', {type: 'checkbox', id: 'action-save'});
  const result = h('div');
  const run = h('button', {class: 'btn primary', type: 'submit'}, '▶ Run');
  view.main.append(h('h3', 'Run this action'), h('form', {class: 'card pad', onsubmit: async (e) => {
    e.preventDefault();
    const value = input.check();
    if (!value.ok) return;
    run.disabled = true;
    try {
      const body = {name: a.name, input: value.empty ? {} : value.value, params: save.checked ? {save_result: true} : {}};
      if (ns) body.workflow_namespace = ns;
      const ax = await api.post('/action_executions', body);
      if (ax.id) { toast('Action started', 'ok'); navigate(`action-executions/${ax.id}`); return; }
      clear(result).append(h('h3', `Result: ${ax.state}`), jsonView(ax.output ? JSON.parse(ax.output) : null));
    } catch (err) {
      clear(result).append(h('div', {class: 'form-error'}, err.message));
    } finally { run.disabled = false; }
  }}, input.el, h('label', {class: 'check', for: 'action-save'}, save, 'Keep the result (runs on an executor, listed under Action runs)'),
  h('div', {class: 'actions'}, run)), result);
}
