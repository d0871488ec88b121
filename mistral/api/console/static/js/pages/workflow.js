// One workflow definition: its graph, its YAML, its recent executions.

import {api} from '../api.js';
import {h, clear} from '../dom.js';
import {localTime, relativeTime, shortId, jsonField} from '../format.js';
import {href} from '../router.js';
import {can} from '../session.js';
import {tabs, facts, copyable, link, stateBadge, empty} from '../ui.js';
import {graphsOf, yamlOf, deleteButton} from '../definition.js';

export async function render(view) {
  const wf = await api.get(`/workflows/${encodeURIComponent(view.params.id)}`, null, {signal: view.abort.signal});
  const iface = jsonField(wf.interface) || {};
  view.main.append(
    h('div', {class: 'page-head'},
      h('div', {class: 'titles'},
        h('div', {class: 'crumbs'}, link(href('workflows'), 'Workflows')),
        h('h1', wf.name, h('span', {class: 'tag'}, wf.scope)),
        h('div', {class: 'sub'}, copyable(wf.id), wf.namespace ? ` · namespace ${wf.namespace}` : '', ` · updated ${relativeTime(wf.updated_at || wf.created_at)}`)),
      h('div', {class: 'actions'},
        can('executions:create') ? link(href(`workflows/${wf.id}/run`), h('span', {class: 'btn primary', id: 'btn-run'}, '▶ Run')) : null,
        can('workflows:update', wf.project_id) ? link(href(`workflows/${wf.id}/edit`), h('span', {class: 'btn'}, 'Edit')) : null,
        can('workflows:delete', wf.project_id) ? deleteButton(`workflow ${wf.name}`, `/workflows/${wf.id}`, null, 'workflows') : null)),
    facts([['Input', wf.input || '—'], ['Output', (iface.output || []).join(', ') || '—'], ['Tags', (wf.tags || []).join(', ') || '—'],
      ['Project', wf.project_id], ['Created', localTime(wf.created_at)]]));
  const t = tabs([
    {id: 'graph', label: 'Graph', render: (box) => graphsOf(view, box, wf.definition, wf.name)},
    {id: 'definition', label: 'Definition', render: (box) => box.append(yamlOf(wf.definition))},
    {id: 'executions', label: 'Executions', render: async (box) => {
      const r = await api.get('/executions', {workflow_id: wf.id, limit: 20, sort_keys: 'created_at', sort_dirs: 'desc', fields: 'id,state,created_at,description'});
      const rows = r.executions || [];
      clear(box).append(...(rows.length ? [h('div', {class: 'card'}, h('table', {class: 'list'},
        h('thead', h('tr', h('th', 'State'), h('th', 'Execution'), h('th', 'Started'), h('th', {class: 'hide-narrow'}, 'Description'))),
        h('tbody', rows.map((ex) => h('tr', h('td', stateBadge(ex.state)), h('td', link(href(`executions/${ex.id}`), shortId(ex.id))),
          h('td', {title: localTime(ex.created_at)}, relativeTime(ex.created_at)), h('td', {class: 'desc hide-narrow'}, ex.description || '')))))),
        h('p', link(href(`executions?workflow=${encodeURIComponent(wf.name)}`), 'All executions of this workflow →'))]
        : [empty('Never run', 'Its executions will be listed here.')]));
    }},
  ], {initial: view.query.tab});
  view.main.append(t.el);
}
