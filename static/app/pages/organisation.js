// organisation: the public page of an organisation (charter, history,
// purposes, open engagements, follow) and, for its members, editing,
// members, posting engagements, its agreements and the hours given under them.
import { api, ApiError, get, itemsOf, newKey, query } from '../api.js';
import { h, replace, initials, num, plural, word, day, timeEl } from '../dom.js';
import { field, onSubmit, showErrors, value } from '../forms.js';
import { organisationBody, organisationFields } from '../org-form.js';
import { engagementBody, engagementFields, engagementProblems } from '../engagement-form.js';
import { canManage, isMember, loadSession, myAgent, roleIn, session } from '../session.js';
import { agreementCard } from '../agreements.js';
import { hiddenNoticeBox, reportButton } from '../report.js';
import { badge, busy, empty, engagementCard, errorNotice, formLayout, notice, pagedList, publishedNotes, purposeChips, remoteHome, skeletons, toast, unavailable, verifiedBadge, verifiedHow } from '../ui.js';

const TABS = [['', 'Overview'], ['edit', 'Edit'], ['members', 'Members'], ['post', 'Post an engagement'], ['agreements', 'Agreements'], ['hours', 'Hours']];

export default async function render(ctx) {
  const slug = ctx.params.slug;
  const tab = ctx.params.tab ?? '';
  if (!TABS.some(([t]) => t === tab)) {
    const { default: notFound } = await import('./not-found.js');
    return notFound(ctx);
  }
  let res;
  try {
    res = await api('GET', `/api/v1/organisations/${encodeURIComponent(slug)}`, { signal: ctx.signal });
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && !err.missing) {
      ctx.setTitle('Organisation not found');
      replace(ctx.root, empty({ title: 'We could not find this organisation',
        text: 'It may have a different address. Browse the list of organisations instead.',
        action: h('a', { class: 'btn', href: '/organisations', text: 'Browse organisations' }) }));
      ctx.root.querySelector('.empty__title').replaceWith(h('h1', { class: 'empty__title', text: 'We could not find this organisation' }));
      return;
    }
    if (err instanceof ApiError && err.missing) {
      ctx.setTitle('Organisations');
      replace(ctx.root, h('h1', { text: 'Organisation' }), unavailable('Organisation pages'));
      return;
    }
    throw err;
  }
  const org = res.data;
  const etag = res.etag ?? String(org.version ?? '');
  const member = isMember(slug);
  const manager = canManage(slug);
  ctx.setTitle(tab ? `${TABS.find(([t]) => t === tab)[1]} · ${org.name}` : org.name);

  const header = orgHeader(org, ctx);
  const tabs = member ? h('nav', { 'aria-label': 'Organisation' }, h('ul', { class: 'tabs' },
    TABS.filter(([t]) => t !== 'edit' || manager).map(([t, label]) => h('li', {},
      h('a', { href: `/organisations/${encodeURIComponent(slug)}${t ? `/${t}` : ''}`, 'aria-current': t === tab ? 'page' : null, text: label }))))) : null;
  const body = h('div');
  // its members see why a moderator hid it (and appeal); others may report it
  const hidden = member ? hiddenNoticeBox((s) => s.kind === 'organisation' && s.label === slug, ctx.signal) : null;
  // an organisation another instance keeps: its charter and engagements as fetched from home
  const remote = org.remote ? notice('info', `An organisation on ${org.remote.instance}`,
    'Its charter and open engagements are kept here as its home publishes them. Follow it, ask and take part there.',
    h('a', { class: 'btn btn--secondary', href: org.remote.url, rel: 'noopener', text: `Open it on ${org.remote.instance}` })) : null;
  replace(ctx.root, header, hidden, remote, tabs, body);

  if (tab && !member) {
    body.append(notice('info', 'For members of this organisation',
      `Only members of ${org.name} can see this part. Ask an owner to add you.`,
      h('a', { class: 'btn btn--secondary', href: `/organisations/${encodeURIComponent(slug)}`, text: 'Back to the organisation' })));
    return;
  }
  if (tab === 'edit') return editTab(ctx, org, etag, body);
  if (tab === 'members') return membersTab(ctx, org, body);
  if (tab === 'post') return postTab(ctx, org, body);
  if (tab === 'agreements') return agreementsTab(ctx, org, body);
  if (tab === 'hours') return hoursTab(ctx, org, body);
  return overview(ctx, org, body, member);
}

function orgHeader(org, ctx) {
  const facts = [org.legal_form && word(org.legal_form), org.governance && `${word(org.governance)} governance`, org.location].filter(Boolean);
  return h('header', { class: 'page-head' },
    h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' }, h('ol', {},
      h('li', {}, h('a', { href: '/organisations', text: 'Organisations' })),
      h('li', {}, h('span', { 'aria-current': 'page', text: org.name })))),
    h('div', { class: 'page-head__row' },
      h('div', { class: 'org-head' },
        h('span', { class: 'avatar', 'aria-hidden': 'true', text: initials(org.name) }),
        h('div', {},
          h('h1', { text: org.name }),
          verifiedBadge(org),
          facts.length ? h('p', { class: 'page-head__eyebrow', text: facts.join(' · ') }) : null,
          purposeChips(org.purposes))),
      h('div', { class: 'actions' }, org.remote ? remoteHome(org) : followBox(org, ctx),
        isMember(org.slug) ? null : reportButton({ kind: 'organisation', target: org.slug, label: org.name }))));
}

// ---------- follow ----------

export async function myFollowedSlugs(signal) {
  for (const path of ['/api/v1/me/follows', '/api/v1/me/following']) {
    try {
      const data = await get(`${path}?limit=100`, { signal });
      return new Set(itemsOf(data).map((x) => x.slug ?? x.organisation?.slug ?? x.organisation));
    } catch (err) {
      if (!(err instanceof ApiError && err.missing)) return null;
    }
  }
  return null;
}

function followBox(org, ctx) {
  let followers = Number(org.followers ?? 0);
  let following = org.following ?? org.followed ?? org.is_following ?? null;
  const count = h('span', { class: 'follow-box__count', 'aria-live': 'polite' });
  const button = h('button', { class: 'btn btn--secondary', type: 'button' });
  const showCount = () => { count.textContent = plural(followers, 'follower'); };
  const paint = () => {
    button.setAttribute('aria-pressed', String(Boolean(following)));
    button.classList.toggle('btn--on', Boolean(following));
    button.textContent = following ? 'Following ✓' : 'Follow';
    button.setAttribute('aria-label', following ? `Following ${org.name}` : `Follow ${org.name}`);
  };
  showCount();
  paint();
  if (following === null && session.me) {
    myFollowedSlugs(ctx.signal).then((set) => { if (set) { following = set.has(org.slug); paint(); } }).catch(() => {});
  }
  button.addEventListener('click', async () => {
    if (!session.me) { ctx.navigate(`/signin?next=${encodeURIComponent(location.pathname)}`); return; }
    if (!myAgent()) {
      toast('Create your agent profile first: following is how agents join a talent pool.', 'error');
      ctx.navigate('/me/profile');
      return;
    }
    busy(button, true);
    try {
      await api(following ? 'DELETE' : 'PUT', `/api/v1/organisations/${encodeURIComponent(org.slug)}/follow`);
      followers += following ? -1 : 1;
      following = !following;
      showCount();
      toast(following ? `You follow ${org.name}. Their new engagements will rank higher for you.` : `You no longer follow ${org.name}.`);
    } catch (err) {
      toast(err instanceof ApiError && err.missing ? 'Following is not available on this server yet.' : err.message, 'error');
    } finally {
      busy(button, false);
      paint();
    }
  });
  return h('div', { class: 'follow-box' }, button, count);
}

// ---------- overview ----------

// The owners prove the organisation controls its website: a token, where to
// serve it, and a check whose findings are shown as the daemon words them.
function verificationBox(ctx, org) {
  const box = h('section', { class: 'card stack', 'aria-labelledby': 'verify-title' }, skeletons(1));
  const base = `/api/v1/organisations/${encodeURIComponent(org.slug)}/verification`;
  const action = (label, method, path, after) => {
    const button = h('button', { class: 'btn btn--small', type: 'button', text: label });
    button.addEventListener('click', async () => {
      busy(button, true);
      try {
        after((await api(method, path, { idempotencyKey: newKey() })).data, null);
      } catch (err) {
        if (err instanceof ApiError && err.status === 422) after(null, err.message);
        else toast(err.message, 'error');
      } finally {
        busy(button, false);
      }
    });
    return button;
  };
  let state = null;
  const paint = (v, failed) => {
    if (v) state = v;
    v = state;
    box.replaceChildren(h('h2', { class: 'h3', id: 'verify-title', text: 'Website verification' }),
      !v.website ? h('p', { class: 'muted', text: 'Add your website (Edit) to have it verified.' })
        : v.verified ? h('p', { text: `Verified since ${day(v.verification.verified_at)}: ${verifiedHow(v)}. It is checked again every week.` })
          : h('p', { class: 'muted', text: 'Prove that this organisation runs its website: verified organisations show a badge.' }),
      v.website && !v.token ? action('Get a verification token', 'POST', base, (data) => paint(data)) : null,
      v.website && v.token ? [
        h('p', { class: 'small' }, 'Serve the token in the file ', h('code', { text: v.well_known_url }), ', or put this tag in the page at ',
          h('code', { text: v.website }), ':'),
        h('p', { class: 'small' }, h('code', { text: v.meta_tag })),
        action('Check now', 'POST', `${base}/check`, (data, why) => {
          if (data) { toast('Verified: the badge shows on your organisation.'); paint(data); } else paint(null, why);
        }),
      ] : null,
      failed ? notice('error', 'Not verified yet', failed) : null,
      v.last_check && !failed ? h('p', { class: 'small muted', text: `Last checked ${day(v.last_check.checked_at)}: ${v.last_check.detail}` }) : null);
  };
  get(base, { signal: ctx.signal }).then((v) => paint(v))
    .catch((err) => { if (err.name !== 'AbortError') box.replaceChildren(errorNotice(err, { what: 'Website verification' })); });
  return box;
}

async function overview(ctx, org, body, member) {
  const engagements = h('div');
  const charter = h('div', {}, skeletons(1));
  const facts = h('dl', { class: 'facts' },
    org.legal_form ? [h('dt', { text: 'Legal form' }), h('dd', { text: word(org.legal_form) })] : null,
    org.governance ? [h('dt', { text: 'Governance' }), h('dd', { text: word(org.governance) })] : null,
    org.location ? [h('dt', { text: 'Location' }), h('dd', { text: org.location })] : null,
    org.website ? [h('dt', { text: 'Website' }), h('dd', {}, safeLink(org.website))] : null,
    org.verified ? [h('dt', { text: 'Verified' }), h('dd', { text: `Since ${day(org.verification.verified_at)}: ${verifiedHow(org)}` })] : null,
    [h('dt', { text: 'Charter' }), h('dd', { text: `Version ${num(org.charter_version ?? 1)}` })],
    org.open_engagements !== undefined ? [h('dt', { text: 'Open work' }), h('dd', { text: plural(org.open_engagements, 'engagement') })] : null,
    org.track_record?.concluded ? [h('dt', { text: 'Track record' }),
      h('dd', { text: `Kept its commitments in ${num(org.track_record.commitments_kept)} of ${plural(org.track_record.concluded, 'concluded agreement')}, say the agents` })] : null,
    org.created_at ? [h('dt', { text: 'Joined' }), h('dd', { text: day(org.created_at) })] : null);

  body.append(h('div', { class: 'layout-split' },
    h('div', { class: 'stack-lg' },
      h('section', { 'aria-labelledby': 'purpose-title' },
        h('h2', { id: 'purpose-title', text: 'Purpose' }),
        h('p', { class: 'statement', text: org.purpose_statement ?? '' })),
      h('section', { 'aria-labelledby': 'norms-title' },
        h('h2', { id: 'norms-title', text: 'How we work together' }),
        org.association_norms
          ? h('p', { class: 'prose', text: org.association_norms })
          : h('p', { class: 'muted', text: 'No association norms written down yet.' })),
      h('section', { 'aria-labelledby': 'open-title' },
        h('div', { class: 'section__head' },
          h('h2', { id: 'open-title', text: 'Open engagements' }),
          member ? h('a', { class: 'btn btn--small', href: `/organisations/${encodeURIComponent(org.slug)}/post`, text: 'Post an engagement' }) : null),
        engagements),
      org.published_closures?.length ? h('section', { 'aria-labelledby': 'closures-title', class: 'stack' },
        h('h2', { id: 'closures-title', text: 'From concluded agreements' }),
        h('p', { class: 'muted', text: 'Closing notes both sides agreed to publish.' }),
        h('ul', { class: 'cards' }, org.published_closures.map((c) => h('li', { class: 'card card--flat' },
          h('h3', { class: 'card__title', text: c.role }),
          h('p', {}, c.agent ? ['With ', h('a', { href: `/agents/${encodeURIComponent(c.agent.handle)}`, text: c.agent.display_name })] : 'With an agent',
            h('span', { class: 'muted', text: ` · concluded ${day(c.concluded_on)}` })),
          h('p', { class: 'small', text: (c.closures ?? []).map((x) => `${x.side === 'agent' ? 'The agent' : 'The organisation'}: ${x.commitments_kept ? 'commitments kept' : 'commitments not kept'}`).join(' · ') }),
          publishedNotes(c.closures))))) : null,
      h('section', { 'aria-labelledby': 'history-title' },
        h('h2', { id: 'history-title', text: 'Charter history' }),
        h('p', { class: 'muted', text: 'Every version of the purpose statement and norms is kept, so you can see how this organisation has changed.' }),
        charter)),
    h('aside', { class: 'stack', 'aria-label': 'About' },
      h('section', { class: 'card' }, h('h2', { class: 'h3', text: 'At a glance' }), facts),
      member ? h('section', { class: 'card card--tint' },
        h('h2', { text: 'You are a member' }),
        h('p', { class: 'muted', text: `Your role: ${word(roleIn(org.slug))}.` }),
        h('p', { class: 'more-link' }, h('a', { href: `/organisations/${encodeURIComponent(org.slug)}/agreements`, text: 'See agreements →' }))) : null,
      roleIn(org.slug) === 'owner' ? verificationBox(ctx, org) : null)));

  // the whole history: the charter is paged like every list
  const charterPages = async (cursor, items = []) => {
    const data = await get(`/api/v1/organisations/${encodeURIComponent(org.slug)}/charter${query({ limit: 100, cursor })}`, { signal: ctx.signal });
    items.push(...itemsOf(data));
    return data.next_cursor ? charterPages(data.next_cursor, items) : items;
  };
  const charterLoad = charterPages()
    .then((items) => charter.replaceChildren(timeline(items, org)))
    .catch((err) => { if (err.name !== 'AbortError') charter.replaceChildren(errorNotice(err, { what: 'Charter history' })); });

  const engLoad = pagedList(engagements, {
    label: 'Open engagements', what: 'Engagements',
    fetchPage: (cursor) => get(`/api/v1/engagements${query({ organisation: org.slug, limit: 10, cursor })}`, { signal: ctx.signal }),
    renderItem: (e) => engagementCard(e, { hideOrganisation: true, extra: member ? h('p', { class: 'card__more more-link' },
      h('a', { href: `/engagements/${encodeURIComponent(e.id)}#candidates`, text: 'See ranked candidates →' })) : null }),
    emptyState: empty({
      title: 'No open engagements right now',
      text: member ? 'Post the work your purpose needs; matching agents will see it first.' : 'Follow this organisation to hear when it posts new work.',
      action: member ? h('a', { class: 'btn', href: `/organisations/${encodeURIComponent(org.slug)}/post`, text: 'Post an engagement' }) : null,
    }),
  });
  await Promise.all([charterLoad, engLoad]);
}

function safeLink(url) {
  try {
    const u = new URL(url);
    if (u.protocol === 'http:' || u.protocol === 'https:') return h('a', { href: u.href, rel: 'external noopener', target: '_blank', text: u.host + (u.pathname === '/' ? '' : u.pathname) });
  } catch { /* not a URL */ }
  return h('span', { text: url });
}

function timeline(versions, org) {
  if (!versions.length) return h('p', { class: 'muted', text: 'No history recorded yet.' });
  const sorted = [...versions].sort((a, b) => (b.version ?? 0) - (a.version ?? 0));
  return h('ol', { class: 'timeline' }, sorted.map((v, i) => {
    const prev = sorted[i + 1];
    const changed = prev ? [
      v.purpose_statement !== prev.purpose_statement ? 'purpose statement' : null,
      v.association_norms !== prev.association_norms ? 'association norms' : null].filter(Boolean) : [];
    const who = v.changed_by?.display_name ?? v.changed_by_name ?? (typeof v.changed_by === 'string' ? v.changed_by : null);
    return h('li', { class: `timeline__item${i === 0 ? ' timeline__item--current' : ''}` },
      h('span', { class: 'timeline__dot', 'aria-hidden': 'true' }),
      h('div', { class: 'timeline__head' },
        h('h3', { text: `Version ${num(v.version)}${i === 0 ? ' (current)' : ''}` }),
        h('span', { class: 'muted small' }, v.changed_at ? timeEl(v.changed_at, { relative: false }) : null, who ? ` · by ${who}` : '')),
      v.change_note ? h('p', { class: 'timeline__note', text: `“${v.change_note}”` })
        : h('p', { class: 'muted small', text: prev ? 'No change note.' : `${org.name} was founded with this charter.` }),
      changed.length ? h('p', { class: 'small', text: `Changed: ${changed.join(' and ')}.` }) : null,
      h('details', {},
        h('summary', { text: 'Read this version' }),
        h('h4', { class: 'small', text: 'Purpose statement' }),
        h('p', { class: 'prose', text: v.purpose_statement ?? '' }),
        h('h4', { class: 'small', text: 'Association norms' }),
        h('p', { class: 'prose', text: v.association_norms || '—' })));
  }));
}

// ---------- edit ----------

function editTab(ctx, org, etag, body) {
  if (!canManage(org.slug)) {
    body.append(notice('info', 'Owners and admins edit the organisation', 'Ask an owner of this organisation to make the change, or to make you an admin.'));
    return;
  }
  const { el, picker } = organisationFields(org, { editing: true });
  const form = h('form', { class: 'form', 'aria-label': `Edit ${org.name}` },
    h('p', { class: 'muted', text: 'Changing the purpose statement or the association norms creates a new charter version; the old one stays readable.' }),
    el,
    h('div', { class: 'actions' },
      h('button', { class: 'btn', type: 'submit', text: 'Save changes' }),
      h('a', { class: 'btn btn--quiet', href: `/organisations/${encodeURIComponent(org.slug)}`, text: 'Cancel' })));
  onSubmit(form, async () => {
    const patch = organisationBody(form, picker, org);
    if (!Object.keys(patch).length) { toast('Nothing changed.'); return; }
    try {
      await api('PATCH', `/api/v1/organisations/${encodeURIComponent(org.slug)}`, { body: patch, ifMatch: etag });
    } catch (err) {
      if (err instanceof ApiError && err.status === 412) {
        const reloadBtn = h('button', { class: 'btn', type: 'button', text: 'Reload' });
        reloadBtn.addEventListener('click', () => ctx.reload());
        showErrors(form, [], { title: 'Someone changed this organisation since you opened it — reload to see their changes',
          detail: 'Your edits are still in this form. Copy anything you want to keep before reloading.' });
        form.querySelector('.error-summary').append(h('div', { class: 'actions' }, reloadBtn));
        return;
      }
      throw err;
    }
    toast('Saved.');
    ctx.navigate(`/organisations/${encodeURIComponent(org.slug)}`);
  });
  body.append(formLayout(h('div', { class: 'card' }, h('h2', { text: 'Edit the organisation' }), form), {
    title: 'About changes',
    steps: [
      ['Charter versions', 'A new purpose statement or new norms make a new version; the old one stays readable.'],
      ['Say why', 'The change note is shown in the charter history for everyone who joined you.'],
      ['No lost edits', 'If someone else saves first, you are told before anything is overwritten.'],
    ],
  }));
}

// ---------- members ----------

async function membersTab(ctx, org, body) {
  const slug = encodeURIComponent(org.slug);
  const owner = roleIn(org.slug) === 'owner';
  const list = h('div', {}, skeletons(1));
  const followers = h('div', {}, skeletons(1));
  const invites = h('div', {});
  body.append(h('div', { class: 'layout-split' },
    h('div', { class: 'stack-lg' },
      h('section', { 'aria-labelledby': 'members-title' }, h('h2', { id: 'members-title', text: 'Members' }), list),
      owner ? h('section', { 'aria-labelledby': 'invitations-title' },
        h('h2', { id: 'invitations-title', text: 'Invitations' }),
        h('p', { class: 'muted', text: 'Asked to join, not accepted yet. An invitation works for 14 days; revoking it stops its link at once.' }),
        invites) : null,
      h('section', { 'aria-labelledby': 'followers-title' },
        h('h2', { id: 'followers-title', text: 'Talent pool' }),
        h('p', { class: 'muted', text: 'Agents who follow this organisation and let organisations see them.' }),
        followers)),
    owner ? addMemberCard(ctx, org, () => { loadMembers(); loadInvites(); }) : h('aside', { class: 'card card--tint' },
      h('h2', { text: 'Adding members' }), h('p', { class: 'muted', text: 'Owners ask people to join and set their roles; they become members when they accept.' }))));

  async function loadMembers() {
    try {
      const data = await get(`/api/v1/organisations/${slug}/members?limit=100`, { signal: ctx.signal });
      const items = itemsOf(data);
      list.replaceChildren(items.length ? h('ul', { class: 'members' }, items.map((m) => memberRow(ctx, org, m, owner, loadMembers)))
        : empty({ title: 'No members listed', text: 'Add the people who work on this organisation.' }));
    } catch (err) {
      if (err.name === 'AbortError') return;
      list.replaceChildren(err instanceof ApiError && err.missing
        ? notice('info', 'The member list is not available yet', `You are ${word(roleIn(org.slug)).toLowerCase()} of ${org.name}. Adding members works already.`)
        : errorNotice(err));
    }
  }
  async function loadInvites() {
    if (!owner) return;
    try {
      const items = itemsOf(await get(`/api/v1/organisations/${slug}/invitations?limit=100`, { signal: ctx.signal }));
      invites.replaceChildren(items.length ? h('ul', { class: 'members' }, items.map((i) => invitationRow(org, i, loadInvites)))
        : h('p', { class: 'muted', text: 'No invitation is waiting.' }));
    } catch (err) {
      if (err.name !== 'AbortError') invites.replaceChildren(errorNotice(err, { what: 'The invitations' }));
    }
  }
  const followersLoad = pagedList(followers, {
    label: 'Followers', what: 'The followers list',
    fetchPage: (cursor) => get(`/api/v1/organisations/${slug}/followers${query({ limit: 20, cursor })}`, { signal: ctx.signal }),
    renderItem: (f) => {
      const a = f.agent ?? f;
      return h('article', { class: 'member' },
        h('span', { class: 'member__name' }, a.handle ? h('a', { href: `/agents/${encodeURIComponent(a.handle)}`, text: a.display_name ?? a.handle }) : (a.display_name ?? '')),
        a.headline ? h('span', { class: 'muted small', text: a.headline }) : null,
        f.followed_at || f.created_at ? h('span', { class: 'muted small' }, 'since ', timeEl(f.followed_at ?? f.created_at)) : null);
    },
    emptyState: empty({ title: 'No visible followers yet', text: 'Agents who follow you and allow it appear here.' }),
  });
  await Promise.all([loadMembers(), loadInvites(), followersLoad]);
}

// An invitation not accepted yet, as the owners see it: the address, the role, until when.
function invitationRow(org, i, refresh) {
  const revoke = h('button', { class: 'btn btn--quiet btn--small', type: 'button', text: 'Revoke', 'aria-label': `Revoke the invitation of ${i.email}` });
  revoke.addEventListener('click', async () => {
    busy(revoke, true);
    try {
      await api('DELETE', `/api/v1/organisations/${encodeURIComponent(org.slug)}/invitations/${encodeURIComponent(i.id)}`);
      toast(`The invitation of ${i.email} is revoked.`);
      refresh();
    } catch (err) { busy(revoke, false); toast(err.message, 'error'); }
  });
  return h('li', { class: 'member' },
    h('span', { class: 'member__name', text: i.email }),
    badge(i.role),
    h('span', { class: 'muted small', text: i.status === 'expired' ? 'expired' : `until ${day(i.expires_at)}` }),
    revoke);
}

function memberRow(ctx, org, m, owner, refresh) {
  const account = m.account ?? m;
  const id = account.account_id ?? account.id ?? m.account_id;
  const name = account.display_name ?? account.email ?? `Account ${id}`;
  const me = String(id) === String(session.me?.account?.id);
  const remove = owner ? h('button', { class: 'btn btn--danger btn--small', type: 'button', text: me ? 'Leave' : 'Remove', 'aria-label': me ? `Leave ${org.name}` : `Remove ${name}` }) : null;
  remove?.addEventListener('click', async () => {
    if (!confirm(me ? `Leave ${org.name}?` : `Remove ${name} from ${org.name}?`)) return;
    busy(remove, true);
    try {
      await api('DELETE', `/api/v1/organisations/${encodeURIComponent(org.slug)}/members/${encodeURIComponent(id)}`);
      toast(`${name} is no longer a member.`);
      if (me) { await loadSession(); ctx.navigate(`/organisations/${encodeURIComponent(org.slug)}`); return; }
      refresh();
    } catch (err) {
      busy(remove, false);
      toast(err instanceof ApiError && err.status === 409 ? 'An organisation needs at least one owner: make someone else owner first.' : err.message, 'error');
    }
  });
  return h('li', { class: 'member' },
    h('span', { class: 'member__name', text: me ? `${name} (you)` : name }),
    badge(m.role ?? 'member'),
    remove);
}

function addMemberCard(ctx, org, refresh) {
  let key = newKey();
  const form = h('form', { class: 'form', 'aria-labelledby': 'add-member-title' },
    field({ label: 'Email', name: 'email', type: 'email', autocomplete: 'off', hint: 'We email them an invitation (they can create an account from it); they become a member when they accept.' }),
    field({ label: 'Role', name: 'role', type: 'select', value: 'member',
      hint: 'Members post engagements and see agreements; admins also edit the organisation; owners also manage members.',
      options: [['member', 'Member'], ['admin', 'Admin'], ['owner', 'Owner']] }),
    h('div', { class: 'actions' }, h('button', { class: 'btn', type: 'submit', text: 'Add member' })));
  onSubmit(form, async () => {
    const email = value(form, 'email');
    if (!email) { showErrors(form, [{ field: 'email', message: 'enter their email address' }]); return; }
    await api('POST', `/api/v1/organisations/${encodeURIComponent(org.slug)}/members`, { body: { email, role: value(form, 'role') }, idempotencyKey: key });
    key = newKey();
    form.reset();
    form.querySelector('.error-summary')?.remove();
    toast(`Asked ${email} to join: they become a member when they accept.`);
    refresh();
  });
  return h('aside', { class: 'card' }, h('h2', { id: 'add-member-title', text: 'Add a member' }), form);
}

// ---------- post an engagement ----------

function postTab(ctx, org, body) {
  const { el, picker } = engagementFields({}, { orgPurposes: org.purposes ?? [] });
  const key = newKey();
  const form = h('form', { class: 'form', 'aria-labelledby': 'post-title' },
    el,
    h('div', { class: 'actions' },
      h('button', { class: 'btn', type: 'submit', text: 'Post engagement' }),
      h('a', { class: 'btn btn--quiet', href: `/organisations/${encodeURIComponent(org.slug)}`, text: 'Cancel' })));
  onSubmit(form, async () => {
    const data = engagementBody(form, picker);
    const problems = engagementProblems(data);
    if (problems.length) { showErrors(form, problems); return; }
    const res = await api('POST', `/api/v1/organisations/${encodeURIComponent(org.slug)}/engagements`, { body: data, idempotencyKey: key });
    toast('Posted. Here is who fits best.');
    ctx.navigate(`/engagements/${encodeURIComponent(res.data.id)}`, { replace: true });
  });
  body.append(formLayout(h('div', { class: 'card' },
    h('h2', { id: 'post-title', text: 'Post an engagement' }),
    h('p', { class: 'muted', text: 'Describe purposeful work. Agents are ranked by purpose first — no bidding, no lowest price.' }),
    form), {
    title: 'What happens next',
    steps: [
      ['It is published', 'On Purposed and in the Atom and JSON feeds other sites read.'],
      ['Candidates are ranked', 'By purpose overlap weighted by energy, then skills, capacity, packaging and place — with reasons.'],
      ['You propose, or they do', 'Either side proposes an agreement; nothing binds until both consent.'],
    ],
  }));
}

// ---------- agreements ----------

async function agreementsTab(ctx, org, body) {
  // filtered by standing: an active agreement with a change awaiting consent is active
  const status = ctx.query.get('standing') ?? ctx.query.get('status') ?? '';
  const list = h('div');
  const filter = h('nav', { 'aria-label': 'Filter by status' }, h('ul', { class: 'chips' },
    ['', 'proposed', 'active', 'concluded', 'declined', 'withdrawn'].map((s) => h('li', {},
      h('a', { class: `chip${s === status ? '' : ' chip--neutral'}`, 'aria-current': s === status ? 'true' : null,
        href: `/organisations/${encodeURIComponent(org.slug)}/agreements${s ? `?standing=${s}` : ''}`, text: s ? word(s) : 'All' })))));
  body.append(h('section', { class: 'stack', 'aria-labelledby': 'agreements-title' },
    h('h2', { id: 'agreements-title', text: `Agreements of ${org.name}` }), filter, list));
  await pagedList(list, {
    label: 'Agreements', what: 'Agreements',
    fetchPage: (cursor) => get(`/api/v1/organisations/${encodeURIComponent(org.slug)}/agreements${query({ standing: status, limit: 20, cursor })}`, { signal: ctx.signal }),
    renderItem: (a) => agreementCard(a, { side: 'organisation' }),
    emptyState: empty({ title: status ? `No ${word(status).toLowerCase()} agreements` : 'No agreements yet',
      text: 'Agreements start from an engagement: open one, look at its ranked candidates and propose.',
      action: h('a', { class: 'btn btn--secondary', href: `/organisations/${encodeURIComponent(org.slug)}`, text: 'See open engagements' }) }),
  });
}

// The hours given under the organisation's own agreements: confirmed hours per
// agreement and per purpose, week by week (the last eight) and in all, and what
// still awaits an answer or is disputed. Each agreement's own hours (log,
// confirm, dispute, CSV) are on its page.
async function hoursTab(ctx, org, body) {
  const out = h('div', { class: 'stack' }, skeletons(2));
  body.append(h('section', { class: 'stack', 'aria-labelledby': 'hours-title' },
    h('h2', { id: 'hours-title', text: `Hours given under agreements with ${org.name}` }),
    h('p', { class: 'muted', text: 'As the two sides logged and answered them: hours count once the other side confirmed them. Weeks start on Monday.' }),
    out));
  let l;
  try {
    l = await get(`/api/v1/organisations/${encodeURIComponent(org.slug)}/hours`, { signal: ctx.signal });
  } catch (err) {
    if (err.name !== 'AbortError') replace(out, errorNotice(err, { what: 'The hours' }));
    return;
  }
  if (!ctx.isCurrent()) return;
  if (!l.agreements.length) {
    replace(out, empty({ title: 'No hours yet', text: 'Once an agreement is in force, either side logs the hours given on its page, and the other side confirms them.',
      action: h('a', { class: 'btn btn--secondary', href: `/organisations/${encodeURIComponent(org.slug)}/agreements`, text: 'See the agreements' }) }));
    return;
  }
  const hours = (x) => num(Number(x));
  const weekHead = () => l.weeks.map((w) => h('th', { scope: 'col', class: 'num', text: day(w).replace(/,? \d{4}$/, '') }));
  const cells = (weeks) => weeks.map((x) => h('td', { class: 'num', text: Number(x) ? hours(x) : '·' }));
  const table = (label, head, rows) => h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': label },
    h('table', { class: 'ledger' }, h('thead', {}, h('tr', {}, ...head, ...weekHead())), h('tbody', {}, rows)));
  const th = (text, cls) => h('th', { scope: 'col', class: cls, text });
  replace(out,
    h('ul', { class: 'stat-grid', 'aria-label': 'Hours in all' },
      [['Confirmed', l.confirmed_hours, 'by both sides'], ['Awaiting', l.awaiting_hours, 'an answer'], ['Disputed', l.disputed_hours, 'to correct']]
        .map(([label, n, sub]) => h('li', { class: 'stat' },
          h('span', { class: 'stat__label', text: label }), h('span', { class: 'stat__value', text: `${hours(n)} h` }), h('span', { class: 'stat__label', text: sub })))),
    table('Hours per agreement',
      [th('Agreement'), th('Agreed', 'num'), th('Confirmed', 'num'), th('Awaiting', 'num')],
      l.agreements.map((a) => h('tr', {},
        h('th', { scope: 'row' }, h('a', { href: `/agreements/${encodeURIComponent(a.id)}#hours`, text: a.role }),
          h('span', { class: 'muted small', text: ` · ${a.agent.display_name}` }), a.standing === 'active' ? null : h('span', { class: 'muted small', text: ` · ${word(a.standing)}` })),
        h('td', { class: 'num', text: `${num(a.hours_per_week)} h/wk` }),
        h('td', { class: 'num', text: hours(a.confirmed_hours) }),
        h('td', { class: 'num', text: Number(a.awaiting_hours) ? hours(a.awaiting_hours) : '·' }),
        ...cells(a.weeks)))),
    l.purposes.length ? table('Confirmed hours per purpose', [th('Purpose'), th('Confirmed', 'num')],
      l.purposes.map((x) => h('tr', {},
        h('th', { scope: 'row' }, h('a', { href: `/purposes/${encodeURIComponent(x.purpose.slug)}`, text: x.purpose.name })),
        h('td', { class: 'num', text: hours(x.confirmed_hours) }),
        ...cells(x.weeks)))) : null);
}
