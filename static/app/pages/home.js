// home: browse and search open engagements, with the purposes catalogue and
// organisations alongside.
import { api, get, getOptional, itemsOf, newKey, query } from '../api.js';
import { h, replace, num, PACKAGINGS, word, uid } from '../dom.js';
import { field } from '../forms.js';
import { session } from '../session.js';
import { pushFilters } from '../router.js';
import { loadCatalogue, placeField } from '../pickers.js';
import { empty, engagementCard, errorNotice, pagedList, purposeName, purposeSlug, skeletons, toast, unavailable } from '../ui.js';

// organisation= has no field: it comes with a link (a saved search's) and stays
const FILTERS = ['q', 'purpose', 'skill', 'packaging', 'remote', 'near', 'within_km', 'organisation'];
const RADII = ['10', '25', '50', '100', '250'];

export default async function render(ctx) {
  ctx.setTitle(null);
  const state = Object.fromEntries(FILTERS.map((k) => [k, ctx.query.get(k) ?? '']));

  const searchId = uid('search');
  const search = h('form', { class: 'search', role: 'search', 'aria-label': 'Search open engagements' },
    h('div', { class: 'search__field' },
      h('label', { class: 'sr-only', for: searchId, text: 'Search open engagements' }),
      h('input', { id: searchId, type: 'search', name: 'q', value: state.q, placeholder: 'Try “water” or “teaching”', autocomplete: 'off' })),
    h('button', { class: 'btn', type: 'submit', text: 'Search' }));

  const purposeSelect = field({ label: 'Purpose', name: 'purpose', type: 'select', value: state.purpose,
    options: [['', 'Any purpose'], ...(state.purpose ? [[state.purpose, purposeName(state.purpose)]] : [])] });
  // near= is a place id; its name comes from the gazetteer
  const nearField = placeField({ label: 'Near', name: 'near', optional: false });
  if (/^\d+$/.test(state.near)) {
    getOptional(`/api/v1/places/${state.near}`, { signal: ctx.signal }).then((p) => {
      if (!p) return;
      nearField.querySelector('input[type="text"]').value = `${p.name}, ${p.country}`;
    }).catch(() => {});
    nearField.querySelector('input[type="hidden"]').value = state.near;
  }
  const saveButton = session.me
    ? h('button', { class: 'btn btn--secondary btn--small', type: 'button', text: 'Save this search' }) : null;
  const filters = h('form', { class: 'filters', 'aria-label': 'Filter engagements' },
    purposeSelect,
    field({ label: 'Skill', name: 'skill', value: state.skill, placeholder: 'e.g. design', autocomplete: 'off' }),
    field({ label: 'Packaging', name: 'packaging', type: 'select', value: state.packaging,
      options: [['', 'Any packaging'], ...PACKAGINGS.map((p) => [p, word(p)])] }),
    nearField,
    field({ label: 'Within', name: 'within_km', type: 'select', value: state.within_km || '50',
      options: RADII.map((r) => [r, `${r} km`]) }),
    h('div', { class: 'filters__end' },
      h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'remote', value: 'true', checked: state.remote === 'true' }),
        h('span', { text: 'Remote friendly' })),
      h('button', { class: 'btn btn--secondary btn--small', type: 'submit', text: 'Apply' }),
      saveButton));

  const results = h('div', { 'aria-live': 'polite', 'aria-busy': 'false' });
  const heading = h('h2', { id: 'results-title', text: 'Open engagements' });
  const purposesAside = h('div', {}, skeletons(1));
  const orgsAside = h('div', {}, skeletons(1));

  replace(ctx.root,
    h('section', { class: 'hero' },
      h('h1', { text: 'Purposeful work, agreed in the open' }),
      h('p', { class: 'lead', text: 'Find engagements with organisations that exist for causes you care about — paid, volunteer, or rewarded in learning, network and credit.' }),
      search),
    h('div', { class: 'layout-browse' },
      h('section', { 'aria-labelledby': 'results-title' },
        h('div', { class: 'section__head' }, heading,
          session.me ? h('a', { href: '/me/matches', text: 'See your matches →' }) : null),
        filters,
        results),
      h('aside', { class: 'stack-lg', 'aria-label': 'Purposes and organisations' },
        h('section', { class: 'aside-block card' },
          h('h2', { text: 'Purposes' }),
          h('p', { class: 'muted small', text: 'The causes people here give their energy to.' }),
          purposesAside,
          h('p', { class: 'more-link' }, h('a', { href: '/purposes', text: 'All purposes →' }))),
        h('section', { class: 'aside-block card' },
          h('h2', { text: 'Organisations' }),
          orgsAside,
          h('p', { class: 'more-link' }, h('a', { href: '/organisations', text: 'All organisations →' }))),
        h('section', { class: 'aside-block card card--tint' },
          h('h2', { text: 'Need people for your purpose?' }),
          h('p', { class: 'muted', text: 'Post an engagement and see who fits — with the reasons, never a bidding war.' }),
          h('a', { class: 'btn btn--secondary', href: session.me ? '/organisations/new' : '/signup?next=/organisations/new', text: 'Start an organisation' })))));

  function readForms() {
    state.q = search.elements.q.value.trim();
    state.purpose = filters.elements.purpose.value;
    state.skill = filters.elements.skill.value.trim();
    state.packaging = filters.elements.packaging.value;
    state.remote = filters.elements.remote.checked ? 'true' : '';
    state.near = filters.elements.near.value;
    state.within_km = state.near ? filters.elements.within_km.value : '';
  }
  // Saved: notified (in the app and by mail) of new engagements that match
  saveButton?.addEventListener('click', async () => {
    readForms();
    const filtersGiven = Object.fromEntries(FILTERS.filter((k) => state[k]).map((k) => [k, k === 'remote' ? true : k === 'within_km' ? Number(state[k]) : state[k]]));
    const name = state.q || state.skill || purposeName(state.purpose) || 'My search';
    try {
      await api('POST', '/api/v1/me/saved-searches', { body: { name, ...filtersGiven }, idempotencyKey: newKey() });
      toast('Search saved: you will be told of new engagements that match. Your saved searches are in Settings.');
    } catch (err) {
      toast(`The search could not be saved: ${err.message}`);
    }
  });
  function apply() {
    readForms();
    if (pushFilters(`${location.pathname}${query(state)}`)) loadResults();
  }
  search.addEventListener('submit', (e) => { e.preventDefault(); apply(); });
  filters.addEventListener('submit', (e) => { e.preventDefault(); apply(); });
  filters.addEventListener('change', (e) => { if (e.target.name !== 'near_text') apply(); });
  // The skill applies alone: once the typing pauses, as the other filters do on change
  let skillTimer = null;
  filters.elements.skill.addEventListener('input', () => {
    clearTimeout(skillTimer);
    skillTimer = setTimeout(() => { if (ctx.isCurrent()) apply(); }, 600);
  });

  function loadResults() {
    const filtered = FILTERS.some((k) => state[k]);
    heading.textContent = state.q ? `Open engagements matching “${state.q}”` : 'Open engagements';
    results.replaceChildren();
    return pagedList(results, {
      label: 'Open engagements',
      what: 'Engagements',
      fetchPage: (cursor) => get(`/api/v1/engagements${query({ ...state, status: undefined, limit: 10, cursor })}`, { signal: ctx.signal }),
      renderItem: (e) => engagementCard(e),
      countLabel: (n, more) => `Showing ${num(n)}${more ? '' : ' of ' + num(n)} open ${n === 1 ? 'engagement' : 'engagements'}`,
      emptyState: filtered
        ? empty({ title: 'Nothing matches yet', text: 'Try fewer words or clear a filter. New engagements are posted every week.',
          action: h('a', { class: 'btn btn--secondary', href: '/', text: 'Clear search and filters' }) })
        : empty({ title: 'No open engagements yet', text: 'Be the first: start an organisation and post the work your purpose needs.',
          action: h('a', { class: 'btn', href: '/organisations/new', text: 'Start an organisation' }) }),
    });
  }

  const purposesPromise = loadCatalogue()
    .then((items) => {
      const select = filters.elements.purpose;
      for (const p of items) {
        if (purposeSlug(p) === state.purpose) { select.querySelector(`option[value="${CSS.escape(state.purpose)}"]`).textContent = purposeName(p); continue; }
        select.append(h('option', { value: purposeSlug(p), text: purposeName(p) }));
      }
      const top = [...items].sort((a, b) => (b.supporters ?? 0) + (b.organisations ?? 0) - (a.supporters ?? 0) - (a.organisations ?? 0)).slice(0, 12);
      purposesAside.replaceChildren(top.length
        ? h('ul', { class: 'chips' }, top.map((p) => h('li', {}, h('a', { class: 'chip', href: `/purposes/${encodeURIComponent(p.slug)}`, text: p.name }))))
        : h('p', { class: 'muted', text: 'No purposes yet. Add the first cause from the purposes page.' }));
    })
    .catch((err) => { if (err.name !== 'AbortError') purposesAside.replaceChildren(errorNotice(err, { what: 'The purposes catalogue' })); });

  const orgsPromise = getOptional(`/api/v1/organisations${query({ limit: 5 })}`, { signal: ctx.signal })
    .then((data) => {
      if (data === null) { orgsAside.replaceChildren(unavailable('The organisations list')); return; }
      const items = itemsOf(data);
      orgsAside.replaceChildren(items.length
        ? h('ul', { class: 'list-plain stack' }, items.map((o) => h('li', {},
          h('a', { href: `/organisations/${encodeURIComponent(o.slug)}`, text: o.name }),
          o.open_engagements ? h('span', { class: 'muted small', text: ` · ${num(o.open_engagements)} open` } ) : null)))
        : h('p', { class: 'muted', text: 'No organisations yet.' }));
    })
    .catch((err) => { if (err.name !== 'AbortError') orgsAside.replaceChildren(errorNotice(err, { what: 'The organisations list' })); });

  await Promise.all([loadResults(), purposesPromise, orgsPromise]);
}
