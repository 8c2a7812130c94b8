// agreement-new: propose an agreement — as an agent for an engagement, or as
// an organisation to a candidate (?engagement=ID&agent=handle).
import { api, ApiError, get, newKey } from '../api.js';
import { h, replace, PACKAGINGS } from '../dom.js';
import { onSubmit, showErrors } from '../forms.js';
import { agreementBody, agreementFields, agreementProblems } from '../agreements.js';
import { requireSignIn } from '../router.js';
import { isMember, myAgent } from '../session.js';
import { formLayout, notice, orgName, orgSlug, pageHead, remoteHome, rewardsList, toast } from '../ui.js';

export default async function render(ctx) {
  ctx.setTitle('Propose an agreement');
  if (!requireSignIn(ctx, 'propose an agreement')) return;
  if (ctx.query.get('remote_engagement')) return proposeRemote(ctx, ctx.query.get('remote_engagement'));
  const engagementId = ctx.query.get('engagement');
  let organisation = ctx.query.get('organisation');
  let agent = ctx.query.get('agent');
  let engagement = null;
  if (engagementId) {
    try {
      engagement = await get(`/api/v1/engagements/${encodeURIComponent(engagementId)}`, { signal: ctx.signal });
    } catch (err) {
      if (err instanceof ApiError && err.status === 404 && !err.missing) {
        replace(ctx.root, h('h1', { text: 'Propose an agreement' }), notice('error', 'That engagement is not available', 'It may have been closed. Go back and choose another.'));
        return;
      }
      throw err;
    }
    organisation = orgSlug(engagement.organisation ?? engagement.org) || organisation;
  }
  const orgLabel = engagement ? orgName(engagement.organisation ?? engagement.org) : organisation;
  // An organisation member naming an agent proposes for the organisation.
  const side = agent && organisation && isMember(organisation) ? 'organisation' : 'agent';
  if (side === 'agent') {
    const me = myAgent();
    if (!me) {
      replace(ctx.root, h('h1', { text: 'Propose an agreement' }),
        notice('info', 'First, your agent profile', 'Agreements bind an agent and an organisation. Create your agent profile to propose one.',
          h('a', { class: 'btn', href: '/me/profile', text: 'Create your agent profile' })));
      return;
    }
    agent = me.handle;
  }
  if (!organisation) {
    replace(ctx.root, h('h1', { text: 'Propose an agreement' }), notice('info', 'Start from an engagement',
      'Open an engagement and choose “Propose an agreement”.', h('a', { class: 'btn', href: '/', text: 'Explore open work' })));
    return;
  }

  const prefill = engagement ? {
    role: engagement.title, purposes: engagement.purposes ?? [], packaging: engagement.packagings?.[0],
    hours_per_week: engagement.hours_per_week, rewards: engagement.rewards ?? {},
  } : {};
  const { el, picker } = agreementFields(prefill, { packagings: engagement?.packagings?.length ? engagement.packagings : PACKAGINGS });
  const key = newKey();
  const form = h('form', { class: 'form', 'aria-labelledby': 'propose-title' },
    el,
    h('div', { class: 'actions' },
      h('button', { class: 'btn', type: 'submit', text: 'Send proposal' }),
      h('a', { class: 'btn btn--quiet', href: engagement ? `/engagements/${encodeURIComponent(engagement.id)}` : '/me', text: 'Cancel' })));
  onSubmit(form, async () => {
    const body = { organisation, agent, ...agreementBody(form, picker) };
    if (engagement) body.engagement = engagement.id;
    const problems = agreementProblems(body);
    if (problems.length) { showErrors(form, problems); return; }
    const res = await api('POST', '/api/v1/agreements', { body, idempotencyKey: key });
    if (res.data?.warnings?.length) toast(res.data.warnings.map((w) => w.message).join(' '), 'error');
    toast(side === 'agent' ? `Proposal sent to ${orgLabel}.` : `Proposal sent to ${agent}.`);
    ctx.navigate(`/agreements/${encodeURIComponent(res.data.id)}`, { replace: true });
  });
  replace(ctx.root,
    pageHead({
      crumbs: engagement ? [['Open work', '/'], [engagement.title, `/engagements/${encodeURIComponent(engagement.id)}`], ['Propose']] : null,
      eyebrow: side === 'agent' ? `You, with ${orgLabel}` : `${orgLabel}, with ${agent}`,
      title: 'Propose an agreement',
      lead: 'Write down what both sides commit to. The other side accepts, declines, or asks for changes; every version is kept.',
    }),
    formLayout(h('div', { class: 'card' }, form), {
      title: 'How agreements work',
      steps: [
        ['You propose', 'Role, hours, terms and rewards, in your words.'],
        ['They answer', 'Accept, decline, or amend — an amendment comes back to you for consent.'],
        ['It is kept', 'Every version of the terms stays readable for both sides.'],
        ['You close it together', 'Each side records whether commitments were kept; that becomes track record.'],
      ],
      extra: engagement ? h('section', { class: 'card' },
        h('h2', { class: 'h3', text: 'The engagement' }),
        h('p', {}, h('a', { href: `/engagements/${encodeURIComponent(engagement.id)}`, text: engagement.title })),
        rewardsList(engagement.rewards)) : null,
    }));
  ctx.root.querySelector('h1').id = 'propose-title';
  await picker.ready;
}


// To an organisation on another instance, on an engagement it sent here (a
// row of engagements with remote: {instance, url}; GET /remote-engagements
// lists them): the agent proposes, and the Offer travels.
async function proposeRemote(ctx, id) {
  const me = myAgent();
  if (!me) {
    replace(ctx.root, h('h1', { text: 'Propose an agreement' }),
      notice('info', 'First, your agent profile', 'Agreements bind an agent and an organisation. Create your agent profile to propose one.',
        h('a', { class: 'btn', href: '/me/profile', text: 'Create your agent profile' })));
    return;
  }
  let engagement = null;
  try {
    engagement = await get(`/api/v1/engagements/${encodeURIComponent(id)}`, { signal: ctx.signal });
  } catch (err) {
    if (!(err instanceof ApiError && (err.status === 404 || err.status === 400) && !err.missing)) throw err;
  }
  if (!engagement?.remote || (engagement.status ?? 'open') !== 'open') {
    replace(ctx.root, h('h1', { text: 'Propose an agreement' }), notice('error', 'That engagement is not available', 'It may have been closed. Go back and choose another.',
      h('a', { class: 'btn', href: '/me/following', text: 'Organisations you follow' })));
    return;
  }
  const org = engagement.organisation;
  const here = `/engagements/${encodeURIComponent(engagement.id)}`;
  // its purposes are this catalogue's, named by the same slugs at its home
  const { el, picker } = agreementFields({ role: engagement.title, purposes: engagement.purposes ?? [], packaging: engagement.packagings?.[0],
    hours_per_week: engagement.hours_per_week, rewards: engagement.rewards ?? {} },
  { packagings: engagement.packagings?.length ? engagement.packagings : PACKAGINGS });
  const key = newKey();
  const form = h('form', { class: 'form', 'aria-labelledby': 'propose-title' },
    el,
    h('div', { class: 'actions' },
      h('button', { class: 'btn', type: 'submit', text: 'Send proposal' }),
      h('a', { class: 'btn btn--quiet', href: here, text: 'Cancel' })));
  onSubmit(form, async () => {
    const body = { agent: me.handle, remote_engagement: engagement.id, ...agreementBody(form, picker) };
    const problems = agreementProblems(body);
    if (problems.length) { showErrors(form, problems); return; }
    const res = await api('POST', '/api/v1/agreements', { body, idempotencyKey: key });
    toast(`Proposal sent to ${org.name}, on its instance.`);
    ctx.navigate(`/agreements/${encodeURIComponent(res.data.id)}`, { replace: true });
  });
  replace(ctx.root,
    pageHead({
      crumbs: [['Open work', '/'], [engagement.title, here], ['Propose']],
      eyebrow: `You, with ${org.name} (on another instance)`,
      title: 'Propose an agreement',
      lead: 'Your proposal travels to the organisation’s own instance; both instances keep the same record of every version.',
    }),
    formLayout(h('div', { class: 'card' }, form), {
      title: 'How agreements work',
      steps: [
        ['You propose', 'Role, hours, terms and rewards, in your words.'],
        ['They answer', 'Accept, decline, or amend, on their instance — it comes back here.'],
        ['It is kept', 'Every version of the terms stays readable for both sides, on both instances.'],
      ],
      extra: h('section', { class: 'card' },
        h('h2', { class: 'h3', text: 'The engagement' }),
        h('p', {}, h('a', { href: here, text: engagement.title })),
        rewardsList(engagement.rewards),
        h('p', { class: 'muted small' }, `Posted by ${org.name} on another instance: `, remoteHome(engagement))),
    }));
  ctx.root.querySelector('h1').id = 'propose-title';
  await picker.ready;
}
