// forms: labelled fields, reading values, and showing API problems next to
// the field they name (aria-describedby) with a summary at the top.

import { ApiError } from './api.js';
import { h, uid } from './dom.js';
import { busy } from './ui.js';

// field({label, name, type, value, hint, required, optional, ...inputAttrs})
export function field({ label, name, type = 'text', hint, optional = false, options, rows, fields, ...attrs }) {
  const id = attrs.id ?? uid(`f-${name}`);
  const hintId = hint ? `${id}-hint` : null;
  let control;
  if (type === 'textarea') {
    control = h('textarea', { id, name, rows: rows ?? 5, 'aria-describedby': hintId, ...attrs });
    if (attrs.value !== undefined) control.value = attrs.value ?? '';
  } else if (type === 'select') {
    control = h('select', { id, name, 'aria-describedby': hintId, ...attrs, value: undefined },
      options.map(([value, text]) => h('option', { value, text, selected: String(attrs.value ?? '') === String(value) })));
  } else {
    control = h('input', { id, name, type, 'aria-describedby': hintId, ...attrs });
  }
  return h('div', { class: 'field', dataset: { field: name, ...(fields ? { fields } : {}) } },
    h('label', { for: id }, label, optional ? h('span', { class: 'field__optional', text: ' (optional)' }) : null),
    hint ? h('p', { class: 'hint', id: hintId, text: hint }) : null,
    control);
}

export function checkbox({ label, name, checked, hint, value }) {
  const id = uid(`c-${name}`);
  return h('div', { class: 'field', dataset: { field: name } },
    h('label', { class: 'check', for: id },
      h('input', { type: 'checkbox', id, name, checked, value: value ?? 'on', 'aria-describedby': hint ? `${id}-hint` : null }),
      h('span', {}, label, hint ? h('span', { class: 'hint', id: `${id}-hint`, text: ` — ${hint}` }) : null)));
}

// A group of checkbox pills for picking several values (packagings...).
export function pillGroup({ legend, name, options, checked = [], hint }) {
  const hintId = hint ? uid(`h-${name}`) : null;
  return h('fieldset', { class: 'field', dataset: { field: name }, 'aria-describedby': hintId },
    h('legend', { text: legend }),
    hint ? h('p', { class: 'hint', id: hintId, text: hint }) : null,
    h('div', { class: 'pills' }, options.map(([value, text]) => h('label', { class: 'check-pill' },
      h('input', { type: 'checkbox', name, value, checked: checked.includes(value) }),
      h('span', { text })))));
}

export const checkedValues = (form, name) =>
  [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);

export const value = (form, name) => {
  const el = form.elements.namedItem(name);
  return el && 'value' in el ? el.value.trim() : '';
};

// "a, b,  c" -> ['a', 'b', 'c']
export const splitList = (text) => String(text ?? '').split(/[,\n]/).map((s) => s.trim()).filter(Boolean);

function clearErrors(form) {
  form.querySelector(':scope > .error-summary')?.remove();
  for (const e of form.querySelectorAll('.field-error')) {
    const control = e.closest('.field')?.querySelector('input, select, textarea, fieldset');
    e.remove();
    if (control) control.removeAttribute('aria-invalid');
  }
  for (const c of form.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
  for (const c of form.querySelectorAll('[aria-describedby]')) {
    const ids = (c.getAttribute('aria-describedby') ?? '').split(/\s+/).filter((id) => id && !id.endsWith('-error'));
    if (ids.length) c.setAttribute('aria-describedby', ids.join(' ')); else c.removeAttribute('aria-describedby');
  }
}

// The field box for an API field name: "rewards.cash.min", "purposes[2]",
// "[0].energy" are matched from the most to the least specific.
function findField(form, name) {
  const candidates = [];
  let n = String(name ?? '');
  while (n) {
    candidates.push(n);
    const next = n.replace(/(\[\d+\]|\.[^.[\]]+)$/, '');
    if (next === n) break;
    n = next;
  }
  const boxes = [...form.querySelectorAll('.field[data-field]')];
  for (const c of candidates) {
    const box = boxes.find((b) => b.dataset.field === c || (b.dataset.fields ?? '').split(' ').includes(c));
    if (box) return box;
  }
  return null;
}

function labelOf(box) {
  return (box.querySelector('label, legend')?.textContent ?? '').replace(' (optional)', '').trim();
}

// Show errors [{field, message}] (from a 422 or from checks in the page).
export function showErrors(form, errors, { title = 'There is a problem', detail } = {}) {
  clearErrors(form);
  const summaryItems = [];
  for (const e of errors) {
    const box = findField(form, e.field);
    if (!box) { summaryItems.push(h('li', { text: e.field ? `${fieldWords(e.field)}: ${e.message}` : e.message })); continue; }
    const control = box.querySelector('input:not([type=hidden]), select, textarea') ?? box;
    const fid = `${control.id || uid('ctl')}-error`;
    if (!control.id) control.id = fid.replace(/-error$/, '');
    let p = box.querySelector(':scope > .field-error');
    const label = labelOf(box);
    const message = capitalise(e.message);
    if (!p) {
      p = h('p', { class: 'field-error', id: fid, text: message });
      box.append(p);
    } else {
      p.textContent = `${p.textContent} ${message}`;
    }
    const target = box.tagName === 'FIELDSET' ? box : control;
    target.setAttribute('aria-invalid', 'true');
    const described = new Set((target.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean));
    described.add(p.id);
    target.setAttribute('aria-describedby', [...described].join(' '));
    summaryItems.push(h('li', {}, h('a', { href: `#${control.id}`, text: `${label || e.field}: ${e.message}` })));
  }
  const summary = h('div', { class: 'error-summary', role: 'alert', tabindex: '-1' },
    h('h2', { text: title }),
    detail ? h('p', { text: detail }) : null,
    summaryItems.length ? h('ul', {}, summaryItems) : null);
  summary.addEventListener('click', (ev) => {
    const a = ev.target.closest('a[href^="#"]');
    if (!a) return;
    ev.preventDefault();
    document.getElementById(a.getAttribute('href').slice(1))?.focus();
  });
  form.prepend(summary);
  summary.focus();
}

// A field the form does not show, named in words: "rewards.cash.max" -> "Cash max".
const fieldWords = (name) => capitalise(String(name).replace(/\[\d+\]/g, '').split('.').slice(-2).join(' ').replace(/_/g, ' ').trim());

const capitalise = (s) => String(s ?? '').replace(/^./, (c) => c.toUpperCase());

export function showProblem(form, err) {
  if (err instanceof ApiError && err.errors.length) {
    showErrors(form, err.errors, { title: err.status === 422 ? 'Please check these fields' : (err.problem?.title ?? 'Please check these fields'), detail: err.status !== 422 ? err.message : null });
  } else {
    const title = err instanceof ApiError && err.missing ? 'Not available yet' : (err?.problem?.title ?? 'That did not work');
    const detail = err instanceof ApiError && err.missing
      ? 'This server does not accept this yet. Your input is still here — try again later.'
      : err?.message ?? String(err);
    showErrors(form, [], { title, detail });
  }
}

// Wire a form: onSubmit(form) does the work; errors land next to fields.
export function onSubmit(form, handler) {
  let running = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (running) return;
    running = true;
    const button = event.submitter ?? form.querySelector('button[type=submit], button:not([type])');
    busy(button, true);
    try {
      await handler(form, event);
    } catch (err) {
      if (err?.name !== 'AbortError') showProblem(form, err);
    } finally {
      running = false;
      if (button?.isConnected) busy(button, false);
    }
  });
  form.noValidate = true;
  return form;
}

export { clearErrors };
