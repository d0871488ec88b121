// One cron or event trigger.

import {api} from '../api.js';
import {h} from '../dom.js';
import {localTime, jsonField} from '../format.js';
import {href} from '../router.js';
import {can} from '../session.js';
import {facts, link, jsonView} from '../ui.js';
import {deleteButton} from '../definition.js';

export async function render(view) {
  const cron = location.pathname.includes('cron-triggers');
  const base = cron ? 'cron-triggers' : 'event-triggers';
  const path = `${cron ? '/cron_triggers' : '/event_triggers'}/${encodeURIComponent(view.params.id)}`;
  const t = await api.get(path, null, {signal: view.abort.signal});
  view.main.append(h('div', {class: 'page-head'},
    h('div', {class: 'titles'}, h('div', {class: 'crumbs'}, link(href(base), cron ? 'Cron triggers' : 'Event triggers')),
      h('h1', t.name, h('span', {class: 'tag'}, t.scope || 'private'))),
    h('div', {class: 'actions'}, can(`${cron ? 'cron_triggers' : 'event_triggers'}:delete`, t.project_id) ? deleteButton(`trigger ${t.name}`, path, null, base) : null)),
  facts(cron ? [
    ['Workflow', link(href(`workflows/${t.workflow_id}`), t.workflow_name)], ['Pattern', h('code', t.pattern || '—')],
    ['First run', localTime(t.first_execution_time)], ['Next run', localTime(t.next_execution_time)],
    ['Runs left', t.remaining_executions ?? 'unlimited'], ['Created', localTime(t.created_at)],
  ] : [
    ['Workflow', link(href(`workflows/${t.workflow_id}`), t.workflow_id)], ['Exchange', t.exchange], ['Topic', t.topic],
    ['Event', h('code', t.event)], ['Created', localTime(t.created_at)],
  ]),
  h('div', {class: 'grid-2'},
    h('div', h('h3', 'Workflow input'), jsonView(jsonField(t.workflow_input))),
    h('div', h('h3', 'Workflow parameters'), jsonView(jsonField(t.workflow_params)))));
}
