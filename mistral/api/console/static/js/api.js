// The v2 REST API, called on the same origin with the user's token.
// Errors carry the API's own message (faultstring), shown as is.

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content || '';

export const config = {
  api: meta('mistral-api') || '/v2',
  auth: meta('mistral-auth') || 'none',
  version: meta('mistral-version'),
  base: document.querySelector('base')?.getAttribute('href') || '/ui/',
};

const TOKEN_KEY = 'mistral-console.token';

export const token = {
  get() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(TOKEN_KEY) || 'null');
      if (!saved) return null;
      if (saved.expires_at && Date.parse(saved.expires_at) < Date.now()) {
        sessionStorage.removeItem(TOKEN_KEY);
        return null;
      }
      return saved;
    } catch { return null; }
  },
  set(value) { sessionStorage.setItem(TOKEN_KEY, JSON.stringify(value)); },
  clear() { sessionStorage.removeItem(TOKEN_KEY); },
};

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

const listeners = new Set();
// Called with the error of every 401, so the shell can ask for a login.
export function onUnauthorized(fn) { listeners.add(fn); }

function query(params) {
  const parts = [];
  for (const [key, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === '') continue;
    parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(Array.isArray(value) ? value.join(',') : value)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

async function faultOf(resp) {
  const header = resp.headers.get('Server-Error-Message');
  let body = null;
  try { body = await resp.json(); } catch { /* not JSON */ }
  let message = body && (body.faultstring || body.message || body.error?.message);
  if (!message && header) message = header;
  if (!message) message = `${resp.status} ${resp.statusText}`;
  return new ApiError(resp.status, message, body);
}

export async function request(method, url, {body, text, params, signal, raw} = {}) {
  // "*/*" too: the text endpoints (definitions, validate, report) are
  // exposed without a JSON content type and refuse a JSON-only Accept.
  const headers = {Accept: 'application/json, */*;q=0.1'};
  const saved = token.get();
  if (saved?.token) headers['X-Auth-Token'] = saved.token;
  let payload;
  if (text !== undefined) {
    headers['Content-Type'] = 'text/plain';
    payload = text;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(url + query(params), {method, headers, body: payload, signal, credentials: 'same-origin'});
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, `The server did not answer (${e.message}).`);
  }
  if (!resp.ok) {
    const error = await faultOf(resp);
    if (resp.status === 401) listeners.forEach((fn) => fn(error));
    throw error;
  }
  if (raw) return resp;
  if (resp.status === 204) return null;
  const type = resp.headers.get('Content-Type') || '';
  return type.includes('json') ? resp.json() : resp.text();
}

const v2 = (path) => config.api + path;

export const api = {
  get: (path, params, opts = {}) => request('GET', v2(path), {...opts, params}),
  post: (path, body, opts = {}) => request('POST', v2(path), {...opts, body}),
  put: (path, body, opts = {}) => request('PUT', v2(path), {...opts, body}),
  postText: (path, text, params) => request('POST', v2(path), {text, params}),
  putText: (path, text, params) => request('PUT', v2(path), {text, params}),
  del: (path, params) => request('DELETE', v2(path), {params}),
  // The console's own endpoints (/ui/api/...).
  console: (path, opts = {}) => request(opts.method || 'GET', config.base + 'api/' + path, opts),
};

// Every item of a list endpoint, following its "next" links.
export async function listAll(path, key, params = {}, {signal, max = 100000} = {}) {
  const items = [];
  let page = await api.get(path, {limit: 1000, ...params}, {signal});
  for (;;) {
    items.push(...(page[key] || []));
    if (!page.next || items.length >= max) return items;
    const next = new URL(page.next, location.href);
    // Follow the marker on our own origin and prefix (the server may know
    // itself by another name behind a proxy).
    const nextParams = Object.fromEntries(next.searchParams.entries());
    page = await api.get(path, nextParams, {signal});
  }
}

// The marker of a page's "next" link, if any.
export function nextMarker(page) {
  if (!page?.next) return null;
  try { return new URL(page.next, location.href).searchParams.get('marker'); } catch { return null; }
}
