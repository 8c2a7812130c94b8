// dom: build elements safely (text is always text, never HTML) and format
// numbers, dates and money for the reader's locale with Intl.

// h('a', {href: '/x', class: 'btn', onclick: fn}, 'text', child, [more])
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'style') throw new Error('inline styles are not allowed (CSP): use classes');
      if (key === 'class') el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
      else if (key === 'text') el.textContent = String(value);
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key === 'vars') for (const [k, v] of Object.entries(value)) el.style.setProperty(k, v);
      else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
      else if (key === 'value' && 'value' in el) el.value = value;
      else if (key === 'checked' || key === 'selected') el[key] = Boolean(value);
      else if (value === true) el.setAttribute(key, '');
      else el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false || child === '') continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

let idCounter = 0;
export const uid = (prefix = 'id') => `${prefix}-${++idCounter}`;

// ---------- formatting for the reader's locale ----------

const locale = navigator.languages?.length ? [...navigator.languages] : undefined;
const cache = new Map();
function fmt(kind, options) {
  const key = kind + JSON.stringify(options);
  if (!cache.has(key)) {
    const make = { number: Intl.NumberFormat, date: Intl.DateTimeFormat, list: Intl.ListFormat,
      relative: Intl.RelativeTimeFormat, plural: Intl.PluralRules }[kind];
    cache.set(key, new make(locale, options));
  }
  return cache.get(key);
}

export const num = (n, options = {}) =>
  (n === null || n === undefined || Number.isNaN(Number(n))) ? '—' : fmt('number', options).format(Number(n));

export const percent = (share) => num(share, { style: 'percent', maximumFractionDigits: 0 });

export function money(amount, currency) {
  try {
    return fmt('number', { style: 'currency', currency, maximumFractionDigits: Number(amount) % 1 ? 2 : 0 })
      .format(Number(amount));
  } catch {
    return `${num(amount)} ${currency ?? ''}`.trim();
  }
}

// "YYYY-MM-DD" dates are calendar days: show them without a time zone shift.
export function day(value) {
  if (!value) return '—';
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const d = m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])) : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return fmt('date', m ? { dateStyle: 'medium', timeZone: 'UTC' } : { dateStyle: 'medium' }).format(d);
}

export function dateTime(value) {
  const d = new Date(value);
  if (!value || Number.isNaN(d.getTime())) return '—';
  return fmt('date', { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

export function ago(value) {
  const d = new Date(value);
  if (!value || Number.isNaN(d.getTime())) return '';
  const seconds = (d.getTime() - Date.now()) / 1000;
  const units = [['year', 31536000], ['month', 2592000], ['week', 604800], ['day', 86400],
    ['hour', 3600], ['minute', 60]];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return fmt('relative', { numeric: 'auto' }).format(Math.round(seconds / size), unit);
  }
  return fmt('relative', { numeric: 'auto' }).format(0, 'minute');
}

// <time datetime=...> with a relative text and the full date as a tooltip.
export function timeEl(value, { relative = true } = {}) {
  if (!value) return h('span', { text: '—' });
  return h('time', { datetime: value, title: dateTime(value), text: relative ? ago(value) : day(value) });
}

export const list = (items, type = 'conjunction') =>
  fmt('list', { style: 'long', type }).format(items.map(String));

// plural('hour', 3) -> "3 hours" (English words; numbers by locale)
export function plural(n, one, many = `${one}s`) {
  return `${num(n)} ${fmt('plural', {}).select(Number(n)) === 'one' ? one : many}`;
}

export function initials(name) {
  const words = String(name ?? '?').trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[words.length - 1][0] : (words[0] ?? '?').slice(0, 1);
  return letters.toUpperCase();
}

// Human words for enum values from the API.
const WORDS = {
  for_purpose_enterprise: 'For-purpose enterprise', cooperative: 'Cooperative', nonprofit: 'Nonprofit',
  foundation: 'Foundation', b_corp: 'B Corp', company: 'Company', informal: 'Informal group', other: 'Other',
  holacracy: 'Holacracy', sociocracy: 'Sociocracy', teal: 'Teal', consent_based: 'Consent-based',
  traditional: 'Traditional hierarchy',
  employment: 'Employment', partnership: 'Partnership', consulting: 'Consulting', interim: 'Interim',
  volunteer: 'Volunteer',
  hour: 'hour', day: 'day', week: 'week', month: 'month', year: 'year', total: 'in total',
  owner: 'Owner', admin: 'Admin', member: 'Member',
  open: 'Open', paused: 'Paused', closed: 'Closed',
  proposed: 'Proposed', active: 'Active', declined: 'Declined', withdrawn: 'Withdrawn', concluded: 'Concluded',
  purpose: 'Purpose', packaging: 'Packaging', skills: 'Skills', capacity: 'Capacity', location: 'Location', follows: 'Follows',
};
export const word = (value) => WORDS[value] ?? String(value ?? '').replace(/_/g, ' ');

export const LEGAL_FORMS = ['for_purpose_enterprise', 'cooperative', 'nonprofit', 'foundation', 'b_corp',
  'company', 'informal', 'other'];
export const GOVERNANCES = ['holacracy', 'sociocracy', 'teal', 'consent_based', 'traditional', 'other'];
export const PACKAGINGS = ['employment', 'partnership', 'consulting', 'interim', 'volunteer'];
export const PERIODS = ['hour', 'day', 'week', 'month', 'year', 'total'];
// For a select of periods: "Per hour", …, "In total".
export const periodLabel = (p) => (p === 'total' ? 'In total' : `Per ${word(p)}`);
