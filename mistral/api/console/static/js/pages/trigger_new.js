// Create a cron or an event trigger.

import {api} from '../api.js';
import {h} from '../dom.js';
import {href, navigate} from '../router.js';
import {link, toast} from '../ui.js';
import {jsonField as jsonInput} from '../commands.js';

export async function render(view) {
  const cron = location.pathname.includes('cron-triggers');
  const base = cron ? 'cron-triggers' : 'event-triggers';
  const workflows = (await api.get('/workflows', {fields: 'id,name', limit: 1000, sort_keys: 'name'}, {signal: view.abort.signal})).workflows || [];
  const field = (label, control, hint) => h('div', {class: 'field'}, h('label', {for: control.id}, label, hint ? h('span', {class: 'hint'}, ` ${hint}`) : null), control);
  const name = h('input', {id: 'tr-name', type: 'text', required: true});
  const wf = h('select', {id: 'tr-workflow'}, workflows.map((w) => h('option', {value: w.id}, w.name)));
  const input = jsonInput('Workflow input', {id: 'tr-input', value: '{}', rows: 3});
  const params = jsonInput('Workflow parameters', {id: 'tr-params', value: '{}', rows: 3});
  const pattern = h('input', {id: 'tr-pattern', type: 'text', value: '0 * * * *'});
  const first = h('input', {id: 'tr-first', type: 'datetime-local'});
  const count = h('input', {id: 'tr-count', type: 'number', min: 1});
  const exchange = h('input', {id: 'tr-exchange', type: 'text', value: 'openstack'});
  const topic = h('input', {id: 'tr-topic', type: 'text', value: 'notifications'});
  const event = h('input', {id: 'tr-event', type: 'text', placeholder: 'compute.instance.create.end'});
  const error = h('div', {class: 'form-error', role: 'alert', hidden: true});
  const submit = h('button', {class: 'btn primary', type: 'submit'}, 'Create');
  view.main.append(h('div', {class: 'page-head'}, h('div', {class: 'titles'},
    h('div', {class: 'crumbs'}, link(href(base), cron ? 'Cron triggers' : 'Event triggers')), h('h1', cron ? 'New cron trigger' : 'New event trigger'))),
  workflows.length ? h('form', {class: 'card pad', onsubmit: async (e) => {
    e.preventDefault();
    const i = input.check(), p = params.check();
    if (!i.ok || !p.ok) return;
    const body = {name: name.value.trim(), workflow_id: wf.value, workflow_input: i.empty ? {} : i.value, workflow_params: p.empty ? {} : p.value};
    if (cron) {
      body.pattern = pattern.value.trim() || undefined;
      if (first.value) body.first_execution_time = first.value.replace('T', ' ').slice(0, 16);
      if (count.value) body.remaining_executions = Number(count.value);
    } else Object.assign(body, {exchange: exchange.value.trim(), topic: topic.value.trim(), event: event.value.trim()});
    submit.disabled = true;
    try {
      const t = await api.post(cron ? '/cron_triggers' : '/event_triggers', body);
      toast('Trigger created', 'ok');
      navigate(`${base}/${cron ? encodeURIComponent(t.name) : t.id}`);
    } catch (err) { error.hidden = false; error.textContent = err.message; submit.disabled = false; }
  }}, error, field('Name', name), field('Workflow', wf), input.el, params.el,
  cron ? [field('Pattern', pattern, '(cron syntax, UTC)'), field('First run', first, '(optional, UTC)'), field('Number of runs', count, '(optional, unlimited when empty)')]
    : [field('Exchange', exchange), field('Topic', topic), field('Event', event)],
  h('div', {class: 'actions'}, submit, link(href(base), h('span', {class: 'btn'}, 'Cancel'))))
    : h('p', {class: 'muted'}, 'Create a workflow first: a trigger starts one.'));
}
