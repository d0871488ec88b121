// A Gantt chart of task runs: one row per task execution, a bar from its
// start to its end (or now), and below it each attempt (action or
// sub-workflow execution) in its own colour.

import {esc} from './dom.js';
import {parseTime, duration, localTime} from './format.js';

const ROW = 26;
const LABEL = 210;
const AXIS = 26;
const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400].map((s) => s * 1000);

function tickLabel(ms, step) {
  const s = Math.round(ms / 1000);
  if (step < 60000) return `${s}s`;
  if (step < 3600000) return `${Math.floor(s / 60)}m${s % 60 ? ` ${s % 60}s` : ''}`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)}m` : ''}`;
}

// tasks: API task objects; attempts: Map(task id -> [{id, name, state,
// created_at, updated_at}]); hrefOf(task) -> link of a row.
export function timelineSvg(tasks, attempts, {width = 1000, now = Date.now(), hrefOf = () => '#'} = {}) {
  const rows = tasks.map((t) => {
    const start = parseTime(t.started_at) || parseTime(t.created_at);
    const endTime = parseTime(t.finished_at) || (['RUNNING', 'WAITING', 'DELAYED', 'IDLE'].includes(t.state) ? new Date(now) : parseTime(t.updated_at));
    return {t, start: start ? start.getTime() : now, end: endTime ? endTime.getTime() : now};
  }).sort((a, b) => a.start - b.start || a.t.name.localeCompare(b.t.name));
  if (!rows.length) return '';
  let t0 = Infinity, t1 = -Infinity;
  for (const r of rows) {
    t0 = Math.min(t0, r.start);
    t1 = Math.max(t1, r.end);
    for (const a of attempts.get(r.t.id) || []) {
      const e = parseTime(a.updated_at);
      if (e) t1 = Math.max(t1, e.getTime());
    }
  }
  const total = Math.max(t1 - t0, 1000);
  const chart = Math.max(300, width - LABEL - 20);
  const x = (ms) => LABEL + ((ms - t0) / total) * chart;
  const step = STEPS.find((s) => total / s <= 10) || STEPS[STEPS.length - 1];
  const height = AXIS + rows.length * ROW + 8;
  const out = [`<svg class="gantt" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="Timeline of ${rows.length} task runs over ${esc(duration(total))}">`];
  out.push('<g class="axis">');
  for (let ms = 0; ms <= total; ms += step) {
    const px = x(t0 + ms).toFixed(1);
    out.push(`<line x1="${px}" x2="${px}" y1="${AXIS - 6}" y2="${height}"/><text x="${px}" y="${AXIS - 10}" text-anchor="middle">${tickLabel(ms, step)}</text>`);
  }
  out.push('</g>');
  rows.forEach((r, i) => {
    const y = AXIS + i * ROW;
    const t = r.t;
    const x0 = x(r.start), x1 = Math.max(x(r.end), x0 + 3);
    const title = `${t.name}: ${t.state}\nstarted ${localTime(t.started_at || t.created_at)}\n${t.finished_at ? `finished ${localTime(t.finished_at)}\n` : ''}took ${duration(r.end - r.start)}`;
    out.push(`<g class="row" data-task="${esc(t.id)}"><rect class="row-bg" x="0" y="${y}" width="${width}" height="${ROW}"/>`);
    out.push(`<a href="${esc(hrefOf(t))}" data-link=""><text class="name" x="8" y="${y + 16}">${esc(t.name.length > 26 ? t.name.slice(0, 25) + '…' : t.name)}</text></a>`);
    out.push(`<rect class="bar st-${esc(t.state)}" x="${x0.toFixed(1)}" y="${y + 5}" width="${(x1 - x0).toFixed(1)}" height="10"><title>${esc(title)}</title></rect>`);
    for (const a of attempts.get(t.id) || []) {
      const as = parseTime(a.created_at), ae = parseTime(a.updated_at);
      if (!as) continue;
      const end = a.state === 'RUNNING' ? now : (ae ? ae.getTime() : as.getTime());
      const ax0 = x(as.getTime()), ax1 = Math.max(x(end), ax0 + 3);
      out.push(`<rect class="bar attempt st-${esc(a.state)}" x="${ax0.toFixed(1)}" y="${y + 17}" width="${(ax1 - ax0).toFixed(1)}" height="5"><title>${esc(`${a.name || 'attempt'}: ${a.state}\n${localTime(a.created_at)} → ${localTime(a.updated_at)}`)}</title></rect>`);
    }
    out.push('</g>');
  });
  out.push('</svg>');
  return out.join('');
}
