// session: who is signed in. /me is fetched on every page load; the CSRF
// token lives only in memory (the session cookie itself is HttpOnly).

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

export async function loadSession() {
  try {
    const { data } = await api('GET', '/api/v1/me');
    setMe(data);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) setMe(null);
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
onUnauthorised(() => { if (session.me) setMe(null); });
