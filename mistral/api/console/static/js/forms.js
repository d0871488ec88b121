// The start form of a workflow, generated from its input spec (the
// `interface` the API returns): one field per input, defaults filled in,
// every value checked before anything is sent.

import {h} from './dom.js';

// [{name, required, default, kind}] from interface.input (["a", {"b": 1}]).
export function inputSpec(iface) {
  const list = (iface && iface.input) || [];
  return list.map((item) => {
    if (typeof item === 'string') return {name: item, required: true, kind: 'json'};
    const [name, value] = Object.entries(item)[0] || ['?', null];
    let kind = 'json';
    if (typeof value === 'string') kind = 'text';
    else if (typeof value === 'number') kind = 'number';
    else if (typeof value === 'boolean') kind = 'bool';
    return {name, required: false, default: value, kind};
  });
}

// A field for one input; .read() -> {ok, value, skip, error}.
export function inputField(spec, idPrefix = 'in') {
  const id = `${idPrefix}-${spec.name}`;
  const err = h('div', {class: 'err', role: 'alert', id: `${id}-err`});
  let control;
  let mode = null;
  const label = h('label', {for: id}, spec.name, spec.required ? h('span', {class: 'hint'}, ' required') : h('span', {class: 'hint'}, ' optional'));
  if (spec.kind === 'text') {
    control = h('input', {id, type: 'text', value: spec.default ?? '', 'aria-describedby': `${id}-err`});
  } else if (spec.kind === 'number') {
    control = h('input', {id, type: 'number', step: 'any', value: String(spec.default), 'aria-describedby': `${id}-err`});
  } else if (spec.kind === 'bool') {
    control = h('input', {id, type: 'checkbox', checked: Boolean(spec.default)});
  } else {
    const initial = spec.required ? '' : JSON.stringify(spec.default, null, 2);
    control = h('textarea', {id, rows: initial && initial.includes('\n') ? Math.min(8, initial.split('\n').length) : 1, spellcheck: 'false', 'aria-describedby': `${id}-err`,
      placeholder: spec.required ? 'a JSON value: "text", 42, true, [1, 2], {"k": "v"}' : ''}, initial);
    mode = h('select', {'aria-label': `${spec.name}: how to read the value`, class: 'mode'},
      h('option', {value: 'json'}, 'JSON'), h('option', {value: 'text'}, 'Text'));
  }
  const wrap = h('div', {class: 'field'}, label, mode ? h('div', {class: 'actions'}, control, mode) : control, err);
  if (mode) control.style.flex = '1';
  const read = () => {
    let result;
    if (spec.kind === 'bool') result = {ok: true, value: control.checked};
    else if (spec.kind === 'number') {
      const text = control.value.trim();
      if (!text) result = spec.required ? {ok: false, error: 'Required.'} : {ok: true, skip: true};
      else if (Number.isNaN(Number(text))) result = {ok: false, error: 'Not a number.'};
      else result = {ok: true, value: Number(text)};
    } else if (spec.kind === 'text') {
      result = {ok: true, value: control.value};
    } else {
      const text = control.value.trim();
      if (!text) result = spec.required ? {ok: false, error: 'Required.'} : {ok: true, skip: true};
      else if (mode.value === 'text') result = {ok: true, value: control.value};
      else {
        try { result = {ok: true, value: JSON.parse(text)}; }
        catch (e) { result = {ok: false, error: `Not valid JSON (${e.message}). Quote text ("like this") or choose Text.`}; }
      }
    }
    err.textContent = result.ok ? '' : result.error;
    wrap.classList.toggle('invalid', !result.ok);
    return result;
  };
  control.addEventListener(spec.kind === 'bool' ? 'change' : 'input', () => { if (wrap.classList.contains('invalid')) read(); });
  if (mode) mode.addEventListener('change', () => read());
  return {el: wrap, read, name: spec.name, control};
}
