// mailed: what the pages opened from a mailed link share — the token the
// link carries after "#token=" (a fragment never reaches a server's logs)
// or, for an unsubscribe link, in its query. No DOM.

export function linkToken(location = globalThis.location) {
  const fromHash = new URLSearchParams(String(location?.hash ?? '').replace(/^#/, '')).get('token');
  if (fromHash) return fromHash;
  return new URLSearchParams(String(location?.search ?? '')).get('token');
}
