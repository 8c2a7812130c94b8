// verify-email: the page a verification link opens. The token confirms the
// address; a link that was used or expired offers a new one to a signed-in
// account that still needs it.
import { api, ApiError } from '../api.js';
import { h, replace } from '../dom.js';
import { linkToken } from '../mailed.js';
import { loadSession, session } from '../session.js';
import { busy, notice, toast } from '../ui.js';

export default async function render(ctx) {
  ctx.setTitle('Confirm your email address');
  const token = linkToken();
  const card = (...children) => h('section', { class: 'auth' }, h('div', { class: 'card stack' }, ...children));
  let confirmed = null;
  let failure = null;
  if (token) {
    try {
      confirmed = (await api('POST', '/api/v1/email-verifications', { body: { token }, signal: ctx.signal })).data;
      history.replaceState(null, '', location.pathname);
      await loadSession().catch(() => {});
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 422) throw err;
      failure = err;
    }
  }
  if (confirmed) {
    replace(ctx.root, card(
      h('h1', { text: 'Your email address is confirmed' }),
      h('p', { class: 'lead', text: `Thank you. ${confirmed.email} is confirmed: you can now propose agreements and post engagements.` }),
      h('p', { class: 'actions actions--center' },
        h('a', { class: 'btn', href: session.me ? '/me' : '/signin', text: session.me ? 'Go to your dashboard' : 'Sign in' }))));
    return;
  }
  const unverified = session.me?.account && !session.me.account.email_verified_at;
  const again = h('button', { class: 'btn', type: 'button', text: 'Send me a new link' });
  again.addEventListener('click', async () => {
    busy(again, true);
    try {
      await api('POST', '/api/v1/me/email-verification');
      toast(`A new link is on its way to ${session.me.account.email}.`);
    } catch (err) {
      toast(err.message, 'error');
    } finally {
      busy(again, false);
    }
  });
  replace(ctx.root, card(
    h('h1', { text: 'This link does not work' }),
    notice('warn', null, failure ? failure.message : 'The link has no token: open it from the message again, whole.'),
    unverified
      ? h('p', { class: 'actions actions--center' }, again)
      : h('p', { class: 'actions actions--center' },
        h('a', { class: 'btn btn--secondary', href: session.me ? '/settings' : '/signin', text: session.me ? 'Account settings' : 'Sign in' }))));
}
