// api: the only way pages talk to the daemon. JSON in and out, the CSRF
// header on every write, problem+json turned into ApiError.

let csrfToken = null;
export const setCsrf = (token) => { csrfToken = token ?? null; };

// The daemon's answer for a path no route knows (type not-found): the
// endpoint is not there (yet). Pages use err.missing to say "not available";
// a missing item is another type (no-such-item) and pages say "not found".
const NO_ROUTE = 'There is nothing at this address.';

export class ApiError extends Error {
  constructor(status, problem, fallback) {
    super(problem?.detail || problem?.title || fallback || `The server answered ${status}.`);
    this.status = status;
    this.problem = problem ?? null;
    this.errors = Array.isArray(problem?.errors) ? problem.errors : [];
    this.missing = (status === 404 && /\/not-found$/.test(problem?.type ?? '') && problem?.detail === NO_ROUTE) || status === 405;
  }
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

const listeners = new Set();
// Called with (status) when a signed-in request is refused with 401.
export const onUnauthorised = (fn) => listeners.add(fn);

// api('GET', '/api/v1/me') -> {status, data, etag}
export async function api(method, path, { body, ifMatch, idempotencyKey, signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  if (ifMatch !== undefined && ifMatch !== null) headers['If-Match'] = String(ifMatch).startsWith('"') ? ifMatch : `"${ifMatch}"`;
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  let res;
  try {
    res = await fetch(path, {
      method, headers, signal, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, null, 'Purposed could not be reached. Check your connection and try again.');
  }
  const text = res.status === 204 ? '' : await res.text();
  let data = null;
  if (text) { try { data = JSON.parse(text); } catch { data = null; } }
  if (!res.ok) {
    if (res.status === 401) for (const fn of listeners) fn(res.status);
    const fallback = {
      429: 'Too many tries in a short time. Wait a moment and try again.',
      503: 'Purposed is briefly unavailable. Try again in a few seconds.',
      500: 'Something went wrong on our side. Try again.',
      413: 'That is more text than Purposed accepts at once.',
    }[res.status];
    const problem = data && typeof data === 'object' ? data : null;
    if (problem && fallback && !problem.detail) problem.detail = fallback;
    throw new ApiError(res.status, problem, fallback);
  }
  return { status: res.status, data, etag: res.headers.get('ETag'), location: res.headers.get('Location') };
}

export const get = (path, opts) => api('GET', path, opts).then((r) => r.data);

// Fetch that answers null (instead of throwing) when the endpoint does not
// exist on this server yet; other errors still throw.
export async function getOptional(path, opts) {
  try {
    return await get(path, opts);
  } catch (err) {
    if (err instanceof ApiError && err.missing) return null;
    throw err;
  }
}

export const newKey = () => (crypto.randomUUID ? crypto.randomUUID()
  : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join(''));

// Lists come as {items, next_cursor}; some early endpoints may answer arrays.
export function itemsOf(data) {
  if (Array.isArray(data)) return data;
  return Array.isArray(data?.items) ? data.items : [];
}
