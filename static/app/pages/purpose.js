// purpose: one cause — its open engagements, organisations and the agents
// who give energy to it.
import { ApiError, get, query } from '../api.js';
import { h, replace, plural } from '../dom.js';
import { agentCard, empty, engagementCard, organisationCard, pageHead, pagedList } from '../ui.js';
import { hiddenNoticeBox, reportButton } from '../report.js';

export default async function render(ctx) {
  const slug = ctx.params.slug;
  let p;
  try {
    p = await get(`/api/v1/purposes/${encodeURIComponent(slug)}`, { signal: ctx.signal });
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      ctx.setTitle('Purpose not found');
      replace(ctx.root, h('div', { class: 'empty' },
        h('h1', { class: 'empty__title', text: err.missing ? 'Purposes are not available yet' : 'We could not find this purpose' }),
        h('p', { text: 'Browse the catalogue for the cause you have in mind.' }),
        h('div', { class: 'actions' }, h('a', { class: 'btn', href: '/purposes', text: 'All purposes' }))));
      return;
    }
    throw err;
  }
  ctx.setTitle(p.name);
  const engagements = h('div');
  const orgs = h('div');
  const agents = h('div');
  replace(ctx.root,
    pageHead({ crumbs: [['Purposes', '/purposes'], [p.name]], title: p.name, lead: p.description || null,
      eyebrow: [p.supporters !== undefined ? plural(p.supporters, 'supporter') : null, p.organisations !== undefined ? plural(p.organisations, 'organisation') : null].filter(Boolean).join(' · ') || null,
      actions: [h('a', { class: 'btn btn--secondary', href: `/?purpose=${encodeURIComponent(slug)}`, text: 'Search its engagements' }),
        reportButton({ kind: 'purpose', target: slug, label: p.name })] }),
    // its creator sees why a moderator hid it (the notice is empty otherwise)
    hiddenNoticeBox((s) => s.kind === 'purpose' && s.label === slug, ctx.signal),
    h('div', { class: 'stack-lg' },
      h('section', { 'aria-labelledby': 'eng-title' }, h('h2', { id: 'eng-title', text: 'Open engagements' }), engagements),
      h('section', { 'aria-labelledby': 'org-title' }, h('h2', { id: 'org-title', text: 'Organisations that exist for it' }), orgs),
      h('section', { 'aria-labelledby': 'agents-title' }, h('h2', { id: 'agents-title', text: 'People giving energy to it' }), agents)));
  await Promise.all([
    pagedList(engagements, {
      label: 'Open engagements', what: 'Engagements',
      fetchPage: (cursor) => get(`/api/v1/engagements${query({ purpose: slug, limit: 6, cursor })}`, { signal: ctx.signal }),
      renderItem: (e) => engagementCard(e),
      emptyState: empty({ title: 'No open engagements for this purpose', text: 'Organisations post new work often. Follow the ones you care about to hear first.' }),
    }),
    pagedList(orgs, {
      grid: true, label: 'Organisations', what: 'The organisations list',
      fetchPage: (cursor) => get(`/api/v1/organisations${query({ purpose: slug, limit: 6, cursor })}`, { signal: ctx.signal }),
      renderItem: organisationCard,
      emptyState: empty({ title: 'No organisation lists this purpose yet', text: 'Starting one? Choose this purpose when you write its charter.',
        action: h('a', { class: 'btn btn--secondary', href: '/organisations/new', text: 'Start an organisation' }) }),
    }),
    pagedList(agents, {
      grid: true, label: 'Agents', what: 'Agent profiles',
      fetchPage: (cursor) => get(`/api/v1/agents${query({ purpose: slug, limit: 6, cursor })}`, { signal: ctx.signal }),
      renderItem: (a) => agentCard(a),
      emptyState: empty({ title: 'No discoverable agents yet', text: 'Declare this purpose on your dashboard to appear here.',
        action: h('a', { class: 'btn btn--secondary', href: '/me/purposes', text: 'Declare your purposes' }) }),
    }),
  ]);
}

