// agent: the public profile of a purpose agent — purposes with energy,
// skills, availability and, when they show it, their track record.
import { ApiError, get } from '../api.js';
import { h, replace, day, initials, list, num, percent, plural, word } from '../dom.js';
import { myAgent } from '../session.js';
import { agentName, bar, energyBars, publishedNotes, purposeChips, tagList } from '../ui.js';
import { publishedCredentials } from '../credentials.js';
import { hiddenNoticeBox, reportButton } from '../report.js';

export default async function render(ctx) {
  const handle = ctx.params.handle;
  let a;
  try {
    a = await get(`/api/v1/agents/${encodeURIComponent(handle)}`, { signal: ctx.signal });
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      ctx.setTitle('Profile not found');
      replace(ctx.root, h('div', { class: 'empty' },
        h('h1', { class: 'empty__title', text: err.missing ? 'Agent profiles are not available yet' : 'This profile is not public' }),
        h('p', { text: err.missing ? 'This server does not show agent profiles yet.' : 'The agent may have chosen not to be discoverable, or the address is mistyped.' }),
        h('div', { class: 'actions' }, h('a', { class: 'btn', href: '/', text: 'Explore open work' }))));
      return;
    }
    throw err;
  }
  const name = agentName(a);
  const self = myAgent()?.handle === a.handle;
  ctx.setTitle(name);
  const tr = a.track_record;
  const availability = [
    a.capacity_hours_per_week !== undefined ? `${plural(a.capacity_hours_per_week, 'hour')} a week` : null,
    a.remote_ok ? (a.location ? `Remote or ${a.location}` : 'Remote') : a.location,
    a.packagings?.length ? list(a.packagings.map(word), 'disjunction') : null,
  ].filter(Boolean);
  replace(ctx.root,
    h('header', { class: 'page-head' },
      h('div', { class: 'page-head__row' },
        h('div', { class: 'org-head' },
          h('span', { class: 'avatar avatar--round', 'aria-hidden': 'true', text: initials(name) }),
          h('div', {},
            h('h1', { text: name }),
            h('p', { class: 'page-head__eyebrow', text: `@${a.handle}` }),
            a.headline ? h('p', { class: 'lead', text: a.headline }) : null)),
        self ? h('div', { class: 'actions' },
          h('a', { class: 'btn btn--secondary', href: '/me/profile', text: 'Edit your profile' }),
          a.discoverable === false ? h('span', { class: 'badge', text: 'Only you can see this' }) : null)
          : reportButton({ kind: 'agent_profile', target: a.handle, label: name }))),
    self ? hiddenNoticeBox((s) => s.kind === 'agent_profile' && s.label === a.handle, ctx.signal) : null,
    h('div', { class: 'layout-split' },
      h('div', { class: 'stack-lg' },
        a.personal_purpose ? h('section', { 'aria-labelledby': 'pp-title' },
          h('h2', { id: 'pp-title', text: 'Personal purpose' }),
          h('p', { class: 'statement', text: a.personal_purpose })) : null,
        h('section', { 'aria-labelledby': 'energy-title' },
          h('h2', { id: 'energy-title', text: 'Where the energy goes' }),
          a.purposes?.length ? energyBars(a.purposes) : h('p', { class: 'muted', text: 'No purposes declared yet.' })),
        a.skills?.length ? h('section', { 'aria-labelledby': 'skills-title' }, h('h2', { id: 'skills-title', text: 'Skills' }), tagList(a.skills)) : null),
      h('aside', { class: 'stack', 'aria-label': 'Availability and track record' },
        availability.length ? h('section', { class: 'card' },
          h('h2', { text: 'Availability' }),
          h('ul', { class: 'list-plain stack' }, availability.map((t) => h('li', { text: t })))) : null,
        tr ? h('section', { class: 'card card--tint' },
          h('h2', { text: 'Track record' }),
          tr.concluded ? h('p', {}, h('span', { class: 'score', text: num(tr.commitments_kept ?? 0) }), ` of ${plural(tr.concluded, 'concluded agreement')} with commitments kept`)
            : h('p', { class: 'muted', text: 'No concluded agreements yet. Kept commitments will show here.' }),
          tr.concluded ? bar((tr.commitments_kept ?? 0) / tr.concluded, { label: `${percent((tr.commitments_kept ?? 0) / tr.concluded)} of commitments kept` }) : null,
          h('p', { class: 'muted small', text: 'From closures recorded by the organisations they worked with.' })) : null,
        publishedCredentials(a.handle, ctx.signal))),
    a.concluded_agreements?.length ? h('section', { 'aria-labelledby': 'record-title', class: 'stack' },
      h('h2', { id: 'record-title', text: 'Concluded agreements' }),
      h('ul', { class: 'cards' }, a.concluded_agreements.map((c) => h('li', { class: 'card card--flat' },
        h('h3', { class: 'card__title', text: c.role }),
        h('p', {}, 'With ', c.organisation?.slug ? h('a', { href: `/organisations/${encodeURIComponent(c.organisation.slug)}`, text: c.organisation.name }) : c.organisation?.name ?? '',
          h('span', { class: 'muted', text: ` · ${[c.started_on ? day(c.started_on) : null, c.concluded_on ? day(c.concluded_on) : null].filter(Boolean).join(' – ')}` })),
        c.purposes?.length ? purposeChips(c.purposes) : null,
        h('p', { class: 'small', text: [
          Number(c.hours_confirmed) ? `${num(Number(c.hours_confirmed))} hours confirmed` : null,
          ...(c.closures ?? []).map((x) => `${x.side === 'agent' ? 'The agent' : 'The organisation'}: ${x.commitments_kept ? 'commitments kept' : 'commitments not kept'}`),
        ].filter(Boolean).join(' · ') }),
        publishedNotes(c.closures))))) : null);
}
