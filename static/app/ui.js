// ui: shared pieces of the interface — loading and empty states, notices,
// cards for engagements, organisations and agents, rewards, bars, scores.

import { ApiError } from './api.js';
import { h, money, num, percent, plural, word, timeEl, initials, list } from './dom.js';

export const loading = (text = 'Loading…') =>
  h('p', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), text);

export const skeletons = (n = 3) => h('div', { class: 'stack', 'aria-hidden': 'true' },
  Array.from({ length: n }, () => h('div', { class: 'skeleton' })));

export function empty({ title, text, action }) {
  return h('div', { class: 'empty' },
    h('p', { class: 'empty__title', text: title }),
    text ? h('p', { text }) : null,
    action ? h('div', { class: 'actions' }, action) : null);
}

export function notice(kind, title, text, action) {
  return h('div', { class: `notice notice--${kind}`, role: kind === 'error' ? 'alert' : null },
    title ? h('h2', { text: title }) : null,
    text ? h('p', { text }) : null,
    action ? h('div', { class: 'actions' }, action) : null);
}

// The endpoint behind a part of a page is not on this server yet.
export const unavailable = (what, next) =>
  notice('info', 'Not available yet',
    `This Purposed server does not offer ${what.charAt(0).toLowerCase() + what.slice(1)} yet. ${next ?? 'Check back soon.'}`);

export function errorNotice(err, { what, action } = {}) {
  if (err instanceof ApiError && err.missing && what) return unavailable(what);
  const title = err instanceof ApiError && err.status === 0 ? 'You seem to be offline'
    : err instanceof ApiError && err.status === 503 ? 'Purposed is catching its breath'
      : 'Something went wrong';
  return notice('error', title, err?.message ?? String(err), action);
}

export function toast(text, kind = 'info') {
  const box = document.querySelector('[data-toasts]');
  if (!box) return;
  const close = h('button', { class: 'toast__close', type: 'button', 'aria-label': 'Dismiss', text: '×' });
  const t = h('div', { class: `toast${kind === 'error' ? ' toast--error' : ''}`, role: kind === 'error' ? 'alert' : 'status' },
    h('span', { text }), close);
  box.append(t);
  makeRoomForToasts(box);
  const remove = () => { t.remove(); makeRoomForToasts(box); };
  close.addEventListener('click', remove);
  setTimeout(remove, 5000);
}

// The page ends above the pop-up messages while they show, so they never
// cover its last lines (buttons of a form, the footer): --toast-room pads <body>.
function makeRoomForToasts(box) {
  const room = box.childElementCount ? `${box.getBoundingClientRect().height + 24}px` : '0px';
  document.documentElement.style.setProperty('--toast-room', room);
}

export function busy(button, on) {
  if (!button) return;
  button.classList.toggle('is-busy', on);
  button.disabled = on;
  if (on) button.setAttribute('aria-busy', 'true'); else button.removeAttribute('aria-busy');
}

export const badge = (status) => h('span', { class: `badge badge--${status}`, text: word(status) });

// The verified badge of an organisation (its website proved, or an
// administrator's word); null when it is not verified.
const VERIFIED_HOW = {
  well_known: 'its website serves the verification token',
  meta_tag: 'its website carries the verification tag',
  manual: 'verified by the administrators of this instance',
};
export const verifiedHow = (o) => (o?.verified ? VERIFIED_HOW[o.verification?.method] ?? 'verified' : null);
export const verifiedBadge = (o) => (o?.verified
  ? h('span', { class: 'badge badge--verified', title: `Verified: ${verifiedHow(o)}`, text: '✓ Verified' }) : null);

// Purposes arrive as slugs or as {slug, name}.
export const purposeSlug = (p) => (typeof p === 'string' ? p : p?.slug ?? p?.purpose?.slug ?? p?.purpose ?? '');
export const purposeName = (p) => (typeof p === 'string' ? p.replace(/-/g, ' ').replace(/^./, (c) => c.toUpperCase())
  : p?.name ?? p?.purpose?.name ?? purposeSlug(p).replace(/-/g, ' '));
export const orgSlug = (o) => (typeof o === 'string' ? o : o?.slug ?? '');
export const orgName = (o) => (typeof o === 'string' ? o : o?.name ?? o?.slug ?? '');
export const agentHandle = (a) => (typeof a === 'string' ? a : a?.handle ?? '');
export const agentName = (a) => (typeof a === 'string' ? a : a?.display_name ?? a?.name ?? a?.handle ?? '');

export function purposeChips(purposes, { link = true } = {}) {
  if (!purposes?.length) return null;
  return h('ul', { class: 'chips', 'aria-label': 'Purposes' }, purposes.map((p) => h('li', {},
    link && purposeSlug(p)
      ? h('a', { class: 'chip', href: `/purposes/${encodeURIComponent(purposeSlug(p))}`, text: purposeName(p) })
      : h('span', { class: 'chip', text: purposeName(p) }))));
}

export function tagList(tags, label = 'Skills') {
  if (!tags?.length) return null;
  return h('ul', { class: 'chips', 'aria-label': label }, tags.map((t) => h('li', {}, h('span', { class: 'chip chip--neutral', text: t }))));
}

// Cash and non-cash rewards in one row, with the same weight.
export function cashText(cash) {
  if (!cash) return null;
  const min = cash.min ?? cash.amount;
  const max = cash.max ?? min;
  const amount = Number(min) === Number(max) ? money(min, cash.currency) : `${money(min, cash.currency)}–${money(max, cash.currency)}`;
  const per = cash.period === 'total' ? ' in total' : cash.period ? ` per ${word(cash.period)}` : '';
  return amount + per;
}

const NON_CASH_ICONS = [[/learn|skill|mentor|train|course/i, '✎'], [/network|connect|people|communit/i, '∞'],
  [/credit|recogn|author|byline|portfolio/i, '★'], [/equity|share|stake|ownership/i, '◆'],
  [/flex|remote|time/i, '◷'], [/travel|trip/i, '✈'], [/food|meal|lunch/i, '☕']];
const nonCashIcon = (text) => NON_CASH_ICONS.find(([re]) => re.test(text))?.[1] ?? '✦';

export function rewardsList(rewards, { large = false } = {}) {
  const items = [];
  const nonCash = Array.isArray(rewards?.non_cash) ? rewards.non_cash : [];
  for (const r of nonCash) items.push(h('li', { class: 'reward' }, h('span', { class: 'reward__icon', 'aria-hidden': 'true', text: nonCashIcon(r) }), r));
  const cash = cashText(rewards?.cash);
  if (cash) items.push(h('li', { class: 'reward' }, h('span', { class: 'reward__icon', 'aria-hidden': 'true', text: '¤' }), cash));
  if (typeof rewards === 'string' && rewards.trim()) items.push(h('li', { class: 'reward' }, h('span', { class: 'reward__icon', 'aria-hidden': 'true', text: '✦' }), rewards));
  if (!items.length) return null;
  return h('ul', { class: `rewards${large ? ' rewards--large' : ''}`, 'aria-label': 'Rewards' }, items);
}

export function bar(share, { warm = false, over = false, large = false, label } = {}) {
  const clamped = Math.max(0, Math.min(1, Number(share) || 0));
  return h('div', {
    class: ['bar', warm && 'bar--warm', over && 'bar--over', large && 'bar--large'],
    role: label ? 'img' : null, 'aria-label': label ?? null, 'aria-hidden': label ? null : 'true',
  }, h('div', { class: 'bar__fill', vars: { '--value': `${(clamped * 100).toFixed(1)}%` } }));
}

export function energyBars(purposes) {
  if (!purposes?.length) return null;
  const sorted = [...purposes].sort((a, b) => (b.energy ?? 0) - (a.energy ?? 0));
  return h('ul', { class: 'energy-list' }, sorted.map((p) => h('li', { class: 'energy-list__row' },
    h('a', { href: `/purposes/${encodeURIComponent(purposeSlug(p))}`, text: purposeName(p) }),
    h('span', { class: 'energy-list__value', text: percent((p.energy ?? 0) / 100) }),
    bar((p.energy ?? 0) / 100))));
}

// A match score with its reasons as a readable breakdown: one colour per
// kind of reason, in the stacked bar, the swatch and the reason's own bar.
const KINDS = ['purpose', 'skills', 'capacity', 'packaging', 'location', 'follows'];
const kindOf = (r) => (KINDS.includes(r.kind) ? r.kind : 'purpose');
const PACKAGING_WORDS = /\b(employment|partnership|consulting|interim|volunteer)\b/g;
// The API writes packagings as their codes ("consulting and volunteer"): show them as everywhere else.
const reasonDetail = (r) => (r.kind === 'packaging' ? String(r.detail).replace(PACKAGING_WORDS, (m) => word(m)) : r.detail);
export function scoreBreakdown(score, reasons = []) {
  const total = Number(score) || 0;
  const segs = reasons.filter((r) => Number(r.points) > 0);
  return h('div', { class: 'stack' },
    h('div', { class: 'stacked-bar', role: 'img', 'aria-label': `Match score ${percent(total)}` },
      segs.map((r) => h('span', {
        class: `stacked-bar__seg stacked-bar__seg--${kindOf(r)}`,
        vars: { '--value': `${(Math.max(0, Math.min(1, Number(r.points))) * 100).toFixed(1)}%` },
      }))),
    reasons.length ? h('ul', { class: 'reasons', 'aria-label': 'Why this match' }, reasons.map((r) => h('li', { class: `reason reason--${kindOf(r)}` },
      h('span', { class: 'reason__kind' },
        h('span', { class: `reason__swatch reason__swatch--${kindOf(r)}`, 'aria-hidden': 'true' }),
        word(r.kind)),
      h('span', { class: 'reason__bar' }, bar(Number(r.points) || 0)),
      h('span', { class: 'reason__points', text: `+${num((Number(r.points) || 0) * 100, { maximumFractionDigits: 0 })}` }),
      r.detail ? h('span', { class: 'reason__detail', text: reasonDetail(r) }) : null))) : null);
}

export function scoreBadge(score) {
  return h('span', { class: 'score' }, percent(Number(score) || 0), h('small', { text: 'match' }));
}

// A list asked with near= says how far each item is (distance_km, 0.1 km).
export const distanceAway = (km) => (typeof km === 'number'
  ? `${num(km, { minimumFractionDigits: 1, maximumFractionDigits: 1 })} km away` : null);

export function engagementMeta(e) {
  const bits = [];
  if (distanceAway(e.distance_km)) bits.push(distanceAway(e.distance_km));
  if (e.hours_per_week) bits.push(`${plural(e.hours_per_week, 'hour')} a week`);
  if (e.duration_weeks) bits.push(`for ${plural(e.duration_weeks, 'week')}`);
  if (e.remote_ok) bits.push(e.location ? `Remote or ${e.location}` : 'Remote friendly');
  else if (e.location) bits.push(e.location);
  if (e.packagings?.length) bits.push(list(e.packagings.map(word), 'disjunction'));
  return h('ul', { class: 'card__meta' }, bits.map((b) => h('li', { text: b })));
}

// What another instance keeps (an engagement or organisation with remote: {instance, url}):
// which instance, linking to its page at home, where it is changed, asked about and applied to.
export function remoteHome(x) {
  return x?.remote?.url ? h('a', { class: 'remote-home', href: x.remote.url, rel: 'noopener',
    title: `Kept by ${x.remote.instance}: see it at home`, text: `On ${x.remote.instance} ↗` }) : null;
}

// hideOrganisation: on the organisation's own page its name would only repeat the heading.
export function engagementCard(e, { extra, hideOrganisation = false } = {}) {
  const org = hideOrganisation ? null : e.organisation ?? e.org;
  return h('article', { class: 'card card--link' },
    h('p', { class: 'card__eyebrow' },
      org ? h('span', { text: orgName(org) }) : null,
      remoteHome(e),
      e.status && e.status !== 'open' ? badge(e.status) : null,
      e.created_at ? h('span', {}, 'Posted ', timeEl(e.created_at)) : null),
    h('h3', { class: 'card__title' }, h('a', { href: `/engagements/${encodeURIComponent(e.id)}`, text: e.title })),
    e.description ? h('p', { class: 'card__text', text: clip(e.description, 220) }) : null,
    rewardsList(e.rewards),
    engagementMeta(e),
    e.purposes?.length ? h('div', { class: 'card__more section--tight' }, purposeChips(e.purposes, { link: false })) : null,
    extra ?? null);
}

export function organisationCard(o) {
  return h('article', { class: 'card card--link' },
    h('div', { class: 'org-head' },
      h('span', { class: 'avatar avatar--small', 'aria-hidden': 'true', text: initials(o.name) }),
      h('div', {},
        h('h3', { class: 'card__title' }, h('a', { href: `/organisations/${encodeURIComponent(o.slug)}`, text: o.name })),
        h('p', { class: 'card__eyebrow' },
          verifiedBadge(o),
          remoteHome(o),
          o.legal_form ? h('span', { text: word(o.legal_form) }) : null,
          o.location ? h('span', { text: o.location }) : null))),
    o.purpose_statement ? h('p', { class: 'card__text', text: clip(o.purpose_statement, 180) }) : null,
    h('ul', { class: 'card__meta' },
      o.open_engagements !== undefined ? h('li', { text: `${plural(o.open_engagements, 'open engagement')}` }) : null,
      o.followers !== undefined ? h('li', { text: plural(o.followers, 'follower') }) : null));
}

export function agentCard(a, { extra } = {}) {
  return h('article', { class: 'card card--link' },
    h('div', { class: 'org-head' },
      h('span', { class: 'avatar avatar--small avatar--round', 'aria-hidden': 'true', text: initials(agentName(a)) }),
      h('div', {},
        h('h3', { class: 'card__title' }, h('a', { href: `/agents/${encodeURIComponent(a.handle)}`, text: agentName(a) })),
        a.headline ? h('p', { class: 'card__eyebrow', text: a.headline }) : null)),
    distanceAway(a.distance_km) ? h('ul', { class: 'card__meta' }, h('li', { text: distanceAway(a.distance_km) })) : null,
    extra ?? null);
}

export function clip(text, n) {
  const s = String(text ?? '');
  return s.length > n ? `${s.slice(0, n).replace(/\s+\S*$/, '')}…` : s;
}

export function pageHead({ eyebrow, title, lead, actions, crumbs }) {
  return h('header', { class: 'page-head' },
    crumbs ? h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' },
      h('ol', {}, crumbs.map(([text, href]) => h('li', {}, href ? h('a', { href, text }) : h('span', { 'aria-current': 'page', text }))))) : null,
    h('div', { class: 'page-head__row' },
      h('div', {},
        eyebrow ? h('p', { class: 'page-head__eyebrow', text: eyebrow }) : null,
        h('h1', { text: title }),
        lead ? h('p', { class: 'lead', text: lead }) : null),
      actions ? h('div', { class: 'actions' }, actions) : null));
}

// A list that grows with "Load more" while next_cursor says there is more.
// fetchPage(cursor) -> {items, next_cursor}; renderItem(item) -> Node.
export async function pagedList(container, { fetchPage, renderItem, emptyState, grid = false, label, what, countLabel }) {
  const ul = h('ul', { class: `cards${grid ? ' cards--grid' : ''}`, 'aria-label': label ?? null });
  const more = h('div', { class: 'load-more' });
  const status = h('p', { class: 'result-count', role: 'status' });
  container.append(skeletons(grid ? 2 : 3));
  let shown = 0;
  async function load(cursor, button) {
    busy(button, true);
    let page;
    try {
      page = await fetchPage(cursor);
    } catch (err) {
      busy(button, false);
      if (!cursor) { container.replaceChildren(errorNotice(err, { what })); return; }
      more.replaceChildren(errorNotice(err), button);
      return;
    }
    const items = Array.isArray(page) ? page : page?.items ?? [];
    if (!cursor) {
      container.replaceChildren();
      if (!items.length) { container.append(emptyState); return; }
      container.append(status, ul, more);
    }
    const first = ul.children.length;
    for (const item of items) ul.append(h('li', {}, renderItem(item)));
    shown += items.length;
    if (countLabel) status.textContent = countLabel(shown, Boolean(page?.next_cursor));
    more.replaceChildren();
    if (page?.next_cursor) {
      const b = h('button', { class: 'btn btn--secondary', type: 'button', text: 'Load more' });
      b.addEventListener('click', () => load(page.next_cursor, b));
      more.append(b);
    }
    if (cursor) ul.children[first]?.querySelector('a')?.focus();
  }
  await load(null);
}

// A form in a card with a column of guidance beside it (below it on phones).
export function formLayout(card, { title, steps = [], extra } = {}) {
  return h('div', { class: 'layout-split' }, card,
    h('aside', { class: 'stack', 'aria-label': title ?? 'Guidance' },
      steps.length ? h('section', { class: 'card card--tint' },
        h('h2', { class: 'h3', text: title }),
        h('ol', { class: 'steps' }, steps.map(([head, text]) => h('li', {}, h('strong', { text: head }), h('span', { class: 'muted', text }))))) : null,
      extra ?? null));
}

// The closing notes both sides agreed to publish (the API sends them only then).
export function publishedNotes(closures) {
  const notes = (closures ?? []).filter((x) => x.note);
  return notes.length ? h('div', { class: 'stack' }, notes.map((x) => h('blockquote', { class: 'prose' },
    h('p', { text: x.note }),
    h('p', { class: 'muted small', text: x.side === 'agent' ? '— the agent’s closing note' : '— the organisation’s closing note' })))) : null;
}
