// purposes: the shared catalogue of causes, searchable, with a way to add one.
import { api, get, newKey, query } from '../api.js';
import { h, replace, plural, uid } from '../dom.js';
import { field, onSubmit, showErrors, value } from '../forms.js';
import { session } from '../session.js';
import { pushFilters } from '../router.js';
import { forgetCatalogue } from '../pickers.js';
import { clip, empty, pageHead, pagedList, toast } from '../ui.js';

export function purposeCard(p) {
  return h('article', { class: 'card card--link' },
    h('h3', { class: 'card__title' }, h('a', { href: `/purposes/${encodeURIComponent(p.slug)}`, text: p.name })),
    p.description ? h('p', { class: 'card__text', text: clip(p.description, 160) }) : null,
    h('ul', { class: 'card__meta' },
      p.supporters !== undefined ? h('li', { text: plural(p.supporters, 'supporter') }) : null,
      p.organisations !== undefined ? h('li', { text: plural(p.organisations, 'organisation') }) : null));
}

export default async function render(ctx) {
  ctx.setTitle('Purposes');
  const state = { q: ctx.query.get('q') ?? '' };
  const qId = uid('q');
  const search = h('form', { class: 'search', role: 'search', 'aria-label': 'Search purposes' },
    h('div', { class: 'search__field' }, h('label', { class: 'sr-only', for: qId, text: 'Search purposes' }),
      h('input', { id: qId, type: 'search', name: 'q', value: state.q, placeholder: 'e.g. water, education, climate' })),
    h('button', { class: 'btn btn--secondary', type: 'submit', text: 'Search' }));
  const results = h('div');
  const addCard = session.me ? addPurposeCard(ctx) : h('aside', { class: 'card card--tint' },
    h('h2', { text: 'Missing a cause?' }),
    h('p', { class: 'muted', text: 'Sign in to add a purpose to the shared catalogue.' }),
    h('a', { class: 'btn btn--secondary', href: '/signin?next=/purposes', text: 'Sign in' }));
  replace(ctx.root,
    pageHead({ title: 'Purposes', lead: 'The shared catalogue of causes. Agents split their energy among them; organisations exist for them.' }),
    h('div', { class: 'layout-browse' },
      h('div', { class: 'stack' }, search, results),
      addCard));
  const load = () => {
    results.replaceChildren();
    return pagedList(results, {
      grid: true, label: 'Purposes', what: 'The purposes catalogue',
      fetchPage: (cursor) => get(`/api/v1/purposes${query({ q: state.q, limit: 24, cursor })}`, { signal: ctx.signal }),
      renderItem: purposeCard,
      emptyState: state.q
        ? empty({ title: `No purpose matches “${state.q}”`, text: 'Try a broader word — or add this cause to the catalogue.' })
        : empty({ title: 'The catalogue is empty', text: 'Add the first cause people can rally around.' }),
    });
  };
  search.addEventListener('submit', (e) => {
    e.preventDefault();
    state.q = search.elements.q.value.trim();
    if (pushFilters(`/purposes${query(state)}`)) load();
  });
  await load();
}

function addPurposeCard(ctx) {
  let key = newKey();
  const form = h('form', { class: 'form', 'aria-labelledby': 'add-purpose-title' },
    field({ label: 'Name', name: 'name', maxlength: 100, placeholder: 'e.g. Soil health' }),
    field({ label: 'Description', name: 'description', type: 'textarea', rows: 3, maxlength: 2000, optional: true }),
    h('button', { class: 'btn', type: 'submit', text: 'Add purpose' }));
  onSubmit(form, async () => {
    const name = value(form, 'name');
    if (!name) { showErrors(form, [{ field: 'name', message: 'give the purpose a name' }]); return; }
    const res = await api('POST', '/api/v1/purposes', { body: { name, description: value(form, 'description') }, idempotencyKey: key });
    key = newKey();
    forgetCatalogue();
    toast(`“${res.data.name}” is in the catalogue.`);
    ctx.navigate(`/purposes/${encodeURIComponent(res.data.slug)}`);
  });
  return h('aside', { class: 'card' }, h('h2', { id: 'add-purpose-title', text: 'Add a purpose' }),
    h('p', { class: 'muted small', text: 'Check the catalogue first: one shared name helps people find each other.' }), form);
}
