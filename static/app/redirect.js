// redirect: where to go after signing in or up (?next=). Only a page of this
// site: next is resolved as the browser resolves it and refused unless it
// stays on this origin, so "/\evil.example", "//evil.example" or a tab or
// newline the URL parser drops never lead elsewhere. No DOM: node:test
// imports it (tests/e2e/redirect.test.mjs).

// A path of this origin to go to, or null. origin: location.origin.
export function safeNext(next, origin = globalThis.location?.origin) {
  if (typeof next !== 'string' || !origin) return null;
  // one leading slash, then not a second one or a backslash (both start an
  // authority); no control characters or backslashes anywhere
  if (!/^\/(?![/\\])/.test(next) || /[\u0000-\u001f\u007f\\]/.test(next)) return null;
  let url;
  try {
    url = new URL(next, origin);
  } catch {
    return null;
  }
  if (url.origin !== origin || url.pathname.startsWith('//') || url.pathname.startsWith('/api/')) return null;
  return url.pathname + url.search + url.hash;
}
