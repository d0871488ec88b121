// Cron triggers and event triggers.

import {h} from '../dom.js';
import {localTime} from '../format.js';
import {listPage} from '../listing.js';
import {href} from '../router.js';
import {can} from '../session.js';
import {link} from '../ui.js';

export async function render(view) {
  const cron = location.pathname.includes('cron-triggers');
  const base = cron ? 'cron-triggers' : 'event-triggers';
  const rule = cron ? 'cron_triggers:create' : 'event_triggers:create';
  const newBtn = can(rule) ? link(href(`${base}/new`), h('span', {class: 'btn primary'}, cron ? 'New cron trigger' : 'New event trigger')) : null;
  const idOf = (t) => (cron ? encodeURIComponent(t.name) : t.id);
  await listPage(view, {
    title: cron ? 'Cron triggers' : 'Event triggers',
    subtitle: cron ? 'Workflows started on a schedule.' : 'Workflows started by notifications on the message bus.',
    path: cron ? '/cron_triggers' : '/event_triggers', key: cron ? 'cron_triggers' : 'event_triggers',
    noun: cron ? 'cron triggers' : 'event triggers', actions: newBtn, emptyAction: newBtn,
    columns: cron ? [
      {label: 'Name', key: 'name', cell: (t) => link(href(`${base}/${idOf(t)}`), t.name)},
      {label: 'Workflow', key: 'workflow_name', cell: (t) => t.workflow_name},
      {label: 'Pattern', cls: 'mono', cell: (t) => t.pattern || '—'},
      {label: 'Next run', key: 'next_execution_time', narrow: true, cell: (t) => localTime(t.next_execution_time)},
      {label: 'Left', narrow: true, num: true, cell: (t) => (t.remaining_executions ?? '∞')},
    ] : [
      {label: 'Name', key: 'name', cell: (t) => link(href(`${base}/${idOf(t)}`), t.name)},
      {label: 'Workflow', narrow: true, cls: 'mono', cell: (t) => t.workflow_id},
      {label: 'Exchange / topic', cell: (t) => `${t.exchange} / ${t.topic}`},
      {label: 'Event', cls: 'mono', cell: (t) => t.event},
    ],
  });
}
