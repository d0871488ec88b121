// Executions: one page at a time from the server (marker paging, never
// the whole table), filters, sorting, live states, sub-execution trees.

import {api, nextMarker} from '../api.js';
import {h, clear} from '../dom.js';
import {localTime, relativeTime, duration, span, shortId, parseTime, wireTime, TERMINAL, EXECUTION_STATES} from '../format.js';
import {href, setQuery} from '../router.js';
import {can} from '../session.js';
import {stateBadge, empty, errorBox, spinner} from '../ui.js';

const PAGE = 50;
const FIELDS = 'id,workflow_name,workflow_id,workflow_namespace,state,state_info,description,created_at,updated_at,task_execution_id,root_execution_id';
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const SORTS = {created_at: 'Started', updated_at: 'Updated', workflow_name: 'Workflow', state: 'State'};

// Local datetime-local input value -> Date (or null).
function inputDate(value) {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

// The API takes one filter per column, so a two-sided time range sends one
// bound to the server and applies the other to the page; sorted by start
// time, the page is cut where the range ends and paging stops there.
export function planRange(from, to, sortKey, sortDir) {
  const server = {};
  let cut = null;
  let client = null;
  if (sortKey === 'created_at' && sortDir === 'desc') {
    if (to) server.created_at = `lte:${wireTime(to)}`;
    if (from) cut = (row) => parseTime(row.created_at) < from;
  } else if (sortKey === 'created_at') {
    if (from) server.created_at = `gte:${wireTime(from)}`;
    if (to) cut = (row) => parseTime(row.created_at) > to;
  } else if (from) {
    server.created_at = `gte:${wireTime(from)}`;
    if (to) client = (row) => parseTime(row.created_at) <= to;
  } else if (to) {
    server.created_at = `lte:${wireTime(to)}`;
  }
  return {server, cut, client};
}

// Rows of one page after the client-side bound; `ended` when the range
// ended within it (no next page then).
export function applyRange(rows, plan) {
  let out = rows;
  let ended = false;
  if (plan.cut) {
    const at = out.findIndex(plan.cut);
    if (at >= 0) { out = out.slice(0, at); ended = true; }
  }
  if (plan.client) out = out.filter(plan.client);
  return {rows: out, ended};
}

export async function render(view) {
  const q = view.query;
  const state = {
    state: q.state || '', workflow: q.workflow || '', text: q.q || '',
    from: q.from || '', to: q.to || '', sort: q.sort || 'created_at', dir: q.dir || 'desc',
    roots: q.roots !== '0', marker: q.marker || null,
  };
  const markers = []; // markers of the pages before this one
  const expanded = new Map(); // id -> children rows (or null while loading)
  let page = null;
  let names = [];

  const main = view.main;
  const head = h('div', {class: 'page-head'},
    h('div', {class: 'titles'}, h('h1', 'Executions'), h('div', {class: 'sub'}, 'Workflow runs, newest first. States update live.')),
    h('div', {class: 'actions'}, can('executions:create') ? h('a', {class: 'btn primary', href: href('workflows'), 'data-link': ''}, 'Run a workflow…') : null));

  const stateSel = h('select', {id: 'f-state', 'aria-label': 'State'}, h('option', {value: ''}, 'Any state'),
    EXECUTION_STATES.map((s) => h('option', {value: s, selected: s === state.state}, s)));
  const wfInput = h('input', {id: 'f-workflow', type: 'text', list: 'wf-names', placeholder: 'Any workflow', value: state.workflow, autocomplete: 'off'});
  const wfList = h('datalist', {id: 'wf-names'});
  const textInput = h('input', {id: 'f-text', type: 'search', placeholder: 'Description or execution id', value: state.text, 'data-search': ''});
  const fromInput = h('input', {id: 'f-from', type: 'datetime-local', value: state.from, step: 1});
  const toInput = h('input', {id: 'f-to', type: 'datetime-local', value: state.to, step: 1});
  const rootsBox = h('input', {id: 'f-roots', type: 'checkbox', checked: state.roots});
  const field = (label, input, id) => h('div', {class: 'field'}, h('label', {for: id}, label), input);
  const filters = h('form', {class: 'filters', role: 'search', onsubmit: (e) => { e.preventDefault(); apply(); }},
    field('State', stateSel, 'f-state'), field('Workflow', h('span', wfInput, wfList), 'f-workflow'),
    field('Search', textInput, 'f-text'), field('Started after', fromInput, 'f-from'), field('Started before', toInput, 'f-to'),
    h('label', {class: 'check', for: 'f-roots'}, rootsBox, 'Top-level only'),
    h('button', {class: 'btn', type: 'submit'}, 'Apply'),
    h('button', {class: 'btn', type: 'button', onclick: () => {
      stateSel.value = ''; wfInput.value = ''; textInput.value = ''; fromInput.value = ''; toInput.value = ''; rootsBox.checked = true; apply();
    }}, 'Clear'));
  stateSel.addEventListener('change', () => apply());
  rootsBox.addEventListener('change', () => apply());

  const body = h('div', {class: 'card'});
  main.append(head, filters, body);

  api.get('/workflows', {fields: 'name', limit: 1000, sort_keys: 'name'}).then((r) => {
    names = (r.workflows || []).map((w) => w.name);
    wfList.append(...names.map((n) => h('option', {value: n})));
  }).catch(() => {});

  function apply() {
    Object.assign(state, {state: stateSel.value, workflow: wfInput.value.trim(), text: textInput.value.trim(),
      from: fromInput.value, to: toInput.value, roots: rootsBox.checked, marker: null});
    markers.length = 0;
    expanded.clear();
    load(true);
  }

  function saveQuery() {
    setQuery({state: state.state, workflow: state.workflow, q: state.text, from: state.from, to: state.to,
      sort: state.sort === 'created_at' ? '' : state.sort, dir: state.dir === 'desc' ? '' : state.dir,
      roots: state.roots ? '' : '0', marker: state.marker || ''});
  }

  async function fetchPage() {
    if (state.text && UUID.test(state.text)) {
      // An id: that execution alone.
      try {
        const one = await api.get(`/executions/${encodeURIComponent(state.text)}`, null, {signal: view.abort.signal});
        return {rows: [one], next: null};
      } catch (e) {
        if (e.status === 404) return {rows: [], next: null};
        throw e;
      }
    }
    const from = inputDate(state.from), to = inputDate(state.to);
    const plan = planRange(from, to, state.sort, state.dir);
    const params = {
      limit: PAGE, marker: state.marker || undefined, fields: FIELDS,
      sort_keys: state.sort, sort_dirs: state.dir, state: state.state || undefined,
      ...plan.server,
    };
    if (state.workflow) params.workflow_name = names.includes(state.workflow) ? state.workflow : `has:${state.workflow}`;
    if (state.text) params.description = `has:${state.text}`;
    if (state.roots) params.nulls = 'root_execution_id';
    const result = await api.get('/executions', params, {signal: view.abort.signal});
    const cut = applyRange(result.executions || [], plan);
    return {rows: cut.rows, next: cut.ended ? null : nextMarker(result)};
  }

  async function load(showSpinner) {
    saveQuery();
    if (showSpinner) clear(body).append(spinner());
    try {
      page = await fetchPage();
    } catch (e) {
      if (e.name === 'AbortError') return;
      clear(body).append(errorBox(e, () => load(true)));
      return;
    }
    await refreshExpanded();
    draw();
  }

  async function refreshExpanded() {
    await Promise.all([...expanded.keys()].map(async (id) => {
      try {
        const r = await api.get(`/executions/${id}/executions`, {max_depth: 1}, {signal: view.abort.signal});
        expanded.set(id, (r.executions || []).filter((e) => e.id !== id));
      } catch { /* keep what we had */ }
    }));
  }

  async function toggle(id) {
    if (expanded.has(id)) { expanded.delete(id); draw(); return; }
    expanded.set(id, null);
    draw();
    await refreshExpanded();
    draw();
  }

  function sortHeader(key) {
    const active = state.sort === key;
    return h('th', {scope: 'col', class: key === 'workflow_name' || key === 'state' ? '' : 'hide-narrow'},
      h('button', {class: 'sort', 'aria-sort': active ? (state.dir === 'asc' ? 'ascending' : 'descending') : null,
        title: `Sort by ${SORTS[key].toLowerCase()}`,
        onclick: () => {
          if (active) state.dir = state.dir === 'desc' ? 'asc' : 'desc';
          else { state.sort = key; state.dir = key === 'created_at' || key === 'updated_at' ? 'desc' : 'asc'; }
          state.marker = null; markers.length = 0; load(true);
        }}, SORTS[key]));
  }

  function row(ex, depth) {
    const open = expanded.has(ex.id);
    const running = !TERMINAL.has(ex.state);
    const tr = h('tr', {class: depth ? 'child' : '', dataset: {id: ex.id}},
      h('td', h('button', {class: 'tree-toggle', 'aria-expanded': String(open), title: open ? 'Hide sub-executions' : 'Show sub-executions',
        'aria-label': `${open ? 'Hide' : 'Show'} sub-executions of ${ex.id}`, onclick: () => toggle(ex.id)}, open ? '▾' : '▸'),
      stateBadge(ex.state)),
      h('td', h('a', {href: href(`executions/${ex.id}`), 'data-link': '', class: 'wf-link'}, ex.workflow_name || '?'),
        h('div', {class: 'muted mono'}, shortId(ex.id))),
      h('td', {class: 'desc hide-narrow', title: ex.description || ''}, ex.description || ''),
      h('td', {class: 'hide-narrow', title: localTime(ex.created_at)}, relativeTime(ex.created_at)),
      h('td', {class: 'num hide-narrow'}, duration(span(ex.created_at, running ? null : ex.updated_at))),
      h('td', {class: 'hide-narrow', title: localTime(ex.updated_at)}, relativeTime(ex.updated_at)));
    if (depth) tr.style.setProperty('--depth', depth);
    const rows = [tr];
    if (open) {
      const children = expanded.get(ex.id);
      const note = (text) => {
        const el = h('tr', {class: 'child'}, h('td', {colspan: 6, class: 'muted'}, text));
        el.style.setProperty('--depth', depth + 1);
        return el;
      };
      if (children === null) rows.push(note('Loading…'));
      else if (!children.length) rows.push(note('No sub-executions.'));
      else for (const child of children) rows.push(...row(child, depth + 1));
    }
    return rows;
  }

  function draw() {
    clear(body);
    const rows = page?.rows || [];
    const filtered = state.state || state.workflow || state.text || state.from || state.to;
    if (!rows.length && !state.marker) {
      body.append(filtered
        ? empty('No executions match these filters', 'Change or clear the filters above.')
        : empty('No executions yet', 'Start one from a workflow.', can('executions:create') ? h('a', {class: 'btn primary', href: href('workflows'), 'data-link': ''}, 'Browse workflows') : null));
      return;
    }
    const table = h('table', {class: 'list', id: 'executions-table'},
      h('thead', h('tr', sortHeader('state'), sortHeader('workflow_name'), h('th', {class: 'hide-narrow'}, 'Description'),
        sortHeader('created_at'), h('th', {class: 'num hide-narrow'}, 'Duration'), sortHeader('updated_at'))),
      h('tbody', rows.flatMap((ex) => row(ex, 0))));
    const prev = h('button', {class: 'btn small', disabled: !markers.length && !state.marker, onclick: () => {
      state.marker = markers.pop() || null; load(true);
    }}, '← Newer');
    const next = h('button', {class: 'btn small', disabled: !page.next, onclick: () => {
      markers.push(state.marker); state.marker = page.next; load(true);
    }}, 'Older →');
    if (state.dir === 'asc' || state.sort !== 'created_at') { prev.textContent = '← Previous'; next.textContent = 'Next →'; }
    body.append(h('div', {class: 'table-wrap'}, table),
      h('div', {class: 'pager'}, h('span', {class: 'muted'}, `${rows.length} shown · page ${markers.length + 1}`), prev, next));
  }

  await load(true);
  view.poll(async () => {
    if (!page) return;
    const fresh = await fetchPage();
    await refreshExpanded();
    page = fresh;
    const focused = document.activeElement;
    const keep = focused && body.contains(focused) ? focused.closest('tr')?.dataset.id : null;
    draw();
    if (keep) body.querySelector(`tr[data-id="${keep}"] .tree-toggle`)?.focus();
  }, 3000);
}
