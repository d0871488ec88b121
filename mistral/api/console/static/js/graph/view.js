// The workflow graph in SVG: tasks coloured by state (updated in place,
// no re-layout), transitions with their conditions, pan and zoom, and
// keyboard navigation between the nodes.

import {esc, h} from '../dom.js';
import {layout} from './layout.js';

const SIZES = {
  task: [188, 52], workflow: [188, 52], command: [104, 34], dynamic: [160, 42], missing: [160, 42],
};
const GLYPHS = {'with-items': '≡', retry: '↻', wait: '⏱', timeout: '⌛', pause: '⏸', join: '⋈', safe: '⛨'};
const EDGE_CLASS = {'on-success': 'e-success', 'on-error': 'e-error', 'on-complete': 'e-complete', 'on-skip': 'e-skip', requires: 'e-requires'};
const LABEL_LIMIT = 400; // edges beyond this many carry their condition in a tooltip only

function truncate(text, max) {
  const str = String(text ?? '');
  return str.length > max ? str.slice(0, max - 1) + '…' : str;
}

function pathOf(pts, tb) {
  if (!pts.length) return '';
  if (pts.loop) return `M${pts[0][0]},${pts[0][1]} C${pts[1][0]},${pts[1][1]} ${pts[2][0]},${pts[2][1]} ${pts[3][0]},${pts[3][1]}`;
  let d = `M${pts[0][0].toFixed(1)},${pts[0][1].toFixed(1)}`;
  for (let i = 1; i < pts.length; i++) {
    const [x0, y0] = pts[i - 1], [x1, y1] = pts[i];
    if (tb) {
      const dy = (y1 - y0) / 2;
      d += ` C${x0.toFixed(1)},${(y0 + dy).toFixed(1)} ${x1.toFixed(1)},${(y1 - dy).toFixed(1)} ${x1.toFixed(1)},${y1.toFixed(1)}`;
    } else {
      const dx = (x1 - x0) / 2;
      d += ` C${(x0 + dx).toFixed(1)},${y0.toFixed(1)} ${(x1 - dx).toFixed(1)},${y1.toFixed(1)} ${x1.toFixed(1)},${y1.toFixed(1)}`;
    }
  }
  return d;
}

// Where a condition label goes: on the last segment, past its middle,
// where transitions leaving the same task have spread apart.
function labelPoint(pts, tb) {
  const [x0, y0] = pts[pts.length - 2], [x1, y1] = pts[pts.length - 1];
  const t = 0.62, u = 1 - t;
  const b = (a, c1, c2, d) => u * u * u * a + 3 * u * u * t * c1 + 3 * u * t * t * c2 + t * t * t * d;
  if (tb) {
    const dy = (y1 - y0) / 2;
    return [b(x0, x0, x1, x1), b(y0, y0 + dy, y1 - dy, y1)];
  }
  const dx = (x1 - x0) / 2;
  return [b(x0, x0 + dx, x1 - dx, x1), b(y0, y0, y1, y1)];
}

function nodeSvg(node, p, i) {
  const title = [node.label, node.detail, ...node.badges.map((b) => b.title)].filter(Boolean).join('\n');
  const cls = `node k-${node.kind} st-NONE`;
  if (node.kind === 'command') {
    return `<g class="${cls}" data-i="${i}" data-id="${esc(node.id)}" transform="translate(${p.x.toFixed(1)},${p.y.toFixed(1)})" tabindex="-1" role="img" aria-label="engine command ${esc(node.label)}">` +
      `<title>${esc(title)}</title><rect class="body" width="${p.w}" height="${p.h}" rx="${p.h / 2}"/>` +
      `<text class="label" x="${p.w / 2}" y="${p.h / 2 + 4}" text-anchor="middle">${esc(node.label)}</text></g>`;
  }
  const glyphs = node.badges.map((b) => GLYPHS[b.kind] || '•').join(' ');
  return `<g class="${cls}" data-i="${i}" data-id="${esc(node.id)}" transform="translate(${p.x.toFixed(1)},${p.y.toFixed(1)})" tabindex="-1" role="button" aria-label="${esc(node.kind === 'workflow' ? 'sub-workflow task' : 'task')} ${esc(node.label)}">` +
    `<title>${esc(title)}</title>` +
    `<rect class="body" width="${p.w}" height="${p.h}" rx="7"/>` +
    `<rect class="strip" width="6" height="${p.h}" rx="3"/>` +
    `<text class="label" x="16" y="21">${esc(truncate(node.label, 22))}</text>` +
    `<text class="detail" x="16" y="39">${node.kind === 'workflow' ? '↳ ' : ''}${esc(truncate(node.detail, 26))}</text>` +
    (glyphs ? `<text class="glyphs" x="${p.w - 8}" y="17" text-anchor="end">${esc(glyphs)}</text>` : '') +
    `<text class="runs" x="${p.w - 8}" y="40" text-anchor="end"></text>` +
    `</g>`;
}

export class GraphView {
  constructor(container, graph, {onSelect, onOpen, orientation} = {}) {
    this.container = container;
    this.graph = graph;
    this.onSelect = onSelect || (() => {});
    this.onOpen = onOpen || (() => {});
    this.scale = 1;
    this.selected = null;
    this.states = new Map();
    container.classList.add('graph-view');
    this.toolbar = h('div', {class: 'graph-tools'},
      h('button', {class: 'btn small', title: 'Zoom in (+)', 'aria-label': 'Zoom in', onclick: () => this.zoom(1.25)}, '+'),
      h('button', {class: 'btn small', title: 'Zoom out (-)', 'aria-label': 'Zoom out', onclick: () => this.zoom(0.8)}, '−'),
      h('button', {class: 'btn small', title: 'Fit (0)', onclick: () => this.fit()}, 'Fit'),
      h('button', {class: 'btn small', title: 'Rotate the layout', onclick: () => this.render(this.orientation === 'TB' ? 'LR' : 'TB')}, '⟲'),
      h('span', {class: 'legend'},
        h('span', {class: 'lg e-success'}, 'on-success'), h('span', {class: 'lg e-error'}, 'on-error'),
        h('span', {class: 'lg e-complete'}, 'on-complete'), graph.type === 'reverse' ? h('span', {class: 'lg e-requires'}, 'requires') : null));
    this.viewport = h('div', {class: 'graph-scroll', tabindex: '0', 'aria-label': 'Workflow graph: arrow keys move between tasks, Enter opens one'});
    container.append(this.toolbar, this.viewport);
    this.bind();
    this.render(orientation);
  }

  render(orientation) {
    const started = performance.now();
    const nodes = this.graph.nodes.map((node) => {
      const [w, h2] = SIZES[node.kind] || SIZES.task;
      return {id: node.id, w, h: h2};
    });
    const rect = this.viewport.getBoundingClientRect();
    const lay = layout(nodes, this.graph.edges, {orientation, viewport: {w: rect.width || 1000, h: Math.max(rect.height, 400)}});
    this.layout = lay;
    this.orientation = lay.orientation;
    const tb = lay.orientation === 'TB';
    const parts = [];
    const labels = this.graph.edges.length <= LABEL_LIMIT;
    this.graph.edges.forEach((edge, i) => {
      const pts = lay.routes[i];
      if (!pts || !pts.length) return;
      const cls = `edge ${EDGE_CLASS[edge.kind] || ''} ${edge.defaults ? 'defaults' : ''}`;
      const title = `${edge.from} → ${edge.to.replace(/^(cmd|expr):/, '')} (${edge.kind}${edge.defaults ? ', from task-defaults' : ''})${edge.condition ? `\nwhen ${edge.condition}` : ''}`;
      parts.push(`<g class="${cls}" data-e="${i}"><title>${esc(title)}</title><path d="${pathOf(pts, tb)}" marker-end="url(#arrow-${EDGE_CLASS[edge.kind] || 'e-complete'})"/>`);
      if (edge.condition && labels) {
        const [mx, my] = pts.loop ? pts[1] : labelPoint(pts, tb);
        const text = truncate(edge.condition, 28);
        parts.push(`<g class="cond" transform="translate(${mx.toFixed(1)},${my.toFixed(1)})"><rect x="${-(text.length * 3.2 + 6)}" y="-9" width="${text.length * 6.4 + 12}" height="17" rx="8"/><text y="4" text-anchor="middle">${esc(text)}</text></g>`);
      }
      parts.push('</g>');
    });
    const edgeSvg = parts.join('');
    const nodeParts = this.graph.nodes.map((node, i) => nodeSvg(node, lay.pos.get(node.id), i));
    const markers = Object.values(EDGE_CLASS).map((cls) =>
      `<marker id="arrow-${cls}" class="${cls}" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>`).join('');
    this.viewport.innerHTML = `<svg class="graph ${tb ? 'tb' : 'lr'}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${lay.width.toFixed(0)} ${lay.height.toFixed(0)}" width="${lay.width.toFixed(0)}" height="${lay.height.toFixed(0)}">` +
      `<defs>${markers}</defs><g class="edges">${edgeSvg}</g><g class="nodes">${nodeParts.join('')}</g></svg>`;
    this.svg = this.viewport.firstChild;
    this.nodeEls = Array.from(this.svg.querySelector('.nodes').children);
    this.edgeEls = new Map(Array.from(this.svg.querySelectorAll('.edge')).map((el) => [Number(el.dataset.e), el]));
    this.byId = new Map(this.graph.nodes.map((node, i) => [node.id, i]));
    this.applyAll();
    if (this.selected !== null) this.select(this.selected, false);
    const first = this.nodeEls.find((el) => el.classList.contains('k-task') || el.classList.contains('k-workflow')) || this.nodeEls[0];
    if (first && this.selected === null) first.setAttribute('tabindex', '0');
    this.renderMs = performance.now() - started;
    performance.measure('console:graph-layout-and-svg', {start: started, duration: this.renderMs});
    this.setScale(this.scale);
  }

  // {taskName: {state, runs, note}}: colours, run counters, tooltips.
  setStates(states) {
    this.states = states;
    this.applyAll();
  }

  applyAll() {
    if (!this.nodeEls) return;
    this.graph.nodes.forEach((node, i) => {
      const info = this.states.get(node.id);
      const el = this.nodeEls[i];
      const state = info?.state || 'NONE';
      const cls = `node k-${node.kind} st-${state}${this.selected === node.id ? ' selected' : ''}`;
      if (el.getAttribute('class') !== cls) el.setAttribute('class', cls);
      const runs = el.querySelector('.runs');
      if (runs) {
        const text = info?.note || (info && info.runs > 1 ? `×${info.runs}` : '');
        if (runs.textContent !== text) runs.textContent = text;
      }
    });
  }

  // Transitions that were taken (indices into graph.edges) drawn bold.
  setTaken(taken) {
    if (!this.edgeEls) return;
    for (const [i, el] of this.edgeEls) el.classList.toggle('taken', taken.has(i));
  }

  select(id, notify = true) {
    this.selected = id;
    for (const el of this.nodeEls) el.setAttribute('tabindex', '-1');
    const i = this.byId.get(id);
    this.applyAll();
    if (i !== undefined) {
      this.nodeEls[i].setAttribute('tabindex', '0');
      if (notify) this.onSelect(id);
    }
  }

  focusNode(i) {
    const el = this.nodeEls[i];
    if (!el) return;
    this.select(this.graph.nodes[i].id);
    el.focus({preventScroll: true});
    this.scrollTo(this.graph.nodes[i].id);
  }

  scrollTo(id) {
    const p = this.layout.pos.get(id);
    if (!p) return;
    const vp = this.viewport;
    const x = p.cx * this.scale - vp.clientWidth / 2, y = p.cy * this.scale - vp.clientHeight / 2;
    vp.scrollTo({left: x, top: y});
  }

  setScale(scale) {
    this.scale = Math.min(2.5, Math.max(0.05, scale));
    this.svg.setAttribute('width', (this.layout.width * this.scale).toFixed(0));
    this.svg.setAttribute('height', (this.layout.height * this.scale).toFixed(0));
    this.svg.classList.toggle('far', this.scale < 0.45);
  }

  zoom(factor, cx, cy) {
    const vp = this.viewport;
    const px = cx ?? vp.clientWidth / 2, py = cy ?? vp.clientHeight / 2;
    const ux = (vp.scrollLeft + px) / this.scale, uy = (vp.scrollTop + py) / this.scale;
    this.setScale(this.scale * factor);
    vp.scrollLeft = ux * this.scale - px;
    vp.scrollTop = uy * this.scale - py;
  }

  fit() {
    const vp = this.viewport;
    const s = Math.min(vp.clientWidth / this.layout.width, vp.clientHeight / this.layout.height, 1);
    this.setScale(s);
    vp.scrollTo({left: 0, top: 0});
  }

  nodeIndexOf(target) {
    const g = target.closest && target.closest('.node');
    return g ? Number(g.dataset.i) : -1;
  }

  bind() {
    const vp = this.viewport;
    vp.addEventListener('click', (e) => {
      const i = this.nodeIndexOf(e.target);
      if (i >= 0) this.focusNode(i);
    });
    vp.addEventListener('dblclick', (e) => {
      const i = this.nodeIndexOf(e.target);
      if (i >= 0) this.onOpen(this.graph.nodes[i].id);
    });
    vp.addEventListener('wheel', (e) => {
      if (!e.ctrlKey && !e.metaKey) return;
      e.preventDefault();
      const r = vp.getBoundingClientRect();
      this.zoom(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top);
    }, {passive: false});
    let drag = null;
    vp.addEventListener('pointerdown', (e) => {
      if (e.button !== 0 || this.nodeIndexOf(e.target) >= 0) return;
      drag = {x: e.clientX, y: e.clientY, left: vp.scrollLeft, top: vp.scrollTop};
      vp.classList.add('dragging');
    });
    window.addEventListener('pointermove', this._move = (e) => {
      if (!drag) return;
      vp.scrollLeft = drag.left - (e.clientX - drag.x);
      vp.scrollTop = drag.top - (e.clientY - drag.y);
    });
    window.addEventListener('pointerup', this._up = () => { drag = null; vp.classList.remove('dragging'); });
    vp.addEventListener('keydown', (e) => {
      if (e.key === '+' || e.key === '=') { this.zoom(1.25); e.preventDefault(); return; }
      if (e.key === '-') { this.zoom(0.8); e.preventDefault(); return; }
      if (e.key === '0') { this.fit(); e.preventDefault(); return; }
      const current = this.selected !== null ? this.byId.get(this.selected) : -1;
      if (e.key === 'Enter' && current >= 0) { this.onOpen(this.selected); e.preventDefault(); return; }
      const dirs = {ArrowRight: [1, 0], ArrowLeft: [-1, 0], ArrowDown: [0, 1], ArrowUp: [0, -1]};
      const d = dirs[e.key];
      if (!d) return;
      e.preventDefault();
      if (current < 0) { this.focusNode(0); return; }
      const from = this.layout.pos.get(this.graph.nodes[current].id);
      let best = -1, bestScore = Infinity;
      this.graph.nodes.forEach((node, i) => {
        if (i === current) return;
        const p = this.layout.pos.get(node.id);
        const dx = p.cx - from.cx, dy = p.cy - from.cy;
        const along = dx * d[0] + dy * d[1];
        if (along <= 1) return;
        const across = Math.abs(dx * d[1]) + Math.abs(dy * d[0]);
        const score = along + across * 2.5;
        if (score < bestScore) { bestScore = score; best = i; }
      });
      if (best >= 0) this.focusNode(best);
    });
  }

  destroy() {
    window.removeEventListener('pointermove', this._move);
    window.removeEventListener('pointerup', this._up);
  }
}
