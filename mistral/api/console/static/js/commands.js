// Operations that change something, each one REST call the CLI would make
// too; the API's own error message is shown when it refuses.

import {api} from './api.js';
import {h} from './dom.js';
import {dialog, toast} from './ui.js';

// A textarea whose content must be JSON (empty allowed unless required).
export function jsonField(label, {id, value = '', required = false, hint, rows = 5, kind = 'object'} = {}) {
  const area = h('textarea', {id, rows, spellcheck: 'false', 'aria-describedby': `${id}-err`}, value);
  const err = h('div', {class: 'err', id: `${id}-err`, role: 'alert'});
  const wrap = h('div', {class: 'field'}, h('label', {for: id}, label, hint ? h('span', {class: 'hint'}, ` ${hint}`) : null), area, err);
  const check = () => {
    const text = area.value.trim();
    let message = '';
    let parsed;
    if (!text) {
      if (required) message = 'Required.';
    } else {
      try {
        parsed = JSON.parse(text);
        if (kind === 'object' && (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))) message = 'Must be a JSON object, e.g. {"key": "value"}.';
      } catch (e) {
        message = `Not valid JSON: ${e.message}`;
      }
    }
    err.textContent = message;
    wrap.classList.toggle('invalid', Boolean(message));
    return {ok: !message, value: parsed, empty: !text};
  };
  area.addEventListener('input', check);
  return {el: wrap, check, area};
}

export async function setExecutionState(id, state, info) {
  const body = {state};
  if (info) body.state_info = info;
  const ex = await api.put(`/executions/${id}`, body);
  toast(`Execution ${state === 'RUNNING' ? 'resumed' : state.toLowerCase()}`, 'ok');
  return ex;
}

export function rerunDialog(task) {
  return dialog(`Rerun task ${task.name}`, (close) => {
    const withItems = Boolean(JSON.parse(task.runtime_context || '{}').with_items);
    const reset = h('input', {type: 'checkbox', id: 'rerun-reset', checked: true});
    const env = jsonField('Environment changes', {id: 'rerun-env', hint: '(optional JSON object, merged into the execution\'s env)', rows: 4});
    const error = h('div', {class: 'form-error', hidden: true, role: 'alert'});
    const submit = h('button', {class: 'btn primary', type: 'submit'}, 'Rerun');
    return h('form', {onsubmit: async (e) => {
      e.preventDefault();
      const envValue = env.check();
      if (!envValue.ok) return;
      const body = {state: 'RUNNING', reset: reset.checked, id: task.id};
      if (!envValue.empty) body.env = envValue.value;
      submit.disabled = true;
      try {
        const result = await api.put(`/tasks/${task.id}`, body);
        toast(`Task ${task.name} rerun`, 'ok');
        close(result);
      } catch (err) {
        error.hidden = false;
        error.textContent = err.message;
      } finally { submit.disabled = false; }
    }},
    h('p', {class: 'muted'}, 'The task runs again; its workflow (and every parent) goes back to RUNNING.'),
    error,
    h('label', {class: 'check', for: 'rerun-reset'}, reset, 'Reset: run every item again'),
    h('p', {class: 'hint muted'}, withItems ? 'Without reset, only the items that failed or did not run are run again.' : 'Only with-items tasks can keep their finished items (reset off).'),
    env.el,
    h('div', {class: 'dialog-actions'}, h('button', {class: 'btn', type: 'button', onclick: () => close(undefined)}, 'Cancel'), submit));
  });
}

export function skipDialog(task) {
  return dialog(`Skip task ${task.name}`, (close) => h('div',
    h('p', 'The failed task is marked SKIPPED and the workflow goes on along its on-skip (or on-success) transitions.'),
    h('div', {class: 'dialog-actions'}, h('button', {class: 'btn', onclick: () => close(undefined)}, 'Cancel'),
      h('button', {class: 'btn primary', onclick: async (e) => {
        e.target.disabled = true;
        try { close(await api.put(`/tasks/${task.id}`, {state: 'SKIPPED', id: task.id})); toast(`Task ${task.name} skipped`, 'ok'); }
        catch (err) { toast(err.message, 'error'); e.target.disabled = false; }
      }}, 'Skip task'))));
}

// Complete (or fail, or cancel) an action that waits for its result.
export function completeDialog(action) {
  return dialog(`Complete action ${action.name}`, (close) => {
    const state = h('select', {id: 'complete-state'}, ['SUCCESS', 'ERROR', 'CANCELLED'].map((s) => h('option', {value: s}, s)));
    const output = jsonField('Output', {id: 'complete-output', hint: '(any JSON value: the action\'s result, or the error for ERROR)', kind: 'any', rows: 5, value: '{}'});
    const error = h('div', {class: 'form-error', hidden: true, role: 'alert'});
    const submit = h('button', {class: 'btn primary', type: 'submit'}, 'Send result');
    return h('form', {onsubmit: async (e) => {
      e.preventDefault();
      const out = output.check();
      if (!out.ok) return;
      const body = {state: state.value};
      if (!out.empty) body.output = JSON.stringify(out.value);
      submit.disabled = true;
      try {
        const result = await api.put(`/action_executions/${action.id}`, body);
        toast(`Action ${action.name}: ${state.value}`, 'ok');
        close(result);
      } catch (err) {
        error.hidden = false;
        error.textContent = err.message;
      } finally { submit.disabled = false; }
    }},
    h('p', {class: 'muted'}, 'Sends the result of an asynchronous action, as its callback would.'),
    error,
    h('div', {class: 'field'}, h('label', {for: 'complete-state'}, 'State'), state),
    output.el,
    h('div', {class: 'dialog-actions'}, h('button', {class: 'btn', type: 'button', onclick: () => close(undefined)}, 'Cancel'), submit));
  });
}
