// engagement: everything about one engagement; "Propose an agreement" and
// questions to the organisation for agents; for members of its organisation,
// status, editing, the agents' questions and the ranked candidates with the
// reasons for each.
import { api, ApiError, get, itemsOf, query } from '../api.js';
import { h, replace, plural, word, list, timeEl, initials } from '../dom.js';
import { onSubmit, showErrors } from '../forms.js';
import { engagementBody, engagementFields, engagementProblems } from '../engagement-form.js';
import { questionsSection } from '../agreement-threads.js';
import { hiddenNoticeBox, reportButton } from '../report.js';
import { isMember, myAgent, session } from '../session.js';
import { badge, empty, errorNotice, notice, orgName, orgSlug, purposeChips, remoteHome, rewardsList, scoreBadge, scoreBreakdown, skeletons, tagList, toast, unavailable, agentName } from '../ui.js';

export default async function render(ctx) {
  const id = ctx.params.id;
  let res;
  try {
    res = await api('GET', `/api/v1/engagements/${encodeURIComponent(id)}`, { signal: ctx.signal });
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 400) && !err.missing) {
      ctx.setTitle('Engagement not found');
      replace(ctx.root, h('div', { class: 'empty' },
        h('h1', { class: 'empty__title', text: 'We could not find this engagement' }),
        h('p', { text: 'It may have been closed and removed from view, or the address is mistyped.' }),
        h('div', { class: 'actions' }, h('a', { class: 'btn', href: '/', text: 'Explore open work' }))),
        // a hidden engagement answers 404 to its members too (its answer is cached for
        // everyone): they still learn why, and appeal, here
        hiddenNoticeBox((s) => s.kind === 'engagement' && String(s.id) === String(id), ctx.signal));
      return;
    }
    if (err instanceof ApiError && err.missing) {
      ctx.setTitle('Engagement');
      replace(ctx.root, h('h1', { text: 'Engagement' }), unavailable('Engagements'));
      return;
    }
    throw err;
  }
  const e = res.data;
  const etag = res.etag ?? String(e.version ?? '');
  const org = e.organisation ?? e.org ?? null;
  const slug = orgSlug(org);
  const member = slug && isMember(slug);
  ctx.setTitle(e.title);

  const facts = [
    ['Time', e.hours_per_week ? `${plural(e.hours_per_week, 'hour')} a week` : '—'],
    ['Duration', e.duration_weeks ? plural(e.duration_weeks, 'week') : 'Open-ended'],
    ['Where', e.remote_ok ? (e.location ? `Remote or ${e.location}` : 'Remote friendly') : (e.location ?? 'To agree')],
    ['Packaging', e.packagings?.length ? list(e.packagings.map(word), 'disjunction') : '—'],
  ];
  const rewards = rewardsList(e.rewards, { large: true });
  const candidates = h('div');

  replace(ctx.root,
    h('header', { class: 'page-head' },
      h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' }, h('ol', {},
        h('li', {}, h('a', { href: '/', text: 'Open work' })),
        slug ? h('li', {}, h('a', { href: `/organisations/${encodeURIComponent(slug)}`, text: orgName(org) })) : null,
        h('li', {}, h('span', { 'aria-current': 'page', text: e.title })))),
      h('p', { class: 'page-head__eyebrow' },
        slug ? h('a', { href: `/organisations/${encodeURIComponent(slug)}`, text: orgName(org) }) : null,
        e.created_at ? [' · posted ', timeEl(e.created_at)] : null,
        e.remote ? [' · ', remoteHome(e)] : null),
      h('div', { class: 'actions' }, h('h1', { text: e.title }), e.status ? badge(e.status) : null,
        member ? null : reportButton({ kind: 'engagement', target: e.id, label: e.title })),
      purposeChips(e.purposes)),
    member ? hiddenNoticeBox((s) => s.kind === 'engagement' && String(s.id) === String(e.id), ctx.signal) : null,
    h('div', { class: 'layout-split' },
      h('div', { class: 'stack-lg' },
        h('ul', { class: 'key-facts', 'aria-label': 'Key facts' }, facts.map(([label, text]) => h('li', { class: 'key-fact' },
          h('span', { class: 'key-fact__label', text: label }), h('span', { class: 'key-fact__value', text })))),
        h('section', { 'aria-labelledby': 'rewards-title' },
          h('h2', { id: 'rewards-title', text: 'What you get' }),
          rewards ?? h('p', { class: 'muted', text: 'Rewards are to be agreed together.' })),
        h('section', { 'aria-labelledby': 'about-title' },
          h('h2', { id: 'about-title', text: 'About the work' }),
          h('p', { class: 'prose', text: e.description ?? '' })),
        e.skills?.length ? h('section', { 'aria-labelledby': 'skills-title' },
          h('h2', { id: 'skills-title', text: 'Skills that help' }), tagList(e.skills)) : null,
        !e.remote && (member || (myAgent() && (e.status === 'open' || e.status === undefined)))
          ? questionsSection(e, orgName(org), { member, handle: myAgent()?.handle }) : null,
        member ? h('section', { id: 'candidates', 'aria-labelledby': 'candidates-title', tabindex: '-1' },
          h('div', { class: 'section__head' },
            h('h2', { id: 'candidates-title', text: 'Ranked candidates' }),
            h('p', { text: 'Discoverable agents, best fit first — with the reasons.' })),
          candidates) : null),
      h('aside', { class: 'stack sticky-panel', 'aria-label': 'Take part' },
        e.remote ? [remoteCard(e), proposeCard(e, org)] : member ? manageCard(ctx, e, etag) : proposeCard(e, org))));

  if (member) {
    if (location.hash === '#candidates') requestAnimationFrame(() => document.getElementById('candidates')?.scrollIntoView());
    await loadCandidates(ctx, e, candidates);
  }
}

// An engagement another instance sent: asked about and changed at its home; an
// agent here proposes from here (proposeCard), and the proposal travels there.
function remoteCard(e) {
  return notice('info', `Posted on ${e.remote.instance}`,
    'This engagement is kept by another instance: ask about it there. A proposal you make here travels to it.',
    h('a', { class: 'btn btn--secondary', href: e.remote.url, rel: 'noopener', text: `Open it on ${e.remote.instance}` }));
}

// The proposal form for this engagement: one sent by another instance is
// proposed on as a remote engagement (docs/federation.md, "Proposing").
const proposeHref = (e) => `/agreements/new?${e.remote ? 'remote_engagement' : 'engagement'}=${encodeURIComponent(e.id)}`;

function proposeCard(e, org) {
  const next = encodeURIComponent(location.pathname);
  const closed = e.status && e.status !== 'open';
  let body;
  if (closed) {
    body = [h('p', { class: 'muted', text: `This engagement is ${word(e.status).toLowerCase()}: it does not take new proposals now.` }),
      orgSlug(org) ? h('a', { class: 'btn btn--secondary', href: `/organisations/${encodeURIComponent(orgSlug(org))}`, text: `Follow ${orgName(org)}` }) : null];
  } else if (!session.me) {
    body = [h('p', { class: 'muted', text: 'Sign in as an agent to propose how you would take this on.' }),
      h('div', { class: 'actions' },
        h('a', { class: 'btn', href: `/signin?next=${next}`, text: 'Sign in to propose' }),
        h('a', { class: 'btn btn--quiet', href: `/signup?next=${next}`, text: 'Join' }))];
  } else if (!myAgent()) {
    body = [h('p', { class: 'muted', text: 'Create your agent profile — your purposes, skills and capacity — to propose an agreement.' }),
      h('a', { class: 'btn', href: '/me/profile', text: 'Create your agent profile' })];
  } else {
    // one open agreement per engagement: say so up front and link to it
    const box = h('div', { class: 'stack' }, h('p', { class: 'muted', text: 'Checking your agreements…' }));
    body = [box];
    openAgreementFor(e.id).then((a) => box.replaceChildren(...(a
      ? [h('p', {}, h('strong', { text: a.status === 'proposed' && !a.active_version ? 'You already have a proposal for this engagement.' : 'You already have an agreement for this engagement.' })),
        h('p', { class: 'muted', text: a.awaiting === a.my_side ? 'It waits for your answer.' : a.awaiting ? 'It waits for the organisation’s answer. You can change it there.' : 'Change its terms there if something changes.' }),
        h('a', { class: 'btn', href: `/agreements/${encodeURIComponent(a.id)}`, text: 'Open your agreement' })]
      : [h('p', { class: 'muted', text: 'Suggest a role, hours and terms. The organisation answers; nothing is binding until both sides agree.' }),
        h('a', { class: 'btn', href: proposeHref(e), text: 'Propose an agreement' })])))
      .catch(() => box.replaceChildren(h('a', { class: 'btn', href: proposeHref(e), text: 'Propose an agreement' })));
  }
  return h('section', { class: 'card', 'aria-labelledby': 'propose-title' },
    h('h2', { id: 'propose-title', text: 'Interested?' }), body);
}

// The caller's open (proposed or active) agreement, as the agent, for engagement id.
async function openAgreementFor(id) {
  let cursor = null;
  do {
    const data = await get(`/api/v1/me/agreements${query({ side: 'agent', limit: 100, cursor })}`);
    const a = itemsOf(data).find((x) => String(x.engagement?.id) === String(id) && ['proposed', 'active'].includes(x.status));
    if (a) return a;
    cursor = data.next_cursor;
  } while (cursor);
  return null;
}

function manageCard(ctx, e, etag) {
  const statusForm = h('form', { class: 'form', 'aria-label': 'Engagement status' },
    h('fieldset', { class: 'field', dataset: { field: 'status' } },
      h('legend', { text: 'Status' }),
      ['open', 'paused', 'closed'].map((s) => h('label', { class: 'check' },
        h('input', { type: 'radio', name: 'status', value: s, checked: (e.status ?? 'open') === s }),
        h('span', {}, h('strong', { text: word(s) }), h('span', { class: 'muted small', text: { open: ' — visible and matched', paused: ' — hidden for now', closed: ' — finished' }[s] }))))),
    h('button', { class: 'btn btn--secondary btn--small', type: 'submit', text: 'Update status' }));
  onSubmit(statusForm, async () => {
    const status = statusForm.querySelector('input[name=status]:checked')?.value;
    if (status === e.status) { toast('The status is already ' + word(status).toLowerCase() + '.'); return; }
    await patch(ctx, statusForm, e, etag, { status });
  });
  const editBox = h('details', {}, h('summary', { class: 'btn btn--quiet', text: 'Edit this engagement' }));
  editBox.addEventListener('toggle', () => {
    if (!editBox.open || editBox.querySelector('form')) return;
    const { el, picker } = engagementFields(e);
    const form = h('form', { class: 'form' }, el, h('div', { class: 'actions' }, h('button', { class: 'btn', type: 'submit', text: 'Save changes' })));
    onSubmit(form, async () => {
      const body = engagementBody(form, picker);
      const problems = engagementProblems(body);
      if (problems.length) { showErrors(form, problems); return; }
      await patch(ctx, form, e, etag, body);
    });
    editBox.append(form);
  });
  return h('section', { class: 'card card--tint stack', 'aria-labelledby': 'manage-title' },
    h('h2', { id: 'manage-title', text: 'Manage' }), statusForm, editBox);
}

async function patch(ctx, form, e, etag, body) {
  try {
    await api('PATCH', `/api/v1/engagements/${encodeURIComponent(e.id)}`, { body, ifMatch: etag });
  } catch (err) {
    if (err instanceof ApiError && err.status === 412) {
      showErrors(form, [], { title: 'Someone changed this engagement since you opened it — reload to see their changes' });
      const b = h('button', { class: 'btn btn--small', type: 'button', text: 'Reload' });
      b.addEventListener('click', () => ctx.reload());
      form.querySelector('.error-summary').append(b);
      return;
    }
    throw err;
  }
  toast('Saved.');
  ctx.reload();
}

async function loadCandidates(ctx, e, box) {
  box.replaceChildren(skeletons(2));
  try {
    const data = await get(`/api/v1/engagements/${encodeURIComponent(e.id)}/matches${query({ limit: 10 })}`, { signal: ctx.signal });
    const items = itemsOf(data);
    if (!items.length) {
      box.replaceChildren(empty({ title: 'No candidates yet', text: 'No discoverable agent fits yet. Check the purposes and skills, or share the engagement — the feed lists it.' }));
      return;
    }
    box.replaceChildren(h('ol', { class: 'cards', 'aria-label': 'Candidates, best first' }, items.map((m) => {
      const a = m.agent ?? {};
      return h('li', {}, h('article', { class: 'card candidate' },
        h('div', { class: 'candidate__head' },
          h('div', { class: 'org-head' },
            h('span', { class: 'avatar avatar--small avatar--round', 'aria-hidden': 'true', text: initials(agentName(a)) }),
            h('div', {},
              h('h3', { class: 'card__title' }, a.handle ? h('a', { href: `/agents/${encodeURIComponent(a.handle)}`, text: agentName(a) }) : agentName(a)),
              a.headline ? h('p', { class: 'card__eyebrow', text: a.headline }) : null)),
          scoreBadge(m.score)),
        scoreBreakdown(m.score, m.reasons ?? []),
        a.handle && e.status === 'open' ? h('div', { class: 'actions' },
          h('a', { class: 'btn btn--secondary btn--small', href: `/agreements/new${query({ engagement: e.id, agent: a.handle })}`, text: `Propose to ${agentName(a)}` })) : null));
    })));
  } catch (err) {
    if (err.name === 'AbortError') return;
    box.replaceChildren(errorNotice(err, { what: 'Matching' }));
  }
}

