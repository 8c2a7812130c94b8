// pickers: choosing purposes from the shared catalogue (with a way to add a
// missing cause), used by the organisation, engagement and profile forms.
import { api, ApiError, get, itemsOf, newKey, query } from './api.js';
import { h, uid } from './dom.js';
import { field } from './forms.js';
import { session } from './session.js';
import { busy, purposeName, purposeSlug, toast } from './ui.js';

// Every purpose in the catalogue (a few pages at most), cached per page load.
let catalogue = null;
let loadedAt = 0;
export const forgetCatalogue = () => { catalogue = null; };
export function loadCatalogue({ refresh = false } = {}) {
  if (catalogue && !refresh && Date.now() - loadedAt < 30000) return catalogue;
  loadedAt = Date.now();
  catalogue = (async () => {
    const all = [];
    let cursor = null;
    for (let i = 0; i < 10; i++) {
      const data = await get(`/api/v1/purposes${query({ limit: 100, cursor })}`);
      all.push(...itemsOf(data));
      cursor = data?.next_cursor;
      if (!cursor) break;
    }
    all.complete = !cursor;
    return all;
  })();
  catalogue.catch(() => { catalogue = null; });
  return catalogue;
}

// A fieldset of purpose pills with a filter box. onChange(slugs, purposes).
export function purposePicker({ name = 'purposes', legend = 'Purposes', hint, selected = [], onChange, allowAdd = true }) {
  const chosen = new Set(selected.map(purposeSlug));
  const known = new Map(selected.filter((p) => typeof p === 'object').map((p) => [purposeSlug(p), p]));
  const hintId = hint ? uid('hint') : null;
  const filterId = uid('filter');
  const pills = h('div', { class: 'pills purpose-picker', role: 'group', 'aria-label': `${legend}: choices` });
  const status = h('p', { class: 'hint', role: 'status' });
  const filter = h('input', { id: filterId, type: 'search', placeholder: 'Filter purposes', autocomplete: 'off' });
  const box = h('fieldset', { class: 'field', dataset: { field: name }, 'aria-describedby': hintId },
    h('legend', { text: legend }),
    hint ? h('p', { class: 'hint', id: hintId, text: hint }) : null,
    h('div', { class: 'field' }, h('label', { class: 'sr-only', for: filterId, text: `Filter ${legend.toLowerCase()}` }), filter),
    pills, status);

  const changed = () => onChange?.([...chosen], [...chosen].map((s) => known.get(s) ?? s));
  function pill(p) {
    const slug = purposeSlug(p);
    known.set(slug, p);
    const input = h('input', { type: 'checkbox', name, value: slug, checked: chosen.has(slug) });
    input.addEventListener('change', () => { if (input.checked) chosen.add(slug); else chosen.delete(slug); changed(); });
    return h('label', { class: 'check-pill', dataset: { name: purposeName(p).toLowerCase() } }, input, h('span', { text: purposeName(p) }));
  }
  let complete = true;
  let searchTimer = null;
  const applyFilter = () => {
    const q = filter.value.trim().toLowerCase();
    let shown = 0;
    for (const label of pills.children) {
      const match = !q || label.dataset.name.includes(q) || label.querySelector('input').checked;
      label.hidden = !match;
      if (match) shown++;
    }
    status.textContent = q ? `${shown} shown` : '';
    return q;
  };
  filter.addEventListener('input', () => {
    const q = applyFilter();
    // A very large catalogue is not all loaded: ask the API for the rest.
    clearTimeout(searchTimer);
    if (!q || complete) return;
    searchTimer = setTimeout(async () => {
      try {
        const data = await get(`/api/v1/purposes${query({ q, limit: 20 })}`);
        for (const p of itemsOf(data)) if (!known.has(purposeSlug(p)) || !pills.querySelector(`input[value="${CSS.escape(purposeSlug(p))}"]`)) pills.append(pill(p));
        applyFilter();
      } catch { /* the loaded part still works */ }
    }, 250);
  });

  if (allowAdd && session.me) {
    const addId = uid('newp');
    const input = h('input', { id: addId, type: 'text', maxlength: 100, placeholder: 'e.g. Soil health', autocomplete: 'off' });
    const button = h('button', { class: 'btn btn--secondary btn--small', type: 'button', text: 'Add to catalogue' });
    const add = async () => {
      const nameText = input.value.trim();
      if (!nameText) { input.focus(); return; }
      busy(button, true);
      try {
        const res = await api('POST', '/api/v1/purposes', { body: { name: nameText, description: '' }, idempotencyKey: newKey() });
        const p = res.data;
        chosen.add(purposeSlug(p));
        forgetCatalogue();
        pills.prepend(pill(p));
        input.value = '';
        changed();
        toast(`Added “${purposeName(p)}” to the catalogue.`);
      } catch (err) {
        if (err instanceof ApiError && err.status === 409) {
          const existing = [...pills.querySelectorAll('label')].find((l) => l.dataset.name === nameText.toLowerCase());
          if (existing) {
            const cb = existing.querySelector('input');
            if (!cb.checked) { cb.checked = true; cb.dispatchEvent(new Event('change')); }
            toast(`“${nameText}” is already in the catalogue — selected it for you.`);
          } else toast(`“${nameText}” is already in the catalogue.`, 'error');
        } else toast(err.message, 'error');
      } finally { busy(button, false); }
    };
    button.addEventListener('click', add);
    input.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); add(); } });
    box.append(h('details', { class: 'small' },
      h('summary', { text: 'Missing a cause? Add it to the shared catalogue' }),
      h('div', { class: 'actions' },
        h('label', { class: 'sr-only', for: addId, text: 'Name of the new purpose' }), input, button)));
  }

  const ready = loadCatalogue().then((items) => {
    complete = items.complete !== false;
    // the chosen ones first, then the rest of the catalogue
    const first = selected.map((p) => items.find((x) => purposeSlug(x) === purposeSlug(p)) ?? p);
    const rest = items.filter((x) => !chosen.has(purposeSlug(x)));
    pills.replaceChildren(...[...first, ...rest].map(pill));
    if (!items.length) status.textContent = 'The catalogue is empty: add the first purpose.';
  }).catch((err) => {
    pills.replaceChildren(...selected.map(pill));
    status.textContent = err instanceof ApiError && err.missing
      ? 'The purposes catalogue is not available on this server yet.'
      : `The purposes could not be loaded: ${err.message}`;
  });
  return { el: box, values: () => [...chosen], ready, known };
}

// Suggestions from the skill catalogue (GET /api/v1/skills?prefix=) for a
// comma-separated skills field: a datalist whose options are the field's text
// with its last item completed, so picking one keeps the items before it.
export function suggestSkills(fieldEl) {
  const input = fieldEl.querySelector('input');
  if (!input) return fieldEl;
  const list = h('datalist', { id: uid('skills') });
  input.setAttribute('list', list.id);
  input.setAttribute('autocomplete', 'off');
  fieldEl.append(list);
  let timer = null;
  let asked = '';
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const text = input.value;
      const cut = text.lastIndexOf(',');
      const before = cut < 0 ? '' : `${text.slice(0, cut + 1)} `;
      const prefix = text.slice(cut + 1).trim();
      if (prefix === asked) return;
      asked = prefix;
      if (!prefix) { list.replaceChildren(); return; }
      try {
        const data = await get(`/api/v1/skills${query({ prefix, limit: 8 })}`);
        if (input.value !== text) return; // typed on meanwhile
        list.replaceChildren(...itemsOf(data).map((s) => h('option', { value: before + s.name })));
      } catch { /* suggestions help; the field works without them */ }
    }, 150);
  });
  return fieldEl;
}

// A place of the gazetteer (GET /api/v1/places?prefix=) typed into a text
// field with suggestions: "Potsdam, DE". The chosen place's id is kept in a
// hidden input named name; text that names no suggested place leaves it
// empty (null), and the visible text is only for the person typing.
export const placeLabel = (p) => (p ? `${p.name}, ${p.country}` : '');
export function placeField({ label, name, place = null, hint, optional = true }) {
  const hidden = h('input', { type: 'hidden', name, value: place?.id ?? '' });
  const el = field({ label, name: `${name}_text`, optional, hint, value: placeLabel(place), autocomplete: 'off',
    placeholder: 'Start typing a town, e.g. Lisbon', fields: name });
  const input = el.querySelector('input');
  const list = h('datalist', { id: uid('places') });
  input.setAttribute('list', list.id);
  el.append(list, hidden);
  const known = new Map(place ? [[placeLabel(place), place.id]] : []);
  let timer = null;
  const choose = () => {
    const id = String(known.get(input.value) ?? '');
    if (id === hidden.value) return;
    hidden.value = id;
    hidden.dispatchEvent(new Event('change', { bubbles: true }));
  };
  input.addEventListener('input', () => {
    choose();
    clearTimeout(timer);
    const prefix = input.value.split(',')[0].trim();
    if (hidden.value || prefix.length < 2) return;
    timer = setTimeout(async () => {
      try {
        const data = await get(`/api/v1/places${query({ prefix, limit: 8 })}`);
        const items = itemsOf(data);
        for (const p of items) known.set(placeLabel(p), p.id);
        list.replaceChildren(...items.map((p) => h('option', { value: placeLabel(p) })));
        choose();
      } catch { /* suggestions help; the field works without them */ }
    }, 150);
  });
  return el;
}
