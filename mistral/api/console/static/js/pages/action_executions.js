// Action executions (of tasks, and those run on their own).

import {h} from '../dom.js';
import {localTime, shortId} from '../format.js';
import {listPage} from '../listing.js';
import {href} from '../router.js';
import {link, stateBadge} from '../ui.js';

export async function render(view) {
  const state = h('select', {'aria-label': 'State'}, h('option', {value: ''}, 'Any state'),
    ['RUNNING', 'SUCCESS', 'ERROR', 'CANCELLED', 'PAUSED'].map((s) => h('option', {value: s}, s)));
  await listPage(view, {
    title: 'Action runs', subtitle: 'Action executions, newest first: waiting asynchronous actions can be completed from here.',
    path: '/action_executions', key: 'action_executions', noun: 'action executions', sort: 'created_at', dir: 'desc',
    fields: 'id,name,state,state_info,workflow_name,task_execution_id,created_at,updated_at',
    params: () => (state.value ? {state: state.value} : {}),
    filtered: () => Boolean(state.value),
    extraFilters: (reload) => { state.addEventListener('change', reload); return state; },
    columns: [
      {label: 'State', key: 'state', cell: (a) => stateBadge(a.state)},
      {label: 'Action', key: 'name', cell: (a) => link(href(`action-executions/${a.id}`), `${a.name} ${shortId(a.id)}`)},
      {label: 'Task', narrow: true, cell: (a) => (a.task_execution_id ? link(href(`tasks/${a.task_execution_id}`), `${a.workflow_name || ''} task`) : h('span', {class: 'muted'}, 'run on its own'))},
      {label: 'Started', key: 'created_at', narrow: true, cell: (a) => localTime(a.created_at)},
      {label: 'State info', cls: 'desc', cell: (a) => a.state_info || ''},
    ],
  });
}
