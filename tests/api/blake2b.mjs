// BLAKE2b (RFC 7693) with a key and any output length, as libsodium's
// crypto_generichash computes it: node:crypto has only the unkeyed 64-byte
// form. Tests use it to make cursors as the daemon signs them (lib/cursor.c).
const M64 = (1n << 64n) - 1n;
const IV = [0x6a09e667f3bcc908n, 0xbb67ae8584caa73bn, 0x3c6ef372fe94f82bn, 0xa54ff53a5f1d36f1n,
  0x510e527fade682d1n, 0x9b05688c2b3e6c1fn, 0x1f83d9abfb41bd6bn, 0x5be0cd19137e2179n];
const SIGMA = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
  [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
  [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
  [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
  [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

const rotr = (x, n) => ((x >> n) | (x << (64n - n))) & M64;

function mix(v, a, b, c, d, x, y) {
  v[a] = (v[a] + v[b] + x) & M64; v[d] = rotr(v[d] ^ v[a], 32n);
  v[c] = (v[c] + v[d]) & M64; v[b] = rotr(v[b] ^ v[c], 24n);
  v[a] = (v[a] + v[b] + y) & M64; v[d] = rotr(v[d] ^ v[a], 16n);
  v[c] = (v[c] + v[d]) & M64; v[b] = rotr(v[b] ^ v[c], 63n);
}

function compress(h, block, counter, last) {
  const v = [...h, ...IV];
  v[12] ^= counter & M64;
  v[13] ^= counter >> 64n;
  if (last) v[14] ^= M64;
  const m = [];
  for (let i = 0; i < 16; i++) m.push(block.readBigUInt64LE(i * 8));
  for (let round = 0; round < 12; round++) {
    const s = SIGMA[round % 10];
    mix(v, 0, 4, 8, 12, m[s[0]], m[s[1]]); mix(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
    mix(v, 2, 6, 10, 14, m[s[4]], m[s[5]]); mix(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
    mix(v, 0, 5, 10, 15, m[s[8]], m[s[9]]); mix(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
    mix(v, 2, 7, 8, 13, m[s[12]], m[s[13]]); mix(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
  }
  for (let i = 0; i < 8; i++) h[i] ^= v[i] ^ v[i + 8];
}

// blake2b(data, key = empty, outlen = 64) -> Buffer of outlen bytes.
export function blake2b(data, key = Buffer.alloc(0), outlen = 64) {
  data = Buffer.from(data);
  key = Buffer.from(key);
  const h = IV.slice();
  h[0] ^= 0x01010000n ^ (BigInt(key.length) << 8n) ^ BigInt(outlen);
  let input = data;
  if (key.length) input = Buffer.concat([key, Buffer.alloc(128 - key.length), data]);
  let counter = 0n;
  let off = 0;
  while (input.length - off > 128) {
    counter += 128n;
    compress(h, input.subarray(off, off + 128), counter, false);
    off += 128;
  }
  const rest = input.subarray(off);
  counter += BigInt(rest.length);
  compress(h, Buffer.concat([rest, Buffer.alloc(128 - rest.length)]), counter, true);
  const out = Buffer.alloc(64);
  h.forEach((w, i) => out.writeBigUInt64LE(w, i * 8));
  return out.subarray(0, outlen);
}

// A cursor over keys (a JSON array) signed with secret, as lib/cursor.c
// makes one: base64url(payload || blake2b_12(payload, key = blake2b_32(secret))).
export function signCursor(keys, secret) {
  const payload = Buffer.from(JSON.stringify(keys));
  const tag = blake2b(payload, blake2b(Buffer.from(secret), Buffer.alloc(0), 32), 12);
  return Buffer.concat([payload, tag]).toString('base64url');
}

// Whether cursor (as a daemon gave it out) carries the tag secret makes.
export function cursorSignedWith(cursor, secret) {
  const raw = Buffer.from(cursor, 'base64url');
  const payload = raw.subarray(0, raw.length - 12);
  const tag = blake2b(payload, blake2b(Buffer.from(secret), Buffer.alloc(0), 32), 12);
  return tag.equals(raw.subarray(raw.length - 12));
}
