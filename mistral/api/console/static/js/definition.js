// Shared parts of the definition pages: the YAML with highlighting, the
// graphs of the workflows it holds, and the delete command.

import {api} from './api.js';
import {h} from './dom.js';
import {buildGraph, findWorkflow, workflowNames} from './graph/spec.js';
import {GraphView} from './graph/view.js';
import {navigate} from './router.js';
import {codeBlock, confirm, busy, toast, empty} from './ui.js';
import {parseYaml} from './yaml.js';

export function graphsOf(view, box, definition, only) {
  let doc;
  try { doc = parseYaml(definition); } catch (e) { box.append(h('p', {class: 'form-error'}, e.message)); return; }
  const names = only ? [only] : workflowNames(doc);
  if (!names.length) { box.append(empty('No workflows', 'This definition holds no workflow to draw.')); return; }
  for (const name of names) {
    const spec = findWorkflow(doc, name);
    if (!spec) continue;
    if (names.length > 1) box.append(h('h3', name));
    const holder = h('div');
    box.append(holder);
    const graph = buildGraph(spec);
    if (!graph.nodes.length) { holder.append(h('p', {class: 'muted'}, 'No tasks.')); continue; }
    const gv = new GraphView(holder, graph);
    view.onCleanup(() => gv.destroy());
    if (graph.type === 'reverse') holder.append(h('p', {class: 'graph-note'}, 'A reverse workflow: arrows go from a required task to the task that requires it.'));
  }
}

export function yamlOf(definition) {
  return codeBlock(definition);
}

export function deleteButton(label, path, params, after) {
  return h('button', {class: 'btn danger', onclick: async (e) => {
    const btn = e.currentTarget;
    if (!(await confirm(`Delete ${label}?`, 'This cannot be undone.', {danger: true, ok: 'Delete'}))) return;
    busy(btn, async () => {
      await api.del(path, params);
      toast(`${label} deleted`, 'ok');
      navigate(after);
    });
  }}, 'Delete');
}
