// credentials: the pieces of the verifiable track record other pages show —
// the credential card of a concluded agreement ("Get a credential", the
// history check) and the list of an agent's published credentials.
import { api, ApiError, get, itemsOf } from './api.js';
import { h, day, plural } from './dom.js';
import { busy, errorNotice, toast } from './ui.js';

export const credentialPath = (uuid) => `/credentials/${encodeURIComponent(uuid)}`;
export const credentialUuid = (vc) => String(vc?.id ?? '').split('/').pop();

// The hash-chained history of an agreement, checked by the instance:
// "verified" with its head, or the first broken link.
export async function historyState(agreementId, signal) {
  const doc = await get(`/api/v1/agreements/${encodeURIComponent(agreementId)}/proof`, { signal });
  return doc;
}

function historyLine(doc) {
  if (doc.verified) {
    return h('p', { class: 'small' }, h('strong', { text: 'History intact. ' }),
      `${plural(doc.links.length, 'entry', 'entries')} chained; head ${String(doc.head?.hash ?? '').slice(0, 12)}…`);
  }
  const b = doc.first_broken ?? {};
  return h('p', { class: 'small', role: 'alert' }, h('strong', { text: 'History broken. ' }),
    `${b.seq ? `Link ${b.seq}` : 'An entry'} (${b.kind} ${b.entry}): ${b.reason}.`);
}

// The aside card of an agreement: its history check, and for a concluded
// agreement the agent's credential (asking for it issues it once).
export function agreementCredentialCard(a, side, signal) {
  const history = h('div', {}, h('p', { class: 'muted small', text: 'Checking the history…' }));
  const credential = h('div', { class: 'stack' });
  historyState(a.id, signal).then((doc) => history.replaceChildren(historyLine(doc),
    h('p', {}, h('a', { href: `/api/v1/agreements/${encodeURIComponent(a.id)}/proof`, text: 'The signed chain (JSON)' }))))
    .catch((err) => history.replaceChildren(errorNotice(err, { what: 'The agreement history' })));
  if (a.status === 'concluded' && side === 'agent' && a.federated_uri) {
    // the organisation is on another instance: its record is here, its name and signature are not
    credential.append(h('p', { class: 'muted small', text: 'Credentials are not issued yet for an agreement with an organisation on another instance.' }));
  } else if (a.status === 'concluded' && side === 'agent') {
    const button = h('button', { class: 'btn', type: 'button', text: 'Get a credential' });
    button.addEventListener('click', async () => {
      busy(button, true);
      try {
        const res = await api('POST', `/api/v1/agreements/${encodeURIComponent(a.id)}/credential`);
        location.assign(credentialPath(credentialUuid(res.data)));
      } catch (err) {
        busy(button, false);
        toast(err instanceof ApiError ? err.message : String(err), 'error');
      }
    });
    credential.append(h('p', { class: 'muted small', text: 'A signed Open Badges credential of this agreement, when the organisation recorded that your commitments were kept: yours to publish, download and show anywhere.' }), button);
  }
  const org = a.organisation?.slug;
  if (a.status === 'concluded' && side === 'organisation' && org) {
    // the credential the agent took, if any: its page is where the organisation revokes it
    get(`/api/v1/organisations/${encodeURIComponent(org)}/credentials?limit=100`, { signal }).then((data) => {
      const c = itemsOf(data).find((x) => x.agreement_id === a.id);
      if (c) credential.append(h('p', {}, h('a', { href: `${credentialPath(c.id)}?organisation=${encodeURIComponent(org)}`,
        text: c.revocation ? 'The agent’s credential (revoked)' : 'The agent’s credential' })));
    }).catch(() => {});
  }
  return h('section', { class: 'card', 'aria-labelledby': 'record-title' },
    h('h2', { id: 'record-title', text: 'Verifiable record' }), history, credential);
}

// An agent's published credentials, for the profile page.
export function publishedCredentials(handle, signal) {
  const box = h('section', { class: 'card', 'aria-labelledby': 'credentials-title' },
    h('h2', { id: 'credentials-title', text: 'Credentials' }), h('p', { class: 'muted small', text: 'Loading…' }));
  get(`/api/v1/agents/${encodeURIComponent(handle)}/credentials?limit=100`, { signal }).then((data) => {
    const items = itemsOf(data);
    box.replaceChildren(box.firstChild, items.length
      ? h('ul', { class: 'list-plain stack' }, items.map((c) => h('li', {},
        h('a', { href: credentialPath(c.id), text: c.credential?.name ?? 'Credential' }),
        h('span', { class: 'muted small', text: ` · ${c.revoked ? 'revoked' : `issued ${day(c.issued_at)}`}` }))))
      : h('p', { class: 'muted small', text: 'No published credentials yet.' }));
  }).catch(() => box.remove());
  return box;
}
