// organisation-new: start an organisation; its creator becomes the owner.
import { api, newKey } from '../api.js';
import { h, replace } from '../dom.js';
import { onSubmit } from '../forms.js';
import { organisationBody, organisationFields } from '../org-form.js';
import { requireSignIn } from '../router.js';
import { loadSession } from '../session.js';
import { formLayout, pageHead, toast } from '../ui.js';

export default function render(ctx) {
  ctx.setTitle('Start an organisation');
  if (!requireSignIn(ctx, 'start an organisation')) return;
  const { el, picker } = organisationFields();
  const key = newKey();
  const form = h('form', { class: 'form', 'aria-labelledby': 'new-org-title' },
    el,
    h('div', { class: 'actions' },
      h('button', { class: 'btn', type: 'submit', text: 'Create organisation' }),
      h('a', { class: 'btn btn--quiet', href: '/organisations', text: 'Cancel' })));
  onSubmit(form, async () => {
    const res = await api('POST', '/api/v1/organisations', { body: organisationBody(form, picker), idempotencyKey: key });
    await loadSession(); // the new membership
    toast('Your organisation is live. Next: post the work it needs.');
    ctx.navigate(`/organisations/${encodeURIComponent(res.data.slug)}`, { replace: true });
  });
  replace(ctx.root,
    pageHead({ crumbs: [['Organisations', '/organisations'], ['New']], title: 'Start an organisation',
      lead: 'Write down why it exists and how people work together there. Every change to this charter is kept, so people always know what they are joining.' }),
    formLayout(h('div', { class: 'card' }, form), {
      title: 'A charter people can join',
      steps: [
        ['Purpose first', 'Say why the organisation exists and for whom — not what it sells.'],
        ['Norms in plain words', 'How decisions are made, how money and time are shared, how people leave.'],
        ['Change in the open', 'Edits make a new charter version with a note; the history stays public.'],
      ],
    }));
  const title = ctx.root.querySelector('h1');
  title.id = 'new-org-title';
}
