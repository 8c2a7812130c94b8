// main: start the web interface — find out who is signed in, keep the header
// in step with the session, and hand every path to the router.

import { api, get } from './api.js';
import { h, replace } from './dom.js';
import { route, startRouter, navigate } from './router.js';
import { loadSession, onSessionChange, session, signOut } from './session.js';
import { busy, toast } from './ui.js';

const page = (name) => () => import(`./pages/${name}.js`);

route('/', page('home'));
route('/engagements', page('home'));
route('/engagements/:id', page('engagement'));
route('/organisations', page('organisations'));
route('/organisations/new', page('organisation-new'));
route('/organisations/:slug', page('organisation'));
route('/organisations/:slug/:tab', page('organisation'));
route('/purposes', page('purposes'));
route('/purposes/:slug', page('purpose'));
route('/agents/:handle', page('agent'));
route('/agreements/new', page('agreement-new'));
route('/agreements/:id', page('agreement'));
route('/credentials/:id', page('credential'));
route('/me', page('dashboard'));
route('/me/:section', page('dashboard'));
route('/signin', page('signin'));
route('/signup', page('signup'));
route('/settings', page('settings'));
route('/verify-email', page('verify-email'));
route('/forgot-password', page('forgot-password'));
route('/reset-password', page('reset-password'));
route('/invitations/accept', page('invitation'));
route('/unsubscribe', page('unsubscribe'));
route('/api-reference', page('api-reference'));
route('/admin', page('admin'));
route('/admin/reports/:id', page('admin'));
route('/admin/:section', page('admin'));

function accountNav(me) {
  const nav = document.querySelector('[data-account-nav]');
  if (!nav) return;
  if (!me) {
    replace(nav,
      h('li', {}, h('a', { href: '/signin', text: 'Sign in' })),
      h('li', {}, h('a', { class: 'btn btn--small', href: '/signup', text: 'Join Purposed' })));
    return;
  }
  const out = h('button', { type: 'button', text: 'Sign out' });
  out.addEventListener('click', async () => {
    try {
      await signOut();
      toast('You are signed out. See you soon.');
      navigate('/');
    } catch (err) {
      toast(err.message, 'error');
    }
  });
  // unread notifications, in the header on every page (once per sign-in)
  const count = h('span', { class: 'side-nav__count', hidden: true });
  get('/api/v1/me/notifications?limit=1').then((d) => {
    if (!d?.unread) return;
    count.hidden = false;
    count.textContent = String(d.unread);
    count.setAttribute('aria-label', `${d.unread} unread notifications`);
  }).catch(() => {});
  replace(nav,
    h('li', {}, h('a', { href: '/me' }, 'Dashboard', count)),
    h('li', {}, h('a', { href: '/settings', text: 'Account', title: me.account?.display_name ?? null })),
    // the administration pages, for the instance's moderators and administrators
    me.instance_role ? h('li', {}, h('a', { href: '/admin', text: 'Admin' })) : null,
    h('li', {}, out));
}

// Until the address is confirmed, a banner under the header says so and
// offers the link again (proposing and posting wait for it).
function verifyBanner(me) {
  document.querySelector('[data-verify-banner]')?.remove();
  const account = me?.account;
  if (!account || account.email_verified_at) return;
  const again = h('button', { class: 'btn btn--small btn--secondary', type: 'button', text: 'Send the link again' });
  again.addEventListener('click', async () => {
    busy(again, true);
    try {
      await api('POST', '/api/v1/me/email-verification');
      toast(`A new link is on its way to ${account.email}.`);
    } catch (err) {
      toast(err.message, 'error');
    } finally {
      busy(again, false);
    }
  });
  const banner = h('div', { class: 'verify-banner', role: 'region', 'aria-label': 'Confirm your email address', dataset: { verifyBanner: '' } },
    h('div', { class: 'wrap verify-banner__inner' },
      h('p', {}, h('strong', { text: 'Confirm your email address. ' }),
        `We sent a link to ${account.email}. Until you follow it, you can browse, build your profile and follow organisations, but not propose agreements or post engagements.`),
      again));
  document.querySelector('.site-header')?.after(banner);
}

function navToggle() {
  const button = document.querySelector('.nav-toggle');
  const nav = document.getElementById('site-nav');
  if (!button || !nav) return;
  button.addEventListener('click', () => {
    const open = !nav.classList.contains('is-open');
    nav.classList.toggle('is-open', open);
    button.setAttribute('aria-expanded', String(open));
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && nav.classList.contains('is-open')) {
      nav.classList.remove('is-open');
      button.setAttribute('aria-expanded', 'false');
      button.focus();
    }
  });
}

async function start() {
  navToggle();
  onSessionChange(accountNav);
  onSessionChange(verifyBanner);
  try {
    await loadSession();
  } catch {
    // The daemon or database is away: pages still render and say so.
    session.loaded = true;
  }
  accountNav(session.me);
  verifyBanner(session.me);
  startRouter();
}

start();
