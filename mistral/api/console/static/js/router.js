// Client-side routes under the console's base path (/ui/): real URLs that
// can be bookmarked and pasted (/ui/executions/<id>), History API
// navigation, and per-page cleanup of timers when the page is left.

import {config} from './api.js';

const routes = [];
let current = null;
let renderRoute = null;

export function route(pattern, load) {
  const names = [];
  const regex = new RegExp('^' + pattern.replace(/:([a-z_]+)/g, (_, name) => { names.push(name); return '([^/]+)'; }) + '/?$');
  routes.push({regex, names, load});
}

export function href(path) {
  return config.base + path.replace(/^\//, '');
}

function pathOfLocation() {
  const base = config.base;
  let path = decodeURI(location.pathname);
  if (path.startsWith(base)) path = path.slice(base.length);
  else if (path + '/' === base) path = '';
  return path.replace(/\/+$/, '');
}

export function match(path) {
  for (const r of routes) {
    const m = r.regex.exec(path);
    if (m) {
      const params = {};
      r.names.forEach((name, i) => { params[name] = decodeURIComponent(m[i + 1]); });
      return {route: r, params};
    }
  }
  return null;
}

// What a page gets: its parameters, and ways to register cleanup and
// periodic refreshes that stop when the user navigates away.
class View {
  constructor(main, params, query) {
    this.main = main;
    this.params = params;
    this.query = query;
    this.cleanups = [];
    this.alive = true;
    this.abort = new AbortController();
  }

  onCleanup(fn) { this.cleanups.push(fn); }

  // Calls fn every `ms` while the page is shown (and the tab visible);
  // the next call is scheduled when the previous one finished.
  poll(fn, ms) {
    let timer = null;
    const tick = async () => {
      if (!this.alive) return;
      if (!document.hidden) {
        try { await fn(); document.body.classList.remove('offline'); }
        catch (e) { if (e.name !== 'AbortError') document.body.classList.add('offline'); }
      }
      if (this.alive) timer = setTimeout(tick, typeof ms === 'function' ? ms() : ms);
    };
    timer = setTimeout(tick, typeof ms === 'function' ? ms() : ms);
    this.onCleanup(() => clearTimeout(timer));
  }

  close() {
    this.alive = false;
    this.abort.abort();
    for (const fn of this.cleanups.splice(0)) { try { fn(); } catch { /* ignore */ } }
  }
}

export function navigate(path, {replace = false} = {}) {
  const url = path.startsWith(config.base) ? path : href(path);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  return render();
}

export function setQuery(query) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, v);
  const text = params.toString();
  history.replaceState(null, '', location.pathname + (text ? `?${text}` : ''));
}

export async function render() {
  if (current) current.close();
  const path = pathOfLocation();
  const found = match(path);
  const query = Object.fromEntries(new URLSearchParams(location.search));
  const main = document.getElementById('main');
  const view = new View(main, found ? found.params : {}, query);
  current = view;
  await renderRoute(view, found, path);
  return view;
}

export function start(onRoute) {
  renderRoute = onRoute;
  window.addEventListener('popstate', () => render());
  document.addEventListener('click', (e) => {
    const a = e.target.closest && e.target.closest('a[href]');
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    if (a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || !url.pathname.startsWith(config.base)) return;
    if (url.pathname.startsWith(config.base + 'static/') || url.pathname.startsWith(config.base + 'api/')) return;
    e.preventDefault();
    history.pushState(null, '', url.pathname + url.search);
    render();
  });
  return render();
}
