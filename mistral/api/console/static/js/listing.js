// A list page of one API resource: server-side paging (marker), a name
// filter, sortable columns, empty and error states.

import {api, nextMarker} from './api.js';
import {h, clear} from './dom.js';
import {setQuery} from './router.js';
import {empty, errorBox, spinner} from './ui.js';

// columns: [{label, key (sortable column) , cell(row) -> node, narrow}]
export async function listPage(view, opts) {
  const q = view.query;
  const state = {text: q.q || '', sort: q.sort || opts.sort || 'name', dir: q.dir || opts.dir || 'asc', marker: q.marker || null};
  const markers = [];
  const main = view.main;
  const search = h('input', {type: 'search', placeholder: opts.searchLabel || 'Filter by name', value: state.text, 'data-search': '', 'aria-label': opts.searchLabel || 'Filter by name'});
  const extra = opts.extraFilters ? opts.extraFilters(() => { state.marker = null; markers.length = 0; load(); }) : null;
  main.append(h('div', {class: 'page-head'},
    h('div', {class: 'titles'}, h('h1', opts.title), opts.subtitle ? h('div', {class: 'sub'}, opts.subtitle) : null),
    h('div', {class: 'actions'}, opts.actions || null)),
  h('form', {class: 'filters', role: 'search', onsubmit: (e) => { e.preventDefault(); state.text = search.value.trim(); state.marker = null; markers.length = 0; load(); }},
    search, extra, h('button', {class: 'btn', type: 'submit'}, 'Filter')));
  const body = h('div', {class: 'card'});
  main.append(body);

  async function load() {
    setQuery({q: state.text, sort: state.sort === (opts.sort || 'name') ? '' : state.sort, dir: state.dir === (opts.dir || 'asc') ? '' : state.dir, marker: state.marker || ''});
    clear(body).append(spinner());
    let page;
    try {
      const params = {limit: opts.limit || 50, marker: state.marker || undefined, sort_keys: state.sort, sort_dirs: state.dir, ...(opts.params ? opts.params() : {})};
      if (opts.fields) params.fields = opts.fields;
      if (state.text) params[opts.searchKey || 'name'] = `has:${state.text}`;
      page = await api.get(opts.path, params, {signal: view.abort.signal});
    } catch (e) {
      if (e.name === 'AbortError') return;
      clear(body).append(errorBox(e, load));
      return;
    }
    const rows = page[opts.key] || [];
    clear(body);
    if (!rows.length && !state.marker) {
      body.append(state.text || opts.filtered?.()
        ? empty(`No ${opts.noun || 'items'} match`, 'Change or clear the filter.')
        : empty(`No ${opts.noun || 'items'} yet`, opts.emptyText || '', opts.emptyAction || null));
      return;
    }
    const th = (col) => {
      if (!col.key) return h('th', {class: [col.narrow ? 'hide-narrow' : '', col.num ? 'num' : '']}, col.label);
      const active = state.sort === col.key;
      return h('th', {class: col.narrow ? 'hide-narrow' : ''}, h('button', {class: 'sort', 'aria-sort': active ? (state.dir === 'asc' ? 'ascending' : 'descending') : null,
        onclick: () => {
          if (active) state.dir = state.dir === 'asc' ? 'desc' : 'asc'; else { state.sort = col.key; state.dir = 'asc'; }
          state.marker = null; markers.length = 0; load();
        }}, col.label));
    };
    const table = h('table', {class: 'list'},
      h('thead', h('tr', opts.columns.map(th))),
      h('tbody', rows.map((row) => h('tr', opts.columns.map((col) => h('td', {class: [col.narrow ? 'hide-narrow' : '', col.num ? 'num' : '', col.cls || '']}, col.cell(row)))))));
    const next = nextMarker(page);
    body.append(h('div', {class: 'table-wrap'}, table), h('div', {class: 'pager'},
      h('span', {class: 'muted'}, `${rows.length} shown · page ${markers.length + 1}`),
      h('button', {class: 'btn small', disabled: !markers.length && !state.marker, onclick: () => { state.marker = markers.pop() || null; load(); }}, '← Previous'),
      h('button', {class: 'btn small', disabled: !next, onclick: () => { markers.push(state.marker); state.marker = next; load(); }}, 'Next →')));
  }
  await load();
  return {reload: load};
}
