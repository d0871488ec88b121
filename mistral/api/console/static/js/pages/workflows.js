// Workflow definitions.

import {h} from '../dom.js';
import {localTime} from '../format.js';
import {listPage} from '../listing.js';
import {href} from '../router.js';
import {can} from '../session.js';
import {link} from '../ui.js';

export async function render(view) {
  await listPage(view, {
    title: 'Workflows', subtitle: 'Definitions you can run. Workbook workflows are named <workbook>.<workflow>.',
    path: '/workflows', key: 'workflows', noun: 'workflows',
    fields: 'id,name,namespace,input,scope,tags,project_id,created_at,updated_at',
    actions: can('workflows:create') ? link(href('workflows/new'), h('span', {class: 'btn primary'}, 'New workflow')) : null,
    emptyText: 'Upload a workflow definition (YAML) to get started.',
    emptyAction: can('workflows:create') ? link(href('workflows/new'), h('span', {class: 'btn primary'}, 'New workflow')) : null,
    columns: [
      {label: 'Name', key: 'name', cell: (w) => link(href(`workflows/${w.id}`), w.name)},
      {label: 'Namespace', key: 'namespace', narrow: true, cell: (w) => w.namespace || h('span', {class: 'muted'}, '—')},
      {label: 'Input', narrow: true, cls: 'desc mono', cell: (w) => w.input || ''},
      {label: 'Scope', key: 'scope', narrow: true, cell: (w) => [w.scope, ...(w.tags || []).map((t) => h('span', {class: 'tag'}, t))]},
      {label: 'Updated', key: 'updated_at', narrow: true, cell: (w) => localTime(w.updated_at || w.created_at)},
      {label: '', cell: (w) => (can('executions:create') ? link(href(`workflows/${w.id}/run`), h('span', {class: 'btn small'}, '▶ Run')) : null)},
    ],
  });
}
