// Logging in: a Keystone user name and password (the server asks the
// identity service the API uses), or a token pasted from elsewhere
// (Keystone, or a Keycloak/OIDC access token).

import {api, config, token} from '../api.js';
import {h} from '../dom.js';
import {navigate} from '../router.js';
import * as session from '../session.js';

export async function render(view) {
  const next = view.query.next || 'executions';
  if (config.auth === 'none') { navigate(next, {replace: true}); return; }
  const error = h('div', {class: 'form-error', role: 'alert', hidden: true});
  const fail = (message) => { error.hidden = false; error.textContent = message; };

  async function useToken(value, meta = {}) {
    token.set({token: value, ...meta});
    try {
      await session.load();
    } catch (e) {
      token.clear();
      fail(e.status === 401 ? 'The API does not accept this token.' : e.message);
      return;
    }
    navigate(next, {replace: true});
  }

  const forms = [];
  if (config.auth === 'keystone') {
    const user = h('input', {id: 'login-user', type: 'text', autocomplete: 'username', required: true});
    const password = h('input', {id: 'login-password', type: 'password', autocomplete: 'current-password', required: true});
    const project = h('input', {id: 'login-project', type: 'text', required: true});
    const domain = h('input', {id: 'login-domain', type: 'text', value: 'Default'});
    const submit = h('button', {class: 'btn primary', type: 'submit', id: 'login-submit'}, 'Log in');
    forms.push(h('form', {class: 'card pad', id: 'login-form', onsubmit: async (e) => {
      e.preventDefault();
      error.hidden = true;
      submit.disabled = true;
      try {
        const r = await api.console('login', {method: 'POST', body: {username: user.value, password: password.value, project: project.value, domain: domain.value}});
        await useToken(r.token, {expires_at: r.expires_at});
      } catch (err) {
        fail(err.message);
      } finally { submit.disabled = false; }
    }},
    h('h2', 'Log in with OpenStack Identity'),
    ...[['User name', user], ['Password', password], ['Project', project], ['Domain', domain]].map(([label, input]) =>
      h('div', {class: 'field'}, h('label', {for: input.id}, label), input)),
    h('div', {class: 'actions'}, submit)));
  }
  const pasted = h('textarea', {id: 'login-token', rows: 3, spellcheck: 'false', placeholder: config.auth === 'keycloak-oidc' ? 'eyJhbGciOi…' : 'gAAAAA…'});
  forms.push(h('form', {class: 'card pad', id: 'token-form', onsubmit: async (e) => {
    e.preventDefault();
    error.hidden = true;
    if (pasted.value.trim()) await useToken(pasted.value.trim());
  }},
  h('h2', config.auth === 'keycloak-oidc' ? 'Use an OpenID Connect access token' : 'Or use a token'),
  h('p', {class: 'muted'}, config.auth === 'keycloak-oidc'
    ? 'Paste an access token from your Keycloak realm (for example from `oidc-token` or your identity provider\'s tools).'
    : 'Paste a token, e.g. from `openstack token issue -f value -c id`.'),
  h('div', {class: 'field'}, h('label', {for: 'login-token'}, 'Token'), pasted),
  h('div', {class: 'actions'}, h('button', {class: 'btn', type: 'submit'}, 'Use this token'))));

  view.main.append(h('div', {class: 'login'},
    h('div', {class: 'page-head'}, h('div', {class: 'titles'}, h('h1', 'Log in'),
      h('div', {class: 'sub'}, 'The console acts with your identity: it shows and does what the API lets you.'))),
    error, h('div', {class: 'grid-2'}, forms)));
  view.main.querySelector('input, textarea').focus();
}
