// dashboard: the signed-in person's own space — agent profile, purposes and
// energy split, matches with reasons, agreements with the actions they may
// take, portfolio (committed vs capacity), notifications, follows.
import { api, ApiError, get, getOptional, itemsOf, query } from '../api.js';
import { h, replace, day, num, percent, word, timeEl, PACKAGINGS, initials } from '../dom.js';
import { checkbox, field, onSubmit, pillGroup, showErrors, splitList, value, checkedValues } from '../forms.js';
import { placeField, purposePicker, suggestSkills } from '../pickers.js';
import { actionButtons, agreementCard, amendmentPending, closureDue, concludeForm, sideOf, standingOf, warningText } from '../agreements.js';
import { remoteFollowing } from '../remote.js';
import { requireSignIn } from '../router.js';
import { loadSession, myAgent, session } from '../session.js';
import { bar, busy, clip, empty, errorNotice, notice, orgName, pagedList, purposeName, purposeSlug, remoteHome, scoreBadge, scoreBreakdown, skeletons, toast, unavailable } from '../ui.js';

const SECTIONS = [
  ['', 'Overview'], ['profile', 'Profile'], ['purposes', 'Purposes & energy'], ['matches', 'Matches'],
  ['agreements', 'Agreements'], ['portfolio', 'Portfolio'], ['notifications', 'Notifications'], ['following', 'Following'],
];

export default async function render(ctx) {
  const section = ctx.params.section ?? '';
  const entry = SECTIONS.find(([s]) => s === section);
  if (!entry) {
    const { default: notFound } = await import('./not-found.js');
    return notFound(ctx);
  }
  ctx.setTitle(section ? entry[1] : 'Your dashboard');
  if (!requireSignIn(ctx, 'see your dashboard')) return;
  const content = h('div', { class: 'stack-lg' });
  const unreadBadge = h('span', { class: 'side-nav__count', hidden: true });
  replace(ctx.root, h('div', { class: 'layout-side' },
    h('nav', { class: 'side-nav', 'aria-label': 'Dashboard' }, h('ul', {},
      SECTIONS.map(([s, label]) => h('li', {}, h('a', { href: s ? `/me/${s}` : '/me', 'aria-current': s === section ? 'page' : null },
        label, s === 'notifications' ? unreadBadge : null))))),
    content));
  const currentTab = ctx.root.querySelector('.side-nav a[aria-current="page"]');
  if (currentTab) currentTab.parentElement.parentElement.scrollLeft = Math.max(0, currentTab.offsetLeft - 16);
  getOptional('/api/v1/me/notifications?limit=1', { signal: ctx.signal }).then((d) => {
    if (d?.unread) { unreadBadge.hidden = false; unreadBadge.textContent = num(d.unread); unreadBadge.setAttribute('aria-label', `${num(d.unread)} unread`); }
  }).catch(() => {});
  const needsAgent = ['purposes', 'matches', 'portfolio', 'following'].includes(section);
  if (needsAgent && !myAgent()) {
    content.append(h('h1', { text: entry[1] }), noAgentYet());
    return;
  }
  const pages = { '': overview, profile, purposes, matches, agreements, portfolio, notifications, following };
  await pages[section](ctx, content);
}

function noAgentYet() {
  return notice('info', 'First, create your agent profile',
    'Your profile says which purposes you give energy to, your skills and your weekly capacity. Matching, agreements and follows all start there.',
    h('a', { class: 'btn', href: '/me/profile', text: 'Create your agent profile' }));
}

const head = (title, lead, actions) => h('header', { class: 'page-head' },
  h('div', { class: 'page-head__row' }, h('div', {}, h('h1', { text: title }), lead ? h('p', { class: 'lead', text: lead }) : null),
    actions ? h('div', { class: 'actions' }, actions) : null));

async function fullAgent(signal) {
  const me = myAgent();
  if (!me) return null;
  const own = await getOptional('/api/v1/me/agent', { signal });
  return own ?? get(`/api/v1/agents/${encodeURIComponent(me.handle)}`, { signal });
}

// ---------- overview ----------

async function overview(ctx, content) {
  const name = session.me.account?.display_name ?? '';
  const agent = myAgent();
  const member = (session.me.memberships ?? []).length > 0;
  content.append(head(`Hello, ${name}`, agent || member ? 'Here is what needs you first.' : 'Welcome to Purposed. Where would you like to start?'));
  const needs = h('div', {}, skeletons(1));
  if (agent || member) {
    content.append(h('section', { 'aria-labelledby': 'needs-title' },
      h('div', { class: 'section__head' }, h('h2', { id: 'needs-title', text: 'Needs you' }), h('a', { href: '/me/agreements', text: 'All agreements →' })),
      needs));
    needsYou(ctx, needs).catch((err) => { if (err.name !== 'AbortError') needs.replaceChildren(errorNotice(err, { what: 'Agreements' })); });
  }
  if (!agent && member) {
    content.append(memberships(),
      h('section', { class: 'card card--flat' },
        h('h2', { text: 'Give your own time too?' }),
        h('p', { class: 'muted', text: 'An agent profile lets organisations find you for purposes you support, and keeps your track record.' }),
        h('a', { class: 'btn btn--secondary', href: '/me/profile', text: 'Create your agent profile' })));
    return;
  }
  if (!agent) {
    content.append(h('div', { class: 'onboarding' },
      h('section', { class: 'card' },
        h('h2', { text: 'I give my time to causes' }),
        h('p', { class: 'muted', text: 'Create your agent profile: the purposes you support, how your energy is split, your skills and capacity. We rank engagements for you — with reasons.' }),
        h('a', { class: 'btn', href: '/me/profile', text: 'Create your agent profile' })),
      h('section', { class: 'card' },
        h('h2', { text: 'I work for an organisation' }),
        h('p', { class: 'muted', text: 'Write down your purpose and how people work together, then post purposeful work and see who fits.' }),
        h('a', { class: 'btn btn--secondary', href: '/organisations/new', text: 'Start an organisation' }))),
      memberships());
    return;
  }
  const stats = h('div', {}, skeletons(1));
  const topMatches = h('div', {}, skeletons(1));
  const notes = h('div', {}, skeletons(1));
  content.append(
    h('section', { 'aria-labelledby': 'glance-title' }, h('h2', { id: 'glance-title', class: 'sr-only', text: 'At a glance' }), stats),
    h('section', { 'aria-labelledby': 'top-title' },
      h('div', { class: 'section__head' }, h('h2', { id: 'top-title', text: 'Best matches for you' }), h('a', { href: '/me/matches', text: 'All matches →' })),
      topMatches),
    h('section', { 'aria-labelledby': 'notes-title' },
      h('div', { class: 'section__head' }, h('h2', { id: 'notes-title', text: 'Latest notifications' }), h('a', { href: '/me/notifications', text: 'All notifications →' })),
      notes),
    memberships());

  const settle = (box, what, fn) => fn().catch((err) => { if (err.name !== 'AbortError') box.replaceChildren(errorNotice(err, { what })); });
  await Promise.all([
    settle(stats, 'Your portfolio', async () => {
      const p = await get('/api/v1/me/portfolio', { signal: ctx.signal });
      replace(stats, h('div', { class: 'stack' }, portfolioStats(p), warnings(p.warnings)));
    }),
    settle(topMatches, 'Matching', async () => {
      const data = await get(`/api/v1/me/matches${query({ limit: 3 })}`, { signal: ctx.signal });
      const items = itemsOf(data);
      topMatches.replaceChildren(items.length ? h('ul', { class: 'cards' }, items.map((m) => h('li', {}, matchCard(m))))
        : empty({ title: 'No matches yet', text: 'Declare your purposes and energy so we can rank open engagements for you.',
          action: h('a', { class: 'btn btn--secondary', href: '/me/purposes', text: 'Declare purposes' }) }));
    }),
    settle(notes, 'Notifications', async () => {
      const data = await get(`/api/v1/me/notifications${query({ limit: 5 })}`, { signal: ctx.signal });
      const items = itemsOf(data);
      notes.replaceChildren(items.length ? notificationList(items) : h('p', { class: 'muted', text: 'No notifications. You are all caught up.' }));
    }),
  ]);
}

// What needs the signed-in person, on either side: proposals to answer,
// changes to consent to, reviews due, closures to record. The API says for
// each agreement which side the viewer is on and whom it awaits.
const REVIEW_SOON_DAYS = 14;
async function needsYou(ctx, box) {
  const items = [];
  let cursor = null;
  do {
    const data = await get(`/api/v1/me/agreements${query({ limit: 100, cursor })}`, { signal: ctx.signal });
    items.push(...itemsOf(data));
    cursor = data.next_cursor;
  } while (cursor && items.length < 300);
  const soon = new Date(Date.now() + REVIEW_SOON_DAYS * 86400000).toISOString().slice(0, 10);
  const groups = [
    ['Proposals to answer', items.filter((a) => a.awaiting && a.awaiting === a.my_side && !amendmentPending(a))],
    ['Changes to consent to', items.filter((a) => a.awaiting && a.awaiting === a.my_side && amendmentPending(a))],
    ['Reviews due', items.filter((a) => standingOf(a) === 'active' && a.review_on && a.review_on <= soon)],
    ['Closures to record', items.filter(closureDue)],
  ].filter(([, list]) => list.length);
  box.replaceChildren(groups.length ? h('div', { class: 'stack' }, groups.map(([title, list]) => h('section', { class: 'stack' },
    h('h3', { text: `${title} (${list.length})` }),
    h('ul', { class: 'cards' }, list.map((a) => h('li', {}, agreementCard(a)))))))
    : h('p', { class: 'muted', text: 'Nothing needs you right now. Proposals, changes to consent to, reviews and closures will appear here.' }));
}

function memberships() {
  const ms = session.me.memberships ?? [];
  return h('section', { 'aria-labelledby': 'orgs-title' },
    h('div', { class: 'section__head' }, h('h2', { id: 'orgs-title', text: 'Your organisations' }),
      h('a', { href: '/organisations/new', text: 'Start an organisation →' })),
    ms.length ? h('ul', { class: 'cards cards--grid' }, ms.map((m) => {
      const slug = m.organisation?.slug ?? m.organisation;
      return h('li', {}, h('article', { class: 'card card--link' },
        h('div', { class: 'org-head' },
          h('span', { class: 'avatar avatar--small', 'aria-hidden': 'true', text: initials(m.organisation?.name ?? slug) }),
          h('div', {},
            h('h3', { class: 'card__title' }, h('a', { href: `/organisations/${encodeURIComponent(slug)}`, text: m.organisation?.name ?? slug })),
            h('p', { class: 'card__eyebrow', text: word(m.role) })))));
    })) : h('p', { class: 'muted', text: 'You are not a member of any organisation yet.' }));
}

// ---------- profile ----------

async function profile(ctx, content) {
  let agent = null;
  if (myAgent()) {
    try { agent = await fullAgent(ctx.signal); } catch (err) { if (!(err instanceof ApiError && err.status === 404)) throw err; agent = { ...myAgent() }; }
  }
  const creating = !agent;
  content.append(head(creating ? 'Create your agent profile' : 'Your agent profile',
    creating ? 'This is how organisations see you and how we rank work for you. You can change it any time.' : 'What organisations see, and what matching uses.',
    agent ? h('a', { class: 'btn btn--secondary', href: `/agents/${encodeURIComponent(agent.handle)}`, text: 'See public profile' }) : null));
  const a = agent ?? {};
  const suggestedHandle = (session.me.account?.display_name ?? '').toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
  const form = h('form', { class: 'form card', 'aria-label': 'Agent profile' },
    field({ label: 'Handle', name: 'handle', value: a.handle ?? suggestedHandle, maxlength: 64, autocomplete: 'username',
      hint: 'Your public address: /agents/your-handle. Lowercase letters, digits and dashes.' }),
    field({ label: 'Headline', name: 'headline', value: a.headline ?? '', maxlength: 200, placeholder: 'e.g. Hydrologist turning data into cleaner rivers' }),
    field({ label: 'Personal purpose', name: 'personal_purpose', type: 'textarea', rows: 4, maxlength: 2000, value: a.personal_purpose ?? '',
      hint: 'Why you do what you do, in your words.' }),
    suggestSkills(field({ label: 'Skills', name: 'skills', value: (a.skills ?? []).join(', '), hint: 'Separate with commas, e.g. facilitation, Python, grant writing' })),
    h('div', { class: 'fields-row' },
      field({ label: 'Capacity, hours per week', name: 'capacity_hours_per_week', type: 'number', min: 0, max: 80, inputmode: 'numeric',
        value: a.capacity_hours_per_week ?? 8, hint: 'Purposeful time you can give, 0 to 80.' }),
      field({ label: 'Location', name: 'location', optional: true, value: a.location ?? '', maxlength: 200 })),
    placeField({ label: 'Place', name: 'place', place: a.place ?? null, hint: 'Your town, from the list: matching counts the distance to the work.' }),
    pillGroup({ legend: 'Packagings you accept', name: 'packagings', checked: a.packagings ?? ['volunteer'],
      hint: 'Purpose first; the form of the relationship second.', options: PACKAGINGS.map((p) => [p, word(p)]) }),
    h('fieldset', { class: 'group stack' },
      h('legend', { text: 'Visibility' }),
      checkbox({ label: 'Remote work suits me', name: 'remote_ok', checked: a.remote_ok ?? true }),
      checkbox({ label: 'Discoverable', name: 'discoverable', checked: a.discoverable ?? true, hint: 'organisations can find you and rank you as a candidate' }),
      checkbox({ label: 'Show my track record', name: 'show_track_record', checked: a.show_track_record ?? true, hint: 'concluded agreements and kept commitments' }),
      checkbox({ label: 'Let organisations I follow see me', name: 'show_follows', checked: a.show_follows ?? true, hint: 'you appear in their talent pool' })),
    h('div', { class: 'actions' }, h('button', { class: 'btn', type: 'submit', text: creating ? 'Create profile' : 'Save profile' })));
  onSubmit(form, async () => {
    const cap = value(form, 'capacity_hours_per_week');
    const body = {
      handle: value(form, 'handle'),
      headline: value(form, 'headline'),
      personal_purpose: value(form, 'personal_purpose'),
      skills: splitList(value(form, 'skills')),
      capacity_hours_per_week: cap === '' ? null : Number(cap),
      packagings: checkedValues(form, 'packagings'),
      remote_ok: form.elements.remote_ok.checked,
      discoverable: form.elements.discoverable.checked,
      show_track_record: form.elements.show_track_record.checked,
      show_follows: form.elements.show_follows.checked,
    };
    const loc = value(form, 'location');
    body.location = loc || null;
    body.place = form.elements.place.value ? Number(form.elements.place.value) : null;
    const problems = [];
    if (!body.handle) problems.push({ field: 'handle', message: 'choose a handle' });
    if (body.capacity_hours_per_week === null || Number.isNaN(body.capacity_hours_per_week)) problems.push({ field: 'capacity_hours_per_week', message: 'enter a number of hours from 0 to 80' });
    if (problems.length) { showErrors(form, problems); return; }
    await api('PUT', '/api/v1/me/agent', { body });
    await loadSession();
    toast(creating ? 'Your profile is ready. Next: your purposes and energy.' : 'Profile saved.');
    if (creating) ctx.navigate('/me/purposes');
  });
  content.append(form);
}

// ---------- purposes & energy ----------

async function purposes(ctx, content) {
  const agent = await fullAgent(ctx.signal);
  const rows = new Map(); // slug -> {name, energy}
  for (const p of agent?.purposes ?? []) rows.set(purposeSlug(p), { name: purposeName(p), energy: Number(p.energy) || 1 });

  content.append(head('Purposes & energy', 'Which causes you support, and how your purposeful energy is split among them. The shares add up to at most 100%.'));
  const list = h('ol', { class: 'energy-editor', 'aria-label': 'Energy per purpose' });
  const totalOut = h('output', { 'aria-live': 'polite' });
  const remainingOut = h('output');
  const totalBar = h('div');
  const totalMsg = h('p', { class: 'small', role: 'status' });
  const totalBox = h('div', { class: 'energy-total field', dataset: { field: 'energy', fields: 'purposes total' } },
    h('div', { class: 'energy-total__line' }, h('span', {}, 'Total: ', totalOut), h('span', {}, 'Remaining: ', remainingOut)),
    totalBar, totalMsg);
  const picker = purposePicker({
    legend: 'Add or remove purposes', selected: [...rows.keys()].map((slug) => ({ slug, name: rows.get(slug).name })),
    hint: 'Tick the causes you give energy to.',
    onChange: (slugs, items) => {
      for (const slug of [...rows.keys()]) if (!slugs.includes(slug)) rows.delete(slug);
      for (const p of items) {
        const slug = purposeSlug(p);
        if (!rows.has(slug)) rows.set(slug, { name: purposeName(p), energy: Math.max(1, Math.min(25, 100 - total())) });
      }
      paint();
    },
  });
  const form = h('form', { class: 'form form--wide stack', 'aria-label': 'Purposes and energy' },
    list, totalBox, picker.el,
    h('div', { class: 'actions' }, h('button', { class: 'btn', type: 'submit', text: 'Save purposes and energy' })));
  content.append(h('div', { class: 'card' }, form));

  function total() { let t = 0; for (const r of rows.values()) t += Number(r.energy) || 0; return t; }
  function paintTotal() {
    const t = total();
    totalOut.textContent = percent(t / 100);
    remainingOut.textContent = percent(Math.max(0, 100 - t) / 100);
    const over = t > 100;
    totalBox.classList.toggle('is-over', over);
    totalBar.replaceChildren(bar(Math.min(t, 100) / 100, { over, large: true }));
    totalMsg.textContent = over ? `Over by ${percent((t - 100) / 100)}. Lower some shares: the total can be at most 100%.`
      : t === 100 ? 'All of your purposeful energy is placed.'
        : rows.size ? `${percent((100 - t) / 100)} of your energy is not placed yet — that is fine.` : '';
  }
  function paint() {
    list.replaceChildren(...[...rows.entries()].map(([slug, r], i) => energyRow(slug, r, i)));
    if (!rows.size) list.append(h('li', {}, empty({ title: 'No purposes yet', text: 'Tick the causes you support below, then split your energy among them.' })));
    paintTotal();
  }
  function energyRow(slug, r, i) {
    const numId = `energy-${i}`;
    const number = h('input', { id: numId, type: 'number', min: 1, max: 100, step: 1, inputmode: 'numeric', value: r.energy, name: `energy-${slug}`,
      'aria-label': `${r.name}: energy in percent` });
    const range = h('input', { type: 'range', min: 1, max: 100, step: 1, value: r.energy, 'aria-label': `Energy for ${r.name}`, 'aria-valuetext': `${r.energy}%` });
    const sync = (v, from) => {
      r.energy = v === '' ? 0 : Math.round(Number(v));
      if (from !== number) number.value = r.energy;
      if (from !== range) range.value = Math.max(1, Math.min(100, r.energy));
      range.setAttribute('aria-valuetext', `${r.energy}%`);
      paintTotal();
    };
    number.addEventListener('input', () => sync(number.value, number));
    range.addEventListener('input', () => sync(range.value, range));
    const remove = h('button', { class: 'btn btn--quiet btn--small', type: 'button', text: 'Remove', 'aria-label': `Remove ${r.name}` });
    remove.addEventListener('click', () => {
      rows.delete(slug);
      const cb = picker.el.querySelector(`input[value="${CSS.escape(slug)}"]`);
      if (cb) cb.checked = false;
      paint();
      form.querySelector('input[type=number]')?.focus();
    });
    const idxNames = [`[${i}].energy`, `[${i}]`, `${i}.energy`, `items[${i}].energy`, `purposes[${i}].energy`, `purposes[${i}]`, `[${i}].purpose`].join(' ');
    return h('li', { class: 'energy-row field', dataset: { field: `energy.${slug}`, fields: idxNames } },
      h('label', { class: 'energy-row__name', for: numId, text: r.name }),
      h('div', { class: 'energy-row__number' }, number, h('span', { class: 'energy-row__unit', 'aria-hidden': 'true', text: '%' })),
      h('div', { class: 'energy-row__remove' }, remove),
      h('div', { class: 'energy-row__slider' }, range));
  }
  paint();

  onSubmit(form, async () => {
    const body = [...rows.entries()].map(([slug, r]) => ({ purpose: slug, energy: r.energy }));
    const problems = [];
    [...rows.entries()].forEach(([slug, r]) => {
      if (!Number.isInteger(r.energy) || r.energy < 1 || r.energy > 100) problems.push({ field: `energy.${slug}`, message: `energy for ${r.name} must be a whole number from 1 to 100` });
    });
    const t = total();
    if (t > 100) problems.push({ field: 'energy', message: `your energy adds up to ${t}%; lower some shares so the total is at most 100%` });
    if (problems.length) { showErrors(form, problems, { title: 'Your energy split needs a change' }); return; }
    await api('PUT', '/api/v1/me/agent/purposes', { body });
    form.querySelector('.error-summary')?.remove();
    toast('Saved. Your matches now follow this split.');
  });
  await picker.ready;
}

// ---------- matches ----------

function matchCard(m) {
  const e = m.engagement ?? {};
  return h('article', { class: 'card candidate' },
    h('div', { class: 'candidate__head' },
      h('div', {},
        h('p', { class: 'card__eyebrow' }, h('span', { text: orgName(e.organisation ?? e.org ?? '') }), remoteHome(e)),
        h('h3', { class: 'card__title' }, h('a', { href: `/engagements/${encodeURIComponent(e.id)}`, text: e.title ?? 'Engagement' }))),
      scoreBadge(m.score)),
    scoreBreakdown(m.score, m.reasons ?? []));
}

async function matches(ctx, content) {
  content.append(head('Your matches', 'Open engagements ranked for you — purpose overlap weighted by your energy first, then skills, capacity, packaging, location and follows.',
    h('a', { class: 'btn btn--secondary', href: '/me/purposes', text: 'Adjust your energy' })));
  const box = h('div', {}, skeletons(3));
  content.append(box);
  try {
    const data = await get(`/api/v1/me/matches${query({ limit: 30 })}`, { signal: ctx.signal });
    const items = itemsOf(data);
    box.replaceChildren(items.length ? h('ol', { class: 'cards', 'aria-label': 'Matches, best first' }, items.map((m) => h('li', {}, matchCard(m))))
      : empty({ title: 'No matches yet', text: 'Declare your purposes and skills; as organisations post work, it will be ranked here with the reasons.',
        action: h('a', { class: 'btn', href: '/me/purposes', text: 'Declare purposes' }) }));
  } catch (err) {
    if (err.name !== 'AbortError') box.replaceChildren(errorNotice(err, { what: 'Matching' }));
  }
}

// ---------- agreements ----------

async function agreements(ctx, content) {
  // filtered by standing: an active agreement with a change awaiting consent is active
  const status = ctx.query.get('standing') ?? ctx.query.get('status') ?? '';
  content.append(head('Your agreements', 'Every agreement you are part of, with what you can do now.'),
    h('nav', { 'aria-label': 'Filter by status' }, h('ul', { class: 'chips' },
      ['', 'proposed', 'active', 'concluded', 'declined', 'withdrawn'].map((s) => h('li', {},
        h('a', { class: `chip${s === status ? '' : ' chip--neutral'}`, 'aria-current': s === status ? 'true' : null,
          href: `/me/agreements${s ? `?standing=${s}` : ''}`, text: s ? word(s) : 'All' }))))));
  const box = h('div');
  content.append(box);
  await pagedList(box, {
    label: 'Agreements', what: 'Agreements',
    fetchPage: (cursor) => get(`/api/v1/me/agreements${query({ standing: status, limit: 20, cursor })}`, { signal: ctx.signal }),
    renderItem: (a) => {
      const side = sideOf(a, 'agent');
      const panel = h('div', { class: 'card__more' });
      const showButtons = () => panel.replaceChildren(actionButtons(a, side, {
        onDone: () => ctx.reload(),
        onAmend: () => ctx.navigate(`/agreements/${encodeURIComponent(a.id)}?amend=1`),
        onConclude: () => { panel.replaceChildren(concludeForm(a, { onDone: () => ctx.reload(), onCancel: showButtons })); panel.querySelector('input')?.focus(); },
      }) ?? '');
      showButtons();
      const card = agreementCard(a, { side });
      card.append(panel);
      return card;
    },
    emptyState: empty({ title: status ? `No ${word(status).toLowerCase()} agreements` : 'No agreements yet',
      text: 'Find an engagement that fits and propose how you would take it on.',
      action: h('a', { class: 'btn', href: '/me/matches', text: 'See your matches' }) }),
  });
}

// ---------- portfolio ----------

function portfolioStats(p) {
  const cap = Number(p.capacity_hours_per_week ?? 0);
  const committed = Number(p.committed_hours ?? 0);
  const available = p.available_hours ?? Math.max(0, cap - committed);
  const over = committed > cap;
  return h('div', { class: 'stack' },
    h('ul', { class: 'stat-grid' },
      stat('Capacity', `${num(cap)} h`, 'per week'),
      stat('Committed', `${num(committed)} h`, 'in active agreements'),
      stat('Available', `${num(available)} h`, 'for new work'),
      p.agreements ? stat('Agreements', num(p.agreements.length), 'in your portfolio') : null),
    h('div', {},
      h('p', { class: 'small muted', text: cap ? `${percent(committed / cap)} of your capacity is committed.` : 'Set your weekly capacity in your profile.' }),
      bar(cap ? committed / cap : 0, { over, large: true, label: `Committed ${num(committed)} of ${num(cap)} hours` })));
}

const stat = (label, val, sub) => h('li', { class: 'stat' },
  h('span', { class: 'stat__label', text: label }), h('span', { class: 'stat__value', text: val }), h('span', { class: 'stat__label', text: sub }));

function warnings(list) {
  if (!list?.length) return null;
  return h('div', { class: 'notice notice--warn', role: 'status' },
    h('h3', {}, h('strong', { text: 'Heads up' })),
    h('ul', {}, list.map((w) => h('li', { text: warningText(w) }))));
}

async function portfolio(ctx, content) {
  content.append(head('Your portfolio', 'All your agreements, the hours they take against your capacity, and your energy per purpose.'));
  let p;
  try {
    p = await get('/api/v1/me/portfolio', { signal: ctx.signal });
  } catch (err) {
    content.append(errorNotice(err, { what: 'Your portfolio' }));
    return;
  }
  const committed = Number(p.committed_hours ?? 0);
  // (append writes null as the text "null": what is absent is left out)
  content.append(...[warnings(p.warnings), portfolioStats(p),
    h('section', { class: 'card', 'aria-labelledby': 'pp-title' },
      h('h2', { id: 'pp-title', text: 'Per purpose' }),
      h('p', { class: 'muted small', text: 'Your declared energy beside the share of your committed hours that serves each purpose.' }),
      p.purposes?.length ? h('ul', { class: 'energy-list' }, p.purposes.map((x) => {
        const share = committed ? Number(x.committed_hours ?? 0) / committed : 0;
        return h('li', { class: 'stack' },
          h('div', { class: 'energy-list__row energy-list__row--wrap' },
            h('a', { href: `/purposes/${encodeURIComponent(purposeSlug(x))}`, text: purposeName(x) }),
            h('span', { class: 'small muted', text: `${percent((x.energy ?? 0) / 100)} energy · ${num(x.committed_hours ?? 0)} h committed` })),
          h('div', { class: 'bar-pair' },
            h('span', { class: 'small muted', 'aria-hidden': 'true', text: 'Energy' }), bar((x.energy ?? 0) / 100, { label: `Energy ${percent((x.energy ?? 0) / 100)}` }),
            h('span', { class: 'small muted', 'aria-hidden': 'true', text: 'Hours' }), bar(share, { warm: true, label: `${percent(share)} of committed hours` })));
      })) : h('p', { class: 'muted' }, 'No purposes declared. ', h('a', { href: '/me/purposes', text: 'Declare them' }), '.')),
    energyLedger(p.energy_ledger),
    h('section', { 'aria-labelledby': 'pa-title' },
      h('h2', { id: 'pa-title', text: 'Agreements' }),
      p.agreements?.length ? h('ul', { class: 'cards' }, p.agreements.map((a) => h('li', {}, agreementCard(a, { side: 'agent' }))))
        : empty({ title: 'No agreements in your portfolio', text: 'Accepted agreements appear here with the hours they take.',
          action: h('a', { class: 'btn btn--secondary', href: '/me/matches', text: 'See your matches' }) }))].filter(Boolean));
}

// The energy ledger: declared energy beside the hours actually given (as the
// other side confirmed them), per purpose and per agreement, over the last
// eight weeks and in all.
function energyLedger(l) {
  if (!l) return null;
  // a new row of headings per table: one node cannot head two tables
  const weekHead = () => l.weeks.map((w) => h('th', { scope: 'col', class: 'num', text: day(w).replace(/,? \d{4}$/, '') }));
  const cells = (weeks) => weeks.map((x) => h('td', { class: 'num', text: Number(x) ? num(Number(x)) : '·' }));
  const table = (label, head, rows) => h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': label },
    h('table', { class: 'ledger' }, h('thead', {}, h('tr', {}, ...head, ...weekHead())), h('tbody', {}, rows)));
  return h('section', { class: 'card stack', 'aria-labelledby': 'ledger-title' },
    h('h2', { id: 'ledger-title', text: 'Energy ledger' }),
    h('p', { class: 'muted small', text: 'What you said you would give each purpose, against the hours you gave, as confirmed by the other side — week by week (weeks starting on Monday) and in all.' }),
    Number(l.confirmed_hours) ? null : h('p', { class: 'muted', text: 'No confirmed hours yet: log hours on an agreement, and they count here once the other side confirms them.' }),
    l.purposes?.length ? table('Energy ledger per purpose',
      [h('th', { scope: 'col', text: 'Purpose' }), h('th', { scope: 'col', class: 'num', text: 'Energy' }), h('th', { scope: 'col', class: 'num', text: 'Given' }), h('th', { scope: 'col', class: 'num', text: 'Hours' })],
      l.purposes.map((x) => h('tr', {},
        h('th', { scope: 'row' }, h('a', { href: `/purposes/${encodeURIComponent(purposeSlug(x))}`, text: purposeName(x) })),
        h('td', { class: 'num', text: percent((x.energy ?? 0) / 100) }),
        h('td', { class: 'num', text: x.share === null || x.share === undefined ? '—' : percent(x.share / 100) }),
        h('td', { class: 'num', text: num(Number(x.confirmed_hours)) }),
        ...cells(x.weeks)))) : null,
    l.agreements?.length ? table('Confirmed hours per agreement',
      [h('th', { scope: 'col', text: 'Agreement' }), h('th', { scope: 'col', class: 'num', text: 'Agreed' }), h('th', { scope: 'col', class: 'num', text: 'Hours' })],
      l.agreements.map((a) => h('tr', {},
        h('th', { scope: 'row' }, h('a', { href: `/agreements/${encodeURIComponent(a.id)}`, text: a.role }), h('span', { class: 'muted small', text: ` · ${a.organisation?.name ?? ''}` })),
        h('td', { class: 'num', text: `${num(a.hours_per_week)} h/wk` }),
        h('td', { class: 'num', text: num(Number(a.confirmed_hours)) }),
        ...cells(a.weeks)))) : null);
}

// ---------- notifications ----------

// One notification; tag 'li' inside notificationList, 'div' where the list item is made elsewhere.
function notification(n, tag = 'li') {
  const agreementId = n.agreement_id ?? n.agreement?.id ?? (typeof n.agreement === 'number' || typeof n.agreement === 'string' ? n.agreement : null);
  const text = n.message ?? n.text ?? n.summary ?? n.title ?? word(n.kind ?? n.type ?? 'update');
  const unread = n.read === false || (n.read_at === null && 'read_at' in n);
  // where it leads: the agreement (at its conversation or hours), else the engagement posted
  const section = n.kind === 'agreement_message' ? '#conversation' : /^agreement_hours_/.test(n.kind ?? '') ? '#hours' : '';
  const href = agreementId ? `/agreements/${encodeURIComponent(agreementId)}${section}`
    : n.engagement_id ? `/engagements/${encodeURIComponent(n.engagement_id)}` : null;
  // opening a notification reads it
  const open = () => { if (unread && n.id) api('POST', '/api/v1/me/notifications/read', { body: { ids: [n.id] } }).catch(() => {}); };
  return h(tag, { class: `notification${unread ? ' notification--unread' : ''}` },
    href ? h('a', { href, text, onclick: open }) : h('span', { text }),
    unread ? h('span', { class: 'sr-only', text: ' (unread)' }) : null,
    n.kind === 'agreement_message' && n.payload?.note ? h('p', { class: 'muted small', text: `“${clip(n.payload.note, 140)}”` }) : null,
    n.created_at ? timeEl(n.created_at) : null);
}

const notificationList = (items) => h('ul', { class: 'notifications' }, items.map((n) => notification(n)));

async function notifications(ctx, content) {
  const markAll = h('button', { class: 'btn btn--secondary btn--small', type: 'button', text: 'Mark all as read' });
  markAll.addEventListener('click', async () => {
    busy(markAll, true);
    try {
      await api('POST', '/api/v1/me/notifications/read', { body: { all: true } });
      toast('All caught up.');
      ctx.reload();
    } catch (err) { busy(markAll, false); toast(err.message, 'error'); }
  });
  content.append(head('Notifications', 'Proposals, answers and changes to your agreements.', markAll));
  const box = h('div');
  content.append(box);
  await pagedList(box, {
    label: 'Notifications', what: 'Notifications',
    fetchPage: (cursor) => get(`/api/v1/me/notifications${query({ limit: 30, cursor })}`, { signal: ctx.signal }),
    renderItem: (n) => notification(n, 'div'),
    emptyState: empty({ title: 'You are all caught up', text: 'When someone proposes, accepts or amends an agreement with you, it shows here.' }),
  });
}

// ---------- following ----------

async function following(ctx, content) {
  content.append(head('Following', 'Organisations whose talent pool you chose to join. Their engagements rank a little higher for you.'));
  const box = h('div', {}, skeletons(1));
  content.append(box, remoteFollowing(ctx));
  let data = null;
  for (const path of ['/api/v1/me/follows', '/api/v1/me/following']) {
    data = await getOptional(`${path}?limit=100`, { signal: ctx.signal }).catch((err) => { box.replaceChildren(errorNotice(err)); return undefined; });
    if (data === undefined) return;
    if (data !== null) break;
  }
  if (data === null) { box.replaceChildren(unavailable('The list of organisations you follow', 'You can still follow organisations from their pages.')); return; }
  const items = itemsOf(data);
  if (!items.length) {
    box.replaceChildren(empty({ title: 'You do not follow any organisation yet', text: 'Follow organisations whose purpose you share, without committing to anything.',
      action: h('a', { class: 'btn', href: '/organisations', text: 'Browse organisations' }) }));
    return;
  }
  box.replaceChildren(h('ul', { class: 'members' }, items.map((f) => {
    const o = f.organisation && typeof f.organisation === 'object' ? f.organisation : f;
    const b = h('button', { class: 'btn btn--secondary btn--small', type: 'button', text: 'Unfollow', 'aria-label': `Unfollow ${o.name ?? o.slug}` });
    const li = h('li', { class: 'member' },
      h('a', { class: 'member__name', href: `/organisations/${encodeURIComponent(o.slug)}`, text: o.name ?? o.slug }),
      f.followed_at || f.created_at ? h('span', { class: 'muted small' }, 'followed ', timeEl(f.followed_at ?? f.created_at)) : null, b);
    b.addEventListener('click', async () => {
      busy(b, true);
      try {
        await api('DELETE', `/api/v1/organisations/${encodeURIComponent(o.slug)}/follow`);
        toast(`You no longer follow ${o.name ?? o.slug}.`);
        li.remove();
      } catch (err) { busy(b, false); toast(err.message, 'error'); }
    });
    return li;
  })));
}

