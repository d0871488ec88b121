// YAML: parsing (the vendored js-yaml) and highlighting for display.

import {esc} from './dom.js';
import jsyaml from '../vendor/js-yaml.mjs';

export class YamlError extends Error {
  constructor(message, line) {
    super(message);
    this.line = line;
  }
}

export function parseYaml(text) {
  try {
    return jsyaml.load(text, {json: true});
  } catch (e) {
    const line = e.mark ? e.mark.line + 1 : null;
    throw new YamlError(`${e.reason || e.message}${line ? ` (line ${line})` : ''}`, line);
  }
}

export function dumpYaml(value) {
  return jsyaml.dump(value, {lineWidth: 100, noRefs: true});
}

const TOKEN = /(<%[\s\S]*?%>|\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}|"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|(?:^|\s)#.*$|\b(?:true|false|null|True|False|yes|no|~)\b|-?\b\d+(?:\.\d+)?\b)/g;

function value(text) {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    out += esc(text.slice(last, m.index));
    const tok = m[0];
    let cls = 'y-lit';
    if (tok.startsWith('<%') || tok.startsWith('{{') || tok.startsWith('{%')) cls = 'y-expr';
    else if (tok.startsWith('"') || tok.startsWith("'")) {
      // An expression inside a quoted string still stands out.
      out += `<span class="y-str">${esc(tok).replace(/(&lt;%.*?%&gt;|\{\{.*?\}\})/g, '<span class="y-expr">$1</span>')}</span>`;
      last = m.index + tok.length;
      continue;
    } else if (/^\s*#/.test(tok)) cls = 'y-comment';
    else if (/^-?\d/.test(tok)) cls = 'y-num';
    out += `<span class="${cls}">${esc(tok)}</span>`;
    last = m.index + tok.length;
  }
  return out + esc(text.slice(last));
}

const KEY = /^(\s*)(-\s+)?((?:"[^"]*"|'[^']*'|[^\s:#'"][^:#]*?))(:)(?=\s|$)(.*)$/;

// HTML (escaped) of `text`, one <span class="line"> per line.
export function highlightYaml(text) {
  return String(text).split('\n').map((line) => {
    let html;
    const comment = /^\s*#/.test(line);
    const m = comment ? null : KEY.exec(line);
    if (comment) html = `<span class="y-comment">${esc(line)}</span>`;
    else if (m) {
      html = `${esc(m[1])}${m[2] ? `<span class="y-dash">${esc(m[2])}</span>` : ''}` +
        `<span class="y-key">${esc(m[3])}</span>${esc(m[4])}${value(m[5])}`;
    } else {
      const dash = /^(\s*)(-\s+)(.*)$/.exec(line);
      html = dash ? `${esc(dash[1])}<span class="y-dash">${esc(dash[2])}</span>${value(dash[3])}` : value(line);
    }
    return `<span class="line">${html}</span>`;
  }).join('\n');
}
