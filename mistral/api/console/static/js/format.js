// Formatting of the API's values: timestamps ("YYYY-MM-DD HH:MM:SS", UTC),
// durations, ids and JSON fields (which the API sends as JSON text).

export function parseTime(wire) {
  if (!wire) return null;
  const text = String(wire).replace(' ', 'T');
  const date = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : text + 'Z');
  return Number.isNaN(date.getTime()) ? null : date;
}

// The API's filter format for a Date (UTC).
export function wireTime(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
}

export function localTime(wire) {
  const date = parseTime(wire);
  if (!date) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

export function relativeTime(wire, now = Date.now()) {
  const date = parseTime(wire);
  if (!date) return '';
  const secs = Math.round((now - date.getTime()) / 1000);
  if (secs < 5) return 'just now';
  if (secs < 60) return `${secs} s ago`;
  if (secs < 3600) return `${Math.floor(secs / 60)} min ago`;
  if (secs < 86400) return `${Math.floor(secs / 3600)} h ago`;
  return `${Math.floor(secs / 86400)} d ago`;
}

export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const hours = Math.floor(s / 3600);
  if (hours < 48) return `${hours} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

// Duration between two wire timestamps; a missing end means "until now".
export function span(start, end, now = Date.now()) {
  const a = parseTime(start);
  if (!a) return null;
  const b = parseTime(end);
  return (b ? b.getTime() : now) - a.getTime();
}

export function shortId(id) { return id ? String(id).slice(0, 8) : ''; }

// JSON fields come as JSON text (or already decoded on some endpoints).
export function jsonField(value) {
  if (typeof value !== 'string') return value ?? null;
  try { return JSON.parse(value); } catch { return value; }
}

export function pretty(value) {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value, null, 2);
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export const TERMINAL = new Set(['SUCCESS', 'ERROR', 'CANCELLED', 'SKIPPED']);
export const EXECUTION_STATES = ['IDLE', 'RUNNING', 'PAUSED', 'SUCCESS', 'ERROR', 'CANCELLED'];
