// Upload or edit a definition (workflow, workbook, ad-hoc action): YAML
// with live feedback from the API's validate endpoint before saving, and
// the graph of what is being written.

import {api} from '../api.js';
import {h, clear} from '../dom.js';
import {buildGraph, findWorkflow, workflowNames} from '../graph/spec.js';
import {GraphView} from '../graph/view.js';
import {href, navigate} from '../router.js';
import {can} from '../session.js';
import {link, toast, codeBlock} from '../ui.js';
import {parseYaml} from '../yaml.js';

const KINDS = {
  workflows: {noun: 'workflow', title: 'Workflow', template: `---
version: '2.0'

my_workflow:
  description: Says hello.
  input:
    - name: world
  output:
    greeting: <% $.greeting %>
  tasks:
    hello:
      action: std.echo output="Hello, <% $.name %>!"
      publish:
        greeting: <% task().result %>
`},
  workbooks: {noun: 'workbook', title: 'Workbook', template: `---
version: '2.0'
name: my_workbook

workflows:
  main:
    tasks:
      first:
        action: std.noop
        on-success: second
      second:
        action: std.echo output="done"
`},
  actions: {noun: 'action', title: 'Ad-hoc action', template: `---
version: '2.0'

my_echo:
  base: std.echo
  base-input:
    output: "Hi <% $.name %>"
  input:
    - name
`},
};

export async function render(view) {
  const kind = location.pathname.includes('/workbooks/') ? 'workbooks' : location.pathname.includes('/actions/') ? 'actions' : 'workflows';
  const info = KINDS[kind];
  const id = view.params.id;
  let existing = null;
  if (id) existing = await api.get(`/${kind}/${encodeURIComponent(id)}`, null, {signal: view.abort.signal});
  const creating = !existing;
  const rule = `${kind}:${creating ? 'create' : 'update'}`;

  const area = h('textarea', {id: 'definition', spellcheck: 'false', 'aria-label': 'Definition (YAML)', autocapitalize: 'off', autocomplete: 'off'},
    existing ? existing.definition : info.template);
  const status = h('div', {class: 'validation', role: 'status', 'aria-live': 'polite'});
  const preview = h('div');
  const namespace = h('input', {id: 'def-namespace', type: 'text', value: existing?.namespace || '', placeholder: 'default', disabled: !creating});
  const scope = h('select', {id: 'def-scope'}, h('option', {value: 'private'}, 'private'),
    can(`${kind}:publicize`) ? h('option', {value: 'public', selected: existing?.scope === 'public'}, 'public') : null);
  const save = h('button', {class: 'btn primary', id: 'def-save', disabled: !can(rule, existing?.project_id)}, creating ? `Create ${info.noun}` : 'Save');
  const error = h('div', {class: 'form-error', role: 'alert', hidden: true});

  let timer = null;
  let seq = 0;
  let graphView = null;
  async function validate() {
    const mine = ++seq;
    const text = area.value;
    error.hidden = true;
    let doc;
    try {
      doc = parseYaml(text);
    } catch (e) {
      status.className = 'validation bad';
      status.textContent = `YAML: ${e.message}`;
      return false;
    }
    drawPreview(doc);
    status.className = 'validation';
    status.textContent = 'Checking with the server…';
    try {
      const r = await api.postText(`/${kind}/validate`, text);
      if (mine !== seq) return r.valid;
      status.className = `validation ${r.valid ? 'ok' : 'bad'}`;
      status.textContent = r.valid ? '✓ Valid' : `✗ ${r.error}`;
      return r.valid;
    } catch (e) {
      if (mine === seq) { status.className = 'validation bad'; status.textContent = e.message; }
      return false;
    }
  }

  function drawPreview(doc) {
    if (kind === 'actions') {
      clear(preview).append(h('h3', 'Highlighted'), codeBlock(area.value));
      return;
    }
    const names = workflowNames(doc);
    const name = names[0];
    const spec = name ? findWorkflow(doc, name) : null;
    if (graphView) { graphView.destroy(); graphView = null; }
    clear(preview);
    if (!spec) { preview.append(h('p', {class: 'muted'}, 'No workflow to draw yet.')); return; }
    preview.append(h('h3', names.length > 1 ? `Graph of ${name} (first of ${names.length})` : `Graph of ${name}`));
    const box = h('div');
    preview.append(box);
    try { graphView = new GraphView(box, buildGraph(spec)); } catch (e) { box.append(h('p', {class: 'form-error'}, e.message)); }
  }

  area.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(validate, 600); });
  area.addEventListener('keydown', (e) => {
    // Tab indents (two spaces) instead of leaving the editor; Esc then Tab leaves.
    if (e.key === 'Tab' && !e.shiftKey && !area.dataset.escaped) {
      e.preventDefault();
      const {selectionStart: a, selectionEnd: b} = area;
      area.setRangeText('  ', a, b, 'end');
      area.dispatchEvent(new Event('input'));
    } else if (e.key === 'Escape') { area.dataset.escaped = '1'; } else { delete area.dataset.escaped; }
    if ((e.ctrlKey || e.metaKey) && e.key === 's') { e.preventDefault(); save.click(); }
  });
  view.onCleanup(() => { clearTimeout(timer); graphView?.destroy(); });

  save.addEventListener('click', async () => {
    save.disabled = true;
    try {
      if (!(await validate())) { error.hidden = false; error.textContent = 'Fix the problems shown above before saving.'; return; }
      const params = {scope: scope.value};
      if (namespace.value.trim()) params.namespace = namespace.value.trim();
      let result;
      if (creating) result = await api.postText(`/${kind}`, area.value, params);
      else if (kind === 'workflows') result = await api.putText(`/workflows/${existing.id}`, area.value, params);
      else result = await api.putText(`/${kind}`, area.value, params);
      toast(`${info.title} saved`, 'ok');
      const saved = result?.[kind]?.[0] || result;
      if (kind === 'workflows') navigate(`workflows/${saved.id}`);
      else navigate(`${kind}/${encodeURIComponent(saved.name)}${saved.namespace ? `?namespace=${encodeURIComponent(saved.namespace)}` : ''}`);
    } catch (e) {
      error.hidden = false;
      error.textContent = e.message;
    } finally { save.disabled = false; }
  });

  const back = existing ? (kind === 'workflows' ? `workflows/${existing.id}` : `${kind}/${encodeURIComponent(existing.name)}`) : kind;
  view.main.append(
    h('div', {class: 'page-head'}, h('div', {class: 'titles'},
      h('div', {class: 'crumbs'}, link(href(kind), info.title + 's'), existing ? [' / ', link(href(back), existing.name)] : null),
      h('h1', creating ? `New ${info.noun}` : `Edit ${existing.name}`),
      h('div', {class: 'sub'}, 'Checked by the server as you type (Ctrl+S saves; Esc then Tab leaves the editor).')),
    h('div', {class: 'actions'}, save, link(href(back), h('span', {class: 'btn'}, 'Cancel')))),
    h('div', {class: 'filters'},
      h('div', {class: 'field'}, h('label', {for: 'def-namespace'}, 'Namespace'), namespace),
      h('div', {class: 'field'}, h('label', {for: 'def-scope'}, 'Scope'), scope)),
    error,
    h('div', {class: 'editor'}, h('div', status, area), preview));
  validate();
}
