// HMAC-SHA-256 (RFC 2104 over FIPS 180-4) for the `hash` strategy, with the key's inner and
// outer blocks compressed once: a short value then costs two SHA-256 compressions and no
// allocation but the result, several times cheaper than node:crypto's createHmac per value
// (which sets up a keyed context each time). Test vectors: test/unit/masking.

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const INITIAL = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

const W = new Int32Array(64);

/** One SHA-256 compression of the 64-byte block at `off` into `h`. */
function compress(h: Int32Array, block: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++) {
    const j = off + 4 * i;
    W[i] = (block[j] << 24) | (block[j + 1] << 16) | (block[j + 2] << 8) | block[j + 3];
  }
  for (let i = 16; i < 64; i++) {
    const a = W[i - 15];
    const b = W[i - 2];
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
  }
  let a = h[0];
  let b = h[1];
  let c = h[2];
  let d = h[3];
  let e = h[4];
  let f = h[5];
  let g = h[6];
  let k = h[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (k + S1 + ch + K[i] + W[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    k = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  h[0] = (h[0] + a) | 0;
  h[1] = (h[1] + b) | 0;
  h[2] = (h[2] + c) | 0;
  h[3] = (h[3] + d) | 0;
  h[4] = (h[4] + e) | 0;
  h[5] = (h[5] + f) | 0;
  h[6] = (h[6] + g) | 0;
  h[7] = (h[7] + k) | 0;
}

const block = new Uint8Array(64);
const state = new Int32Array(8);

/** Continues a hash whose state is `start` (after `prefix` bytes) over `data`, finishing it into `out`. */
function finish(start: Int32Array, prefix: number, data: Uint8Array, off: number, len: number, out: Uint8Array): void {
  state.set(start);
  let p = off;
  const end = off + len;
  while (end - p >= 64) {
    compress(state, data, p);
    p += 64;
  }
  const rest = end - p;
  block.fill(0);
  for (let i = 0; i < rest; i++) block[i] = data[p + i];
  block[rest] = 0x80;
  const bits = (prefix + len) * 8;
  if (rest >= 56) {
    compress(state, block, 0);
    block.fill(0);
  }
  // message length in bits, big-endian, in the last 8 bytes (values here are far below 2^53)
  const hi = Math.floor(bits / 0x100000000);
  block[56] = hi >>> 24;
  block[57] = (hi >>> 16) & 0xff;
  block[58] = (hi >>> 8) & 0xff;
  block[59] = hi & 0xff;
  block[60] = bits >>> 24;
  block[61] = (bits >>> 16) & 0xff;
  block[62] = (bits >>> 8) & 0xff;
  block[63] = bits & 0xff;
  compress(state, block, 0);
  for (let i = 0; i < 8; i++) {
    const v = state[i];
    out[4 * i] = v >>> 24;
    out[4 * i + 1] = (v >>> 16) & 0xff;
    out[4 * i + 2] = (v >>> 8) & 0xff;
    out[4 * i + 3] = v & 0xff;
  }
}

export class HmacSha256 {
  private readonly inner = new Int32Array(8);
  private readonly outer = new Int32Array(8);
  private readonly innerDigest = new Uint8Array(32);

  constructor(key: Uint8Array) {
    let k = key;
    if (k.length > 64) {
      const d = new Uint8Array(32);
      finish(INITIAL, 0, k, 0, k.length, d);
      k = d;
    }
    const pad = new Uint8Array(64);
    pad.set(k);
    const ipad = pad.map((b) => b ^ 0x36);
    const opad = pad.map((b) => b ^ 0x5c);
    this.inner.set(INITIAL);
    compress(this.inner, ipad, 0);
    this.outer.set(INITIAL);
    compress(this.outer, opad, 0);
  }

  /** HMAC-SHA-256 of `data[off, off + len)` into `out` (32 bytes). */
  macInto(data: Uint8Array, off: number, len: number, out: Uint8Array): void {
    finish(this.inner, 64, data, off, len, this.innerDigest);
    finish(this.outer, 64, this.innerDigest, 0, 32, out);
  }

  mac(data: Uint8Array, off = 0, len = data.length - off): Buffer {
    const out = Buffer.allocUnsafe(32);
    this.macInto(data, off, len, out);
    return out;
  }
}

const byKey = new WeakMap<Buffer, HmacSha256>();

/** The HMAC of a key, set up once per key. */
export function hmacFor(key: Buffer): HmacSha256 {
  let h = byKey.get(key);
  if (!h) byKey.set(key, (h = new HmacSha256(key)));
  return h;
}
