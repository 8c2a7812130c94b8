// signin: the sign-in form. On success, back to where the person was going.
import { h, replace } from '../dom.js';
import { field, onSubmit, showErrors, value } from '../forms.js';
import { session, signIn } from '../session.js';
import { ApiError } from '../api.js';
import { safeNext } from '../redirect.js';

export default function render(ctx) {
  ctx.setTitle('Sign in');
  const next = safeNext(ctx.query.get('next'));
  if (session.me) {
    replace(ctx.root, h('section', { class: 'auth' }, h('div', { class: 'card stack' },
      h('h1', { text: 'You are signed in' }),
      h('p', { class: 'lead', text: `Signed in as ${session.me.account?.display_name ?? session.me.account?.email}.` }),
      h('p', { class: 'actions' }, h('a', { class: 'btn', href: next ?? '/me', text: 'Go to your dashboard' })))));
    return;
  }
  const form = h('form', { class: 'form', 'aria-labelledby': 'signin-title' },
    field({ label: 'Email', name: 'email', type: 'email', autocomplete: 'email', required: true }),
    field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    h('div', { class: 'actions' }, h('button', { class: 'btn', type: 'submit', text: 'Sign in' }),
      h('a', { class: 'btn btn--quiet', href: '/forgot-password', text: 'Forgot your password?' })));
  onSubmit(form, async () => {
    const email = value(form, 'email');
    const password = form.elements.password.value;
    const missing = [];
    if (!email) missing.push({ field: 'email', message: 'enter the email you signed up with' });
    if (!password) missing.push({ field: 'password', message: 'enter your password' });
    if (missing.length) { showErrors(form, missing); return; }
    try {
      await signIn(email, password);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        showErrors(form, [], { title: 'Wrong email or password', detail: 'Check both and try again. Passwords are case-sensitive.' });
        return;
      }
      throw err;
    }
    ctx.navigate(next ?? '/me', { replace: true });
  });
  replace(ctx.root, h('section', { class: 'auth' },
    h('div', { class: 'card stack' },
      h('h1', { id: 'signin-title', text: 'Welcome back' }),
      h('p', { class: 'lead', text: 'Sign in to see your matches, agreements and the organisations you follow.' }),
      form),
    h('p', { class: 'auth__switch' }, 'New to Purposed? ',
      h('a', { href: next ? `/signup?next=${encodeURIComponent(next)}` : '/signup', text: 'Create an account' }))));
}
