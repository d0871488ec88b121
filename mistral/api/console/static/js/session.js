// Who is logged in and what the policy lets them do (GET /ui/api/session:
// the API's own decisions). Buttons for refused operations are not shown;
// the API checks every request anyway.

import {api, config, token} from './api.js';

let current = null;

export async function load() {
  current = await api.console('session');
  window.dispatchEvent(new Event('session-changed'));
  return current;
}

export function get() { return current; }

export function clearSession() {
  current = null;
  token.clear();
  window.dispatchEvent(new Event('session-changed'));
}

// can('executions:update'), can('workflows:create') ...
export function can(rule, ownerProject) {
  if (!current) return false;
  if (!current.permissions?.[rule]) return false;
  // Objects of another project (shared or public) change only for admins.
  if (ownerProject && current.auth_enabled && !current.is_admin &&
      current.project?.id && ownerProject !== current.project.id) {
    return false;
  }
  return true;
}

export function needsLogin() { return config.auth !== 'none'; }
