// remote: organisations on other instances (docs/federation.md) — follow one
// by its handle, see the remote follows and the open engagements they sent
// here, each marked remote and linking home, with a proposal from here.
import { api, get, itemsOf } from './api.js';
import { h, plural, timeEl } from './dom.js';
import { field, onSubmit, showErrors } from './forms.js';
import { busy, empty, errorNotice, skeletons, toast } from './ui.js';

const STATE = { pending: 'Waiting for their instance', accepted: 'Following', rejected: 'Refused by their instance' };

export function remoteFollowing(ctx) {
  const follows = h('div', {}, skeletons(1));
  const engagements = h('div', {}, skeletons(1));
  const form = h('form', { class: 'form form--inline', 'aria-label': 'Follow an organisation on another instance' },
    field({ label: 'Handle', name: 'handle', placeholder: 'river-keepers@purposed.example', required: true,
      hint: 'The organisation’s handle on its own instance, as name@host.' }),
    h('div', { class: 'actions' }, h('button', { class: 'btn', type: 'submit', text: 'Follow' })));
  onSubmit(form, async () => {
    const handle = form.elements.handle.value.trim().replace(/^@/, '');
    if (!/^[^@\s]+@[^@\s]+$/.test(handle.replace(/^acct:/, ''))) {
      showErrors(form, [{ field: 'handle', message: 'write it as name@host' }]);
      return;
    }
    await api('POST', '/api/v1/me/remote-follows', { body: { handle: handle.startsWith('acct:') ? handle : `acct:${handle}` } });
    toast(`Follow sent to ${handle}.`);
    form.reset();
    await load();
  });

  async function load() {
    try {
      const [f, e] = await Promise.all([get('/api/v1/me/remote-follows', { signal: ctx.signal }),
        get('/api/v1/remote-engagements?status=open', { signal: ctx.signal })]);
      const items = itemsOf(f);
      follows.replaceChildren(items.length ? h('ul', { class: 'members' }, items.map((x) => followItem(x, load)))
        : h('p', { class: 'muted', text: 'You follow no organisation on another instance.' }));
      const open = itemsOf(e);
      engagements.replaceChildren(open.length ? h('ul', { class: 'cards', 'aria-label': 'Engagements from other instances' }, open.map(engagementCard))
        : empty({ title: 'No engagements from other instances yet', text: 'Once an organisation you follow accepts, its open engagements appear here.' }));
    } catch (err) {
      if (err.name !== 'AbortError') follows.replaceChildren(errorNotice(err, { what: 'Your follows on other instances' }));
    }
  }
  load();
  return h('section', { class: 'stack', 'aria-labelledby': 'remote-follows-title' },
    h('h2', { id: 'remote-follows-title', text: 'On other instances' }),
    h('p', { class: 'muted', text: 'Follow an organisation on another Purposed instance: its engagements come here, and you can propose an agreement to it from here.' }),
    form, follows,
    h('h3', { text: 'Their open engagements' }), engagements);
}

function followItem(f, reload) {
  const b = h('button', { class: 'btn btn--secondary btn--small', type: 'button', text: 'Unfollow', 'aria-label': `Unfollow ${f.name}` });
  b.addEventListener('click', async () => {
    busy(b, true);
    try {
      await api('DELETE', `/api/v1/me/remote-follows/${encodeURIComponent(f.id)}`);
      toast(`You no longer follow ${f.name}.`);
      await reload();
    } catch (err) { busy(b, false); toast(err.message, 'error'); }
  });
  return h('li', { class: 'member' },
    h('a', { class: 'member__name', href: f.url, rel: 'noopener', text: f.name }),
    h('span', { class: 'muted small', text: `@${f.handle.replace(/^acct:/, '')}` }),
    h('span', { class: 'badge', text: STATE[f.state] ?? f.state }),
    f.followed_at ? h('span', { class: 'muted small' }, 'followed ', timeEl(f.followed_at)) : null, b);
}

function engagementCard(e) {
  return h('li', {}, h('article', { class: 'card' },
    h('p', { class: 'card__eyebrow' }, h('span', { class: 'badge', text: 'Remote' }),
      h('a', { href: e.organisation.url, rel: 'noopener', text: e.organisation.name })),
    h('h3', { class: 'card__title' }, h('a', { href: e.url, rel: 'noopener', text: e.title })),
    e.hours_per_week ? h('p', { class: 'small', text: `${plural(e.hours_per_week, 'hour')} a week` }) : null,
    h('div', { class: 'actions' },
      h('a', { class: 'btn btn--small', href: `/agreements/new?remote_engagement=${encodeURIComponent(e.id)}`, text: 'Propose an agreement' }))));
}
