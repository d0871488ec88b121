// Layered ("Sugiyama") layout of a directed graph, fast enough for
// thousands of nodes: cycles broken by a depth-first search, ranks by
// longest path, long edges split by dummy nodes, crossings reduced by
// barycenter sweeps, positions balanced between a left- and a right-packed
// placement. Pure: no DOM.

const DUMMY_LIMIT = 20000;

// nodes: [{id, w, h}], edges: [{from, to}] (unknown ends are ignored).
// Returns {orientation, width, height, pos: Map(id -> {x, y, w, h}),
//          routes: [points per edge, [] when not drawn], ranks}
export function layout(nodes, edges, opts = {}) {
  // Transitions carry their conditions as labels between the ranks: room
  // for them is along the rank axis (wider when ranks are side by side).
  const gapOf = (tbOrient) => opts.rankGap ?? (tbOrient ? 60 : 96);
  const crossGap = opts.crossGap ?? 18;
  const margin = opts.margin ?? 24;
  const n = nodes.length;
  const index = new Map(nodes.map((node, i) => [node.id, i]));

  // Unique, non-self edges for the layout.
  const pairs = new Map();
  edges.forEach((e, i) => {
    const a = index.get(e.from), b = index.get(e.to);
    if (a === undefined || b === undefined || a === b) return;
    const key = a * 1e7 + b;
    if (!pairs.has(key)) pairs.set(key, {a, b, edges: []});
    pairs.get(key).edges.push(i);
  });
  const links = [...pairs.values()];
  const out = Array.from({length: n}, () => []);
  const inc = Array.from({length: n}, () => []);
  links.forEach((l, i) => { out[l.a].push(i); inc[l.b].push(i); });

  // 1. Break cycles: a DFS from the sources (in definition order); edges
  // back to a node on the stack are reversed.
  const state = new Uint8Array(n); // 0 new, 1 on stack, 2 done
  const order = [];
  const visit = (root) => {
    const stack = [[root, 0]];
    state[root] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [v, k] = top;
      if (k < out[v].length) {
        top[1]++;
        const link = links[out[v][k]];
        if (state[link.b] === 0) { state[link.b] = 1; stack.push([link.b, 0]); }
        else if (state[link.b] === 1) link.reversed = true;
      } else {
        state[v] = 2;
        order.push(v);
        stack.pop();
      }
    }
  };
  for (let v = 0; v < n; v++) if (inc[v].length === 0 && state[v] === 0) visit(v);
  for (let v = 0; v < n; v++) if (state[v] === 0) visit(v);
  const src = (l) => (l.reversed ? l.b : l.a);
  const dst = (l) => (l.reversed ? l.a : l.b);

  // 2. Ranks: longest path from the sources, in reverse post-order.
  const rank = new Int32Array(n);
  for (let i = order.length - 1; i >= 0; i--) {
    const v = order[i];
    for (const li of inc[v]) { const l = links[li]; if (dst(l) === v && !l.reversed) rank[v] = Math.max(rank[v], rank[src(l)] + 1); }
    for (const li of out[v]) { const l = links[li]; if (dst(l) === v && l.reversed) rank[v] = Math.max(rank[v], rank[src(l)] + 1); }
  }
  // Pull sources down next to their first successor (a task only reached
  // from far below would otherwise float at the top).
  for (let v = 0; v < n; v++) {
    let preds = 0, minSucc = Infinity;
    for (const li of inc[v]) if (dst(links[li]) === v) preds++;
    for (const li of out[v]) if (dst(links[li]) === v) preds++;
    if (preds) continue;
    for (const li of out[v]) { const l = links[li]; if (src(l) === v) minSucc = Math.min(minSucc, rank[dst(l)]); }
    for (const li of inc[v]) { const l = links[li]; if (src(l) === v) minSucc = Math.min(minSucc, rank[dst(l)]); }
    if (minSucc !== Infinity && minSucc - 1 > rank[v]) rank[v] = minSucc - 1;
  }

  // 3. Dummy nodes along edges that span several ranks.
  const vRank = Array.from(rank);
  const vSize = nodes.map((x) => ({w: x.w, h: x.h}));
  const vUp = Array.from({length: n}, () => []);   // neighbours one rank above
  const vDown = Array.from({length: n}, () => []); // neighbours one rank below
  let dummies = 0;
  for (const l of links) dummies += Math.max(0, rank[dst(l)] - rank[src(l)] - 1);
  const useDummies = dummies <= DUMMY_LIMIT;
  for (const l of links) {
    const a = src(l), b = dst(l);
    l.chain = [a];
    if (useDummies) {
      let prev = a;
      for (let r = rank[a] + 1; r < rank[b]; r++) {
        const d = vRank.length;
        vRank.push(r); vSize.push({w: 6, h: 6}); vUp.push([prev]); vDown.push([]);
        vDown[prev].push(d);
        l.chain.push(d);
        prev = d;
      }
      vDown[prev].push(b); vUp[b].push(prev);
    } else if (rank[b] === rank[a] + 1) {
      vDown[a].push(b); vUp[b].push(a);
    }
    l.chain.push(b);
  }
  const total = vRank.length;
  let maxRank = 0;
  for (let v = 0; v < total; v++) if (vRank[v] > maxRank) maxRank = vRank[v];
  const layers = Array.from({length: maxRank + 1}, () => []);
  // Initial order: depth-first discovery, so that siblings stay together.
  const seen = new Uint8Array(total);
  const place = (v) => { if (!seen[v]) { seen[v] = 1; layers[vRank[v]].push(v); } };
  for (let i = order.length - 1; i >= 0; i--) {
    const v = order[i];
    place(v);
    for (const w of vDown[v]) { let x = w; while (x >= n && !seen[x]) { place(x); x = vDown[x][0]; } }
  }
  for (let v = 0; v < total; v++) place(v);
  const posIn = new Float64Array(total);
  const renumber = (layer) => layer.forEach((v, i) => { posIn[v] = i; });
  layers.forEach(renumber);

  // 4. Fewer crossings: barycenter sweeps down and up.
  const sweep = (layer, neighbours) => {
    const key = new Float64Array(layer.length);
    layer.forEach((v, i) => {
      const nb = neighbours[v];
      if (!nb.length) { key[i] = posIn[v]; return; }
      let sum = 0;
      for (const w of nb) sum += posIn[w];
      key[i] = sum / nb.length;
    });
    const idx = layer.map((_, i) => i).sort((i, j) => key[i] - key[j] || i - j);
    const sorted = idx.map((i) => layer[i]);
    layer.splice(0, layer.length, ...sorted);
    renumber(layer);
  };
  const sweeps = total > 6000 ? 2 : 4;
  for (let it = 0; it < sweeps; it++) {
    for (let r = 1; r <= maxRank; r++) sweep(layers[r], vUp);
    for (let r = maxRank - 1; r >= 0; r--) sweep(layers[r], vDown);
  }

  // 5. Orientation: the one that needs less zooming out to fit.
  const extent = (tb) => {
    let cross = 0, along = 0;
    for (const layer of layers) {
      let c = 0, a = 0;
      for (const v of layer) { c += (tb ? vSize[v].w : vSize[v].h) + crossGap; a = Math.max(a, tb ? vSize[v].h : vSize[v].w); }
      cross = Math.max(cross, c);
      along += a + gapOf(tb);
    }
    return tb ? {w: cross, h: along} : {w: along, h: cross};
  };
  let orientation = opts.orientation;
  if (orientation !== 'TB' && orientation !== 'LR') {
    const vw = opts.viewport?.w || 1200, vh = opts.viewport?.h || 700;
    const tb = extent(true), lr = extent(false);
    const fit = (e) => Math.min(1, vw / e.w, vh / e.h);
    // Top to bottom reads best; sideways only when it fits clearly better.
    orientation = fit(tb) >= 0.8 * fit(lr) ? 'TB' : 'LR';
  }
  const tb = orientation === 'TB';
  const rankGap = gapOf(tb);
  const crossSize = (v) => (tb ? vSize[v].w : vSize[v].h);
  const alongSize = (v) => (tb ? vSize[v].h : vSize[v].w);

  // 6. Cross-axis positions: packed, then pulled towards the neighbours
  // and balanced between a left- and a right-packed placement.
  const c = new Float64Array(total);
  for (const layer of layers) {
    let at = 0;
    layer.forEach((v, i) => {
      if (i) at += crossSize(layer[i - 1]) / 2 + crossGap + crossSize(v) / 2;
      c[v] = at;
    });
  }
  const sep = (a, b) => crossSize(a) / 2 + crossGap + crossSize(b) / 2;
  const balance = (layer, neighbours) => {
    const m = layer.length;
    if (!m) return;
    const want = new Float64Array(m);
    layer.forEach((v, i) => {
      const nb = neighbours[v];
      if (!nb.length) { want[i] = c[v]; return; }
      let sum = 0;
      for (const w of nb) sum += c[w];
      want[i] = sum / nb.length;
    });
    const left = new Float64Array(m), right = new Float64Array(m);
    for (let i = 0; i < m; i++) left[i] = i ? Math.max(want[i], left[i - 1] + sep(layer[i - 1], layer[i])) : want[i];
    for (let i = m - 1; i >= 0; i--) right[i] = i < m - 1 ? Math.min(want[i], right[i + 1] - sep(layer[i], layer[i + 1])) : want[i];
    for (let i = 0; i < m; i++) c[layer[i]] = (left[i] + right[i]) / 2;
  };
  const passes = total > 6000 ? 2 : 4;
  for (let it = 0; it < passes; it++) {
    for (let r = 1; r <= maxRank; r++) balance(layers[r], vUp);
    for (let r = maxRank - 1; r >= 0; r--) balance(layers[r], vDown);
  }
  let minC = Infinity, maxC = -Infinity;
  for (let v = 0; v < total; v++) {
    minC = Math.min(minC, c[v] - crossSize(v) / 2);
    maxC = Math.max(maxC, c[v] + crossSize(v) / 2);
  }
  if (!total) { minC = 0; maxC = 0; }
  // Along-axis: each rank as deep as its largest node.
  const rankAt = new Float64Array(maxRank + 2);
  let along = margin;
  for (let r = 0; r <= maxRank; r++) {
    let size = 0;
    for (const v of layers[r]) size = Math.max(size, alongSize(v));
    rankAt[r] = along + size / 2;
    along += size + rankGap;
  }
  const cross = (v) => c[v] - minC + margin;
  const point = (v) => (tb ? [cross(v), rankAt[vRank[v]]] : [rankAt[vRank[v]], cross(v)]);

  const pos = new Map();
  nodes.forEach((node, v) => {
    const [x, y] = point(v);
    pos.set(node.id, {x: x - node.w / 2, y: y - node.h / 2, w: node.w, h: node.h, cx: x, cy: y, rank: vRank[v]});
  });

  // 7. Edge routes: from the side of the source facing the target, through
  // the dummy nodes, to the facing side of the target.
  const routes = edges.map(() => []);
  const port = (v, outgoing) => {
    const [x, y] = point(v);
    const half = alongSize(v) / 2;
    const d = outgoing ? half : -half;
    return tb ? [x, y + d] : [x + d, y];
  };
  for (const l of links) {
    const chain = l.chain;
    const pts = [port(chain[0], true)];
    for (let i = 1; i < chain.length - 1; i++) pts.push(point(chain[i]));
    pts.push(port(chain[chain.length - 1], false));
    if (l.reversed) pts.reverse();
    for (const ei of l.edges) routes[ei] = pts;
  }
  edges.forEach((e, i) => {
    // A task that transitions to itself: a small loop beside it.
    if (e.from === e.to && index.has(e.from)) {
      const p = pos.get(e.from);
      routes[i] = tb
        ? [[p.x + p.w, p.cy - 8], [p.x + p.w + 26, p.cy - 18], [p.x + p.w + 26, p.cy + 18], [p.x + p.w, p.cy + 8]]
        : [[p.cx - 8, p.y + p.h], [p.cx - 18, p.y + p.h + 26], [p.cx + 18, p.y + p.h + 26], [p.cx + 8, p.y + p.h]];
      routes[i].loop = true;
    }
  });
  const width = tb ? maxC - minC + 2 * margin + 30 : along - rankGap + margin;
  const height = tb ? along - rankGap + margin : maxC - minC + 2 * margin + 30;
  return {orientation, width: Math.max(width, 1), height: Math.max(height, 1), pos, routes, ranks: maxRank + 1, reversed: links.filter((l) => l.reversed).length};
}
