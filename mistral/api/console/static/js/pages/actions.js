// Actions: the system actions and ad-hoc actions.

import {h} from '../dom.js';
import {listPage} from '../listing.js';
import {href} from '../router.js';
import {can} from '../session.js';
import {link} from '../ui.js';

export async function render(view) {
  const newBtn = can('actions:create') ? link(href('actions/new'), h('span', {class: 'btn primary'}, 'New ad-hoc action')) : null;
  const kind = h('select', {'aria-label': 'Kind'}, h('option', {value: ''}, 'All actions'),
    h('option', {value: 'false', selected: view.query.system === 'false'}, 'Ad-hoc only'), h('option', {value: 'true', selected: view.query.system === 'true'}, 'System only'));
  await listPage(view, {
    title: 'Actions', subtitle: 'What tasks can run: built-in (system) actions and ad-hoc actions defined in YAML.',
    path: '/actions', key: 'actions', noun: 'actions', fields: 'id,name,namespace,is_system,input,description,scope',
    actions: newBtn, emptyAction: newBtn, limit: 100,
    params: () => (kind.value ? {is_system: kind.value} : {}),
    filtered: () => Boolean(kind.value),
    extraFilters: (reload) => { kind.addEventListener('change', reload); return kind; },
    columns: [
      {label: 'Name', key: 'name', cell: (a) => link(href(`actions/${encodeURIComponent(a.name)}${a.namespace ? `?namespace=${encodeURIComponent(a.namespace)}` : ''}`), a.name)},
      {label: 'Kind', cell: (a) => (a.is_system ? h('span', {class: 'muted'}, 'system') : h('span', {class: 'tag'}, 'ad-hoc'))},
      {label: 'Input', narrow: true, cls: 'desc mono', cell: (a) => a.input || ''},
      {label: 'Description', narrow: true, cls: 'desc', cell: (a) => a.description || ''},
    ],
  });
}
