// One workbook: its YAML and the graphs of its workflows.

import {api} from '../api.js';
import {h} from '../dom.js';
import {localTime} from '../format.js';
import {href} from '../router.js';
import {can} from '../session.js';
import {tabs, facts, link} from '../ui.js';
import {graphsOf, yamlOf, deleteButton} from '../definition.js';

export async function render(view) {
  const ns = view.query.namespace || '';
  const wb = await api.get(`/workbooks/${encodeURIComponent(view.params.id)}`, {namespace: ns || undefined}, {signal: view.abort.signal});
  view.main.append(h('div', {class: 'page-head'},
    h('div', {class: 'titles'}, h('div', {class: 'crumbs'}, link(href('workbooks'), 'Workbooks')),
      h('h1', wb.name, h('span', {class: 'tag'}, wb.scope)),
      h('div', {class: 'sub'}, wb.namespace ? `namespace ${wb.namespace} · ` : '', `updated ${localTime(wb.updated_at || wb.created_at)}`)),
    h('div', {class: 'actions'},
      can('workbooks:update', wb.project_id) ? link(href(`workbooks/${encodeURIComponent(wb.name)}/edit${ns ? `?namespace=${encodeURIComponent(ns)}` : ''}`), h('span', {class: 'btn'}, 'Edit')) : null,
      can('workbooks:delete', wb.project_id) ? deleteButton(`workbook ${wb.name}`, `/workbooks/${encodeURIComponent(wb.name)}`, {namespace: ns || undefined}, 'workbooks') : null)),
  facts([['Tags', (wb.tags || []).join(', ') || '—'], ['Project', wb.project_id], ['Created', localTime(wb.created_at)]]));
  view.main.append(tabs([
    {id: 'graph', label: 'Workflows', render: (box) => graphsOf(view, box, wb.definition)},
    {id: 'definition', label: 'Definition', render: (box) => box.append(yamlOf(wb.definition))},
  ], {initial: view.query.tab}).el);
}
