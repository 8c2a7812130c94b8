// report: what the pages of reportable things share (docs/moderation.md) —
// the "Report" button and its dialog (a reason from the list and a note,
// POST /api/v1/reports), and, for the owners of something a moderator hid,
// the notice saying why with its one appeal (GET /api/v1/me/moderation).
import { api, get, itemsOf } from './api.js';
import { h, replace, dateTime, uid } from './dom.js';
import { field, onSubmit, showErrors, value } from './forms.js';
import { session } from './session.js';
import { toast } from './ui.js';

export const REPORT_REASONS = [
  ['fake', 'Fake or impersonating someone'], ['spam', 'Spam or advertising'], ['misleading', 'Misleading'],
  ['abusive', 'Abusive or hateful'], ['illegal', 'Illegal'], ['other', 'Something else'],
];
export const reasonWord = (r) => REPORT_REASONS.find(([k]) => k === r)?.[1] ?? r;

// A message is reported as itself (kind agreement_message or
// engagement_message, by its thread; the report's snapshot keeps its words),
// shown in the dialog. null for one's own messages and hidden ones.
export function reportMessageButton(m) {
  const author = m.author;
  if (!author?.id || String(author.id) === String(session.me?.account?.id) || m.hidden) return null;
  const when = m.created_at ? ` (${dateTime(m.created_at)})` : '';
  return reportButton({ kind: m.agreement_id != null ? 'agreement_message' : 'engagement_message', target: m.id,
    label: `this message by ${author.display_name}`, name: `Report this message by ${author.display_name}`,
    quote: `The message${when}: “${m.body}”` });
}

// A "Report" button for signed-in people: kind and target as POST /reports
// takes them; label is how the dialog names the thing; quote, text the
// dialog shows of it (a message). null when signed out.
export function reportButton({ kind, target, version, label, quote, name = 'Report' }) {
  if (!session.me?.account) return null;
  const button = h('button', { class: 'btn btn--quiet btn--small', type: 'button', text: 'Report', 'aria-haspopup': 'dialog',
    'aria-label': name === 'Report' ? null : name });
  button.addEventListener('click', () => openReport({ kind, target, version, label, quote }, button));
  return button;
}

function openReport({ kind, target, version, label, quote }, opener) {
  const titleId = uid('report-title');
  const form = h('form', { class: 'stack' },
    field({ label: 'Why are you reporting it?', name: 'reason', type: 'select', required: true,
      options: [['', 'Choose a reason'], ...REPORT_REASONS] }),
    field({ label: 'What should the moderators know?', name: 'note', type: 'textarea', rows: 4, optional: true, maxlength: 2000,
      hint: 'The moderators of this instance read it. The people you report are never told who reported them.' }),
    h('div', { class: 'actions' },
      h('button', { class: 'btn', type: 'submit', text: 'Send the report' }),
      h('button', { class: 'btn btn--secondary', type: 'button', value: 'cancel', text: 'Cancel', onclick: () => dialog.close() })));
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId },
    h('h2', { id: titleId, text: `Report ${label}` }),
    quote ? h('blockquote', { class: 'prose thread__body', text: quote }) : null, form);
  onSubmit(form, async () => {
    const reason = value(form, 'reason');
    if (!reason) {
      showErrors(form, [{ field: 'reason', message: 'choose a reason' }]);
      return;
    }
    const note = value(form, 'note');
    await api('POST', '/api/v1/reports', { body: { kind, target: String(target), ...(version ? { version } : {}), reason, ...(note ? { note } : {}) } });
    dialog.close();
    toast('Thank you. The moderators have your report.');
  });
  dialog.addEventListener('close', () => { dialog.remove(); opener?.focus(); });
  document.body.append(dialog);
  dialog.showModal();
}

// For the owners of a thing: when the last action of a moderator on it hid
// it, a notice with the reason and, once, an appeal. match(subject) says
// whether an action's subject is this thing. Draws into box (empty when
// there is nothing to say).
export async function hiddenNotice(box, match, { signal } = {}) {
  if (!session.me?.account) return;
  const data = await get('/api/v1/me/moderation?limit=100', { signal });
  const last = itemsOf(data).find((a) => match(a.subject) && ['hide', 'restore', 'suspend'].includes(a.action));
  if (!last || last.action !== 'hide') return;
  const body = h('div', { class: 'stack' },
    h('p', {}, `A moderator of this instance hid it on ${dateTime(last.created_at)}. Only you and the moderators can see it. The reason given: `,
      h('strong', { text: last.reason })));
  const paint = (action) => {
    if (action.appeal) {
      body.append(h('p', { text: action.appeal.resolved_at
        ? `Your appeal was settled on ${dateTime(action.appeal.resolved_at)}.`
        : `You appealed on ${dateTime(action.appeal.created_at)}: the moderators will look at it again.` }));
      return;
    }
    const form = h('form', { class: 'stack' },
      field({ label: 'Appeal: why should it be shown again?', name: 'note', type: 'textarea', rows: 3, required: true, maxlength: 2000,
        hint: 'You can appeal once. The moderators read it with the action.' }),
      h('div', { class: 'actions' }, h('button', { class: 'btn', type: 'submit', text: 'Send the appeal' })));
    onSubmit(form, async () => {
      const { data: appealed } = await api('POST', `/api/v1/me/moderation/${last.id}/appeal`, { body: { note: value(form, 'note') } });
      form.remove();
      paint(appealed);
      toast('Your appeal is sent.');
    });
    body.append(form);
  };
  paint(last);
  replace(box, h('section', { class: 'notice notice--warn stack', role: 'region', 'aria-label': 'Hidden by a moderator' },
    h('h2', { text: 'Hidden by a moderator' }), body));
}

// Where the owners' notice goes on a page: drawn when there is one, silent
// on failure (the page itself is what matters).
export function hiddenNoticeBox(match, signal) {
  const box = h('div', { class: 'hidden-notice' });
  hiddenNotice(box, match, { signal }).catch(() => {});
  return box;
}
