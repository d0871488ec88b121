// One environment: its variables; create and edit (YAML or JSON).

import {api} from '../api.js';
import {h, clear} from '../dom.js';
import {localTime, jsonField} from '../format.js';
import {href, navigate} from '../router.js';
import {can} from '../session.js';
import {facts, link, jsonView, toast} from '../ui.js';
import {deleteButton} from '../definition.js';
import {parseYaml, dumpYaml} from '../yaml.js';

export async function render(view) {
  const name = view.params.id;
  let env = null;
  if (name) env = await api.get(`/environments/${encodeURIComponent(name)}`, null, {signal: view.abort.signal});
  const box = h('div');
  view.main.append(box);

  function show() {
    clear(box).append(h('div', {class: 'page-head'},
      h('div', {class: 'titles'}, h('div', {class: 'crumbs'}, link(href('environments'), 'Environments')), h('h1', env.name, h('span', {class: 'tag'}, env.scope)),
        h('div', {class: 'sub'}, env.description || '')),
      h('div', {class: 'actions'},
        can('environments:update', env.project_id) ? h('button', {class: 'btn', onclick: edit}, 'Edit') : null,
        can('environments:delete', env.project_id) ? deleteButton(`environment ${env.name}`, `/environments/${encodeURIComponent(env.name)}`, null, 'environments') : null)),
    facts([['Project', env.project_id], ['Created', localTime(env.created_at)], ['Updated', localTime(env.updated_at)]]),
    h('h3', 'Variables'), jsonView(jsonField(env.variables), {filename: `${env.name}.json`}));
  }

  function edit() {
    const creating = !env;
    const nameIn = h('input', {id: 'env-name', type: 'text', value: env?.name || '', required: true, disabled: !creating});
    const desc = h('input', {id: 'env-description', type: 'text', value: env?.description || ''});
    const vars = h('textarea', {id: 'env-variables', rows: 14, spellcheck: 'false'}, env ? dumpYaml(jsonField(env.variables) || {}) : 'key: value\n');
    const status = h('div', {class: 'validation', role: 'status'});
    const error = h('div', {class: 'form-error', role: 'alert', hidden: true});
    const check = () => {
      try {
        const value = parseYaml(vars.value);
        if (value !== null && value !== undefined && (typeof value !== 'object' || Array.isArray(value))) throw new Error('The variables must be a mapping (key: value).');
        status.className = 'validation ok';
        status.textContent = '✓ Valid';
        return {ok: true, value: value || {}};
      } catch (e) {
        status.className = 'validation bad';
        status.textContent = e.message;
        return {ok: false};
      }
    };
    vars.addEventListener('input', check);
    check();
    clear(box).append(h('div', {class: 'page-head'}, h('div', {class: 'titles'},
      h('div', {class: 'crumbs'}, link(href('environments'), 'Environments')), h('h1', creating ? 'New environment' : `Edit ${env.name}`))),
    h('form', {class: 'card pad', onsubmit: async (e) => {
      e.preventDefault();
      const parsed = check();
      if (!parsed.ok || !nameIn.value.trim()) { error.hidden = false; error.textContent = nameIn.value.trim() ? 'Fix the variables first.' : 'A name is needed.'; return; }
      const body = {name: nameIn.value.trim(), description: desc.value, variables: parsed.value};
      try {
        env = creating ? await api.post('/environments', body) : await api.put('/environments', body);
        toast('Environment saved', 'ok');
        if (creating) navigate(`environments/${encodeURIComponent(env.name)}`); else show();
      } catch (err) { error.hidden = false; error.textContent = err.message; }
    }},
    error,
    h('div', {class: 'field'}, h('label', {for: 'env-name'}, 'Name'), nameIn),
    h('div', {class: 'field'}, h('label', {for: 'env-description'}, 'Description'), desc),
    h('div', {class: 'field'}, h('label', {for: 'env-variables'}, 'Variables', h('span', {class: 'hint'}, ' (YAML or JSON mapping)')), vars, status),
    h('div', {class: 'actions'}, h('button', {class: 'btn primary', type: 'submit'}, 'Save'),
      h('button', {class: 'btn', type: 'button', onclick: () => (creating ? navigate('environments') : show())}, 'Cancel'))));
    (creating ? nameIn : vars).focus();
  }

  if (env) show(); else edit();
}
