// credential: one Open Badges credential as a person reads it — who vouches
// for what, its verification by the instance (signature, key, status,
// dates) with a button to check again, copy and download of the signed
// JSON, publication by its holder, revocation by the issuing organisation
// (reached from its credentials list: ?organisation=slug).
import { api, ApiError, get, itemsOf } from '../api.js';
import { h, replace, day, dateTime } from '../dom.js';
import { canManage, myAgent } from '../session.js';
import { busy, errorNotice, notice, toast } from '../ui.js';

const CHECK_NAMES = { proof: 'Proof', key: 'Signing key', signature: 'Signature', issued: 'Issued here', status: 'Not revoked', dates: 'Dates' };

async function load(ctx, uuid, organisation) {
  try {
    return { vc: await get(`/api/v1/credentials/${encodeURIComponent(uuid)}`, { signal: ctx.signal }), item: null };
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404) || !organisation) throw err;
  }
  // the issuing organisation's members find it in its list
  for (let cursor = null; ;) {
    const data = await get(`/api/v1/organisations/${encodeURIComponent(organisation)}/credentials?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { signal: ctx.signal });
    const item = itemsOf(data).find((c) => c.id === uuid);
    if (item) return { vc: item.credential, item };
    if (!data.next_cursor) throw new ApiError(404, 'No such credential.');
    cursor = data.next_cursor;
  }
}

// "revoked by … : reason" as a sentence: a capital first, one full stop.
const sentence = (text) => `${text.charAt(0).toUpperCase()}${text.slice(1)}`.replace(/\.?$/, '.');

function verification(vc) {
  const box = h('div', { class: 'stack', 'aria-live': 'polite' });
  const button = h('button', { class: 'btn btn--secondary', type: 'button', text: 'Verify again' });
  const run = async () => {
    busy(button, true);
    try {
      const res = await api('POST', '/api/v1/credentials/verify', { body: vc });
      const { verified, checks } = res.data;
      const revoked = checks.some((c) => c.check === 'status' && !c.ok && /revoked/.test(c.detail));
      box.replaceChildren(
        notice(verified ? 'ok' : revoked ? 'warn' : 'error',
          verified ? 'Verified' : revoked ? 'Revoked' : 'Not verified',
          verified ? 'The signature is good, by a key of this instance, and the organisation has not revoked it.'
            : revoked ? sentence(checks.find((c) => c.check === 'status').detail)
              : checks.filter((c) => !c.ok).map((c) => `${CHECK_NAMES[c.check] ?? c.check}: ${sentence(c.detail)}`).join(' ')),
        h('ul', { class: 'list-plain stack', 'aria-label': 'Checks' }, checks.map((c) => h('li', { class: 'small' },
          h('strong', { text: `${c.ok ? '✓' : '✗'} ${CHECK_NAMES[c.check] ?? c.check}: ` }), c.detail))));
      box.dataset.state = verified ? 'verified' : revoked ? 'revoked' : 'failed';
    } catch (err) {
      box.replaceChildren(errorNotice(err));
    } finally {
      busy(button, false);
    }
  };
  button.addEventListener('click', run);
  run();
  return h('section', { class: 'card', 'aria-labelledby': 'verify-title' },
    h('h2', { id: 'verify-title', text: 'Verification' }), box, h('div', { class: 'actions' }, button));
}

function signedJson(vc, uuid) {
  const text = JSON.stringify(vc, null, 2);
  const copy = h('button', { class: 'btn btn--secondary', type: 'button', text: 'Copy JSON' });
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      toast('The signed credential is copied.');
    } catch {
      toast('Copying is not allowed here: use Download.', 'error');
    }
  });
  const download = h('a', { class: 'btn btn--secondary', download: `credential-${uuid}.json`,
    href: URL.createObjectURL(new Blob([text], { type: 'application/json' })), text: 'Download' });
  return h('section', { 'aria-labelledby': 'json-title' },
    h('h2', { id: 'json-title', text: 'The signed credential' }),
    h('p', { class: 'muted', text: 'Anyone can check it without Purposed: the key is published at the issuer’s did:web address, the proof is eddsa-jcs-2022.' }),
    h('div', { class: 'actions' }, copy, download),
    h('details', {}, h('summary', { text: 'Show the JSON' }), h('pre', { class: 'code', text })));
}

function holderActions(uuid) {
  const box = h('div', { class: 'actions' });
  get('/api/v1/me/credentials?limit=100').then((data) => {
    const mine = itemsOf(data).find((c) => c.id === uuid);
    if (!mine) return;
    const button = h('button', { class: 'btn btn--secondary', type: 'button', text: mine.published ? 'Hide from my profile' : 'Publish on my profile' });
    button.addEventListener('click', async () => {
      busy(button, true);
      try {
        const res = await api('PUT', `/api/v1/me/credentials/${encodeURIComponent(uuid)}/publication`, { body: { published: !mine.published } });
        mine.published = res.data.published;
        button.textContent = mine.published ? 'Hide from my profile' : 'Publish on my profile';
        toast(mine.published ? 'Published: anyone with the link, and your profile, shows it.' : 'Hidden: only you see it now.');
      } catch (err) {
        toast(err.message ?? String(err), 'error');
      } finally {
        busy(button, false);
      }
    });
    box.append(button);
  }).catch(() => {});
  return box;
}

function revokeForm(ctx, organisation, uuid, item) {
  if (item?.revocation) return notice('warn', 'Revoked', `On ${dateTime(item.revocation.revoked_at)}: ${item.revocation.reason}`);
  const reason = h('textarea', { id: 'revoke-reason', rows: 3, maxlength: 1000, required: true });
  const button = h('button', { class: 'btn btn--danger', type: 'submit', text: 'Revoke' });
  const form = h('form', { class: 'stack' },
    h('label', { for: 'revoke-reason', text: 'Why the organisation withdraws it (recorded, and shown to anyone who verifies it)' }), reason,
    h('div', { class: 'actions' }, button));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    busy(button, true);
    try {
      await api('POST', `/api/v1/organisations/${encodeURIComponent(organisation)}/credentials/${encodeURIComponent(uuid)}/revoke`, { body: { reason: reason.value } });
      toast('Revoked.');
      ctx.reload();
    } catch (err) {
      busy(button, false);
      toast(err.message ?? String(err), 'error');
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'revoke-title' }, h('h2', { id: 'revoke-title', text: 'Revoke' }), form);
}

export default async function render(ctx) {
  ctx.setTitle('Credential');
  const uuid = ctx.params.id;
  const organisation = ctx.query.get('organisation');
  let vc, item;
  try {
    ({ vc, item } = await load(ctx, uuid, organisation));
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 400 || err.status === 403)) {
      replace(ctx.root, h('div', { class: 'empty' },
        h('h1', { class: 'empty__title', text: 'We could not find this credential' }),
        h('p', { text: 'A credential is public once its holder publishes it; before, only its holder sees it.' })));
      return;
    }
    throw err;
  }
  const s = vc.credentialSubject ?? {};
  const ach = s.achievement ?? {};
  const holderHandle = String(s.id ?? '').split('/agents/')[1];
  ctx.setTitle(vc.name ?? 'Credential');
  replace(ctx.root,
    h('header', { class: 'page-head' },
      h('p', { class: 'page-head__eyebrow', text: 'Open Badges credential' }),
      h('h1', { text: vc.name ?? ach.name ?? 'Credential' }),
      h('p', { class: 'lead' },
        'Issued by ', vc.issuer?.url ? h('a', { href: new URL(vc.issuer.url).pathname, text: vc.issuer.name }) : (vc.issuer?.name ?? ''),
        ' to ', holderHandle ? h('a', { href: `/agents/${encodeURIComponent(holderHandle)}`, text: `@${holderHandle}` }) : (s.id ?? 'its holder'),
        vc.validFrom ? ` on ${day(vc.validFrom)}` : '', '.')),
    h('div', { class: 'layout-split' },
      h('div', { class: 'stack-lg' },
        h('section', { 'aria-labelledby': 'what-title' },
          h('h2', { id: 'what-title', text: 'What it says' }),
          ach.description ? h('p', { class: 'prose', text: ach.description }) : null,
          ach.criteria?.narrative ? h('p', { class: 'prose', text: ach.criteria.narrative }) : null,
          ach.tag?.length ? h('p', { class: 'muted', text: `Purposes: ${ach.tag.join(', ')}` }) : null),
        (vc.evidence ?? []).length ? h('section', { 'aria-labelledby': 'evidence-title' },
          h('h2', { id: 'evidence-title', text: 'Evidence' }),
          vc.evidence.map((e) => h('p', { class: 'prose', text: e.narrative ?? e.name ?? '' }))) : null,
        signedJson(vc, uuid)),
      h('aside', { class: 'stack', 'aria-label': 'Verification' },
        verification(vc),
        myAgent() && holderHandle === myAgent().handle ? holderActions(uuid) : null,
        organisation && canManage(organisation) ? revokeForm(ctx, organisation, uuid, item) : null)));
}
