// Environments.

import {h} from '../dom.js';
import {localTime} from '../format.js';
import {listPage} from '../listing.js';
import {href} from '../router.js';
import {can} from '../session.js';
import {link} from '../ui.js';

export async function render(view) {
  const newBtn = can('environments:create') ? link(href('environments/new'), h('span', {class: 'btn primary'}, 'New environment')) : null;
  await listPage(view, {
    title: 'Environments', subtitle: 'Named variables that executions read as env().',
    path: '/environments', key: 'environments', noun: 'environments', fields: 'id,name,description,scope,created_at,updated_at',
    actions: newBtn, emptyAction: newBtn,
    columns: [
      {label: 'Name', key: 'name', cell: (e) => link(href(`environments/${encodeURIComponent(e.name)}`), e.name)},
      {label: 'Description', cls: 'desc', cell: (e) => e.description || ''},
      {label: 'Scope', key: 'scope', narrow: true, cell: (e) => e.scope},
      {label: 'Updated', key: 'updated_at', narrow: true, cell: (e) => localTime(e.updated_at || e.created_at)},
    ],
  });
}
