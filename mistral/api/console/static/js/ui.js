// Shared widgets: state badges, notices, dialogs, tabs, JSON and code views.

import {h, s, clear} from './dom.js';
import {pretty, bytes} from './format.js';
import {highlightYaml} from './yaml.js';

export function stateBadge(state) {
  const name = state || 'UNKNOWN';
  return h('span', {class: `badge st-${name}`, title: name}, h('span', {class: 'dot'}), name);
}

export function link(href, ...children) {
  return h('a', {href, 'data-link': ''}, ...children);
}

// --- notices

export function toast(message, kind = 'info') {
  let box = document.getElementById('toasts');
  if (!box) {
    box = h('div', {id: 'toasts', role: 'status', 'aria-live': 'polite'});
    document.body.append(box);
  }
  const el = h('div', {class: `toast ${kind}`}, message);
  box.append(el);
  setTimeout(() => el.classList.add('gone'), kind === 'error' ? 8000 : 3500);
  setTimeout(() => el.remove(), kind === 'error' ? 8600 : 4100);
}

export function errorBox(error, retry) {
  const status = error?.status ? `HTTP ${error.status}` : '';
  return h('div', {class: 'error-box', role: 'alert'},
    h('strong', status === 'HTTP 404' ? 'Not found' : 'Something went wrong'),
    h('p', {class: 'fault'}, error?.message || String(error)),
    status ? h('p', {class: 'muted'}, status) : null,
    retry ? h('button', {class: 'btn', onclick: retry}, 'Try again') : null);
}

export function empty(title, text, action) {
  return h('div', {class: 'empty'},
    h('div', {class: 'empty-icon', 'aria-hidden': 'true'}, '∅'),
    h('strong', title), text ? h('p', text) : null, action || null);
}

export function spinner(text = 'Loading…') {
  return h('div', {class: 'loading', role: 'status'}, h('span', {class: 'spin', 'aria-hidden': 'true'}), text);
}

// --- dialogs

// A modal dialog. `build(close)` returns its body; resolves with the value
// given to close() (undefined when dismissed).
export function dialog(title, build, {wide = false} = {}) {
  return new Promise((resolve) => {
    const previous = document.activeElement;
    const backdrop = h('div', {class: 'backdrop'});
    const box = h('div', {class: `dialog ${wide ? 'wide' : ''}`, role: 'dialog', 'aria-modal': 'true', 'aria-label': title});
    const close = (value) => {
      backdrop.remove();
      document.removeEventListener('keydown', onKey, true);
      if (previous && previous.focus) previous.focus();
      resolve(value);
    };
    const onKey = (e) => {
      if (e.key === 'Escape') { e.stopPropagation(); close(undefined); }
      if (e.key === 'Tab') {
        const items = box.querySelectorAll('button, [href], input, select, textarea, [tabindex]:not([tabindex="-1"])');
        if (!items.length) return;
        const first = items[0], last = items[items.length - 1];
        if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
        else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
      }
    };
    box.append(
      h('header', h('h2', title), h('button', {class: 'icon-btn', 'aria-label': 'Close', onclick: () => close(undefined)}, '✕')),
      build(close));
    backdrop.append(box);
    backdrop.addEventListener('mousedown', (e) => { if (e.target === backdrop) close(undefined); });
    document.body.append(backdrop);
    document.addEventListener('keydown', onKey, true);
    const focusable = box.querySelector('[autofocus], input, select, textarea, .dialog-actions .primary');
    (focusable || box.querySelector('button')).focus();
  });
}

export function confirm(title, text, {danger = false, ok = 'OK'} = {}) {
  return dialog(title, (close) => h('div',
    h('p', text),
    h('div', {class: 'dialog-actions'},
      h('button', {class: 'btn', onclick: () => close(false)}, 'Cancel'),
      h('button', {class: `btn primary ${danger ? 'danger' : ''}`, onclick: () => close(true)}, ok))));
}

// Runs `fn` with the button disabled; shows the API's message on failure.
export async function busy(button, fn) {
  const label = button?.textContent;
  if (button) { button.disabled = true; button.classList.add('busy'); }
  try {
    return await fn();
  } catch (e) {
    toast(e.message || String(e), 'error');
    return undefined;
  } finally {
    if (button) { button.disabled = false; button.classList.remove('busy'); button.textContent = label; }
  }
}

// --- tabs

export function tabs(items, {initial, onChange} = {}) {
  const bar = h('div', {class: 'tabs', role: 'tablist'});
  const panels = h('div', {class: 'tab-panels'});
  const built = new Map();
  let active = null;
  const buttons = items.map((item, i) => {
    const btn = h('button', {role: 'tab', id: `tab-${item.id}`, 'aria-controls': `panel-${item.id}`, class: 'tab', dataset: {tab: item.id},
      onclick: () => select(item.id),
      onkeydown: (e) => {
        if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
          const next = items[(i + (e.key === 'ArrowRight' ? 1 : items.length - 1)) % items.length];
          select(next.id);
          bar.querySelector(`[data-tab="${next.id}"]`).focus();
        }
      }}, item.label);
    bar.append(btn);
    return btn;
  });
  function select(id) {
    if (active === id) return;
    active = id;
    for (const btn of buttons) {
      const on = btn.dataset.tab === id;
      btn.setAttribute('aria-selected', on ? 'true' : 'false');
      btn.tabIndex = on ? 0 : -1;
    }
    for (const panel of panels.children) panel.hidden = panel.dataset.panel !== id;
    if (!built.has(id)) {
      const item = items.find((x) => x.id === id);
      const panel = h('div', {role: 'tabpanel', id: `panel-${id}`, 'aria-labelledby': `tab-${id}`, dataset: {panel: id}});
      panels.append(panel);
      built.set(id, panel);
      item.render(panel);
    }
    if (onChange) onChange(id);
  }
  const el = h('div', {class: 'tabbed'}, bar, panels);
  // The first panel is built once the caller has put the tabs in the page,
  // so that it can measure itself.
  queueMicrotask(() => select(initial && items.some((x) => x.id === initial) ? initial : items[0].id));
  return {el, select, get active() { return active; }};
}

// --- values

const COLLAPSE_OVER = 4000;

function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], {type: 'application/json'}));
  const a = h('a', {href: url, download: name});
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// A JSON value: pretty, with copy and download; large ones collapsed.
export function jsonView(value, {filename = 'value.json', title} = {}) {
  const text = pretty(value);
  const large = text.length > COLLAPSE_OVER;
  const pre = h('pre', {class: 'json'}, large ? text.slice(0, 1200) + '\n…' : text);
  const tools = h('div', {class: 'value-tools'},
    title ? h('span', {class: 'value-title'}, title) : null,
    h('span', {class: 'muted'}, bytes(new Blob([text]).size)),
    h('button', {class: 'btn small', onclick: () => navigator.clipboard?.writeText(text).then(() => toast('Copied'))}, 'Copy'),
    h('button', {class: 'btn small', onclick: () => download(filename, text)}, 'Download'));
  const box = h('div', {class: `value ${large ? 'collapsed' : ''}`}, tools, pre);
  if (large) {
    const more = h('button', {class: 'btn small expand'}, `Show all (${bytes(text.length)})`);
    more.addEventListener('click', () => {
      pre.textContent = text;
      box.classList.remove('collapsed');
      more.remove();
    });
    box.append(more);
  }
  return box;
}

export function codeBlock(text, {lines = true} = {}) {
  const pre = h('pre', {class: `code yaml ${lines ? 'numbered' : ''}`});
  pre.innerHTML = highlightYaml(text || '');
  return pre;
}

// Key/value facts of an object, as a definition list.
export function facts(pairs) {
  const dl = h('dl', {class: 'facts'});
  for (const [key, value] of pairs) {
    if (value === undefined) continue;
    dl.append(h('dt', key), h('dd', value === null || value === '' ? h('span', {class: 'muted'}, '—') : value));
  }
  return dl;
}

function copyIcon() {
  return s('svg', {width: 13, height: 13, viewBox: '0 0 16 16', 'aria-hidden': 'true', class: 'icon'},
    s('rect', {x: 5, y: 5, width: 9, height: 9, rx: 1.5, fill: 'none', stroke: 'currentColor', 'stroke-width': 1.5}),
    s('path', {d: 'M11 3.5V3a1 1 0 0 0-1-1H3a1 1 0 0 0-1 1v7a1 1 0 0 0 1 1h.5', fill: 'none', stroke: 'currentColor', 'stroke-width': 1.5}));
}

export function copyable(text, shown) {
  return h('span', {class: 'copyable'},
    h('code', shown || text),
    h('button', {class: 'icon-btn', title: 'Copy', 'aria-label': `Copy ${text}`,
      onclick: (e) => { e.preventDefault(); navigator.clipboard?.writeText(text).then(() => toast('Copied')); }}, copyIcon()));
}

export function setContent(el, ...children) {
  clear(el);
  el.append(...children.flat().filter(Boolean));
  return el;
}
