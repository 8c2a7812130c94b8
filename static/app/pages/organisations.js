// organisations: every organisation, searchable and filterable by purpose.
import { get, query } from '../api.js';
import { loadCatalogue } from '../pickers.js';
import { h, replace, uid } from '../dom.js';
import { session } from '../session.js';
import { pushFilters } from '../router.js';
import { empty, organisationCard, pageHead, pagedList, purposeName, purposeSlug } from '../ui.js';

export default async function render(ctx) {
  ctx.setTitle('Organisations');
  const state = { q: ctx.query.get('q') ?? '', purpose: ctx.query.get('purpose') ?? '' };
  const qId = uid('q');
  const pId = uid('p');
  const form = h('form', { class: 'filters filters--search', role: 'search', 'aria-label': 'Search organisations' },
    h('div', { class: 'field' }, h('label', { for: qId, text: 'Search' }),
      h('input', { id: qId, type: 'search', name: 'q', value: state.q, placeholder: 'Name or purpose statement' })),
    h('div', { class: 'field' }, h('label', { for: pId, text: 'Purpose' }),
      h('select', { id: pId, name: 'purpose' }, h('option', { value: '', text: 'Any purpose' }),
        state.purpose ? h('option', { value: state.purpose, selected: true, text: purposeName(state.purpose) }) : null)),
    h('div', { class: 'field' }, h('button', { class: 'btn btn--secondary', type: 'submit', text: 'Search' })));
  const results = h('div');
  replace(ctx.root,
    pageHead({
      title: 'Organisations',
      lead: 'For-purpose organisations and the charters they work by. Follow the ones you would like to hear from.',
      actions: h('a', { class: 'btn', href: session.me ? '/organisations/new' : '/signup?next=/organisations/new', text: 'Start an organisation' }),
    }),
    form, results);

  const load = () => {
    results.replaceChildren();
    return pagedList(results, {
      grid: true, label: 'Organisations', what: 'The organisations list',
      fetchPage: (cursor) => get(`/api/v1/organisations${query({ ...state, limit: 12, cursor })}`, { signal: ctx.signal }),
      renderItem: organisationCard,
      emptyState: state.q || state.purpose
        ? empty({ title: 'No organisation matches', text: 'Try another word or any purpose.', action: h('a', { class: 'btn btn--secondary', href: '/organisations', text: 'Show all organisations' }) })
        : empty({ title: 'No organisations yet', text: 'Start the first one: write down its purpose and how people work together there.',
          action: h('a', { class: 'btn', href: '/organisations/new', text: 'Start an organisation' }) }),
    });
  };
  const apply = () => {
    state.q = form.elements.q.value.trim();
    state.purpose = form.elements.purpose.value;
    if (pushFilters(`/organisations${query(state)}`)) load();
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); apply(); });
  form.elements.purpose.addEventListener('change', apply);

  loadCatalogue().then((items) => {
    for (const p of items) {
      if (purposeSlug(p) === state.purpose) continue;
      form.elements.purpose.append(h('option', { value: purposeSlug(p), text: purposeName(p) }));
    }
  }).catch(() => {});
  await load();
}
