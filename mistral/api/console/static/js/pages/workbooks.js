// Workbooks.

import {h} from '../dom.js';
import {localTime} from '../format.js';
import {listPage} from '../listing.js';
import {href} from '../router.js';
import {can} from '../session.js';
import {link} from '../ui.js';

export async function render(view) {
  const newBtn = can('workbooks:create') ? link(href('workbooks/new'), h('span', {class: 'btn primary'}, 'New workbook')) : null;
  await listPage(view, {
    title: 'Workbooks', subtitle: 'Documents that bundle workflows and ad-hoc actions.',
    path: '/workbooks', key: 'workbooks', noun: 'workbooks', fields: 'id,name,namespace,scope,tags,created_at,updated_at',
    actions: newBtn, emptyAction: newBtn, emptyText: 'A workbook groups related workflows and actions in one document.',
    columns: [
      {label: 'Name', key: 'name', cell: (w) => link(href(`workbooks/${encodeURIComponent(w.name)}${w.namespace ? `?namespace=${encodeURIComponent(w.namespace)}` : ''}`), w.name)},
      {label: 'Namespace', key: 'namespace', narrow: true, cell: (w) => w.namespace || h('span', {class: 'muted'}, '—')},
      {label: 'Scope', key: 'scope', cell: (w) => [w.scope, ...(w.tags || []).map((t) => h('span', {class: 'tag'}, t))]},
      {label: 'Updated', key: 'updated_at', narrow: true, cell: (w) => localTime(w.updated_at || w.created_at)},
    ],
  });
}
