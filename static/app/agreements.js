// agreements: cards, the actions each side may take, and the agreement form
// (propose and amend share it). The API decides and says so for the viewer
// (my_side, awaiting, allowed_actions on every agreement, in lists too); this
// only offers what it says, worded for the viewer's side.
import { api, ApiError } from './api.js';
import { h, day, plural, word, PACKAGINGS, PERIODS, periodLabel } from './dom.js';
import { checkbox, field, onSubmit, showErrors, splitList, value } from './forms.js';
import { purposePicker } from './pickers.js';
import { isMember, myAgent } from './session.js';
import { badge, busy, orgName, orgSlug, agentHandle, agentName, toast } from './ui.js';

export const agreementOrg = (a) => a.organisation ?? a.org ?? null;
export const agreementAgent = (a) => a.agent ?? null;
export const engagementOf = (a) => (a.engagement && typeof a.engagement === 'object' ? a.engagement : a.engagement ? { id: a.engagement } : null);

// A party's name, linked to its page: here, or for a party on another
// instance (remote: true) its home page, named by its handle (name@host).
export function partyLink(party, kind) {
  if (party?.remote) {
    return h('a', { class: 'party party--remote', href: party.url, rel: 'noopener', title: `On another instance: ${party.handle}` },
      h('span', { text: (kind === 'agent' ? agentName(party) : orgName(party)) || party.handle }),
      h('span', { class: 'muted small', text: ` @${party.handle}` }));
  }
  if (kind === 'agent') {
    return agentHandle(party) ? h('a', { href: `/agents/${encodeURIComponent(agentHandle(party))}`, text: agentName(party) })
      : h('span', { text: agentName(party) || 'Agent' });
  }
  return orgSlug(party) ? h('a', { href: `/organisations/${encodeURIComponent(orgSlug(party))}`, text: orgName(party) })
    : h('span', { text: orgName(party) || 'Organisation' });
}

// Where an agreement's engagement is read: its page here, or at home for an
// engagement of an organisation on another instance.
export const engagementHref = (eng) => (eng?.remote ? eng.url : `/engagements/${encodeURIComponent(eng.id)}`);

// Which side the signed-in person is on for this agreement.
export function sideOf(a, preferred) {
  if (a.my_side) return a.my_side;
  if (preferred) return preferred;
  const me = myAgent();
  if (me && agentHandle(agreementAgent(a)) === me.handle) return 'agent';
  if (isMember(orgSlug(agreementOrg(a)))) return 'organisation';
  return null;
}

export function closureOf(a, side) {
  const c = a.closures ?? a.closure ?? null;
  if (!c) return undefined;
  if (Array.isArray(c)) return c.find((x) => x.side === side) ?? null;
  return c[side] ?? null;
}

// The terms: the detail carries them as an object in `terms`; list items
// (summaries) carry role, hours... flat.
export const termsOf = (a) => (a.terms && typeof a.terms === 'object' ? a.terms : a);

// Where the relationship stands, pending changes aside: an active agreement
// with an amendment awaiting consent is still active.
export const standingOf = (a) => a.standing ?? a.status;
// A change to terms in force is pending (an amendment, not a first proposal).
export const amendmentPending = (a) => standingOf(a) === 'active' && a.status === 'proposed';

const LABELS = { accept: ['Accept', 'primary'], decline: ['Decline', 'danger'], withdraw: ['Withdraw proposal', 'danger'],
  conclude: ['Conclude', 'secondary'], amend: ['Propose a change', 'secondary'] };
const AMENDMENT_LABELS = { accept: 'Accept the change', decline: 'Decline the change', withdraw: 'Withdraw your change' };

// [{action, label, kind}] the viewer may take now: exactly the API's
// allowed_actions (none where the answer does not say).
export function allowedActions(a) {
  const names = Array.isArray(a.allowed_actions) ? a.allowed_actions : [];
  const amending = amendmentPending(a);
  return names.filter((n) => LABELS[n]).map((action) => ({
    action,
    label: action === 'conclude' && a.status === 'concluded' ? 'Record your closure'
      : action === 'amend' && a.status === 'proposed' ? (a.awaiting === a.my_side ? 'Propose other terms' : 'Change your proposal')
      : (amending && AMENDMENT_LABELS[action]) || LABELS[action][0],
    kind: LABELS[action][1],
  }));
}

// One sentence from the viewer's side: who must answer what.
export function waitingText(a, side = a.my_side) {
  if (a.status !== 'proposed' || !side || !a.awaiting) return null;
  const mine = a.awaiting === side;
  if (amendmentPending(a)) return mine ? 'A change to the terms waits for your consent.' : 'Your change to the terms waits for the other side’s consent.';
  return mine ? 'This proposal waits for your answer.' : 'Your proposal waits for the other side’s answer.';
}

// The line a closed agreement needs from this side, if any.
export function closureDue(a) {
  return a.status === 'concluded' && (a.allowed_actions ?? []).includes('conclude');
}

export function agreementCard(a, { side: preferred } = {}) {
  const side = sideOf(a, preferred);
  const mine = a.awaiting && a.awaiting === side;
  const org = agreementOrg(a);
  const agent = agreementAgent(a);
  const eng = engagementOf(a);
  const t = termsOf(a);
  const title = t.role || eng?.title || 'Agreement';
  const waiting = waitingText(a, side);
  return h('article', { class: 'card card--link' },
    h('p', { class: 'card__eyebrow' }, badge(standingOf(a)),
      amendmentPending(a) ? h('span', { class: 'badge badge--proposed', text: 'Change proposed' }) : null,
      // the version in force; a declined or withdrawn later version never was
      a.active_version > 1 ? h('span', { text: `Terms version ${a.active_version}` }) : null,
      waiting ? h(mine ? 'strong' : 'span', { text: waiting }) : null,
      closureDue(a) ? h('strong', { text: 'Record your closure.' }) : null),
    h('h3', { class: 'card__title' }, h('a', { href: `/agreements/${encodeURIComponent(a.id)}`, text: title })),
    h('p', { class: 'agreement__parties' },
      h('span', { text: agentName(agent) || 'Agent' }), h('span', { class: 'sep', text: 'with' }), h('span', { text: orgName(org) || 'Organisation' }),
      agent?.remote || org?.remote ? h('span', { class: 'muted small', text: `(@${(agent?.remote ? agent : org).handle})` }) : null),
    h('ul', { class: 'card__meta', 'aria-label': amendmentPending(a) ? `The proposed change (version ${a.terms_version})` : null },
      // the summary's terms are the pending ones while a change awaits consent
      amendmentPending(a) ? h('li', { class: 'card__meta-lead', text: `If the change is accepted (version ${a.terms_version}):` }) : null,
      t.hours_per_week ? h('li', { text: `${plural(t.hours_per_week, 'hour')} a week` }) : null,
      t.packaging ? h('li', { text: word(t.packaging) }) : null,
      t.starts_on ? h('li', { text: `From ${day(t.starts_on)}` }) : null,
      t.review_on ? h('li', { text: `Review ${day(t.review_on)}` }) : null));
}

// Buttons for the allowed actions. onDone(updated) after a transition;
// onAmend() / onConclude() open the forms (pages decide where they live).
export function actionButtons(a, side, { onDone, onAmend, onConclude }) {
  const actions = allowedActions(a);
  if (!actions.length) return null;
  return h('div', { class: 'actions' }, actions.map(({ action, label, kind }) => {
    const b = h('button', { type: 'button', class: `btn${kind === 'primary' ? '' : kind === 'danger' ? ' btn--danger' : ' btn--secondary'}`, text: label });
    b.addEventListener('click', async () => {
      if (action === 'amend') { onAmend?.(); return; }
      if (action === 'conclude') { onConclude?.(); return; }
      const amending = amendmentPending(a);
      if ((action === 'decline' || action === 'withdraw') && !confirm(action === 'decline'
        ? (amending ? 'Decline this change? The terms in force stay as they are.' : 'Decline this proposal?')
        : (amending ? 'Withdraw your change? The terms in force stay as they are.' : 'Withdraw your proposal?'))) return;
      if (action === 'accept' && a.warnings?.length && !confirm(`${a.warnings.map(warningText).join(' ')} Accept anyway?`)) return;
      busy(b, true);
      try {
        const res = await api('POST', `/api/v1/agreements/${encodeURIComponent(a.id)}/${action}`, { body: {} });
        toast(amending
          ? { accept: 'You accepted the change. The new terms are in force.', decline: 'You declined the change. The terms in force stay as they were.', withdraw: 'You withdrew your change. The terms in force stay as they were.' }[action]
          : { accept: 'Accepted. The agreement is active.', decline: 'Declined.', withdraw: 'Withdrawn.' }[action]);
        if (res.data?.warnings?.length) toast(res.data.warnings.map(warningText).join(' '), 'error');
        onDone?.(res.data);
      } catch (err) {
        busy(b, false);
        toast(err instanceof ApiError && err.status === 409 ? `That is no longer possible: ${err.message}` : err.message, 'error');
      }
    });
    return b;
  }));
}

export const warningText = (w) => (typeof w === 'string' ? w : w?.message ?? w?.detail ?? JSON.stringify(w));

// The conclude form: were commitments kept, and a note.
export function concludeForm(a, { onDone, onCancel }) {
  const form = h('form', { class: 'form card card--tint', 'aria-labelledby': 'conclude-title' },
    h('h3', { id: 'conclude-title', text: 'Conclude this agreement' }),
    h('p', { class: 'muted', text: 'Each side records its own closure once. Kept commitments become part of the agent’s track record.' }),
    h('fieldset', { class: 'field', dataset: { field: 'commitments_kept' } },
      h('legend', { text: 'Were the commitments kept?' }),
      h('label', { class: 'check' }, h('input', { type: 'radio', name: 'commitments_kept', value: 'true' }), h('span', { text: 'Yes, commitments were kept' })),
      h('label', { class: 'check' }, h('input', { type: 'radio', name: 'commitments_kept', value: 'false' }), h('span', { text: 'No, not as agreed' }))),
    field({ label: 'Closing note', name: 'note', type: 'textarea', rows: 3, maxlength: 2000, optional: true, hint: 'What went well, what you learned.' }),
    checkbox({ label: 'Publish my note on the public track records', name: 'publish_note', checked: false,
      hint: 'both notes are shown only if the other side agrees to publish theirs too; otherwise they stay between you' }),
    h('div', { class: 'actions' },
      h('button', { class: 'btn', type: 'submit', text: 'Record closure' }),
      onCancel ? h('button', { class: 'btn btn--quiet', type: 'button', text: 'Cancel', onclick: onCancel }) : null));
  onSubmit(form, async () => {
    const kept = form.querySelector('input[name="commitments_kept"]:checked')?.value;
    if (!kept) { showErrors(form, [{ field: 'commitments_kept', message: 'choose yes or no' }]); return; }
    const res = await api('POST', `/api/v1/agreements/${encodeURIComponent(a.id)}/conclude`,
      { body: { commitments_kept: kept === 'true', note: value(form, 'note'), publish_note: form.elements.publish_note.checked } });
    toast('Your closure is recorded.');
    onDone?.(res.data);
  });
  return form;
}

// Fields of an agreement; `prefill` is the terms of an agreement or a draft
// taken from an engagement. Agreement pay is one amount (not a range).
export function agreementFields(prefill = {}, { packagings = PACKAGINGS, amending = false } = {}) {
  const picker = purposePicker({ legend: 'Purposes this serves', selected: prefill.purposes ?? [], allowAdd: false });
  const rewards = prefill.rewards ?? {};
  const nonCash = Array.isArray(rewards.non_cash) ? rewards.non_cash : [];
  const cash = rewards.cash ?? null;
  const el = h('div', { class: 'stack' },
    field({ label: 'Role', name: 'role', value: prefill.role ?? '', maxlength: 200, hint: 'What the agent does, in a few words.' }),
    picker.el,
    h('div', { class: 'fields-row' },
      field({ label: 'Packaging', name: 'packaging', type: 'select', value: prefill.packaging ?? packagings[0] ?? '',
        options: packagings.map((p) => [p, word(p)]) }),
      field({ label: 'Hours per week', name: 'hours_per_week', type: 'number', min: 1, max: 80, inputmode: 'numeric', value: prefill.hours_per_week ?? '' })),
    field({ label: 'Terms', name: 'terms', type: 'textarea', rows: 6, maxlength: 20000, value: typeof prefill.terms === 'string' ? prefill.terms : '',
      hint: 'What each side commits to: outcomes, availability, communication, how either side can end it.' }),
    h('fieldset', { class: 'group field', dataset: { field: 'rewards' } },
      h('legend', { text: 'Rewards' }),
      h('div', { class: 'stack' },
        field({ label: 'Non-cash rewards', name: 'non_cash', value: nonCash.join(', '), fields: 'rewards.non_cash', optional: true,
          hint: 'Separate with commas, e.g. Learning, Network, Credit' }),
        h('div', { class: 'fields-row' },
          field({ label: 'Pay', name: 'cash_amount', type: 'number', min: 0, step: 'any', optional: true, value: cash?.amount ?? cash?.min ?? '', fields: 'rewards.cash.amount rewards.cash' }),
          field({ label: 'Currency', name: 'cash_currency', maxlength: 3, value: cash?.currency ?? 'EUR', fields: 'rewards.cash.currency' }),
          field({ label: 'Period', name: 'cash_period', type: 'select', value: cash?.period ?? 'month', fields: 'rewards.cash.period',
            options: PERIODS.map((p) => [p, periodLabel(p)]) })))),
    h('div', { class: 'fields-row' },
      field({ label: 'Starts on', name: 'starts_on', type: 'date', value: prefill.starts_on ?? new Date().toISOString().slice(0, 10) }),
      field({ label: 'Review on', name: 'review_on', type: 'date', optional: true, value: prefill.review_on ?? '' })),
    amending ? field({ label: 'What changes and why', name: 'change_note', type: 'textarea', rows: 2, maxlength: 1000, optional: true,
      hint: 'Shown to the other side with the amendment.' }) : null);
  return { el, picker };
}

export function agreementBody(form, picker) {
  const body = {
    role: value(form, 'role'),
    purposes: picker.values(),
    packaging: value(form, 'packaging'),
    hours_per_week: value(form, 'hours_per_week') === '' ? null : Number(value(form, 'hours_per_week')),
    terms: value(form, 'terms'),
    rewards: { non_cash: splitList(value(form, 'non_cash')) },
    starts_on: value(form, 'starts_on'),
  };
  const amount = value(form, 'cash_amount');
  if (amount !== '') body.rewards.cash = { amount: Number(amount), currency: value(form, 'cash_currency').toUpperCase(), period: value(form, 'cash_period') };
  const review = value(form, 'review_on');
  if (review) body.review_on = review;
  const note = form.elements.change_note ? value(form, 'change_note') : '';
  if (note) body.change_note = note;
  return body;
}

export function agreementProblems(body) {
  const p = [];
  if (!body.role) p.push({ field: 'role', message: 'name the role' });
  if (!body.purposes.length) p.push({ field: 'purposes', message: 'choose at least one purpose' });
  if (body.hours_per_week === null || Number.isNaN(body.hours_per_week)) p.push({ field: 'hours_per_week', message: 'enter hours per week (1 to 80)' });
  if (!body.terms) p.push({ field: 'terms', message: 'write down the terms both sides agree to' });
  if (!body.starts_on) p.push({ field: 'starts_on', message: 'choose a start date' });
  else if (body.review_on && body.review_on < body.starts_on) p.push({ field: 'review_on', message: 'must not be before “Starts on”' });
  return p;
}
