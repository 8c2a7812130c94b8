// signup: create an account, sign in at once, then set up a profile. An
// invitation link (/signup#invitation=TOKEN) is sent with it; on an instance
// that approves new accounts, the person may say why they join and is told
// to wait instead of being signed in (docs/operations.md, "Registration").
import { h, replace } from '../dom.js';
import { field, onSubmit, showErrors, value } from '../forms.js';
import { api, get, newKey } from '../api.js';
import { session, signIn } from '../session.js';
import { safeNext } from '../redirect.js';

export default function render(ctx) {
  ctx.setTitle('Create your account');
  const next = safeNext(ctx.query.get('next'));
  if (session.me) {
    replace(ctx.root, h('section', { class: 'auth' }, h('div', { class: 'card stack' },
      h('h1', { text: 'You already have an account' }),
      h('p', { class: 'lead', text: `You are signed in as ${session.me.account?.display_name ?? ''}.` }),
      h('p', { class: 'actions' }, h('a', { class: 'btn', href: '/me', text: 'Go to your dashboard' })))));
    return;
  }
  const key = newKey();
  const invitation = new URLSearchParams(window.location.hash.slice(1)).get('invitation');
  const reason = field({ label: 'Why you are joining', name: 'reason', type: 'textarea', rows: 3, optional: true, maxlength: 1000,
    hint: 'This instance approves new accounts: a few words for its administrators.' });
  reason.hidden = true;
  const form = h('form', { class: 'form', 'aria-labelledby': 'signup-title' },
    field({ label: 'Your name', name: 'display_name', autocomplete: 'name', hint: 'How people and organisations will see you.', maxlength: 100 }),
    field({ label: 'Email', name: 'email', type: 'email', autocomplete: 'email', hint: 'Never shown publicly. We send a link to confirm it.',
      value: ctx.query.get('email') ?? '' }),
    field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'new-password', minlength: 12,
      hint: 'At least 12 characters. A few unrelated words make a strong one.' }),
    reason,
    h('div', { class: 'actions' }, h('button', { class: 'btn', type: 'submit', text: 'Create account' })));
  if (!invitation) {
    get('/api/v1/instance').then((instance) => { reason.hidden = instance?.registration_mode !== 'approval'; }, () => {});
  }
  onSubmit(form, async () => {
    const body = { display_name: value(form, 'display_name'), email: value(form, 'email'), password: form.elements.password.value };
    if (invitation) body.invitation_token = invitation;
    if (!reason.hidden && value(form, 'reason')) body.reason = value(form, 'reason');
    const problems = [];
    if (!body.display_name) problems.push({ field: 'display_name', message: 'tell us what to call you' });
    if (!body.email) problems.push({ field: 'email', message: 'enter your email address' });
    if (body.password.length < 12) problems.push({ field: 'password', message: 'use at least 12 characters' });
    if (problems.length) { showErrors(form, problems); return; }
    const created = await api('POST', '/api/v1/accounts', { body, idempotencyKey: key });
    if (created.data?.registration === 'pending') {
      replace(ctx.root, h('section', { class: 'auth' }, h('div', { class: 'card stack' },
        h('h1', { text: 'Your account awaits approval' }),
        h('p', { class: 'lead', text: 'An administrator of this instance approves new accounts. You will get an email at '
          + `${body.email} once it is decided; confirm your address with the link we sent meanwhile.` }))));
      return;
    }
    await signIn(body.email, body.password);
    ctx.navigate(next ?? '/me', { replace: true });
  });
  replace(ctx.root, h('section', { class: 'auth' },
    h('div', { class: 'card stack' },
      h('h1', { id: 'signup-title', text: 'Join Purposed' }),
      h('p', { class: 'lead', text: 'Find work that matters to you, or the people your purpose needs. Free, and yours to leave.' }),
      instanceRules(ctx.signal),
      form),
    h('p', { class: 'auth__switch' }, 'Already have an account? ',
      h('a', { href: next ? `/signin?next=${encodeURIComponent(next)}` : '/signin', text: 'Sign in' }))));
}

// The rules of this instance (GET /api/v1/instance), shown before anyone
// joins; nothing when the administrators have written none.
function instanceRules(signal) {
  const box = h('div');
  get('/api/v1/instance', { signal }).then((instance) => {
    const rules = Array.isArray(instance?.rules) ? instance.rules : [];
    if (!rules.length) return;
    box.replaceWith(h('section', { class: 'notice notice--info', 'aria-labelledby': 'rules-title' },
      h('h2', { id: 'rules-title', text: `The rules of ${instance.name || 'this instance'}` }),
      h('ol', { class: 'rules' }, rules.map((r) => h('li', { text: r }))),
      h('p', { class: 'hint', text: 'By creating an account you agree to keep them.' })));
  }).catch(() => {});
  return box;
}
