// The console's shell: navigation, login state, routes, shortcuts.

import {config, onUnauthorized, token} from './api.js';
import {h, clear} from './dom.js';
import * as router from './router.js';
import * as session from './session.js';
import {dialog, errorBox, spinner} from './ui.js';

const NAV = [
  ['executions', 'Executions', 'e'],
  ['workflows', 'Workflows', 'w'],
  ['workbooks', 'Workbooks', 'b'],
  ['actions', 'Actions', 'a'],
  ['action-executions', 'Action runs', 'r'],
  ['environments', 'Environments', 'n'],
  ['cron-triggers', 'Cron triggers', 'c'],
  ['event-triggers', 'Event triggers', 't'],
];

const page = (name) => () => import(`./pages/${name}.js`);

router.route('', page('executions'));
router.route('executions', page('executions'));
router.route('executions/:id', page('execution'));
router.route('tasks/:id', page('task'));
router.route('workflows', page('workflows'));
router.route('workflows/new', page('editor'));
router.route('workflows/:id', page('workflow'));
router.route('workflows/:id/edit', page('editor'));
router.route('workflows/:id/run', page('run'));
router.route('workbooks', page('workbooks'));
router.route('workbooks/new', page('editor'));
router.route('workbooks/:id', page('workbook'));
router.route('workbooks/:id/edit', page('editor'));
router.route('actions', page('actions'));
router.route('actions/new', page('editor'));
router.route('actions/:id', page('action'));
router.route('actions/:id/edit', page('editor'));
router.route('action-executions', page('action_executions'));
router.route('action-executions/:id', page('action_execution'));
router.route('environments', page('environments'));
router.route('environments/new', page('environment'));
router.route('environments/:id', page('environment'));
router.route('cron-triggers', page('triggers'));
router.route('cron-triggers/new', page('trigger_new'));
router.route('cron-triggers/:id', page('trigger'));
router.route('event-triggers', page('triggers'));
router.route('event-triggers/new', page('trigger_new'));
router.route('event-triggers/:id', page('trigger'));
router.route('login', page('login'));

function shell() {
  const nav = h('nav', {class: 'sidebar', id: 'nav', 'aria-label': 'Sections'},
    h('ul', NAV.map(([path, label, key]) => h('li', h('a', {href: router.href(path), dataset: {nav: path}, title: `${label} (g ${key})`}, label)))),
    h('div', {class: 'nav-foot muted'}, `Mistral ${config.version}`));
  const who = h('div', {class: 'whoami', id: 'whoami'});
  const toggle = h('button', {class: 'icon-btn nav-toggle', 'aria-label': 'Menu', 'aria-controls': 'nav', 'aria-expanded': 'false',
    onclick: () => {
      const open = document.body.classList.toggle('nav-open');
      toggle.setAttribute('aria-expanded', String(open));
    }}, '☰');
  const top = h('header', {class: 'topbar'}, toggle,
    h('a', {class: 'brand', href: router.href('executions')}, h('span', {class: 'logo', 'aria-hidden': 'true'}), 'Mistral'),
    h('span', {class: 'offline-flag', role: 'status'}, 'Connection lost, retrying…'),
    who);
  const main = h('main', {id: 'main', tabindex: '-1'});
  const app = document.getElementById('app');
  clear(app).append(h('a', {class: 'skip', href: '#main'}, 'Skip to content'), top, nav, main);
}

function renderWho() {
  const who = document.getElementById('whoami');
  clear(who);
  const s = session.get();
  if (!s || !s.auth_enabled) return;
  const roles = (s.roles || []).join(', ');
  who.append(
    h('span', {class: 'who', title: `roles: ${roles}`}, h('strong', s.user?.name || s.user?.id || 'token'), ' · ', s.project?.name || s.project?.id || ''),
    h('span', {class: `role-pill ${s.is_admin ? 'admin' : (s.permissions?.['workflows:create'] ? 'member' : 'reader')}`},
      s.is_admin ? 'admin' : (s.permissions?.['workflows:create'] ? 'member' : 'reader')),
    h('button', {class: 'btn small', onclick: () => { session.clearSession(); router.navigate('login'); }}, 'Log out'));
}

function markNav(path) {
  const section = path.split('/')[0] || 'executions';
  for (const a of document.querySelectorAll('[data-nav]')) {
    const on = a.dataset.nav === section;
    a.classList.toggle('active', on);
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  document.body.classList.remove('nav-open');
}

async function onRoute(view, found, path) {
  markNav(path);
  const main = view.main;
  if (path !== 'login' && session.needsLogin() && !token.get()) {
    router.navigate(`login?next=${encodeURIComponent(path)}`, {replace: true});
    return;
  }
  if (path !== 'login' && !session.get()) {
    clear(main).append(spinner());
    try {
      await session.load();
    } catch (e) {
      if (e.status === 401) return; // onUnauthorized sends to the login page
      clear(main).append(errorBox(e, () => router.render()));
      return;
    }
  }
  if (!found) {
    clear(main).append(errorBox({status: 404, message: `There is no console page at /${path}.`}));
    return;
  }
  clear(main).append(spinner());
  try {
    const mod = await found.route.load();
    if (!view.alive) return;
    clear(main);
    await mod.render(view);
  } catch (e) {
    if (e.name === 'AbortError' || !view.alive) return;
    if (e.status === 401) return;
    clear(main).append(errorBox(e, () => router.render()));
  }
}

function helpDialog() {
  const rows = [['/', 'Search or filter this list'], ['?', 'This help'], ...NAV.map(([, label, key]) => [`g ${key}`, label]),
    ['Arrows', 'Move between tasks in a graph'], ['Enter', 'Open the selected task'], ['+ / − / 0', 'Zoom the graph in, out, to fit'], ['Esc', 'Close a dialog']];
  return dialog('Keyboard shortcuts', () => h('table', {class: 'keys'}, h('tbody', rows.map(([k, v]) => h('tr', h('td', h('kbd', k)), h('td', v))))));
}

function shortcuts() {
  let pending = null;
  document.addEventListener('keydown', (e) => {
    const t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    if (document.querySelector('.backdrop')) return;
    if (pending) {
      const item = NAV.find(([, , key]) => key === e.key);
      pending = null;
      if (item) { e.preventDefault(); router.navigate(item[0]); }
      return;
    }
    if (e.key === 'g') { pending = true; setTimeout(() => { pending = null; }, 1500); return; }
    if (e.key === '/') {
      const search = document.querySelector('[data-search]');
      if (search) { e.preventDefault(); search.focus(); }
      return;
    }
    if (e.key === '?') { e.preventDefault(); helpDialog(); }
  });
}

onUnauthorized(() => {
  session.clearSession();
  const path = location.pathname.slice(config.base.length);
  if (!path.startsWith('login')) router.navigate(`login?next=${encodeURIComponent(path)}`, {replace: true});
});

shell();
shortcuts();
window.addEventListener('session-changed', renderWho);
router.start(onRoute);
