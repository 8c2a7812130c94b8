// engagement-form: the fields of an engagement (post and edit share them).
// Non-cash rewards come first: they matter as much as money here.
import { h, word, PACKAGINGS, PERIODS, periodLabel } from './dom.js';
import { checkbox, checkedValues, field, pillGroup, splitList, value } from './forms.js';
import { placeField, purposePicker, suggestSkills } from './pickers.js';

const COMMON_REWARDS = ['Learning', 'Network', 'Credit', 'Mentoring', 'Equity', 'Flexible hours'];

export function engagementFields(e = {}, { orgPurposes = [] } = {}) {
  const picker = purposePicker({ legend: 'Purposes this work serves', selected: e.purposes ?? orgPurposes,
    hint: 'Agents are matched by the purposes they give energy to.' });
  const nonCash = e.rewards?.non_cash ?? [];
  const common = COMMON_REWARDS.filter((r) => nonCash.includes(r));
  const other = nonCash.filter((r) => !COMMON_REWARDS.includes(r));
  const cash = e.rewards?.cash ?? null;
  const el = h('div', { class: 'stack' },
    field({ label: 'Title', name: 'title', value: e.title ?? '', maxlength: 200, placeholder: 'e.g. Data steward for river monitoring' }),
    field({ label: 'Description', name: 'description', type: 'textarea', rows: 7, maxlength: 10000, value: e.description ?? '',
      hint: 'What the work is, who it is with, and what difference it makes.' }),
    picker.el,
    pillGroup({ legend: 'Ways to take it on', name: 'packagings', checked: e.packagings ?? [],
      hint: 'One engagement can be offered in several packagings.', options: PACKAGINGS.map((p) => [p, word(p)]) }),
    h('div', { class: 'fields-row' },
      field({ label: 'Hours per week', name: 'hours_per_week', type: 'number', min: 1, max: 80, inputmode: 'numeric', value: e.hours_per_week ?? '' }),
      field({ label: 'Duration in weeks', name: 'duration_weeks', type: 'number', min: 1, max: 520, inputmode: 'numeric', optional: true, value: e.duration_weeks ?? '' })),
    suggestSkills(field({ label: 'Skills', name: 'skills', optional: true, value: (e.skills ?? []).join(', '), hint: 'Separate with commas, e.g. GIS, field work, Python' })),
    h('div', { class: 'fields-row' },
      field({ label: 'Location', name: 'location', optional: true, value: e.location ?? '', maxlength: 200 }),
      h('div', { class: 'field' }, checkbox({ label: 'Remote friendly', name: 'remote_ok', checked: e.remote_ok ?? false }))),
    h('div', { class: 'fields-row' },
      placeField({ label: 'Place', name: 'place', place: e.place ?? null, hint: 'Where the work is: people nearby find it, and matching counts the distance.' }),
      field({ label: 'Takes people until', name: 'closes_on', type: 'date', optional: true, value: e.closes_on ?? '' })),
    h('fieldset', { class: 'group field', dataset: { field: 'rewards' } },
      h('legend', { text: 'Rewards' }),
      h('p', { class: 'hint', text: 'What people get from this work. Non-cash rewards are shown as prominently as pay.' }),
      h('div', { class: 'stack' },
        pillGroup({ legend: 'Non-cash rewards', name: 'non_cash_common', checked: common, options: COMMON_REWARDS.map((r) => [r, r]) }),
        field({ label: 'Other non-cash rewards', name: 'non_cash_other', optional: true, value: other.join(', '), fields: 'rewards.non_cash',
          hint: 'Separate with commas, e.g. Co-authorship, Field trips' }),
        checkbox({ label: 'Also paid', name: 'cash_on', checked: Boolean(cash) }),
        h('div', { class: 'fields-row', dataset: { cash: '' }, hidden: !cash },
          field({ label: 'From', name: 'cash_min', type: 'number', min: 0, step: 'any', value: cash?.min ?? '', fields: 'rewards.cash.min rewards.cash' }),
          field({ label: 'Up to', name: 'cash_max', type: 'number', min: 0, step: 'any', value: cash?.max ?? '', fields: 'rewards.cash.max' }),
          field({ label: 'Currency', name: 'cash_currency', maxlength: 3, value: cash?.currency ?? defaultCurrency(), fields: 'rewards.cash.currency', autocomplete: 'off' }),
          field({ label: 'Period', name: 'cash_period', type: 'select', value: cash?.period ?? 'month', fields: 'rewards.cash.period',
            options: PERIODS.map((p) => [p, periodLabel(p)]) })))));
  const cashBox = el.querySelector('[data-cash]');
  el.querySelector('input[name="cash_on"]').addEventListener('change', (ev) => { cashBox.hidden = !ev.target.checked; });
  return { el, picker };
}

function defaultCurrency() {
  const region = (navigator.language ?? 'en').split('-')[1]?.toUpperCase();
  const map = { US: 'USD', GB: 'GBP', CH: 'CHF', JP: 'JPY', CA: 'CAD', AU: 'AUD', NZ: 'NZD', SE: 'SEK', NO: 'NOK', DK: 'DKK', IN: 'INR', BR: 'BRL' };
  return map[region] ?? 'EUR';
}

const intOrNull = (s) => (s === '' ? null : Number(s));

export function engagementBody(form, picker) {
  const nonCash = [...checkedValues(form, 'non_cash_common'), ...splitList(value(form, 'non_cash_other'))];
  const body = {
    title: value(form, 'title'),
    description: value(form, 'description'),
    purposes: picker.values(),
    packagings: checkedValues(form, 'packagings'),
    hours_per_week: intOrNull(value(form, 'hours_per_week')),
    skills: splitList(value(form, 'skills')),
    remote_ok: form.elements.remote_ok.checked,
    rewards: { non_cash: nonCash },
  };
  const duration = intOrNull(value(form, 'duration_weeks'));
  if (duration !== null) body.duration_weeks = duration;
  const location = value(form, 'location');
  if (location) body.location = location;
  body.place = form.elements.place.value ? Number(form.elements.place.value) : null;
  body.closes_on = value(form, 'closes_on') || null;
  if (form.elements.cash_on.checked) {
    const min = intOrNull(value(form, 'cash_min'));
    const max = intOrNull(value(form, 'cash_max'));
    body.rewards.cash = { min, max: max ?? min, currency: value(form, 'cash_currency').toUpperCase(), period: value(form, 'cash_period') };
  }
  return body;
}

// Client-side checks that save a round trip; the API checks everything again.
export function engagementProblems(body) {
  const problems = [];
  if (!body.title) problems.push({ field: 'title', message: 'give the engagement a title' });
  if (!body.description) problems.push({ field: 'description', message: 'describe the work' });
  if (!body.packagings.length) problems.push({ field: 'packagings', message: 'choose at least one way to take it on' });
  if (body.hours_per_week === null || Number.isNaN(body.hours_per_week)) problems.push({ field: 'hours_per_week', message: 'enter the hours per week (1 to 80)' });
  if (body.rewards.cash && (body.rewards.cash.min === null || Number.isNaN(body.rewards.cash.min))) problems.push({ field: 'rewards.cash.min', message: 'enter an amount, or untick “Also paid”' });
  else if (body.rewards.cash && body.rewards.cash.max < body.rewards.cash.min) problems.push({ field: 'rewards.cash.max', message: 'must not be less than the “From” amount' });
  return problems;
}
