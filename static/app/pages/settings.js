// settings: the account — name, email, password, privacy (through the agent
// profile), organisations, signing out and deleting the account.
import { api, ApiError } from '../api.js';
import { h, replace, day, word } from '../dom.js';
import { field, onSubmit, showErrors, value } from '../forms.js';
import { requireSignIn } from '../router.js';
import { loadSession, myAgent, session, signOut } from '../session.js';
import { busy, pageHead, toast } from '../ui.js';

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
      h('section', { class: 'card stack', 'aria-labelledby': 'email-title' }, h('h2', { id: 'email-title', text: 'Email' }), emailForm),
      h('section', { class: 'card stack', 'aria-labelledby': 'password-title' }, h('h2', { id: 'password-title', text: 'Password' }), passwordForm),
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
