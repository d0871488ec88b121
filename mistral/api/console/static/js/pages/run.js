// Start an execution of a workflow from a form built from its input spec.

import {api} from '../api.js';
import {h} from '../dom.js';
import {jsonField} from '../format.js';
import {inputSpec, inputField} from '../forms.js';
import {buildGraph, findWorkflow} from '../graph/spec.js';
import {href, navigate} from '../router.js';
import {link, toast} from '../ui.js';
import {jsonField as jsonInput} from '../commands.js';
import {parseYaml} from '../yaml.js';

export async function render(view) {
  const wf = await api.get(`/workflows/${encodeURIComponent(view.params.id)}`, null, {signal: view.abort.signal});
  const iface = jsonField(wf.interface) || {};
  const specs = inputSpec(iface);
  const fields = specs.map((s) => inputField(s));
  let type = 'direct';
  let taskNames = [];
  try {
    const spec = findWorkflow(parseYaml(wf.definition), wf.name);
    type = spec?.type || 'direct';
    taskNames = buildGraph(spec).nodes.filter((n) => n.kind === 'task' || n.kind === 'workflow').map((n) => n.id);
  } catch { /* the server validated it; the form works without */ }

  const envs = await api.get('/environments', {fields: 'name', limit: 1000}).then((r) => r.environments || []).catch(() => []);
  const description = h('input', {id: 'run-description', type: 'text', placeholder: 'optional'});
  const envSel = h('select', {id: 'run-env'}, h('option', {value: ''}, 'No environment'),
    envs.map((e) => h('option', {value: e.name}, e.name)), h('option', {value: '__json'}, 'Custom (JSON)…'));
  const envJson = jsonInput('Environment (JSON object)', {id: 'run-env-json', rows: 4});
  envJson.el.hidden = true;
  envSel.addEventListener('change', () => { envJson.el.hidden = envSel.value !== '__json'; });
  const taskSel = type === 'reverse' ? h('select', {id: 'run-task'}, taskNames.map((n) => h('option', {value: n}, n))) : null;
  const error = h('div', {class: 'form-error', role: 'alert', hidden: true});
  const submit = h('button', {class: 'btn primary', type: 'submit', id: 'run-submit'}, '▶ Start');

  const form = h('form', {class: 'card pad', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    error.hidden = true;
    const input = {};
    let ok = true;
    for (const f of fields) {
      const r = f.read();
      if (!r.ok) { if (ok) f.control.focus(); ok = false; continue; }
      if (!r.skip) input[f.name] = r.value;
    }
    const params = {};
    if (envSel.value === '__json') {
      const env = envJson.check();
      if (!env.ok || env.empty) { ok = false; if (env.empty) envJson.area.focus(); }
      else params.env = env.value;
    } else if (envSel.value) params.env = envSel.value;
    if (taskSel) params.task_name = taskSel.value;
    if (!ok) { error.hidden = false; error.textContent = 'Some values are not valid: see the fields marked in red.'; return; }
    submit.disabled = true;
    try {
      const body = {workflow_id: wf.id, input, params};
      if (description.value.trim()) body.description = description.value.trim();
      const ex = await api.post('/executions', body);
      toast('Execution started', 'ok');
      navigate(`executions/${ex.id}`);
    } catch (err) {
      error.hidden = false;
      error.textContent = err.message;
      submit.disabled = false;
    }
  }},
  h('h2', 'Input'),
  fields.length ? fields.map((f) => f.el) : h('p', {class: 'muted'}, 'This workflow takes no input.'),
  h('h2', 'Options'),
  taskSel ? h('div', {class: 'field'}, h('label', {for: 'run-task'}, 'Target task', h('span', {class: 'hint'}, ' (a reverse workflow runs what this task requires)')), taskSel) : null,
  h('div', {class: 'field'}, h('label', {for: 'run-description'}, 'Description'), description),
  h('div', {class: 'field'}, h('label', {for: 'run-env'}, 'Environment'), envSel),
  envJson.el,
  error,
  h('div', {class: 'actions'}, submit, link(href(`workflows/${wf.id}`), h('span', {class: 'btn'}, 'Cancel'))));

  view.main.append(h('div', {class: 'page-head'}, h('div', {class: 'titles'},
    h('div', {class: 'crumbs'}, link(href('workflows'), 'Workflows'), ' / ', link(href(`workflows/${wf.id}`), wf.name)),
    h('h1', `Run ${wf.name}`),
    h('div', {class: 'sub'}, 'Defaults are filled in; values are checked before the execution is created.'))), form);
  (fields[0]?.control || description).focus();
}
