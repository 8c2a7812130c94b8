// agreement-threads: the conversation between the two sides of an agreement
// and the hours given under it, as sections of the agreement page. Both are
// written from the viewer's side ("you", "the organisation", "the agent");
// what may be done comes from the API (409 and 422 answers are shown where
// they happen).
import { api, get, itemsOf, newKey } from './api.js';
import { h, day, dateTime, num, plural } from './dom.js';
import { field, onSubmit, showErrors, value } from './forms.js';
import { errorNotice, notice, skeletons, toast } from './ui.js';
import { hiddenNoticeBox, reportMessageButton } from './report.js';

// A message's words; one a moderator hid reads "Hidden by a moderator"
// (docs/moderation.md): without its words for the other side, with them and
// the notice saying why (and its one appeal) for its author.
function messageBody(m) {
  const words = h('p', { class: 'thread__body prose', text: m.body ?? '' });
  if (!m.hidden) return words;
  if (m.body == null) return h('p', { class: 'thread__body thread__body--hidden muted', text: 'Hidden by a moderator' });
  const kind = m.agreement_id != null ? 'agreement_message' : 'engagement_message';
  return h('div', { class: 'stack' },
    hiddenNoticeBox((subject) => subject.kind === kind && subject.id === m.id), words);
}

const other = (side) => (side === 'agent' ? 'the organisation' : 'the agent');
const byWhom = (s, side) => (s === side ? 'You' : s === 'agent' ? 'The agent' : 'The organisation');
const hoursText = (n) => `${num(Number(n), { maximumFractionDigits: 2 })} ${Number(n) === 1 ? 'hour' : 'hours'}`;

// ---------- the conversation ----------

export function conversationSection(a, side) {
  const thread = h('ol', { class: 'thread', 'aria-live': 'polite', 'aria-label': 'Messages' });
  const status = h('p', { class: 'muted small' });
  const base = `/api/v1/agreements/${encodeURIComponent(a.id)}/messages`;
  const box = h('div', { class: 'stack' }, skeletons(1));

  const messageEl = (m, lastRead) => h('li', {
    class: `thread__message${m.side === side ? ' thread__message--mine' : ''}${m.side !== side && m.id > lastRead ? ' thread__message--new' : ''}`,
    dataset: { side: m.side },
  },
  h('p', { class: 'thread__meta small' },
    h('strong', { text: m.side === side ? `You${m.author?.display_name ? ` (${m.author.display_name})` : ''}` : (m.author?.display_name ?? byWhom(m.side, side)) }),
    h('span', { class: 'muted', text: ` · ${m.side === side ? 'your side' : m.side === 'agent' ? 'the agent' : 'the organisation'} · ${dateTime(m.created_at)}` }),
    m.side === side ? null : reportMessageButton(m)),
  messageBody(m));

  const load = async () => {
    const data = await get(`${base}?limit=100`);
    const items = [...itemsOf(data)].reverse();
    const lastRead = data.last_read_id ?? 0;
    thread.replaceChildren(...items.map((m) => messageEl(m, lastRead)));
    status.textContent = items.length
      ? (data.unread ? `${plural(data.unread, 'new message')} from ${other(side)}.` : '')
      : `No messages yet. Ask ${other(side)} anything about this agreement here; they are told at once.`;
    if (data.unread) await api('POST', `${base}/read`, { body: {} }).catch(() => {});
  };

  const form = h('form', { class: 'form thread__form', 'aria-label': 'New message' },
    field({ label: `Write to ${other(side)}`, name: 'body', type: 'textarea', rows: 3, maxlength: 5000 }),
    h('div', { class: 'actions' }, h('button', { class: 'btn', type: 'submit', text: 'Send' })));
  let key = newKey();
  onSubmit(form, async () => {
    const text = value(form, 'body');
    if (!text) { showErrors(form, [{ field: 'body', message: 'Write something first.' }]); return; }
    await api('POST', base, { body: { body: text }, idempotencyKey: key });
    key = newKey();
    form.reset();
    toast(`Sent. ${other(side).replace(/^./, (c) => c.toUpperCase())} is told.`);
    await load();
  });

  load().then(() => box.replaceChildren(status, thread, side ? form : null))
    .catch((err) => box.replaceChildren(errorNotice(err, { what: 'The conversation' })));
  return h('section', { class: 'stack', 'aria-labelledby': 'conversation-title', id: 'conversation' },
    h('h2', { id: 'conversation-title', text: 'Conversation' }),
    h('p', { class: 'muted', text: 'Between you and ' + other(side) + ' only, and kept with the agreement.' }),
    box);
}

// ---------- hours ----------

const STATUS_TEXT = { awaiting: 'Awaiting an answer', confirmed: 'Confirmed', disputed: 'Disputed' };
const STATUS_BADGE = { awaiting: 'proposed', confirmed: 'active', disputed: 'declined' };

export function hoursSection(a, side, { onChange } = {}) {
  const base = `/api/v1/agreements/${encodeURIComponent(a.id)}/hours`;
  const inForce = (a.standing ?? a.status) === 'active';
  const totals = h('ul', { class: 'key-facts', 'aria-label': 'Hours in total' });
  const list = h('div', {}, skeletons(1));

  const answerForm = (e, outcome) => {
    const f = h('form', { class: 'form', 'aria-label': outcome === 'dispute' ? 'Dispute these hours' : 'Confirm these hours' },
      field({ label: outcome === 'dispute' ? 'What is wrong with these hours?' : 'A note (optional)', name: 'note', maxlength: 1000 }),
      h('div', { class: 'actions' },
        h('button', { class: `btn${outcome === 'dispute' ? ' btn--danger' : ''}`, type: 'submit', text: outcome === 'dispute' ? 'Dispute' : 'Confirm' }),
        h('button', { class: 'btn btn--quiet', type: 'button', text: 'Cancel', onclick: () => load() })));
    onSubmit(f, async () => {
      const note = value(f, 'note');
      if (outcome === 'dispute' && !note) { showErrors(f, [{ field: 'note', message: 'Say what is wrong, so the other side can correct it.' }]); return; }
      await api('POST', `${base}/${e.id}/${outcome}`, { body: note ? { note } : {} });
      toast(outcome === 'dispute' ? 'Disputed. The other side is told.' : 'Confirmed. The other side is told.');
      await load();
      onChange?.();
    });
    return f;
  };

  const entryEl = (e) => {
    const li = h('li', { class: 'card card--flat hours__entry', dataset: { status: e.status } },
      h('div', { class: 'actions' },
        h('strong', { text: `${day(e.worked_on)}: ${hoursText(e.hours)}` }),
        h('span', { class: `badge badge--${STATUS_BADGE[e.status] ?? 'neutral'}`, text: STATUS_TEXT[e.status] ?? e.status })),
      e.note ? h('p', { class: 'prose', text: e.note }) : null,
      h('p', { class: 'muted small', text: `Logged by ${e.side === side ? 'you' : other(side)}${e.logged_by?.display_name ? ` (${e.logged_by.display_name})` : ''}` +
        (e.decision ? ` · ${e.decision.outcome} by ${e.decision.side === side ? 'you' : other(side)}${e.decision.note ? `: “${e.decision.note}”` : ''}` : '') }));
    if (e.status === 'awaiting' && side && e.side !== side) {
      const row = h('div', { class: 'actions' },
        h('button', { class: 'btn btn--small', type: 'button', text: 'Confirm', onclick: () => row.replaceWith(answerForm(e, 'confirm')) }),
        h('button', { class: 'btn btn--small btn--quiet', type: 'button', text: 'Dispute', onclick: () => row.replaceWith(answerForm(e, 'dispute')) }));
      li.append(row);
    } else if (e.status === 'awaiting') {
      li.append(h('p', { class: 'muted small', text: `Waiting for ${other(side)} to confirm.` }));
    }
    return li;
  };

  const load = async () => {
    const data = await get(`${base}?limit=100`);
    const t = data.totals ?? {};
    totals.replaceChildren(
      fact('Confirmed', hoursText(t.confirmed ?? 0)),
      fact('Awaiting an answer', hoursText(t.awaiting ?? 0)),
      fact('Disputed', hoursText(t.disputed ?? 0)));
    const items = itemsOf(data);
    list.replaceChildren(items.length ? h('ul', { class: 'stack hours__list' }, items.map(entryEl))
      : h('p', { class: 'muted', text: inForce ? 'No hours logged yet.' : 'No hours were logged.' }));
  };

  const form = h('form', { class: 'form', 'aria-label': 'Hours to log' },
    h('div', { class: 'fields-row' },
      field({ label: 'Day', name: 'worked_on', type: 'date', value: new Date().toISOString().slice(0, 10), max: new Date().toISOString().slice(0, 10) }),
      field({ label: 'Hours', name: 'hours', type: 'number', min: '0.25', max: '24', step: '0.25', hint: 'In quarter hours' })),
    field({ label: 'What was done', name: 'note', optional: true, maxlength: 1000 }),
    h('div', { class: 'actions' }, h('button', { class: 'btn', type: 'submit', text: 'Log hours' })));
  let key = newKey();
  onSubmit(form, async () => {
    const hours = Number(value(form, 'hours'));
    const body = { worked_on: value(form, 'worked_on'), hours };
    const note = value(form, 'note');
    if (note) body.note = note;
    const problems = [];
    if (!body.worked_on) problems.push({ field: 'worked_on', message: 'Pick the day the hours were given.' });
    if (!(hours >= 0.25 && hours <= 24)) problems.push({ field: 'hours', message: 'Give between a quarter of an hour and 24 hours.' });
    if (problems.length) { showErrors(form, problems); return; }
    await api('POST', base, { body, idempotencyKey: key });
    key = newKey();
    form.reset();
    toast(`Logged. ${other(side).replace(/^./, (c) => c.toUpperCase())} is asked to confirm.`);
    await load();
    onChange?.();
  });

  load().catch((err) => list.replaceChildren(errorNotice(err, { what: 'Hours' })));
  return h('section', { class: 'stack', 'aria-labelledby': 'hours-title', id: 'hours' },
    h('h2', { id: 'hours-title', text: 'Hours given' }),
    h('p', { class: 'muted', text: 'Either side logs the hours given; the other side confirms or disputes them.' }),
    totals,
    side && inForce ? h('details', { class: 'card card--flat' }, h('summary', { text: 'Log hours' }), form)
      : !inForce ? notice('info', null, 'Hours are logged while the agreement is in force.') : null,
    list,
    h('p', {}, h('a', { href: `${base}.csv`, download: `agreement-${a.id}-hours.csv`, text: 'Download the hours as CSV' })));
}

const fact = (label, text) => h('li', { class: 'key-fact' }, h('span', { class: 'key-fact__label', text: label }), h('span', { class: 'key-fact__value', text }));

// ---------- renewal ----------

// Days until the review date of the terms in force (negative: past); null without one.
export function daysToReview(t) {
  if (!t?.review_on) return null;
  return Math.round((Date.parse(`${t.review_on}T00:00:00Z`) - Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`)) / 86400000);
}

// The form proposing to renew: a later review date, and the hours if they change.
export function renewForm(a, t, etag, { onDone, onCancel }) {
  const next = new Date(Date.parse(`${t.review_on ?? new Date().toISOString().slice(0, 10)}T00:00:00Z`) + 182 * 86400000).toISOString().slice(0, 10);
  const form = h('form', { class: 'form', 'aria-labelledby': 'renew-title' },
    h('h3', { id: 'renew-title', text: 'Propose a renewal' }),
    h('p', { class: 'muted small', text: 'The terms go on past the review date once the other side consents; until then the terms in force stay as they are.' }),
    field({ label: 'Next review date', name: 'review_on', type: 'date', value: next, min: t.review_on ?? undefined }),
    field({ label: 'Hours per week', name: 'hours_per_week', type: 'number', min: '1', max: '80', value: String(t.hours_per_week ?? ''), hint: 'Change it only if the renewal changes it' }),
    field({ label: 'A note for the other side', name: 'change_note', optional: true, maxlength: 1000 }),
    h('div', { class: 'actions' },
      h('button', { class: 'btn', type: 'submit', text: 'Propose renewal' }),
      h('button', { class: 'btn btn--quiet', type: 'button', text: 'Cancel', onclick: onCancel })));
  onSubmit(form, async () => {
    const body = { review_on: value(form, 'review_on') };
    const hours = Number(value(form, 'hours_per_week'));
    if (hours && hours !== t.hours_per_week) body.hours_per_week = hours;
    const note = value(form, 'change_note');
    if (note) body.change_note = note;
    if (!body.review_on) { showErrors(form, [{ field: 'review_on', message: 'Pick the date the renewed terms run to.' }]); return; }
    if (t.review_on && body.review_on <= t.review_on) {
      showErrors(form, [{ field: 'review_on', message: `Pick a date after the current review date, ${day(t.review_on)}.` }]);
      return;
    }
    await api('POST', `/api/v1/agreements/${encodeURIComponent(a.id)}/renew`, { body, ifMatch: etag });
    toast('Renewal proposed. The other side needs to accept it.');
    onDone?.();
  });
  return form;
}

// ---------- questions before a proposal (on the engagement page) ----------

// One thread about an engagement: its messages, oldest first, and a form to write.
function questionThread(path, side, otherLabel, { label, emptyText }) {
  const list = h('ol', { class: 'thread', 'aria-label': 'Messages', 'aria-live': 'polite' });
  const status = h('p', { class: 'muted small' });
  const load = async () => {
    const data = await get(`${path}?limit=100`);
    const items = [...itemsOf(data)].reverse();
    list.replaceChildren(...items.map((m) => h('li', { class: `thread__message${m.side === side ? ' thread__message--mine' : ''}` },
      h('p', { class: 'thread__meta small' },
        h('strong', { text: m.side === side ? `You${m.author?.display_name ? ` (${m.author.display_name})` : ''}` : (m.author?.display_name ?? otherLabel) }),
        h('span', { class: 'muted', text: ` · ${dateTime(m.created_at)}` }),
        m.side === side ? null : reportMessageButton(m)),
      messageBody(m))));
    status.textContent = items.length ? '' : emptyText;
  };
  const form = h('form', { class: 'form thread__form', 'aria-label': 'New message' },
    field({ label, name: 'body', type: 'textarea', rows: 3, maxlength: 5000 }),
    h('div', { class: 'actions' }, h('button', { class: 'btn', type: 'submit', text: 'Send' })));
  let key = newKey();
  onSubmit(form, async () => {
    const text = value(form, 'body');
    if (!text) { showErrors(form, [{ field: 'body', message: 'Write something first.' }]); return; }
    await api('POST', path, { body: { body: text }, idempotencyKey: key });
    key = newKey();
    form.reset();
    toast(`Sent. ${otherLabel} is told.`);
    await load();
  });
  const box = h('div', { class: 'stack' }, skeletons(1));
  load().then(() => box.replaceChildren(status, list, form)).catch((err) => box.replaceChildren(errorNotice(err, { what: 'Questions' })));
  return box;
}

// For an agent: its own thread with the organisation. For members: every agent's thread.
export function questionsSection(e, orgLabel, { member, handle }) {
  const base = `/api/v1/engagements/${encodeURIComponent(e.id)}/questions`;
  if (member) {
    const box = h('div', { class: 'stack' }, skeletons(1));
    get(base).then((data) => {
      const items = itemsOf(data);
      box.replaceChildren(items.length ? h('ul', { class: 'stack hours__list' }, items.map((t) => h('li', { class: 'card card--flat' },
        h('details', { open: t.awaiting_answer || undefined },
          h('summary', {}, h('strong', { text: t.agent.display_name }), h('span', { class: 'muted', text: ` · ${plural(t.messages, 'message')}${t.awaiting_answer ? ' · awaits an answer' : ''}` })),
          questionThread(`${base}/${encodeURIComponent(t.agent.handle)}`, 'organisation', t.agent.display_name,
            { label: `Answer ${t.agent.display_name}`, emptyText: '' })))))
        : h('p', { class: 'muted', text: 'No questions yet. Agents can ask about this engagement here before they propose.' }));
    }).catch((err) => box.replaceChildren(errorNotice(err, { what: 'Questions' })));
    return h('section', { class: 'stack', id: 'questions', 'aria-labelledby': 'questions-title' },
      h('h2', { id: 'questions-title', text: 'Questions from agents' }), box);
  }
  if (!handle) return null;
  return h('section', { class: 'stack', id: 'questions', 'aria-labelledby': 'questions-title' },
    h('h2', { id: 'questions-title', text: `Ask ${orgLabel}` }),
    h('p', { class: 'muted', text: 'Between you and its members only. Ask before you propose; they are told at once.' }),
    questionThread(`${base}/${encodeURIComponent(handle)}`, 'agent', orgLabel,
      { label: `Your question to ${orgLabel}`, emptyText: e.status === 'open' ? 'Nothing asked yet.' : '' }));
}
