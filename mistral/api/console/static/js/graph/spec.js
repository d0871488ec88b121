// A workflow definition as a graph: tasks are nodes; on-success, on-error
// and on-complete transitions (with their conditions) or, for reverse
// workflows, `requires` are edges; engine commands (fail, succeed, pause)
// are nodes of their own. Pure functions over the parsed YAML.

const COMMANDS = new Set(['fail', 'succeed', 'pause', 'noop']);
const TRANSITIONS = ['on-success', 'on-error', 'on-complete', 'on-skip'];
const RESERVED = new Set(['version', 'name', 'description', 'tags', 'workflows', 'actions']);

function isObject(v) { return v !== null && typeof v === 'object' && !Array.isArray(v); }

// The spec of workflow `name` in a parsed document (a workflow file with
// one or more workflows, or a workbook), or null.
export function findWorkflow(doc, name) {
  if (!isObject(doc)) return null;
  const short = name && name.includes('.') ? name.slice(name.lastIndexOf('.') + 1) : name;
  const pools = [];
  if (isObject(doc.workflows)) pools.push(doc.workflows);
  pools.push(doc);
  for (const pool of pools) {
    for (const key of [name, short]) {
      if (key && isObject(pool[key]) && !(pool === doc && RESERVED.has(key))) return pool[key];
    }
  }
  // A document with a single workflow.
  for (const pool of pools) {
    const keys = Object.keys(pool).filter((k) => isObject(pool[k]) && !(pool === doc && RESERVED.has(k)));
    if (keys.length === 1) return pool[keys[0]];
  }
  return null;
}

// Names of the workflows of a document.
export function workflowNames(doc) {
  if (!isObject(doc)) return [];
  if (isObject(doc.workflows)) return Object.keys(doc.workflows);
  return Object.keys(doc).filter((k) => !RESERVED.has(k) && isObject(doc[k]));
}

function firstWord(text) {
  return String(text ?? '').trim().split(/\s+/)[0] || '';
}

// [{target, condition, params}] of one on-* clause, in any of its forms.
export function parseTransitions(clause) {
  if (clause === null || clause === undefined) return [];
  if (isObject(clause) && ('next' in clause || 'publish' in clause)) {
    return parseTransitions(clause.next);
  }
  const list = Array.isArray(clause) ? clause : [clause];
  const out = [];
  for (const item of list) {
    if (typeof item === 'string') {
      out.push(target(item, null));
    } else if (isObject(item)) {
      for (const [key, cond] of Object.entries(item)) {
        out.push(target(key, cond === null || cond === undefined ? null : String(cond)));
      }
    }
  }
  return out;
}

function target(text, condition) {
  const str = String(text).trim();
  if (/^(<%|\{\{)/.test(str)) return {target: str, condition, dynamic: true};
  const word = firstWord(str);
  return {target: word, condition, params: str.slice(word.length).trim() || null};
}

function asList(v) {
  if (v === null || v === undefined) return [];
  return Array.isArray(v) ? v.map(String) : [String(v)];
}

// Badges shown on a task node.
export function badges(task) {
  const out = [];
  if (task['with-items'] !== undefined) {
    const c = task.concurrency !== undefined ? ` ×${task.concurrency}` : '';
    out.push({kind: 'with-items', label: `with-items${c}`, title: `with-items: ${asList(task['with-items']).join(', ')}`});
  }
  if (task.retry !== undefined) {
    const r = isObject(task.retry) ? task.retry : {};
    out.push({kind: 'retry', label: `retry ${r.count ?? ''}`.trim(), title: `retry: ${JSON.stringify(task.retry)}`});
  }
  for (const key of ['wait-before', 'wait-after']) {
    if (task[key] !== undefined) out.push({kind: 'wait', label: `${key === 'wait-before' ? 'wait ▸' : '▸ wait'} ${task[key]}s`, title: `${key}: ${task[key]}`});
  }
  if (task.timeout !== undefined) out.push({kind: 'timeout', label: `timeout ${task.timeout}s`, title: `timeout: ${task.timeout}`});
  if (task['pause-before']) out.push({kind: 'pause', label: 'pause-before', title: 'pause-before'});
  if (task.join !== undefined) out.push({kind: 'join', label: `join ${task.join}`, title: `join: ${task.join}`});
  if (task['safe-rerun']) out.push({kind: 'safe', label: 'safe-rerun', title: 'safe-rerun'});
  return out;
}

// The graph of workflow spec `wf`:
// {type, nodes: [{id, label, kind, detail, badges, task}], edges: [{from, to, kind, condition, defaults}]}
export function buildGraph(wf) {
  const type = (wf && wf.type) || 'direct';
  const tasks = isObject(wf?.tasks) ? wf.tasks : {};
  const defaults = isObject(wf?.['task-defaults']) ? wf['task-defaults'] : {};
  const nodes = [];
  const edges = [];
  const ids = new Set();
  const addNode = (node) => { if (!ids.has(node.id)) { ids.add(node.id); nodes.push(node); } };

  for (const [name, raw] of Object.entries(tasks)) {
    const task = isObject(raw) ? raw : {};
    const isWf = task.workflow !== undefined;
    const detail = isWf ? firstWord(task.workflow) : (task.action !== undefined ? firstWord(task.action) : 'std.noop');
    addNode({id: name, label: name, kind: isWf ? 'workflow' : 'task', detail, badges: badges(task), task});
  }
  if (type === 'reverse') {
    for (const [name, raw] of Object.entries(tasks)) {
      for (const req of asList(isObject(raw) ? raw.requires : null)) {
        if (!ids.has(req)) addNode({id: req, label: req, kind: 'missing', detail: 'not defined', badges: []});
        edges.push({from: req, to: name, kind: 'requires', condition: null});
      }
    }
    return {type, nodes, edges};
  }
  for (const [name, raw] of Object.entries(tasks)) {
    const task = isObject(raw) ? raw : {};
    for (const kind of TRANSITIONS) {
      const own = parseTransitions(task[kind]);
      // task-defaults add their transitions to every task that does not
      // name the same target itself.
      const fromDefaults = parseTransitions(defaults[kind]).filter((d) => !own.some((o) => o.target === d.target));
      for (const [list, isDefault] of [[own, false], [fromDefaults, true]]) {
        for (const t of list) {
          let to = t.target;
          if (t.dynamic) {
            to = `expr:${t.target}`;
            addNode({id: to, label: 'dynamic', kind: 'dynamic', detail: t.target, badges: []});
          } else if (COMMANDS.has(to) && !ids.has(to)) {
            if (to === 'noop') continue;
            to = `cmd:${t.target}`;
            addNode({id: to, label: t.target, kind: 'command', detail: t.params || '', badges: []});
          } else if (!ids.has(to)) {
            addNode({id: to, label: to, kind: 'missing', detail: 'not defined', badges: []});
          }
          edges.push({from: name, to, kind, condition: t.condition, defaults: isDefault});
        }
      }
    }
  }
  return {type, nodes, edges};
}

// Tasks that start the workflow: no incoming edge (direct), or none
// requiring them (reverse: the targets).
export function startTasks(graph) {
  const incoming = new Set(graph.edges.map((e) => e.to));
  return graph.nodes.filter((n) => n.kind === 'task' || n.kind === 'workflow').filter((n) => !incoming.has(n.id)).map((n) => n.id);
}
