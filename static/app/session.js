// session: who is signed in. /me is fetched on a page load when the daemon's
// signed_in marker cookie says a session may exist (the session cookie itself
// is HttpOnly), so an anonymous page makes no request that fails with 401.
// The CSRF token lives only in memory.

import { api, ApiError, onUnauthorised, setCsrf } from './api.js';

export const session = {
  me: null,        // {account, agent, memberships, csrf_token} or null
  loaded: false,
};

const listeners = new Set();
export const onSessionChange = (fn) => { listeners.add(fn); return () => listeners.delete(fn); };
const notify = () => { for (const fn of listeners) fn(session.me); };

function setMe(me) {
  session.me = me;
  session.loaded = true;
  setCsrf(me?.csrf_token ?? null);
  notify();
}

const hasMarker = () => document.cookie.split(/;\s*/).includes('signed_in=1');
// The session is gone (expired, signed out elsewhere): forget the marker too.
const dropMarker = () => { document.cookie = 'signed_in=; Path=/; Max-Age=0; SameSite=Lax'; };

export async function loadSession() {
  if (!hasMarker()) { setMe(null); return null; }
  try {
    const { data } = await api('GET', '/api/v1/me');
    setMe(data);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) { dropMarker(); setMe(null); }
    else { session.loaded = true; throw err; }
  }
  return session.me;
}

export async function signIn(email, password) {
  const { data } = await api('POST', '/api/v1/sessions', { body: { email, password } });
  setCsrf(data?.csrf_token);
  return loadSession();
}

export async function signOut() {
  try {
    await api('DELETE', '/api/v1/sessions/current');
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
  }
  dropMarker();
  setMe(null);
}

export const signedIn = () => Boolean(session.me?.account);
export const myAgent = () => session.me?.agent ?? null;

export function roleIn(slug) {
  const m = (session.me?.memberships ?? []).find((x) => (x.organisation?.slug ?? x.organisation) === slug);
  return m?.role ?? null;
}
export const isMember = (slug) => Boolean(roleIn(slug));
export const canManage = (slug) => ['owner', 'admin'].includes(roleIn(slug));

// A signed-in request came back 401: the session ended elsewhere.
onUnauthorised(() => { dropMarker(); if (session.me) setMe(null); });
