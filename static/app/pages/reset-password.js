// reset-password: the page a password reset link opens — choose a new
// password with the token; every session ends, so sign in again after.
import { api, ApiError } from '../api.js';
import { h, replace } from '../dom.js';
import { field, onSubmit, showErrors } from '../forms.js';
import { linkToken } from '../mailed.js';
import { loadSession } from '../session.js';
import { notice } from '../ui.js';

export default function render(ctx) {
  ctx.setTitle('Choose a new password');
  const token = linkToken();
  const card = (...children) => h('section', { class: 'auth' }, h('div', { class: 'card stack' }, ...children));
  if (!token) {
    replace(ctx.root, card(
      h('h1', { text: 'Reset your password' }),
      h('p', { class: 'lead', text: 'Open the link from the message we sent you, or ask for a new one.' }),
      h('p', { class: 'actions actions--center' }, h('a', { class: 'btn', href: '/forgot-password', text: 'Email me a link' }))));
    return;
  }
  const form = h('form', { class: 'form', 'aria-labelledby': 'reset-title' },
    h('input', { type: 'email', name: 'username', autocomplete: 'username', hidden: true, tabindex: '-1', 'aria-hidden': 'true' }),
    field({ label: 'New password', name: 'password', type: 'password', autocomplete: 'new-password', minlength: 12,
      hint: 'At least 12 characters. A few unrelated words make a strong one.' }),
    h('div', { class: 'actions' }, h('button', { class: 'btn', type: 'submit', text: 'Set new password' })));
  onSubmit(form, async () => {
    const password = form.elements.password.value;
    if (password.length < 12) { showErrors(form, [{ field: 'password', message: 'use at least 12 characters' }]); return; }
    try {
      await api('POST', '/api/v1/password-resets/complete', { body: { token, password } });
    } catch (err) {
      if (err instanceof ApiError && err.status === 422 && err.errors.some((e) => e.field === 'token')) {
        showErrors(form, [], { title: 'This link does not work any more', detail: err.message });
        form.append(h('p', {}, h('a', { href: '/forgot-password', text: 'Email me a new link' })));
        return;
      }
      throw err;
    }
    history.replaceState(null, '', location.pathname);
    await loadSession().catch(() => {});
    replace(ctx.root, card(
      h('h1', { text: 'Your password is changed' }),
      notice('ok', null, 'Every session was signed out. Sign in with your new password.'),
      h('p', { class: 'actions actions--center' }, h('a', { class: 'btn', href: '/signin', text: 'Sign in' }))));
  });
  replace(ctx.root, card(
    h('h1', { id: 'reset-title', text: 'Choose a new password' }),
    h('p', { class: 'lead', text: 'Setting it signs you out everywhere.' }),
    form));
}
