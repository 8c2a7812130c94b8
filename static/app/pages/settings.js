// settings: the account — name, email (and whether it is confirmed),
// password, saved searches, which emails Purposed sends, the personal feed, the export,
// privacy (through the agent profile), organisations, signing out and
// deleting the account.
import { api, ApiError, get, getOptional, query } from '../api.js';
import { h, replace, day, word, dateTime } from '../dom.js';
import { field, onSubmit, showErrors, value } from '../forms.js';
import { requireSignIn } from '../router.js';
import { loadSession, myAgent, session, signOut } from '../session.js';
import { loadCatalogue, placeLabel } from '../pickers.js';
import { busy, pageHead, pagedList, purposeName, purposeSlug, toast } from '../ui.js';

export default async function render(ctx) {
  ctx.setTitle('Account settings');
  if (!requireSignIn(ctx, 'change your settings')) return;
  let account = session.me.account;
  let etag = null;
  try {
    const res = await api('GET', '/api/v1/me/account', { signal: ctx.signal });
    account = res.data;
    etag = res.etag ?? String(account.version ?? '');
  } catch (err) {
    if (!(err instanceof ApiError && err.missing)) throw err;
  }
  const prefs = await getOptional('/api/v1/me/notification-preferences', { signal: ctx.signal });
  const memberships = session.me.memberships ?? [];
  const invitations = session.me.invitations ?? [];
  const agent = myAgent();

  // One PATCH helper for the three small forms; keeps the ETag current.
  const patch = async (form, body, done) => {
    if (!etag) { showErrors(form, [], { title: 'Not available yet', detail: 'This server does not let you change your account yet.' }); return; }
    try {
      const res = await api('PATCH', '/api/v1/me/account', { body, ifMatch: etag });
      etag = res.etag ?? String(res.data?.version ?? '');
      account = res.data ?? account;
    } catch (err) {
      if (err instanceof ApiError && err.status === 412) {
        showErrors(form, [], { title: 'Your account changed in another window — reload to see the change' });
        return;
      }
      throw err;
    }
    form.querySelector('.error-summary')?.remove();
    for (const pw of form.querySelectorAll('input[type=password]')) pw.value = '';
    await loadSession();
    toast(done);
  };

  const nameForm = h('form', { class: 'form', 'aria-labelledby': 'name-title' },
    field({ label: 'Display name', name: 'display_name', value: account.display_name ?? '', maxlength: 100, autocomplete: 'name' }),
    h('button', { class: 'btn btn--secondary', type: 'submit', text: 'Save name' }));
  onSubmit(nameForm, async () => {
    const name = value(nameForm, 'display_name');
    if (!name) { showErrors(nameForm, [{ field: 'display_name', message: 'enter the name people will see' }]); return; }
    await patch(nameForm, { display_name: name }, 'Name saved.');
  });

  const emailForm = h('form', { class: 'form', 'aria-labelledby': 'email-title' },
    field({ label: 'Email', name: 'email', type: 'email', value: account.email ?? '', autocomplete: 'email', hint: 'Never shown to other people or organisations.' }),
    field({ label: 'Current password', name: 'current_password', type: 'password', autocomplete: 'current-password' }),
    h('button', { class: 'btn btn--secondary', type: 'submit', text: 'Change email' }));
  onSubmit(emailForm, async () => {
    const body = { email: value(emailForm, 'email'), current_password: emailForm.elements.current_password.value };
    const problems = [];
    if (!body.email) problems.push({ field: 'email', message: 'enter your new email address' });
    if (!body.current_password) problems.push({ field: 'current_password', message: 'enter your current password to confirm' });
    if (problems.length) { showErrors(emailForm, problems); return; }
    await patch(emailForm, body, 'Email changed.');
  });

  const username = () => h('input', { type: 'email', name: 'username', autocomplete: 'username', value: account.email ?? '', hidden: true, tabindex: '-1', 'aria-hidden': 'true' });
  const passwordForm = h('form', { class: 'form', 'aria-labelledby': 'password-title' },
    username(),
    field({ label: 'Current password', name: 'current_password', type: 'password', autocomplete: 'current-password' }),
    field({ label: 'New password', name: 'new_password', type: 'password', autocomplete: 'new-password', hint: 'At least 12 characters.' }),
    h('button', { class: 'btn btn--secondary', type: 'submit', text: 'Change password' }));
  onSubmit(passwordForm, async () => {
    const body = { current_password: passwordForm.elements.current_password.value, new_password: passwordForm.elements.new_password.value };
    const problems = [];
    if (!body.current_password) problems.push({ field: 'current_password', message: 'enter your current password' });
    if (body.new_password.length < 12) problems.push({ field: 'new_password', message: 'use at least 12 characters' });
    if (problems.length) { showErrors(passwordForm, problems); return; }
    await patch(passwordForm, body, 'Password changed.');
  });

  const out = h('button', { class: 'btn btn--secondary', type: 'button', text: 'Sign out on this device' });
  out.addEventListener('click', async () => {
    busy(out, true);
    try { await signOut(); toast('You are signed out.'); ctx.navigate('/'); } catch (err) { busy(out, false); toast(err.message, 'error'); }
  });

  const deleteForm = h('form', { class: 'form', 'aria-labelledby': 'delete-title' },
    h('p', { class: 'muted', text: 'Your account and sign-in details are removed. Agreements and charter history stay, as both sides rely on them, without your email.' }),
    h('p', {}, 'Before you go, ', h('a', { href: '/api/v1/me/export', download: 'purposed-export.json', text: 'download everything your account holds' }), '.'),
    username(),
    field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'current-password' }),
    h('button', { class: 'btn btn--danger', type: 'submit', text: 'Delete my account' }));
  onSubmit(deleteForm, async () => {
    const password = deleteForm.elements.password.value;
    if (!password) { showErrors(deleteForm, [{ field: 'password', message: 'enter your password to confirm' }]); return; }
    if (!confirm('Delete your account for good?')) return;
    await api('DELETE', '/api/v1/me/account', { body: { password } });
    await loadSession().catch(() => {});
    toast('Your account is deleted. Thank you for the work you did here.');
    ctx.navigate('/');
  });

  replace(ctx.root,
    pageHead({ title: 'Account settings', lead: 'Your account, what others can see, and your organisations.' }),
    h('div', { class: 'settings-grid' },
      h('section', { class: 'card stack', 'aria-labelledby': 'name-title' },
        h('h2', { id: 'name-title', text: 'Your name' }),
        h('p', { class: 'muted small', text: `Member since ${day(account.created_at)}.` }),
        nameForm),
      h('section', { class: 'card stack', 'aria-labelledby': 'email-title' }, h('h2', { id: 'email-title', text: 'Email' }),
        emailStatus(account), emailForm),
      h('section', { class: 'card stack', 'aria-labelledby': 'password-title' }, h('h2', { id: 'password-title', text: 'Password' }), passwordForm),
      savedSearchesSection(ctx),
      prefs ? notificationsSection(prefs) : null,
      feedSection(),
      exportSection(),
      h('section', { class: 'card', 'aria-labelledby': 'privacy-title' },
        h('h2', { id: 'privacy-title', text: 'Privacy' }),
        agent ? [
          h('p', { text: agent.discoverable === false
            ? 'Your agent profile is hidden: organisations cannot find you or see you among their candidates.'
            : 'Your agent profile is discoverable: organisations can find you and see you among their candidates.' }),
          h('div', { class: 'actions' },
            h('a', { class: 'btn btn--secondary', href: '/me/profile', text: 'Change visibility' }),
            h('a', { class: 'btn btn--quiet', href: `/agents/${encodeURIComponent(agent.handle)}`, text: 'See your public profile' }))]
          : [h('p', { class: 'muted', text: 'You have no agent profile, so nothing about you is public.' }),
            h('a', { class: 'btn btn--secondary', href: '/me/profile', text: 'Create an agent profile' })]),
      h('section', { class: 'card', 'aria-labelledby': 'orgs-title' },
        h('h2', { id: 'orgs-title', text: 'Your organisations' }),
        memberships.length
          ? h('ul', { class: 'members' }, memberships.map((m) => h('li', { class: 'member' },
            h('a', { class: 'member__name', href: `/organisations/${encodeURIComponent(m.organisation?.slug ?? m.organisation)}`, text: m.organisation?.name ?? m.organisation }),
            h('span', { class: 'badge', text: word(m.role) }))))
          : h('p', { class: 'muted' }, 'You are not a member of any organisation. ', h('a', { href: '/organisations/new', text: 'Start one' }), '.'),
        invitations.length
          ? [h('h3', { text: 'Asked to join' }),
            h('ul', { class: 'members' }, invitations.map((i) => invitationRow(ctx, i)))]
          : null),
      h('section', { class: 'card stack', 'aria-labelledby': 'session-title' },
        h('h2', { id: 'session-title', text: 'Session' }),
        h('p', { class: 'muted', text: 'Signing out ends this session at once.' }), out),
      h('section', { class: 'card stack', 'aria-labelledby': 'delete-title' },
        h('h2', { id: 'delete-title', text: 'Delete your account' }), deleteForm)));
}

// An organisation asked the caller to join: nothing happens until they accept.
function invitationRow(ctx, i) {
  const slug = encodeURIComponent(i.organisation.slug);
  const accept = h('button', { class: 'btn btn--small', type: 'button', text: 'Accept', 'aria-label': `Join ${i.organisation.name}` });
  const decline = h('button', { class: 'btn btn--quiet btn--small', type: 'button', text: 'Decline', 'aria-label': `Decline ${i.organisation.name}` });
  const answer = async (button, method, path, message) => {
    busy(button, true);
    try {
      await api(method, path);
      toast(message);
      await loadSession();
      ctx.navigate('/settings');
    } catch (err) {
      busy(button, false);
      toast(err.message, 'error');
    }
  };
  accept.addEventListener('click', () => answer(accept, 'POST', `/api/v1/me/invitations/${slug}/accept`, `You are now ${word(i.role).toLowerCase()} of ${i.organisation.name}.`));
  decline.addEventListener('click', () => answer(decline, 'DELETE', `/api/v1/me/invitations/${slug}`, `You declined to join ${i.organisation.name}.`));
  return h('li', { class: 'member' },
    h('span', { class: 'member__name', text: i.organisation.name }),
    h('span', { class: 'badge', text: word(i.role) }),
    h('span', { class: 'actions' }, accept, decline));
}

// Whether the address is confirmed, and the link again when it is not.
function emailStatus(account) {
  if (account.email_verified_at) return h('p', { class: 'muted small', text: `Confirmed on ${day(account.email_verified_at)}.` });
  const again = h('button', { class: 'btn btn--small btn--secondary', type: 'button', text: 'Send the link again' });
  again.addEventListener('click', async () => {
    busy(again, true);
    try { await api('POST', '/api/v1/me/email-verification'); toast(`A new link is on its way to ${account.email}.`); } catch (err) { toast(err.message, 'error'); }
    busy(again, false);
  });
  return h('div', { class: 'notice notice--warn' },
    h('p', {}, h('strong', { text: 'Not confirmed yet. ' }), 'Follow the link we emailed you to propose agreements and post engagements.'),
    h('div', { class: 'actions' }, again));
}

const KIND_LABELS = {
  agreement_proposed: 'An agreement is proposed to you',
  agreement_amended: 'New terms are proposed',
  agreement_accepted: 'Your proposal is accepted',
  agreement_declined: 'Your proposal is declined',
  agreement_withdrawn: 'A proposal to you is withdrawn',
  agreement_concluded: 'An agreement is concluded',
  agreement_closure_recorded: 'The other side records its closure',
  agreement_review_due: 'A review date approaches',
  agreement_renewal_proposed: 'A renewal is proposed',
  agreement_message: 'A message on one of your agreements',
  agreement_hours_logged: 'The other side logs hours',
  agreement_hours_confirmed: 'The other side confirms your hours',
  agreement_hours_disputed: 'The other side disputes your hours',
  engagement_posted: 'An organisation you follow posts work for your purposes',
  engagement_question: 'Someone asks about your engagement',
  engagement_answer: 'An organisation answers your question',
  saved_search_match: 'New work matches a search you saved',
  moderation: 'A moderator acts on something of yours, or your organisation\'s verified badge changes',
};
const DELIVERIES = [['immediately', 'At once'], ['daily', 'Daily digest'], ['off', 'Off']];

// Which notifications reach the account by email, and how.
function notificationsSection(prefs) {
  const rows = prefs.preferences.map((p) => {
    const id = `pref-${p.kind}`;
    return h('tr', {},
      h('th', { scope: 'row' }, h('label', { for: id, text: KIND_LABELS[p.kind] ?? word(p.kind) })),
      h('td', {}, h('select', { id, name: p.kind },
        DELIVERIES.map(([value, text]) => h('option', { value, text, selected: p.delivery === value })))));
  });
  const form = h('form', { class: 'form', 'aria-labelledby': 'notifications-title' },
    h('table', { class: 'prefs' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'When' }), h('th', { scope: 'col', text: 'Email' }))),
      h('tbody', {}, rows)),
    h('button', { class: 'btn btn--secondary', type: 'submit', text: 'Save email choices' }));
  onSubmit(form, async () => {
    const body = Object.fromEntries([...form.querySelectorAll('select')].map((s) => [s.name, s.value]));
    await api('PUT', '/api/v1/me/notification-preferences', { body });
    toast('Email choices saved.');
  });
  const last = prefs.digest?.last_sent_at;
  return h('section', { class: 'card stack', id: 'notifications', 'aria-labelledby': 'notifications-title' },
    h('h2', { id: 'notifications-title', text: 'Emails' }),
    h('p', { class: 'muted', text: 'Everything also shows on your dashboard. A daily digest gathers what happened into one email a day at most.' }),
    last ? h('p', { class: 'muted small', text: `Last digest: ${dateTime(last)}.` }) : null,
    form);
}

// The personal notification feed: a secret address for a feed reader.
function feedSection() {
  const out = h('div', { class: 'stack' });
  const make = h('button', { class: 'btn btn--secondary', type: 'button', text: 'Make a feed address' });
  const revoke = h('button', { class: 'btn btn--quiet', type: 'button', text: 'Turn the feed off' });
  make.addEventListener('click', async () => {
    busy(make, true);
    try {
      const { data } = await api('POST', '/api/v1/me/notifications/feed');
      const url = new URL(data.url, location.origin).href;
      // the same secret opens the calendar of your agreements' dates (iCalendar)
      const calendar = data.calendar_url ? new URL(data.calendar_url, location.origin).href : null;
      replace(out, h('p', { class: 'muted small', text: 'Your feed address (keep it to yourself; making a new one stops this one):' }),
        h('p', { class: 'feed-url' }, h('a', { href: url, rel: 'external', text: url })),
        calendar ? h('p', { class: 'muted small', text: 'The start, review and end dates of your agreements, for a calendar app:' }) : null,
        calendar ? h('p', { class: 'feed-url' }, h('a', { href: calendar, rel: 'external', text: calendar, 'data-calendar': '' })) : null);
      make.textContent = 'Make a new address';
    } catch (err) { toast(err.message, 'error'); }
    busy(make, false);
  });
  revoke.addEventListener('click', async () => {
    busy(revoke, true);
    try { await api('DELETE', '/api/v1/me/notifications/feed'); replace(out); toast('The feed is off: its address stopped working.'); } catch (err) { toast(err.message, 'error'); }
    busy(revoke, false);
  });
  return h('section', { class: 'card stack', id: 'feed', 'aria-labelledby': 'feed-title' },
    h('h2', { id: 'feed-title', text: 'Personal feed' }),
    h('p', { class: 'muted', text: 'Your notifications as an Atom feed at a secret address, for a feed reader.' }),
    out, h('div', { class: 'actions' }, make, revoke));
}

// Everything the account owns, as one JSON file.
function exportSection() {
  return h('section', { class: 'card stack', id: 'export', 'aria-labelledby': 'export-title' },
    h('h2', { id: 'export-title', text: 'Your data' }),
    h('p', { class: 'muted', text: 'Download everything your account holds — profile, agreements with every version, notifications, memberships, credentials, email choices — as one JSON file.' }),
    h('div', { class: 'actions' }, h('a', { class: 'btn btn--secondary', href: '/api/v1/me/export', download: '', rel: 'external', text: 'Download my data' })));
}

// The searches the person saved from the home page ("Save this search"):
// each in words, a link that runs it again, and Delete after confirming.
function savedSearchesSection(ctx) {
  const out = h('div', {});
  const section = h('section', { class: 'card stack', id: 'saved-searches', 'aria-labelledby': 'saved-title' },
    h('h2', { id: 'saved-title', text: 'Saved searches' }),
    h('p', { class: 'muted', text: 'You are told on your dashboard (and by email, as you chose below) when a new engagement matches one of them.' }),
    out);
  const none = () => h('p', { class: 'muted' }, 'No saved searches. Search or filter ', h('a', { href: '/', text: 'the open engagements' }),
    ' and choose “Save this search”.');
  // the names behind slugs and place ids, fetched once for the whole list
  const purposes = loadCatalogue().catch(() => []);
  const places = new Map();
  const placeName = (id) => {
    if (!places.has(id)) places.set(id, getOptional(`/api/v1/places/${encodeURIComponent(id)}`, { signal: ctx.signal }).catch(() => null));
    return places.get(id);
  };
  const row = (s) => {
    const words = h('p', { class: 'muted small', text: savedSearchWords(s.filters) });
    Promise.all([purposes, s.filters.near ? placeName(s.filters.near) : null]).then(([items, place]) => {
      const p = s.filters.purpose ? items.find((x) => purposeSlug(x) === s.filters.purpose) : null;
      words.textContent = savedSearchWords(s.filters, { purpose: p ? purposeName(p) : undefined, place: place ? placeLabel(place) : undefined });
    });
    const remove = h('button', { class: 'btn btn--quiet btn--small', type: 'button', text: 'Delete', 'aria-label': `Delete the saved search ${s.name}` });
    remove.addEventListener('click', async () => {
      if (!confirm(`Delete the saved search “${s.name}”? You will no longer be told of new matches.`)) return;
      busy(remove, true);
      try {
        await api('DELETE', `/api/v1/me/saved-searches/${encodeURIComponent(s.id)}`);
        const li = remove.closest('li');
        const ul = li?.parentElement;
        li?.remove();
        if (ul && !ul.children.length) replace(out, none());
        toast(`Saved search “${s.name}” deleted.`);
      } catch (err) {
        busy(remove, false);
        toast(err.message, 'error');
      }
    });
    return h('div', { class: 'member saved-search' },
      h('div', { class: 'member__name' },
        h('a', { href: `/${query(savedSearchQuery(s.filters))}`, text: s.name }), words),
      h('span', { class: 'actions' }, remove));
  };
  pagedList(out, {
    label: 'Saved searches',
    what: 'Your saved searches',
    fetchPage: (cursor) => get(`/api/v1/me/saved-searches${query({ limit: 50, cursor })}`, { signal: ctx.signal }),
    renderItem: row,
    emptyState: none(),
  }).catch(() => {});
  return section;
}

// The home page's query for a saved search's filters (remote only when true).
function savedSearchQuery(f) {
  return { q: f.q, purpose: f.purpose, skill: f.skill, packaging: f.packaging, remote: f.remote ? 'true' : undefined,
    organisation: f.organisation, near: f.near, within_km: f.near ? f.within_km : undefined };
}

// A saved search's filters in words: “water” · Clean water · skill design ·
// volunteer · remote friendly · within 50 km of Berlin, DE (names: the
// purpose's and the place's names once known).
function savedSearchWords(f, names = {}) {
  const bits = [];
  if (f.q) bits.push(`“${f.q}”`);
  if (f.purpose) bits.push(names.purpose ?? purposeName(f.purpose));
  if (f.skill) bits.push(`skill ${f.skill}`);
  if (f.packaging) bits.push(word(f.packaging).toLowerCase());
  if (f.remote) bits.push('remote friendly');
  if (f.organisation) bits.push(`at ${f.organisation}`);
  if (f.near) bits.push(`within ${f.within_km ?? 50} km of ${names.place ?? 'a place'}`);
  return bits.length ? bits.join(' · ') : 'All open engagements';
}
