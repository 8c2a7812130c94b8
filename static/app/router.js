// router: a tiny client-side router. Same-origin links are followed with
// history.pushState; each route lazily imports a page module whose default
// export renders into a fresh container inside <main>.

import { h, replace } from './dom.js';
import { loading, errorNotice } from './ui.js';
import { signedIn } from './session.js';

const routes = [];
let current = null;       // {controller}
let firstRender = true;

export function route(pattern, load) {
  const keys = [];
  const source = pattern.replace(/\/:(\w+)/g, (_, key) => { keys.push(key); return '/([^/]+)'; });
  routes.push({ pattern, regex: new RegExp(`^${source}/?$`), keys, load });
}

function match(path) {
  for (const r of routes) {
    const m = r.regex.exec(path);
    if (m) {
      const params = {};
      r.keys.forEach((k, i) => {
        try { params[k] = decodeURIComponent(m[i + 1]); } catch { params[k] = m[i + 1]; }
      });
      return { route: r, params };
    }
  }
  return null;
}

// Paths the daemon serves itself: never handled by the router.
const serverPath = (path) => /^\/(api|feeds|healthz|readyz|metrics)(\/|$)/.test(path) || /\.[a-z0-9]+$/i.test(path);

export function navigate(to, { replace: replaceState = false } = {}) {
  const url = new URL(to, location.href);
  if (url.origin !== location.origin || serverPath(url.pathname)) {
    location.assign(url.href);
    return;
  }
  if (replaceState) history.replaceState(null, '', url.pathname + url.search + url.hash);
  else history.pushState(null, '', url.pathname + url.search + url.hash);
  render({ scroll: true });
}

// A list's filters changed: a new history entry (Back undoes the filter; the
// popstate render draws the list from the address again) without drawing the
// page anew. False when the address is already that one.
export function pushFilters(to) {
  const url = new URL(to, location.href);
  if (url.pathname + url.search === location.pathname + location.search) return false;
  history.pushState(null, '', url.pathname + url.search);
  return true;
}

export const reload = () => render({ scroll: false, keepFocus: true });

function markCurrentNav(path) {
  for (const a of document.querySelectorAll('.site-nav a[href]')) {
    const href = a.getAttribute('href');
    const here = href === '/' ? (path === '/' || path === '/engagements') : path === href || path.startsWith(`${href}/`);
    if (here) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

const announcer = () => document.querySelector('[data-announcer]');

export async function render({ scroll = false, keepFocus = false } = {}) {
  current?.controller.abort();
  const controller = new AbortController();
  current = { controller };
  const main = document.getElementById('main');
  const root = h('div', { class: 'wrap' });
  replace(main, root);
  root.append(loading('Loading…'));
  const path = location.pathname;
  markCurrentNav(path);
  document.querySelector('.site-nav')?.classList.remove('is-open');
  document.querySelector('.nav-toggle')?.setAttribute('aria-expanded', 'false');
  if (scroll) window.scrollTo(0, 0);

  const found = match(path);
  const ctx = {
    path,
    params: found?.params ?? {},
    query: new URLSearchParams(location.search),
    root,
    signal: controller.signal,
    navigate,
    reload,
    setTitle(title) { document.title = title ? `${title} · Purposed` : 'Purposed — purposeful work, agreed in the open'; },
    isCurrent: () => current?.controller === controller,
  };
  try {
    if (!found) {
      const { default: page } = await import('./pages/not-found.js');
      await page(ctx);
    } else {
      const { default: page } = await found.route.load();
      if (!ctx.isCurrent()) return;
      await page(ctx);
    }
  } catch (err) {
    if (err?.name === 'AbortError' || !ctx.isCurrent()) return;
    console.error(err);
    replace(root, h('h1', { text: 'This page could not be shown' }), errorNotice(err, {
      action: h('a', { class: 'btn btn--secondary', href: location.pathname + location.search, text: 'Try again' }),
    }));
    ctx.setTitle('Something went wrong');
  }
  if (!ctx.isCurrent()) return;
  if (!firstRender && !keepFocus) {
    const heading = root.querySelector('h1');
    const target = heading ?? main;
    if (heading) heading.setAttribute('tabindex', '-1');
    target.focus({ preventScroll: true });
    const a = announcer();
    if (a) a.textContent = document.title;
  }
  firstRender = false;
}

// Pages that need a signed-in person call this first.
export function requireSignIn(ctx, what = 'see this page') {
  if (signedIn()) return true;
  ctx.setTitle('Sign in');
  const next = encodeURIComponent(location.pathname + location.search);
  replace(ctx.root, h('section', { class: 'auth' },
    h('div', { class: 'card stack' },
      h('h1', { text: 'Sign in to continue' }),
      h('p', { class: 'lead', text: `You need to be signed in to ${what}.` }),
      h('div', { class: 'actions actions--center' },
        h('a', { class: 'btn', href: `/signin?next=${next}`, text: 'Sign in' }),
        h('a', { class: 'btn btn--secondary', href: `/signup?next=${next}`, text: 'Create an account' })))));
  return false;
}

export function startRouter() {
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const a = event.target.closest?.('a[href]');
    if (!a || a.target || a.hasAttribute('download') || a.getAttribute('rel')?.includes('external')) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || serverPath(url.pathname)) return;
    if (url.pathname === location.pathname && url.search === location.search && url.hash) return; // in-page anchor
    event.preventDefault();
    navigate(url.pathname + url.search + url.hash);
  });
  window.addEventListener('popstate', () => render({ scroll: false }));
  render();
}
