// forgot-password: ask for a link to choose a new password. The answer is
// the same whether or not the address has an account.
import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { field, onSubmit, showErrors, value } from '../forms.js';
import { notice } from '../ui.js';

export default function render(ctx) {
  ctx.setTitle('Forgot your password');
  const form = h('form', { class: 'form', 'aria-labelledby': 'forgot-title' },
    field({ label: 'Email', name: 'email', type: 'email', autocomplete: 'email', value: ctx.query.get('email') ?? '',
      hint: 'The address you signed up with.' }),
    h('div', { class: 'actions' }, h('button', { class: 'btn', type: 'submit', text: 'Send me a link' })));
  const box = h('div', { class: 'card stack' },
    h('h1', { id: 'forgot-title', text: 'Forgot your password?' }),
    h('p', { class: 'lead', text: 'We will email you a link to choose a new one. It works once, within an hour.' }),
    form);
  onSubmit(form, async () => {
    const email = value(form, 'email');
    if (!email) { showErrors(form, [{ field: 'email', message: 'enter the email you signed up with' }]); return; }
    const { data } = await api('POST', '/api/v1/password-resets', { body: { email } });
    replace(box,
      h('h1', { id: 'forgot-title', text: 'Check your email' }),
      notice('ok', null, data?.detail ?? 'If an account uses this address, a link is on its way.'),
      h('p', { class: 'actions actions--center' }, h('a', { class: 'btn btn--secondary', href: '/signin', text: 'Back to sign in' })));
    box.querySelector('h1')?.focus?.();
  });
  replace(ctx.root, h('section', { class: 'auth' }, box,
    h('p', { class: 'auth__switch' }, 'Remembered it? ', h('a', { href: '/signin', text: 'Sign in' }))));
}
