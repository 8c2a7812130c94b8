// agreement: one relationship agreement — its terms, status, every version,
// closures, and the actions this side may take now.
import { api, ApiError, get, itemsOf } from '../api.js';
import { h, replace, day, dateTime, plural, word, num } from '../dom.js';
import { onSubmit, showErrors } from '../forms.js';
import {
  actionButtons, agreementAgent, allowedActions, agreementBody, agreementFields, agreementOrg, agreementProblems,
  amendmentPending, closureOf, concludeForm, engagementHref, engagementOf, partyLink, sideOf, standingOf, termsOf,
  waitingText, warningText,
} from '../agreements.js';
import { agreementCredentialCard } from '../credentials.js';
import { conversationSection, daysToReview, hoursSection, renewForm } from '../agreement-threads.js';
import { requireSignIn } from '../router.js';
import { badge, empty, errorNotice, notice, orgSlug, purposeChips, rewardsList, skeletons, toast } from '../ui.js';

export default async function render(ctx) {
  ctx.setTitle('Agreement');
  if (!requireSignIn(ctx, 'see this agreement')) return;
  let res;
  try {
    res = await api('GET', `/api/v1/agreements/${encodeURIComponent(ctx.params.id)}`, { signal: ctx.signal });
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 400)) {
      replace(ctx.root, h('div', { class: 'empty' },
        h('h1', { class: 'empty__title', text: err.missing ? 'Agreements are not available yet' : 'We could not find this agreement' }),
        h('p', { text: err.missing ? 'This server does not offer agreements yet.' : 'Agreements are visible only to the agent and the organisation they bind.' }),
        h('div', { class: 'actions' }, h('a', { class: 'btn', href: '/me/agreements', text: 'Your agreements' }))));
      return;
    }
    throw err;
  }
  const a = res.data;
  const etag = res.etag ?? String(a.version ?? '');
  const side = sideOf(a);
  const org = agreementOrg(a);
  const agent = agreementAgent(a);
  const eng = engagementOf(a);
  // Three things never confused: the terms in force, a change awaiting
  // consent, and a change declined or withdrawn.
  const amending = amendmentPending(a);
  const t = amending ? a.active_terms : termsOf(a);
  const pending = amending ? a.pending_terms : null;
  const dropped = a.dropped_change ?? null;
  ctx.setTitle(t.role ? `Agreement: ${t.role}` : 'Agreement');

  const panel = h('div', { class: 'stack' });
  const versions = h('div', {}, skeletons(1));
  const waiting = waitingText(a, side);
  // a relationship in force goes on past its review date by renewal (an amendment
  // with consent), offered when the API lists it among the viewer's actions
  const canRenew = (a.allowed_actions ?? []).includes('renew');
  const reviewIn = daysToReview(a.active_terms);

  const showActions = () => {
    const mine = a.awaiting && a.awaiting === side;
    replace(panel,
      waiting ? notice(mine ? 'warn' : 'info', waiting,
        mine ? (amending ? 'Accept to put the new terms in force, or decline to keep the terms as they are.' : 'Accept to make it binding, decline it, or propose other terms.')
          : 'You can still change or withdraw it.') : null,
      mine && a.warnings?.length ? notice('warn', 'Past your capacity', a.warnings.map(warningText).join(' ')) : null,
      a.status === 'active' ? h('p', { class: 'muted', text: 'This agreement is in force. When the work is done, conclude it; if something changes, propose a change to the terms.' }) : null,
      a.status === 'active' && reviewIn !== null && reviewIn <= 30 && canRenew
        ? notice('warn', reviewIn < 0 ? `The review date was ${day(t.review_on)}` : reviewIn === 0 ? 'The review date is today' : `The review date is in ${plural(reviewIn, 'day')}`,
          'Renew the agreement to go on, or conclude it.') : null,
      actionButtons(a, side, {
        onDone: () => ctx.reload(),
        onAmend: () => { panel.replaceChildren(amendForm(ctx, a, t, etag, showActions)); panel.querySelector('input, textarea')?.focus(); },
        onConclude: () => { panel.replaceChildren(concludeForm(a, { onDone: () => ctx.reload(), onCancel: showActions })); panel.querySelector('input')?.focus(); },
      }) ?? h('p', { class: 'muted', text: side ? 'There is nothing for you to do on this agreement now.' : 'You can read this agreement.' }),
      a.status === 'active' && canRenew ? h('button', { class: 'btn btn--secondary', type: 'button', text: 'Propose a renewal', onclick: () => {
        panel.replaceChildren(renewForm(a, t, etag, { onDone: () => ctx.reload(), onCancel: showActions }));
        panel.querySelector('input')?.focus();
      } }) : null);
  };
  showActions();
  if (ctx.query.get('amend') && allowedActions(a).some((x) => x.action === 'amend')) {
    panel.replaceChildren(amendForm(ctx, a, t, etag, showActions));
  }

  const closures = ['agent', 'organisation'].map((s) => [s, closureOf(a, s)]).filter(([, c]) => c);

  replace(ctx.root,
    h('header', { class: 'page-head' },
      h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' }, h('ol', {},
        h('li', {}, h('a', { href: side === 'organisation' && orgSlug(org) ? `/organisations/${encodeURIComponent(orgSlug(org))}/agreements` : '/me/agreements', text: 'Agreements' })),
        h('li', {}, h('span', { 'aria-current': 'page', text: t.role || 'Agreement' })))),
      h('div', { class: 'actions' }, h('h1', { text: t.role || 'Agreement' }), badge(standingOf(a)),
        amending ? h('span', { class: 'badge badge--proposed', text: 'Change proposed' }) : null),
      h('p', { class: 'agreement__parties' },
        partyLink(agent, 'agent'),
        h('span', { class: 'sep', text: 'and' }),
        partyLink(org, 'organisation'),
        a.active_version ? h('span', { class: 'agreement__version', text: `Terms in force: version ${num(a.active_version)}` })
          : a.terms_version ? h('span', { class: 'agreement__version', text: `Terms version ${num(a.terms_version)}` }) : null)),
    h('div', { class: 'layout-split' },
      h('div', { class: 'stack-lg' },
        h('ul', { class: 'key-facts', 'aria-label': 'Key terms' },
          fact('Hours', t.hours_per_week ? `${plural(t.hours_per_week, 'hour')} a week` : '—'),
          fact('Packaging', t.packaging ? word(t.packaging) : '—'),
          fact('Starts', day(t.starts_on)),
          fact('Review', t.review_on ? day(t.review_on) : 'Not set')),
        pending ? changeSection(a, pending, side) : null,
        dropped ? droppedNotice(a, dropped, side) : null,
        h('section', { 'aria-labelledby': 'terms-title' },
          h('h2', { id: 'terms-title', text: a.active_terms && ['active', 'concluded'].includes(standingOf(a)) ? `Terms in force (version ${num(t.version ?? a.active_version)})`
            : a.status === 'proposed' ? 'Proposed terms' : 'Terms as last proposed' }),
          h('p', { class: 'prose', text: (typeof t.terms === 'string' ? t.terms : '') || '—' })),
        h('section', { 'aria-labelledby': 'rewards-title' },
          h('h2', { id: 'rewards-title', text: 'Rewards' }),
          rewardsList(t.rewards, { large: true }) ?? h('p', { class: 'muted', text: 'No rewards written down.' })),
        t.purposes?.length ? h('section', { 'aria-labelledby': 'purposes-title' },
          h('h2', { id: 'purposes-title', text: 'Purposes it serves' }), purposeChips(t.purposes)) : null,
        closures.length ? h('section', { 'aria-labelledby': 'closure-title' },
          h('h2', { id: 'closure-title', text: 'Closure' }),
          h('ul', { class: 'cards' }, closures.map(([s, c]) => h('li', { class: 'card card--flat' },
            h('h3', { class: 'card__title', text: s === 'agent' ? 'The agent’s closure' : 'The organisation’s closure' }),
            h('p', {}, h('strong', { text: c.commitments_kept ? 'Commitments kept.' : 'Commitments not kept.' })),
            c.note ? h('p', { class: 'prose', text: c.note }) : null,
            c.note ? h('p', { class: 'muted small', text: closures.length === 2 && closures.every(([, x]) => x.publish_note)
              ? 'Both sides agreed to publish their notes: they are on the public track records.'
              : c.publish_note ? 'This side agreed to publish its note; it stays private unless the other side agrees too.'
                : 'This note stays between the two sides.' }) : null,
            c.closed_at || c.created_at ? h('p', { class: 'muted small', text: dateTime(c.closed_at ?? c.created_at) }) : null)))) : null,
        // messages and hours do not travel between instances (yet): the API refuses them
        a.federated_uri ? h('p', { class: 'muted', text: 'The other side is on another instance: both keep this record of terms, decisions and closures. Messages and hours are not exchanged across instances yet.' })
          : [a.active_version ? hoursSection(a, side) : null, conversationSection(a, side)],
        h('section', { 'aria-labelledby': 'versions-title' },
          h('h2', { id: 'versions-title', text: 'Every version' }),
          h('p', { class: 'muted', text: 'Terms only change by amendment, and every version is kept.' }),
          versions)),
      h('aside', { class: 'stack sticky-panel', 'aria-label': 'Actions' },
        h('section', { class: 'card', 'aria-labelledby': 'actions-title' },
          h('h2', { id: 'actions-title', text: 'Your move' }), panel),
        agreementCredentialCard(a, side, ctx.signal),
        eng ? h('section', { class: 'card card--tint' },
          h('h2', { text: 'Engagement' }),
          h('p', {}, h('a', { href: engagementHref(eng), text: eng.title ?? 'See the engagement' })),
          eng.remote ? h('p', { class: 'muted small', text: 'Posted on another instance: the link goes to its home.' }) : null) : null)));

  // a notification leads to #conversation or #hours: go there once the page is drawn
  const anchor = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
  if (anchor) requestAnimationFrame(() => anchor.scrollIntoView());

  try {
    const data = await get(`/api/v1/agreements/${encodeURIComponent(a.id)}/versions`, { signal: ctx.signal });
    const items = [...itemsOf(data)].sort((x, y) => (y.version ?? 0) - (x.version ?? 0));
    versions.replaceChildren(items.length ? h('ol', { class: 'timeline' }, items.map((v) => h('li', { class: `timeline__item${v.outcome === 'in_force' ? ' timeline__item--current' : ''}` },
      h('span', { class: 'timeline__dot', 'aria-hidden': 'true' }),
      h('div', { class: 'timeline__head' },
        h('h3', { text: `Version ${num(v.version)}${v.renewal ? ' (renewal)' : ''}` }),
        v.outcome ? h('span', { class: `badge badge--${OUTCOME_BADGE[v.outcome] ?? 'neutral'}`, text: outcomeText(v, side) }) : null,
        h('span', { class: 'muted small', text: [v.proposed_by ? `proposed by the ${v.proposed_by}${v.author?.display_name ? ` (${v.author.display_name})` : ''}` : null, v.created_at ? dateTime(v.created_at) : null].filter(Boolean).join(' · ') })),
      v.change_note ? h('p', { class: 'timeline__note', text: `“${v.change_note}”` }) : null,
      h('p', { class: 'small', text: [v.role, v.hours_per_week ? `${plural(v.hours_per_week, 'hour')} a week` : null, v.packaging ? word(v.packaging) : null, v.starts_on ? `from ${day(v.starts_on)}` : null].filter(Boolean).join(' · ') }),
      v.terms ? h('details', {}, h('summary', { text: 'Read these terms' }), h('p', { class: 'prose', text: v.terms })) : null)))
      : empty({ title: 'No versions recorded', text: 'The first version appears when the agreement is proposed.' }));
  } catch (err) {
    if (err.name !== 'AbortError') versions.replaceChildren(errorNotice(err, { what: 'Agreement versions' }));
  }
}

const OUTCOME_BADGE = { pending: 'proposed', in_force: 'active', accepted: 'concluded', declined: 'declined', withdrawn: 'withdrawn', superseded: 'withdrawn' };

// Who did it, from the viewer's side: "you", "the organisation", "the agent".
const who = (s, side) => (s === side ? 'you' : s ? `the ${s}` : 'the other side');

function outcomeText(v, side) {
  switch (v.outcome) {
    case 'pending': return 'Waiting for consent';
    case 'in_force': return 'In force';
    case 'accepted': return `Accepted by ${who(v.decided_by, side)}, no longer in force`;
    case 'declined': return `Declined by ${who(v.decided_by, side)}`;
    case 'withdrawn': return `Withdrawn by ${who(v.decided_by, side)}`;
    case 'superseded': return `Replaced by a newer proposal from ${who(v.decided_by, side)}`;
    default: return v.outcome;
  }
}

const termsLine = (x) => [x.role, x.hours_per_week ? `${plural(x.hours_per_week, 'hour')} a week` : null, x.packaging ? word(x.packaging) : null,
  x.starts_on ? `from ${day(x.starts_on)}` : null, x.review_on ? `review ${day(x.review_on)}` : null].filter(Boolean).join(' · ');

// The change awaiting consent, set apart from the terms in force.
function changeSection(a, p, side) {
  const mine = a.awaiting === side;
  return h('section', { class: 'card card--tint', 'aria-labelledby': 'change-title' },
    h('h2', { id: 'change-title', text: `${p.renewal ? 'Proposed renewal' : 'Proposed change'} (version ${num(p.version)})` }),
    h('p', {}, h('strong', { text: mine ? `Proposed by ${who(p.proposed_by, side)}; it waits for your consent.` : 'You proposed it; it waits for the other side’s consent.' })),
    p.change_note ? h('p', { class: 'timeline__note', text: `“${p.change_note}”` }) : null,
    h('p', { class: 'small', text: termsLine(p) }),
    p.terms ? h('details', {}, h('summary', { text: 'Read the proposed terms' }), h('p', { class: 'prose', text: p.terms })) : null,
    h('p', { class: 'muted small', text: `Until it is accepted, version ${num(a.active_version)} below stays in force.` }));
}

// A change that never came into force, said plainly.
function droppedNotice(a, d, side) {
  const by = d.by === side ? 'You' : `The ${d.by}`;
  const verb = d.outcome === 'declined' ? 'declined' : 'withdrew';
  const what = a.active_terms ? `the change to the terms (version ${num(d.version)})` : `the proposal (version ${num(d.version)})`;
  return notice(d.outcome === 'declined' ? 'warn' : 'info', `${by} ${verb} ${what}${d.at ? ` on ${day(d.at.slice(0, 10))}` : ''}.`,
    a.active_terms && ['active'].includes(standingOf(a)) ? `It never came into force: version ${num(a.active_version)} is still the terms in force.`
      : 'It never came into force.');
}

const fact = (label, text) => h('li', { class: 'key-fact' }, h('span', { class: 'key-fact__label', text: label }), h('span', { class: 'key-fact__value', text }));

function amendForm(ctx, a, t, etag, onCancel) {
  const { el, picker } = agreementFields(t, { amending: true });
  const form = h('form', { class: 'form', 'aria-labelledby': 'amend-title' },
    h('h3', { id: 'amend-title', text: 'Amend the terms' }),
    h('p', { class: 'muted small', text: 'An amendment becomes a new version and goes back to the other side for consent.' }),
    el,
    h('div', { class: 'actions' },
      h('button', { class: 'btn', type: 'submit', text: 'Propose amendment' }),
      h('button', { class: 'btn btn--quiet', type: 'button', text: 'Cancel', onclick: onCancel })));
  onSubmit(form, async () => {
    const body = agreementBody(form, picker);
    const problems = agreementProblems(body);
    if (problems.length) { showErrors(form, problems); return; }
    try {
      const res = await api('PATCH', `/api/v1/agreements/${encodeURIComponent(a.id)}`, { body, ifMatch: etag });
      if (res.data?.warnings?.length) toast(res.data.warnings.map(warningText).join(' '), 'error');
    } catch (err) {
      if (err instanceof ApiError && err.status === 412) {
        showErrors(form, [], { title: 'The other side changed this agreement since you opened it — reload to see their changes' });
        return;
      }
      throw err;
    }
    toast('Amendment sent. The other side needs to accept it.');
    if (ctx.query.get('amend')) ctx.navigate(`/agreements/${encodeURIComponent(a.id)}`, { replace: true });
    else ctx.reload();
  });
  return form;
}
