// invitation: the page an invitation link opens. It shows what the link
// invites to; a signed-in person accepts it (any account: the link reached
// their mailbox), anyone else signs up or in first and comes back here.
import { api, ApiError } from '../api.js';
import { h, replace, word, day } from '../dom.js';
import { linkToken } from '../mailed.js';
import { loadSession, session } from '../session.js';
import { busy, notice, toast } from '../ui.js';

export default async function render(ctx) {
  ctx.setTitle('Invitation');
  const token = linkToken();
  const card = (...children) => h('section', { class: 'auth' }, h('div', { class: 'card stack' }, ...children));
  let inv = null;
  let failure = null;
  if (token) {
    try {
      inv = (await api('POST', '/api/v1/invitations/preview', { body: { token }, signal: ctx.signal })).data;
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 422) throw err;
      failure = err;
    }
  }
  if (!inv) {
    replace(ctx.root, card(
      h('h1', { text: 'This invitation does not work' }),
      notice('warn', null, failure?.message ?? 'The link has no token: open it from the message again, whole.'),
      h('p', { class: 'actions actions--center' }, h('a', { class: 'btn btn--secondary', href: '/', text: 'Explore Purposed' }))));
    return;
  }
  const org = inv.organisation;
  ctx.setTitle(`Join ${org.name}`);
  const here = location.pathname + location.hash;
  const next = encodeURIComponent(here);
  let actions;
  if (session.me?.account) {
    const accept = h('button', { class: 'btn', type: 'button', text: `Join ${org.name}` });
    accept.addEventListener('click', async () => {
      busy(accept, true);
      try {
        await api('POST', '/api/v1/invitations/accept', { body: { token } });
      } catch (err) {
        busy(accept, false);
        toast(err.message, 'error');
        return;
      }
      await loadSession().catch(() => {});
      toast(`You are now ${word(inv.role).toLowerCase()} of ${org.name}.`);
      ctx.navigate(`/organisations/${encodeURIComponent(org.slug)}`, { replace: true });
    });
    actions = [
      h('p', { class: 'muted', text: `You are signed in as ${session.me.account.display_name} (${session.me.account.email}).` }),
      h('p', { class: 'actions actions--center' }, accept,
        h('a', { class: 'btn btn--quiet', href: '/me', text: 'Not now' }))];
  } else {
    actions = [
      h('p', { class: 'muted', text: 'Create an account (or sign in) to accept; you come back here after.' }),
      h('p', { class: 'actions actions--center' },
        h('a', { class: 'btn', href: `/signup?next=${next}&email=${encodeURIComponent(inv.email)}`, text: 'Create an account' }),
        h('a', { class: 'btn btn--secondary', href: `/signin?next=${next}`, text: 'Sign in' }))];
  }
  replace(ctx.root, card(
    h('h1', { text: `Join ${org.name}` }),
    h('p', { class: 'lead', text: `${inv.invited_by?.display_name ?? 'A member'} invited ${inv.email} to join ${org.name} as ${word(inv.role).toLowerCase()}.` }),
    h('p', { class: 'muted small', text: `Nothing changes until you accept. The invitation works until ${day(inv.expires_at)}.` }),
    ...actions));
}
