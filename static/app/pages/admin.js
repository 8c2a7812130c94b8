// admin: running the instance, for its moderators and administrators
// (docs/moderation.md) — the instance in figures, the reports queue with
// each case's snapshots and the actions on it, the moderation log, open
// appeals, accounts (search, suspend, restore, roles), who joins (the
// approval queue and invitation links), the catalogue (merge, rename,
// retire), organisations verified by hand, the remote instances blocked
// (federation) and the instance's own settings. The daemon decides who may do what; these pages only offer
// what the caller's instance role (GET /me) allows.
import { api, ApiError, get, query } from '../api.js';
import { h, replace, dateTime, num, plural, timeEl, uid, word } from '../dom.js';
import { field, onSubmit, showErrors, value } from '../forms.js';
import { reasonWord } from '../report.js';
import { requireSignIn } from '../router.js';
import { session } from '../session.js';
import { badge, empty, notice, pagedList, toast } from '../ui.js';

// The sections, in the navigation's order. A new one is one line here, one
// function below and its name in server/pages.c's pages_admin.
const SECTIONS = [
  ['', 'Overview', overview],
  ['reports', 'Reports', reports],
  ['log', 'Moderation log', log],
  ['appeals', 'Appeals', appeals],
  ['accounts', 'Accounts', accounts],
  ['registrations', 'Joining', registrations],
  ['catalogue', 'Catalogue', catalogue],
  ['verification', 'Verification', verification],
  ['instances', 'Blocked instances', instances],
  ['instance', 'Instance settings', instance],
];

const role = () => session.me?.instance_role ?? null;
const administrator = () => role() === 'administrator';

export default async function render(ctx) {
  const section = ctx.params.id ? 'reports' : (ctx.params.section ?? '');
  const entry = SECTIONS.find(([s]) => s === section);
  if (!entry) {
    const { default: notFound } = await import('./not-found.js');
    return notFound(ctx);
  }
  ctx.setTitle(entry[1]);
  if (!requireSignIn(ctx, 'run this instance')) return;
  if (!role()) {
    ctx.setTitle('For moderators');
    replace(ctx.root, h('h1', { text: 'For the moderators of this instance' }),
      notice('info', null, 'These pages are for the moderators and administrators of this Purposed instance. If you should be one, ask an administrator.',
        h('a', { class: 'btn btn--secondary', href: '/', text: 'Back to Purposed' })));
    return;
  }
  const content = h('div', { class: 'stack-lg' });
  replace(ctx.root, h('div', { class: 'layout-side' },
    h('nav', { class: 'side-nav', 'aria-label': 'Administration' }, h('ul', {},
      SECTIONS.map(([s, label]) => h('li', {}, h('a', { href: s ? `/admin/${s}` : '/admin', 'aria-current': s === section ? 'page' : null, text: label }))))),
    content));
  if (ctx.params.id) return caseDetail(ctx, content, ctx.params.id);
  await entry[2](ctx, content);
}

const head = (title, lead) => h('header', { class: 'page-head' }, h('h1', { text: title }), lead ? h('p', { class: 'lead', text: lead }) : null);

// What an action or a case is about, as a link where it has a page.
const KIND_WORDS = { organisation: 'Organisation', engagement: 'Engagement', agent_profile: 'Agent profile',
  purpose: 'Purpose', charter_version: 'Charter version', account: 'Account',
  agreement_message: 'Message of an agreement', engagement_message: 'Question about an engagement',
  instance: 'Instance' };
const MESSAGE_KINDS = ['agreement_message', 'engagement_message'];
function subjectLink(s) {
  const label = s.kind === 'charter_version' ? `${s.label} (version ${s.version})`
    : MESSAGE_KINDS.includes(s.kind) && s.label ? `“${s.label}”` : (s.label ?? `#${s.id}`);
  const href = { organisation: `/organisations/${encodeURIComponent(s.label)}`, engagement: `/engagements/${s.id}`,
    agent_profile: `/agents/${encodeURIComponent(s.label)}`, purpose: `/purposes/${encodeURIComponent(s.label)}`,
    charter_version: `/organisations/${encodeURIComponent(s.label)}` }[s.kind];
  return h('span', {}, h('span', { class: 'muted', text: `${KIND_WORDS[s.kind] ?? s.kind}: ` }),
    href && s.label ? h('a', { href, text: label }) : h('strong', { text: label }));
}
// The thing as POST /moderation/actions names it.
const targetOf = (s) => (['engagement', 'account', ...MESSAGE_KINDS].includes(s.kind) ? String(s.id) : s.label);
const ACTION_WORDS = { dismiss: 'Dismissed', hide: 'Hidden', suspend: 'Suspended', restore: 'Restored',
  grant_role: 'Role granted', revoke_role: 'Role revoked', block_instance: 'Instance blocked',
  unblock_instance: 'Instance block lifted' };

// A dialog asking the reason for an action (always required: it is logged
// and told to the people concerned), then run(reason).
function reasonDialog({ title, explain, confirm, danger = false, run }) {
  const titleId = uid('act-title');
  const form = h('form', { class: 'stack' },
    explain ? h('p', { text: explain }) : null,
    field({ label: 'Reason', name: 'reason', type: 'textarea', rows: 3, required: true, maxlength: 2000,
      hint: 'Recorded in the moderation log and told to the people it concerns.' }),
    h('div', { class: 'actions' },
      h('button', { class: danger ? 'btn btn--danger' : 'btn', type: 'submit', text: confirm }),
      h('button', { class: 'btn btn--secondary', type: 'button', text: 'Cancel', onclick: () => dialog.close() })));
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId }, h('h2', { id: titleId, text: title }), form);
  const opener = document.activeElement;
  onSubmit(form, async () => {
    const reason = value(form, 'reason');
    if (!reason) { showErrors(form, [{ field: 'reason', message: 'say why: it is logged and told to those concerned' }]); return; }
    await run(reason);
    dialog.close();
  });
  dialog.addEventListener('close', () => { dialog.remove(); if (opener?.isConnected) opener.focus(); });
  document.body.append(dialog);
  dialog.showModal();
}

async function act(body, done) {
  const { data } = await api('POST', '/api/v1/moderation/actions', { body });
  toast(`${ACTION_WORDS[data.action] ?? word(data.action)}: ${data.subject.label ?? ''}. It is in the log.`);
  done?.(data);
}

// ---------- overview: the instance in figures ----------

async function overview(ctx, content) {
  content.append(head('Running this instance', 'What is here, and what is waiting for the moderators.'));
  const s = await get('/api/v1/moderation/stats', { signal: ctx.signal });
  const stat = (label, n, extra) => h('li', { class: 'stat' },
    h('span', { class: 'stat__label', text: label }), h('span', { class: 'stat__value', text: num(n) }),
    extra ? h('span', { class: 'stat__label', text: extra }) : null);
  content.append(
    h('section', { class: 'stack', 'aria-labelledby': 'waiting-title' },
      h('h2', { id: 'waiting-title', text: 'Waiting for moderators' }),
      h('ul', { class: 'stat-grid' },
        stat('Open cases', s.moderation.open_cases, plural(s.moderation.open_reports, 'report')),
        stat('Open appeals', s.moderation.open_appeals)),
      h('p', { class: 'actions' },
        h('a', { class: 'btn', href: '/admin/reports', text: 'Work the queue' }),
        h('a', { class: 'btn btn--secondary', href: '/admin/appeals', text: 'Read the appeals' }))),
    h('section', { 'aria-labelledby': 'figures-title' },
      h('h2', { id: 'figures-title', text: 'The instance in figures' }),
      h('ul', { class: 'stat-grid' },
        stat('Accounts', s.accounts.total, `${num(s.accounts.new_last_7_days)} new this week · ${num(s.accounts.suspended)} suspended`),
        stat('Organisations', s.organisations.total, `${num(s.organisations.hidden)} hidden`),
        stat('Engagements', s.engagements.total, `${num(s.engagements.open)} open · ${num(s.engagements.hidden)} hidden`),
        stat('Agreements', s.agreements.total, `${num(s.agreements.active)} active · ${num(s.agreements.concluded)} concluded`))));
}

// ---------- the reports queue ----------

async function reports(ctx, content) {
  const status = ctx.query.get('status') === 'resolved' ? 'resolved' : 'open';
  content.append(head('Reports', 'Reports of one thing are grouped in one case, oldest first. Open a case to see what was reported and act on it.'),
    h('nav', { 'aria-label': 'Cases' }, h('ul', { class: 'tabs' },
      [['open', 'Open'], ['resolved', 'Settled']].map(([s, label]) => h('li', {},
        h('a', { href: s === 'open' ? '/admin/reports' : '/admin/reports?status=resolved', 'aria-current': s === status ? 'page' : null, text: label }))))));
  const list = h('div');
  content.append(list);
  await pagedList(list, {
    label: 'Cases', what: 'The reports queue',
    fetchPage: (cursor) => get(`/api/v1/moderation/cases${query({ status, cursor })}`, { signal: ctx.signal }),
    renderItem: caseCard,
    emptyState: empty({ title: status === 'open' ? 'No open reports' : 'No settled cases yet', text: status === 'open' ? 'When someone reports something, it waits here.' : null }),
  });
}

function caseCard(c) {
  const reasons = Object.entries(c.reasons ?? {}).map(([r, n]) => `${reasonWord(r)} (${num(n)})`).join(', ');
  return h('article', { class: 'card card--link stack' },
    h('p', { class: 'card__eyebrow' }, subjectLink(c.subject), c.status === 'open' ? null : badge('closed')),
    h('h3', { class: 'card__title' }, h('a', { href: `/admin/reports/${c.id}`, text: `Case ${c.id}: ${plural(c.reports, 'report')}` })),
    h('p', { class: 'card__text', text: reasons }),
    h('ul', { class: 'card__meta' },
      h('li', {}, 'Opened ', timeEl(c.opened_at)),
      c.last_reported_at ? h('li', {}, 'Last report ', timeEl(c.last_reported_at)) : null,
      c.resolved_at ? h('li', {}, 'Settled ', timeEl(c.resolved_at)) : null));
}

// The fields of a snapshot worth reading first; the whole of it below.
function snapshotView(snap) {
  if (!snap || typeof snap !== 'object') return h('p', { class: 'muted', text: 'Nothing kept.' });
  if (snap.message) return messageSnapshotView(snap);
  const inner = snap.charter ?? snap;
  const title = inner.name ?? inner.title ?? inner.display_name ?? snap.organisation?.name ?? inner.handle ?? '';
  const text = inner.purpose_statement ?? inner.description ?? inner.headline ?? inner.personal_purpose ?? '';
  return h('div', { class: 'stack' },
    title ? h('p', {}, h('strong', { text: title })) : null,
    text ? h('p', { class: 'prose', text }) : null,
    inner.website ? h('p', { class: 'muted', text: `Website: ${inner.website}` }) : null,
    h('details', {}, h('summary', { text: 'Everything kept' }),
      h('pre', { class: 'snapshot', text: JSON.stringify(snap, null, 2) })));
}

// A message as written: who, when, in which thread, and its words.
function messageSnapshotView({ message: m, thread: t }) {
  const where = t?.kind === 'agreement'
    ? `the agreement #${t.agreement_id} between ${t.organisation?.name ?? ''} and @${t.agent ?? ''}`
    : `${t?.agent ? `@${t.agent}'s` : 'a'} questions about “${t?.title ?? ''}” (${t?.organisation?.name ?? ''})`;
  return h('div', { class: 'stack' },
    h('p', {}, h('strong', { text: m.author?.display_name ?? 'Someone' }),
      h('span', { class: 'muted', text: ` · ${dateTime(m.created_at)} · in ${where}` })),
    h('blockquote', { class: 'prose thread__body', text: m.body ?? '' }),
    h('details', {}, h('summary', { text: 'Everything kept' }),
      h('pre', { class: 'snapshot', text: JSON.stringify({ message: m, thread: t }, null, 2) })));
}

async function caseDetail(ctx, content, id) {
  let c;
  try {
    c = await get(`/api/v1/moderation/cases/${encodeURIComponent(id)}`, { signal: ctx.signal });
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && !err.missing) {
      content.append(head('No such case'), h('p', {}, h('a', { href: '/admin/reports', text: 'Back to the queue' })));
      return;
    }
    throw err;
  }
  ctx.setTitle(`Case ${c.id}`);
  const s = c.subject;
  const actions = h('div', { class: 'actions' });
  const paint = () => {
    actions.replaceChildren();
    const button = (label, action, { danger = false, explain } = {}) => {
      const b = h('button', { class: danger ? 'btn btn--danger' : 'btn btn--secondary', type: 'button', text: label });
      b.addEventListener('click', () => reasonDialog({
        title: `${label}: ${s.label ?? ''}`, explain, confirm: label, danger,
        run: (reason) => act(c.status === 'open' ? { action, reason, case: c.id } : { action, reason, kind: s.kind, target: targetOf(s), ...(s.version ? { version: s.version } : {}) },
          () => ctx.reload()),
      }));
      return b;
    };
    if (c.hidden) {
      actions.append(button(s.kind === 'account' ? 'Restore the account' : 'Restore', 'restore', { explain: 'It is shown again to everyone; open appeals are settled.' }));
    } else {
      if (s.kind === 'account') actions.append(button('Suspend the account', 'suspend', { danger: true, explain: 'Its sessions end at once, sign-in is refused with your reason and its agent profile is hidden.' }));
      else actions.append(button('Hide', 'hide', { danger: true, explain: 'It answers “not found” to everyone but its owners and the moderators; its owners are told why and may appeal once.' }));
    }
    if (c.status === 'open') actions.append(button('Dismiss', 'dismiss', { explain: 'Nothing to do: the case is settled and stays in the log.' }));
  };
  paint();
  content.append(
    h('header', { class: 'page-head' },
      h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' }, h('ol', {},
        h('li', {}, h('a', { href: '/admin/reports', text: 'Reports' })),
        h('li', {}, h('span', { 'aria-current': 'page', text: `Case ${c.id}` })))),
      h('h1', { text: `Case ${c.id}` }),
      h('p', { class: 'lead' }, subjectLink(s), ' · ', c.status === 'open' ? 'open' : 'settled', c.hidden ? ' · hidden now' : null)),
    h('section', { class: 'card stack', 'aria-labelledby': 'decide-title' },
      h('h2', { id: 'decide-title', text: 'Decide' }), actions),
    h('section', { 'aria-labelledby': 'reports-title' },
      h('h2', { id: 'reports-title', text: plural(c.reports.length, 'report') }),
      h('ul', { class: 'cards' }, c.reports.map((r) => h('li', {}, h('article', { class: 'card stack' },
        h('p', { class: 'card__eyebrow' }, h('strong', { text: reasonWord(r.reason) }),
          h('span', { text: `by ${r.reporter?.display_name ?? 'someone'}` }), timeEl(r.created_at)),
        r.note ? h('blockquote', { class: 'prose', text: r.note }) : null,
        h('h3', { class: 'h3', text: 'As it was when reported' }),
        snapshotView(r.snapshot)))))),
    h('section', { 'aria-labelledby': 'now-title' },
      h('h2', { id: 'now-title', text: 'As it is now' }),
      c.current ? snapshotView(c.current) : h('p', { class: 'muted', text: 'It no longer exists.' })),
    h('section', { 'aria-labelledby': 'taken-title' },
      h('h2', { id: 'taken-title', text: 'Actions taken on it' }),
      c.actions.length ? h('ul', { class: 'cards' }, c.actions.map((a) => h('li', {}, logEntry(a))))
        : h('p', { class: 'muted', text: 'None yet.' })));
}

// ---------- the log and the appeals ----------

function logEntry(a) {
  return h('article', { class: 'card stack log-entry', dataset: { action: a.action } },
    h('p', { class: 'card__eyebrow' },
      h('strong', { text: ACTION_WORDS[a.action] ?? word(a.action) }), subjectLink(a.subject)),
    h('p', { class: 'card__text' }, h('span', { class: 'muted', text: 'Why: ' }), a.reason),
    a.appeal ? h('p', { class: 'card__text' }, h('span', { class: 'muted', text: a.appeal.resolved_at ? 'Appealed (settled): ' : 'Appealed: ' }), a.appeal.note) : null,
    h('ul', { class: 'card__meta' },
      h('li', { text: `By ${a.moderator?.display_name ?? 'the command line'}` }),
      h('li', {}, h('time', { datetime: a.created_at, text: dateTime(a.created_at) })),
      a.case_id ? h('li', {}, h('a', { href: `/admin/reports/${a.case_id}`, text: `Case ${a.case_id}` })) : null));
}

async function log(ctx, content) {
  content.append(head('Moderation log', 'Every action, newest first: who, what, on which thing and why. Nothing here is ever changed or removed.'));
  const list = h('div');
  content.append(list);
  await pagedList(list, {
    label: 'Moderation log', what: 'The moderation log',
    fetchPage: (cursor) => get(`/api/v1/moderation/log${query({ cursor })}`, { signal: ctx.signal }),
    renderItem: logEntry,
    emptyState: empty({ title: 'Nothing in the log yet', text: 'Actions of the moderators appear here.' }),
  });
}

async function appeals(ctx, content) {
  content.append(head('Appeals', 'People a moderator acted on may appeal once. Restore, or keep the decision: either settles the appeal and is logged.'));
  const list = h('div');
  content.append(list);
  await pagedList(list, {
    label: 'Open appeals', what: 'Appeals',
    fetchPage: (cursor) => get(`/api/v1/moderation/appeals${query({ cursor })}`, { signal: ctx.signal }),
    renderItem: (a) => {
      const entry = logEntry(a);
      const restore = h('button', { class: 'btn', type: 'button', text: 'Restore' });
      const keep = h('button', { class: 'btn btn--secondary', type: 'button', text: 'Keep the decision' });
      const target = { kind: a.subject.kind, target: targetOf(a.subject), ...(a.subject.version ? { version: a.subject.version } : {}) };
      restore.addEventListener('click', () => reasonDialog({ title: `Restore ${a.subject.label ?? ''}`, confirm: 'Restore',
        run: (reason) => act({ action: 'restore', reason, ...target }, () => ctx.reload()) }));
      keep.addEventListener('click', () => reasonDialog({ title: `Keep the decision on ${a.subject.label ?? ''}`, confirm: 'Keep it',
        explain: 'It stays as it is; the appeal is settled.',
        run: (reason) => act({ action: 'dismiss', reason, ...target }, () => ctx.reload()) }));
      entry.append(h('div', { class: 'actions' }, restore, keep));
      return entry;
    },
    emptyState: empty({ title: 'No open appeals', text: 'Appeals people send wait here.' }),
  });
}

// ---------- accounts ----------

async function accounts(ctx, content) {
  const q = ctx.query.get('q') ?? '';
  const form = h('form', { class: 'search-row', role: 'search', 'aria-label': 'Accounts' },
    field({ label: 'Find an account', name: 'q', type: 'search', value: q, hint: 'A part of the email address or of the name.', maxlength: 200 }),
    h('div', { class: 'actions' }, h('button', { class: 'btn', type: 'submit', text: 'Search' })));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.navigate(`/admin/accounts${query({ q: value(form, 'q') })}`);
  });
  content.append(head('Accounts', administrator()
    ? 'Suspend and restore accounts, and grant or revoke the roles of moderators and administrators.'
    : 'Suspend and restore accounts. Administrators grant and revoke roles.'), form);
  const list = h('div');
  content.append(list);
  await pagedList(list, {
    label: 'Accounts', what: 'Accounts',
    fetchPage: (cursor) => get(`/api/v1/moderation/accounts${query({ q, cursor })}`, { signal: ctx.signal }),
    renderItem: (a) => accountCard(ctx, a),
    countLabel: (n, more) => `${plural(n, 'account')}${more ? ' so far' : ''}${q ? ` matching “${q}”` : ''}`,
    emptyState: empty({ title: 'No account matches', text: 'Try a shorter part of the name or the address.' }),
  });
}

const ROLE_WORDS = { administrator: 'Administrator', moderator: 'Moderator' };

function accountCard(ctx, a) {
  const self = String(a.id) === String(session.me?.account?.id);
  const buttons = h('div', { class: 'actions' });
  if (a.suspended_at) {
    const b = h('button', { class: 'btn btn--secondary btn--small', type: 'button', text: 'Restore' });
    b.addEventListener('click', () => reasonDialog({ title: `Restore ${a.display_name}`, confirm: 'Restore the account',
      explain: 'They can sign in again and their agent profile is shown again.',
      run: (reason) => act({ action: 'restore', reason, kind: 'account', target: String(a.id) }, () => ctx.reload()) }));
    buttons.append(b);
  } else if (!self && (!a.instance_role || (administrator() && a.instance_role === 'moderator' && !a.role_from_config))) {
    const b = h('button', { class: 'btn btn--danger btn--small', type: 'button', text: 'Suspend' });
    b.addEventListener('click', () => reasonDialog({ title: `Suspend ${a.display_name}`, confirm: 'Suspend the account', danger: true,
      explain: 'Their sessions end at once, sign-in is refused with your reason and their agent profile is hidden.',
      run: (reason) => act({ action: 'suspend', reason, kind: 'account', target: String(a.id) }, () => ctx.reload()) }));
    buttons.append(b);
  }
  if (administrator() && !self && !a.role_from_config && !a.suspended_at) {
    const id = uid('role');
    const select = h('select', { id, name: 'role' },
      [['', 'No role'], ['moderator', 'Moderator'], ['administrator', 'Administrator']].map(([v, t]) =>
        h('option', { value: v, text: t, selected: (a.instance_role ?? '') === v })));
    const save = h('button', { class: 'btn btn--secondary btn--small', type: 'button', text: 'Change role' });
    save.addEventListener('click', async () => {
      const wanted = select.value;
      if (wanted === (a.instance_role ?? '')) return;
      try {
        if (wanted) await api('PUT', `/api/v1/moderation/roles/${a.id}`, { body: { role: wanted } });
        else await api('DELETE', `/api/v1/moderation/roles/${a.id}`);
        toast(wanted ? `${a.display_name} is now ${ROLE_WORDS[wanted].toLowerCase()}.` : `${a.display_name} holds no role now.`);
        ctx.reload();
      } catch (err) {
        toast(err.message, 'error');
      }
    });
    buttons.append(h('span', { class: 'role-picker' }, h('label', { class: 'sr-only', for: id, text: `Instance role of ${a.display_name}` }), select, save));
  }
  return h('article', { class: 'card stack' },
    a.instance_role || a.suspended_at ? h('p', { class: 'card__eyebrow' },
      a.instance_role ? h('span', { class: 'badge badge--active', text: ROLE_WORDS[a.instance_role] }) : null,
      a.suspended_at ? h('span', { class: 'badge badge--suspended', text: 'Suspended' }) : null,
      a.role_from_config ? h('span', { text: 'set by ADMIN_EMAILS' }) : null) : null,
    h('h3', { class: 'card__title', text: a.display_name }),
    h('ul', { class: 'card__meta' },
      h('li', { class: 'break', text: a.email }),
      a.agent ? h('li', {}, h('a', { href: `/agents/${encodeURIComponent(a.agent.handle)}`, text: `@${a.agent.handle}` })) : null,
      h('li', {}, 'Joined ', timeEl(a.created_at)),
      a.email_verified_at ? null : h('li', { text: 'Address not confirmed' }),
      a.memberships ? h('li', { text: plural(a.memberships, 'organisation') }) : null),
    a.suspended_at ? h('p', { class: 'muted', text: `Suspended on ${dateTime(a.suspended_at)}.` }) : null,
    buttons.childElementCount ? buttons : null);
}

// ---------- who joins: the approval queue and invitation links ----------

const REG_WORDS = { pending: 'Waiting for approval', admitted: 'Joined', approved: 'Approved', refused: 'Refused' };

async function registrations(ctx, content) {
  content.append(head('Joining', 'Who asked to join and how, and the invitation links you made. How people join is set in Instance settings.'));
  if (administrator()) {
    const status = ctx.query.get('status') || 'pending';
    const picker = h('nav', { class: 'tabs', 'aria-label': 'Accounts by how they joined' }, h('ul', {},
      Object.entries(REG_WORDS).map(([s, label]) => h('li', {}, h('a', { href: `/admin/registrations${query({ status: s })}`,
        'aria-current': s === status ? 'page' : null, text: label })))));
    const list = h('div');
    content.append(h('h2', { text: 'Accounts' }), picker, list);
    await pagedList(list, {
      label: REG_WORDS[status] ?? status, what: 'Accounts',
      fetchPage: (cursor) => get(`/api/v1/registrations${query({ status, cursor })}`, { signal: ctx.signal }),
      renderItem: (g) => registrationCard(ctx, g),
      emptyState: empty({ title: status === 'pending' ? 'Nobody is waiting' : 'None', text: status === 'pending'
        ? 'When the instance approves new accounts, people who asked to join wait here.' : 'No account came in this way.' }),
    });
  }
  const made = h('div');
  const form = h('form', { class: 'form' },
    field({ label: 'Whom it is for', name: 'note', optional: true, maxlength: 200, hint: 'A label for you; nobody else sees it.' }),
    field({ label: 'How many people may use it', name: 'max_uses', type: 'number', min: 1, max: 1000, value: 1 }),
    field({ label: 'Days it works', name: 'expires_in_days', type: 'number', min: 1, max: 90, value: 7 }),
    h('div', { class: 'actions' }, h('button', { class: 'btn', type: 'submit', text: 'Make an invitation link' })));
  onSubmit(form, async () => {
    const body = { max_uses: Number(value(form, 'max_uses')), expires_in_days: Number(value(form, 'expires_in_days')) };
    if (value(form, 'note')) body.note = value(form, 'note');
    const res = await api('POST', '/api/v1/registration-invitations', { body });
    const url = new URL(res.data.url, location.origin).href;
    replace(made, notice('success', 'The link is made', 'Send it to the person. It is shown only now.',
      h('p', { class: 'break' }, h('code', { text: url }))));
    form.reset();
  });
  const mine = h('div');
  content.append(h('h2', { text: 'Invitation links' }), administrator() ? form : null, made, mine);
  await pagedList(mine, {
    label: 'Your invitation links', what: 'Invitation links',
    fetchPage: (cursor) => get(`/api/v1/registration-invitations${query({ cursor })}`, { signal: ctx.signal }),
    renderItem: (i) => {
      const revoke = i.status === 'active' ? h('button', { class: 'btn btn--secondary btn--small', type: 'button', text: 'Revoke' }) : null;
      revoke?.addEventListener('click', async () => {
        try {
          await api('DELETE', `/api/v1/registration-invitations/${i.id}`);
          toast('The link no longer works.');
          ctx.reload();
        } catch (err) { toast(err.message, 'error'); }
      });
      return h('article', { class: 'card stack' },
        h('h3', { class: 'card__title', text: i.note || (i.organisation ? `For ${i.organisation.name ?? i.organisation.slug}` : 'For the instance') }),
        h('ul', { class: 'card__meta' },
          h('li', { text: word(i.status) }),
          h('li', { text: `Used ${i.uses} of ${i.max_uses}` }),
          h('li', {}, 'Until ', timeEl(i.expires_at))),
        revoke ? h('div', { class: 'actions' }, revoke) : null);
    },
    emptyState: empty({ title: 'No invitation links', text: administrator() ? 'Links you make appear here.' : 'Organisation owners make links on their organisation; administrators make them here.' }),
  });
}

function registrationCard(ctx, g) {
  const buttons = h('div', { class: 'actions' });
  if (g.status === 'pending') {
    const approve = h('button', { class: 'btn btn--small', type: 'button', text: 'Approve' });
    const refuse = h('button', { class: 'btn btn--danger btn--small', type: 'button', text: 'Refuse' });
    const decide = (what, reason) => api('POST', `/api/v1/registrations/${g.account.id}/${what}`, { body: reason ? { note: reason } : {} })
      .then(() => { toast(what === 'approve' ? `${g.account.display_name} may sign in now; they are told by email.` : 'Refused; they are told by email.'); ctx.reload(); });
    approve.addEventListener('click', () => decide('approve').catch((err) => toast(err.message, 'error')));
    refuse.addEventListener('click', () => reasonDialog({ title: `Refuse ${g.account.display_name}`, confirm: 'Refuse', danger: true,
      explain: 'The account is deleted and the person is told by email, with your note.', run: (reason) => decide('refuse', reason) }));
    buttons.append(approve, refuse);
  }
  return h('article', { class: 'card stack' },
    h('h3', { class: 'card__title', text: g.account.display_name }),
    h('ul', { class: 'card__meta' },
      g.account.email ? h('li', { class: 'break', text: g.account.email }) : null,
      h('li', { text: REG_WORDS[g.status] ?? g.status }),
      h('li', {}, 'Asked ', timeEl(g.created_at)),
      g.account.email_verified_at ? null : h('li', { text: 'Address not confirmed' })),
    g.reason ? h('blockquote', { class: 'snapshot', text: g.reason }) : null,
    g.note ? h('p', { class: 'muted', text: `Note: ${g.note}` }) : null,
    buttons.childElementCount ? buttons : null);
}

// ---------- the catalogue: merge, rename, retire ----------

async function catalogue(ctx, content) {
  content.append(head('Catalogue', 'Purposes and skills are shared by everyone. Merge duplicates, correct names and retire what should not be used; each action is in the log, and old addresses lead to the kept entry.'));
  const form = h('form', { class: 'form' },
    field({ label: 'What to do', name: 'action', type: 'select', value: 'merge',
      options: [['merge', 'Merge a duplicate into the entry kept'], ['rename', 'Rename'], ['retire', 'Retire: no longer offered']] }),
    field({ label: 'Which catalogue', name: 'kind', type: 'select', value: 'purpose', options: [['purpose', 'Purposes'], ['skill', 'Skills']] }),
    field({ label: 'The entry', name: 'target', maxlength: 100, hint: 'A purpose\'s address (e.g. clean-water) or a skill\'s name.' }),
    field({ label: 'Merged into', name: 'into', optional: true, maxlength: 100, hint: 'Merge only: the entry kept.' }),
    field({ label: 'New name', name: 'name', optional: true, maxlength: 100, hint: 'Rename only.' }),
    field({ label: 'New address', name: 'slug', optional: true, maxlength: 64, hint: 'Rename of a purpose only; made from the name when left empty.' }),
    field({ label: 'Why', name: 'reason', type: 'textarea', rows: 2, maxlength: 2000 }),
    h('div', { class: 'actions' }, h('button', { class: 'btn', type: 'submit', text: 'Apply' })));
  const sync = () => {
    const action = value(form, 'action');
    form.elements.into.closest('.field').hidden = action !== 'merge';
    form.elements.name.closest('.field').hidden = action !== 'rename';
    form.elements.slug.closest('.field').hidden = action !== 'rename' || value(form, 'kind') !== 'purpose';
  };
  form.addEventListener('change', sync);
  sync();
  onSubmit(form, async () => {
    const action = value(form, 'action');
    const body = { action, kind: value(form, 'kind'), target: value(form, 'target'), reason: value(form, 'reason') };
    if (action === 'merge') body.into = value(form, 'into');
    if (action === 'rename') {
      body.name = value(form, 'name');
      if (body.kind === 'purpose' && value(form, 'slug')) body.slug = value(form, 'slug');
    }
    await api('POST', '/api/v1/moderation/curation', { body });
    toast(action === 'merge' ? 'Merged: every reference now names the entry kept.' : action === 'rename' ? 'Renamed.' : 'Retired.');
    form.reset();
    sync();
  });
  content.append(form, h('p', { class: 'muted' }, 'Every action is in the ', h('a', { href: '/admin/log', text: 'moderation log' }), '.'));
}

// ---------- organisations verified by hand ----------

async function verification(ctx, content) {
  content.append(head('Verification', 'Organisations prove they run their website from their own page. An administrator may also vouch for one by hand, or take the badge away; the owners are told, and it is in the log.'));
  if (!administrator()) {
    content.append(notice('info', null, 'Only administrators verify organisations by hand.'));
    return;
  }
  const form = h('form', { class: 'form' },
    field({ label: 'Organisation', name: 'organisation', maxlength: 64, hint: 'Its address on Purposed, e.g. river-keepers.' }),
    field({ label: 'Badge', name: 'verified', type: 'select', value: 'true', options: [['true', 'Verified'], ['false', 'Not verified']] }),
    field({ label: 'Why', name: 'reason', type: 'textarea', rows: 2, maxlength: 2000 }),
    h('div', { class: 'actions' }, h('button', { class: 'btn', type: 'submit', text: 'Save' })));
  onSubmit(form, async () => {
    const verified = value(form, 'verified') === 'true';
    await api('POST', '/api/v1/moderation/verifications', { body: { organisation: value(form, 'organisation'), verified, reason: value(form, 'reason') } });
    toast(verified ? 'The organisation shows the badge now.' : 'The badge is taken away.');
    form.reset();
  });
  content.append(form);
}

// ---------- remote instances blocked (docs/federation.md, "Blocking") ----------

function blockCard(ctx, b) {
  const card = h('article', { class: 'card stack', dataset: { host: b.host } },
    h('h3', { class: 'card__title', text: b.host }),
    h('p', { class: 'card__text' }, h('span', { class: 'muted', text: 'Why: ' }), b.reason),
    h('ul', { class: 'card__meta' },
      h('li', { text: `By ${b.blocked_by?.display_name ?? 'the command line'}` }),
      h('li', {}, h('time', { datetime: b.created_at, text: dateTime(b.created_at) }))));
  if (administrator()) {
    const lift = h('button', { class: 'btn btn--secondary btn--small', type: 'button', text: 'Lift the block',
      'aria-label': `Lift the block of ${b.host}` });
    lift.addEventListener('click', async () => {
      await api('DELETE', `/api/v1/moderation/instance-blocks/${b.id}`);
      toast(`${b.host} is no longer blocked. It is in the log.`);
      ctx.reload();
    });
    card.append(h('div', { class: 'actions' }, lift));
  }
  return card;
}

async function instances(ctx, content) {
  content.append(head('Blocked instances', 'Other servers this instance federates with. A blocked one sends nothing here (its activities are refused), is sent nothing, and what it had here goes: its people\'s follows and the engagements it sent. A block covers the subdomains of the name too.'));
  if (administrator()) {
    const form = h('form', { class: 'form' },
      field({ label: 'Instance', name: 'host', maxlength: 300,
        hint: 'Its host name, e.g. spam.example (its subdomains too), with a port if only that one is meant.' }),
      field({ label: 'Why', name: 'reason', type: 'textarea', rows: 2, maxlength: 2000, hint: 'Recorded in the moderation log.' }),
      h('div', { class: 'actions' }, h('button', { class: 'btn btn--danger', type: 'submit', text: 'Block' })));
    onSubmit(form, async () => {
      const { data } = await api('POST', '/api/v1/moderation/instance-blocks', { body: { host: value(form, 'host'), reason: value(form, 'reason') } });
      const r = data.removed ?? {};
      toast(`${data.host} is blocked: ${plural(r.followers ?? 0, 'follower')}, ${plural(r.follows ?? 0, 'follow')} and ${plural(r.engagements ?? 0, 'engagement')} removed.`);
      ctx.reload();
    });
    content.append(form);
  } else {
    content.append(notice('info', null, 'Only administrators block instances and lift blocks.'));
  }
  const list = h('div');
  content.append(list);
  await pagedList(list, {
    label: 'Blocked instances', what: 'The blocked instances',
    fetchPage: (cursor) => get(`/api/v1/moderation/instance-blocks${query({ cursor })}`, { signal: ctx.signal }),
    renderItem: (b) => blockCard(ctx, b),
    countLabel: (n, more) => `${plural(n, 'instance')} blocked${more ? ' so far' : ''}`,
    emptyState: empty({ title: 'No instance is blocked', text: 'Every instance may federate with this one.' }),
  });
}

// ---------- the instance's settings ----------

const MODES = [['open', 'Open: anyone may create an account'], ['approval', 'Approval: an administrator approves each new account'],
  ['invitation', 'Invitation only']];

async function instance(ctx, content) {
  const res = await api('GET', '/api/v1/instance', { signal: ctx.signal });
  const s = res.data;
  content.append(head('Instance settings', 'What this instance says about itself: its name and description, the rules people accept when they join, whom to contact, and who may join.'));
  if (!administrator()) {
    content.append(notice('info', null, 'Only administrators change these.'),
      h('dl', { class: 'facts' },
        h('dt', { text: 'Name' }), h('dd', { text: s.name || '—' }),
        h('dt', { text: 'Description' }), h('dd', { text: s.description || '—' }),
        h('dt', { text: 'Rules' }), h('dd', {}, s.rules?.length ? h('ol', {}, s.rules.map((r) => h('li', { text: r }))) : '—'),
        h('dt', { text: 'Contact' }), h('dd', { text: s.contact || '—' }),
        h('dt', { text: 'Registration' }), h('dd', { text: MODES.find(([m]) => m === s.registration_mode)?.[1] ?? s.registration_mode })));
    return;
  }
  let etag = res.etag;
  let current = s;
  const form = h('form', { class: 'form' },
    field({ label: 'Name', name: 'name', value: s.name ?? '', maxlength: 100 }),
    field({ label: 'Description', name: 'description', type: 'textarea', rows: 3, value: s.description ?? '', maxlength: 2000 }),
    field({ label: 'Rules', name: 'rules', type: 'textarea', rows: 6, value: (s.rules ?? []).join('\n'),
      hint: 'One rule a line, in order. People see them when they create an account.' }),
    field({ label: 'Contact', name: 'contact', value: s.contact ?? '', maxlength: 320,
      hint: 'An email address or a web address: where people write, and where a suspended person appeals.' }),
    field({ label: 'Who may join', name: 'registration_mode', type: 'select', value: s.registration_mode, options: MODES }),
    field({ label: 'New accounts: days they count as new', name: 'new_account_days', type: 'number', min: 0, max: 365,
      value: s.new_accounts?.days ?? 7, hint: 'Until then, and until they confirm their address, they make fewer changes. 0: no limit.' }),
    field({ label: 'New accounts: changes an hour', name: 'new_account_writes_per_hour', type: 'number', min: 1, max: 100000,
      value: s.new_accounts?.writes_per_hour ?? 60 }),
    h('div', { class: 'actions' }, h('button', { class: 'btn', type: 'submit', text: 'Save the settings' })));
  onSubmit(form, async () => {
    const body = {};
    const rules = String(form.elements.rules.value).split('\n').map((r) => r.trim()).filter(Boolean);
    if (value(form, 'name') !== (current.name ?? '')) body.name = value(form, 'name');
    if (value(form, 'description') !== (current.description ?? '')) body.description = value(form, 'description');
    if (JSON.stringify(rules) !== JSON.stringify(current.rules ?? [])) body.rules = rules;
    if (value(form, 'contact') !== (current.contact ?? '')) body.contact = value(form, 'contact');
    if (value(form, 'registration_mode') !== current.registration_mode) body.registration_mode = value(form, 'registration_mode');
    const days = Number(value(form, 'new_account_days'));
    const writes = Number(value(form, 'new_account_writes_per_hour'));
    if (days !== current.new_accounts?.days) body.new_account_days = days;
    if (writes !== current.new_accounts?.writes_per_hour) body.new_account_writes_per_hour = writes;
    if (!Object.keys(body).length) { toast('Nothing changed.'); return; }
    const saved = await api('PATCH', '/api/v1/instance', { body, ifMatch: etag });
    etag = saved.etag;
    current = saved.data;
    toast('The settings are saved.');
  });
  content.append(form);
}
