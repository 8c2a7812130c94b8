// unsubscribe: the page a message's "Stop this kind of email" link opens.
// No sign-in: the signed token in the link names the account and the kind.
import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { onSubmit } from '../forms.js';
import { linkToken } from '../mailed.js';
import { notice } from '../ui.js';

export default function render(ctx) {
  ctx.setTitle('Stop these emails');
  const token = linkToken();
  const form = h('form', { class: 'form', 'aria-labelledby': 'unsub-title' },
    h('div', { class: 'actions actions--center' }, h('button', { class: 'btn', type: 'submit', text: 'Stop these emails' })));
  const box = h('div', { class: 'card stack' },
    h('h1', { id: 'unsub-title', text: 'Stop these emails?' }),
    h('p', { class: 'lead', text: 'You keep seeing these notifications on Purposed; only the emails stop.' }),
    token ? form : notice('warn', null, 'The link has no token: open it from the message again, whole.'));
  onSubmit(form, async () => {
    await api('POST', `/api/v1/unsubscribe?token=${encodeURIComponent(token)}`);
    replace(box,
      h('h1', { id: 'unsub-title', text: 'You will not get these emails any more' }),
      notice('ok', null, 'Change your mind in your account settings, under Emails.'),
      h('p', { class: 'actions actions--center' }, h('a', { class: 'btn btn--secondary', href: '/settings#notifications', text: 'Account settings' })));
  });
  replace(ctx.root, h('section', { class: 'auth' }, box));
}
