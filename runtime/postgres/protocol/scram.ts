// SCRAM-SHA-256 client (RFC 5802, RFC 7677) as PostgreSQL uses it, and md5 password hashing.
//
//   const scram = createScramClient(password);
//   send SASLInitialResponse('SCRAM-SHA-256', scram.clientFirst)
//   on AuthenticationSASLContinue(data):  send SASLResponse(await scram.respond(data))
//   on AuthenticationSASLFinal(data):     scram.verify(data) must return null
//   AuthenticationOk before a verified SASLFinal means the server never proved it knows the
//   password: refuse it (`scram.verified` says whether it did).
//
// PostgreSQL specifics: no channel binding (gs2 header `n,,`, so `c=biws`), and an empty
// username in client-first-message (the server uses the startup packet's user).
//
// The password is prepared with SASLprep (RFC 4013) as PostgreSQL's pg_saslprep does: a
// password that is pure ASCII is used as is; otherwise non-ASCII spaces map to U+0020,
// "commonly mapped to nothing" characters are removed, the result is normalized to NFKC and
// checked for prohibited characters and bidirectional rules; if any check fails (or the bytes
// are not UTF-8), the raw password bytes are used instead, which is what the server did when
// it stored the verifier. Two checks are approximations, written down here so nobody trusts
// them further than this: "unassigned code point" uses the Unicode version of this Node
// (PostgreSQL uses Unicode 3.2's table), and the bidirectional categories are approximated by
// script ranges. Both only matter for passwords that mix characters NFKC changes with
// characters assigned after Unicode 3.2, or with right-to-left text.
//
// PBKDF2 runs on libuv's thread pool (`respond` is async), never on the event loop, and the
// iteration count a server may ask for is capped. The derived keys of the last few (password,
// salt, iterations) triples are cached, keyed by a hash, so reconnecting to the same server
// does not pay for PBKDF2 again.
//
// Errors never contain the password, the proof or any derived key.

import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { protocolError, type ProtocolError } from './errors.ts';

export const SCRAM_SHA_256 = 'SCRAM-SHA-256';
export const SCRAM_SHA_256_PLUS = 'SCRAM-SHA-256-PLUS';
export const DEFAULT_MAX_SCRAM_ITERATIONS = 10_000_000;

export interface ScramClientOptions {
  /** client nonce (printable ASCII without ','); random 18 bytes in base64 by default */
  nonce?: string;
  /** username for client-first-message: PostgreSQL expects '' (the default) */
  username?: string;
  /** refuse a server asking for more PBKDF2 iterations than this (default 10,000,000) */
  maxIterations?: number;
  /** reuse derived keys for the same password, salt and iteration count (default true) */
  cache?: boolean;
}

export interface ScramClient {
  readonly mechanism: typeof SCRAM_SHA_256;
  /** client-first-message: the data of SASLInitialResponse */
  readonly clientFirst: Buffer;
  /** Given server-first-message (SASLContinue data), client-final-message (SASLResponse data). */
  respond(serverFirst: Buffer): Promise<Buffer | ProtocolError>;
  /** Given server-final-message (SASLFinal data): null when the server's signature is right. */
  verify(serverFinal: Buffer): ProtocolError | null;
  /** true once `verify` accepted the server's signature */
  readonly verified: boolean;
}

function scramError(code: 'scram-invalid-server-message' | 'scram-server-signature-mismatch' | 'scram-server-error', message: string): ProtocolError {
  return protocolError(code, message, undefined, code === 'scram-server-signature-mismatch' ? '28000' : '08P01');
}

export function createScramClient(password: string | Buffer, options: ScramClientOptions = {}): ScramClient {
  const nonce = options.nonce ?? randomBytes(18).toString('base64');
  if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(nonce)) throw new TypeError('a SCRAM nonce is printable ASCII without commas');
  const maxIterations = options.maxIterations ?? DEFAULT_MAX_SCRAM_ITERATIONS;
  const useCache = options.cache ?? true;
  const clientFirstBare = `n=${saslName(options.username ?? '')},r=${nonce}`;
  const clientFirst = Buffer.from(`n,,${clientFirstBare}`, 'utf8');
  let state: 'start' | 'responded' | 'verified' | 'failed' = 'start';
  let expectedServerSignature: Buffer | null = null;

  const client: ScramClient = {
    mechanism: SCRAM_SHA_256,
    clientFirst,
    get verified() {
      return state === 'verified';
    },
    async respond(serverFirstBytes: Buffer): Promise<Buffer | ProtocolError> {
      if (state !== 'start') return fail(scramError('scram-invalid-server-message', 'SCRAM: unexpected server-first-message'));
      state = 'failed';
      const serverFirst = serverFirstBytes.toString('utf8');
      const parsed = parseServerFirst(serverFirst, nonce, maxIterations);
      if (parsed.kind === 'ProtocolError') return parsed;
      const keys = await deriveKeys(password, parsed.salt, parsed.iterations, useCache);
      const clientFinalWithoutProof = `c=biws,r=${parsed.nonce}`;
      const authMessage = `${clientFirstBare},${serverFirst},${clientFinalWithoutProof}`;
      const storedKey = createHash('sha256').update(keys.clientKey).digest();
      const clientSignature = hmac(storedKey, authMessage);
      const proof = Buffer.allocUnsafe(32);
      for (let i = 0; i < 32; i++) proof[i] = keys.clientKey[i]! ^ clientSignature[i]!;
      expectedServerSignature = hmac(keys.serverKey, authMessage);
      state = 'responded';
      return Buffer.from(`${clientFinalWithoutProof},p=${proof.toString('base64')}`, 'utf8');
    },
    verify(serverFinalBytes: Buffer): ProtocolError | null {
      if (state !== 'responded' || expectedServerSignature === null) {
        return fail(scramError('scram-invalid-server-message', 'SCRAM: unexpected server-final-message'));
      }
      state = 'failed';
      const s = serverFinalBytes.toString('utf8');
      if (s.startsWith('e=')) {
        const reason = s.slice(2).replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
        return scramError('scram-server-error', `SCRAM: the server reported an error: ${reason}`);
      }
      const m = /^v=([A-Za-z0-9+/]+={0,2})$/.exec(s);
      if (m === null || !isBase64(m[1]!)) return scramError('scram-invalid-server-message', 'SCRAM: malformed server-final-message');
      const got = Buffer.from(m[1]!, 'base64');
      if (got.length !== expectedServerSignature.length || !timingSafeEqual(got, expectedServerSignature)) {
        return scramError('scram-server-signature-mismatch', 'SCRAM: the server signature is wrong: the server did not prove it knows the password');
      }
      state = 'verified';
      return null;
    },
  };
  function fail(e: ProtocolError): ProtocolError {
    state = 'failed';
    return e;
  }
  return client;
}

function saslName(user: string): string {
  return user.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

function isBase64(s: string): boolean {
  return s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
}

interface ServerFirst {
  readonly kind: 'ServerFirst';
  readonly nonce: string;
  readonly salt: Buffer;
  readonly iterations: number;
}

function parseServerFirst(s: string, clientNonce: string, maxIterations: number): ServerFirst | ProtocolError {
  const bad = (what: string) => scramError('scram-invalid-server-message', `SCRAM: malformed server-first-message (${what})`);
  if (s.startsWith('m=')) return bad('unsupported mandatory extension');
  const parts = s.split(',');
  if (parts.length !== 3) return bad('expected r=, s= and i=');
  const [r, salt, it] = parts as [string, string, string];
  if (!r.startsWith('r=') || !salt.startsWith('s=') || !it.startsWith('i=')) return bad('expected r=, s= and i=');
  const nonce = r.slice(2);
  if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(nonce)) return bad('invalid nonce');
  if (!nonce.startsWith(clientNonce) || nonce.length <= clientNonce.length) {
    return scramError('scram-invalid-server-message', 'SCRAM: the server nonce does not extend the client nonce');
  }
  const salt64 = salt.slice(2);
  if (salt64.length === 0 || !isBase64(salt64)) return bad('invalid salt');
  const iterText = it.slice(2);
  if (!/^[1-9][0-9]{0,9}$/.test(iterText)) return bad('invalid iteration count');
  const iterations = Number(iterText);
  if (iterations > maxIterations) {
    return scramError('scram-invalid-server-message', `SCRAM: the server asks for ${iterations} iterations, more than the limit of ${maxIterations}`);
  }
  return { kind: 'ServerFirst', nonce, salt: Buffer.from(salt64, 'base64'), iterations };
}

function hmac(key: Buffer, data: string | Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

interface Keys {
  readonly clientKey: Buffer;
  readonly serverKey: Buffer;
}

const keyCache = new Map<string, Keys>();
const KEY_CACHE_SIZE = 32;

async function deriveKeys(password: string | Buffer, salt: Buffer, iterations: number, useCache: boolean): Promise<Keys> {
  const prepared = saslPrepPassword(password);
  let cacheKey = '';
  if (useCache) {
    cacheKey = createHash('sha256').update(prepared).update('\0').update(salt).update(`\0${iterations}`).digest('base64');
    const hit = keyCache.get(cacheKey);
    if (hit !== undefined) return hit;
  }
  const salted = await new Promise<Buffer>((resolve, reject) => {
    pbkdf2(prepared, salt, iterations, 32, 'sha256', (err, key) => (err ? reject(err) : resolve(key)));
  });
  const keys = { clientKey: hmac(salted, 'Client Key'), serverKey: hmac(salted, 'Server Key') };
  salted.fill(0);
  if (useCache) {
    if (keyCache.size >= KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value!);
    keyCache.set(cacheKey, keys);
  }
  return keys;
}

/** Forgets every cached derived key. */
export function clearScramCache(): void {
  keyCache.clear();
}

// --- SASLprep (RFC 4013 with RFC 3454 tables), as PostgreSQL applies it to passwords ---

type Ranges = readonly (readonly [number, number])[];

const inRanges = (cp: number, ranges: Ranges): boolean => {
  for (const [lo, hi] of ranges) {
    if (cp < lo) return false;
    if (cp <= hi) return true;
  }
  return false;
};

/** RFC 3454 C.1.2: non-ASCII space characters (mapped to U+0020). */
const NON_ASCII_SPACE: Ranges = [
  [0x00a0, 0x00a0], [0x1680, 0x1680], [0x2000, 0x200b], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000],
];

/** RFC 3454 B.1: commonly mapped to nothing. */
const MAPPED_TO_NOTHING: Ranges = [
  [0x00ad, 0x00ad], [0x034f, 0x034f], [0x1806, 0x1806], [0x180b, 0x180d], [0x200b, 0x200d], [0x2060, 0x2060],
  [0xfe00, 0xfe0f], [0xfeff, 0xfeff],
];

/** RFC 3454 C.1.2, C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.7, C.8, C.9, merged and sorted. */
const PROHIBITED: Ranges = mergeRanges([
  // C.1.2
  ...NON_ASCII_SPACE,
  // C.2.1
  [0x0000, 0x001f], [0x007f, 0x007f],
  // C.2.2
  [0x0080, 0x009f], [0x06dd, 0x06dd], [0x070f, 0x070f], [0x180e, 0x180e], [0x200c, 0x200d], [0x2028, 0x2029],
  [0x2060, 0x2063], [0x206a, 0x206f], [0xfeff, 0xfeff], [0xfff9, 0xfffc], [0x1d173, 0x1d17a],
  // C.3
  [0xe000, 0xf8ff], [0xf0000, 0xffffd], [0x100000, 0x10fffd],
  // C.4
  [0xfdd0, 0xfdef], ...Array.from({ length: 17 }, (_, p) => [p * 0x10000 + 0xfffe, p * 0x10000 + 0xffff] as const),
  // C.5
  [0xd800, 0xdfff],
  // C.6
  [0xfff9, 0xfffd],
  // C.7
  [0x2ff0, 0x2ffb],
  // C.8
  [0x0340, 0x0341], [0x200e, 0x200f], [0x202a, 0x202e], [0x206a, 0x206f],
  // C.9
  [0xe0001, 0xe0001], [0xe0020, 0xe007f],
]);

/** Approximation of RFC 3454 D.1 (bidi R and AL): right-to-left scripts' blocks. */
const RAND_AL: Ranges = [
  [0x05be, 0x05be], [0x05c0, 0x05c0], [0x05c3, 0x05c3], [0x05c6, 0x05c6], [0x05d0, 0x05ff],
  [0x0608, 0x0608], [0x060b, 0x060b], [0x060d, 0x060d], [0x061b, 0x064a], [0x066d, 0x066f], [0x0671, 0x06d5],
  [0x06e5, 0x06e6], [0x06ee, 0x06ef], [0x06fa, 0x070d], [0x0710, 0x0710], [0x0712, 0x072f], [0x074d, 0x07a5],
  [0x07b1, 0x07ea], [0x07f4, 0x07f5], [0x07fa, 0x0815], [0x081a, 0x081a], [0x0824, 0x0824], [0x0828, 0x0828],
  [0x0830, 0x0858], [0x0860, 0x08d2], [0x200f, 0x200f], [0xfb1d, 0xfb1d], [0xfb1f, 0xfb28], [0xfb2a, 0xfd3d],
  [0xfd50, 0xfdfc], [0xfe70, 0xfefc], [0x10800, 0x10fff], [0x1e800, 0x1efff],
];

const UNASSIGNED = /\p{Cn}/u;
const LEFT_TO_RIGHT = /[\p{L}\p{Mc}\p{Nl}]/u;

function mergeRanges(ranges: Ranges): Ranges {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

/**
 * SASLprep of a password as PostgreSQL does it, returning the string to use, or null when
 * PostgreSQL would fall back to the raw bytes (prohibited output, bidi violation, or not UTF-8).
 */
export function saslPrep(input: string): string | null {
  // Pure ASCII needs no preparation (PostgreSQL returns it unchanged, controls included).
  if (/^[\x00-\x7f]*$/.test(input)) return input;
  let mapped = '';
  for (const ch of input) {
    const cp = ch.codePointAt(0)!;
    if (inRanges(cp, NON_ASCII_SPACE)) mapped += ' ';
    else if (inRanges(cp, MAPPED_TO_NOTHING)) continue;
    else mapped += ch;
  }
  const normalized = mapped.normalize('NFKC');
  if (normalized.length === 0) return null;
  let hasRandAL = false;
  let hasL = false;
  for (const ch of normalized) {
    const cp = ch.codePointAt(0)!;
    if (inRanges(cp, PROHIBITED) || UNASSIGNED.test(ch)) return null;
    if (inRanges(cp, RAND_AL)) hasRandAL = true;
    else if (LEFT_TO_RIGHT.test(ch)) hasL = true;
  }
  if (hasRandAL) {
    if (hasL) return null;
    const first = normalized.codePointAt(0)!;
    const last = [...normalized].pop()!.codePointAt(0)!;
    if (!inRanges(first, RAND_AL) || !inRanges(last, RAND_AL)) return null;
  }
  return normalized;
}

/** The bytes PBKDF2 is computed over: the SASLprepped password, or the raw bytes. */
export function saslPrepPassword(password: string | Buffer): Buffer {
  if (typeof password !== 'string') {
    if (!isUtf8(password)) return password;
    const prepared = saslPrep(password.toString('utf8'));
    return prepared === null ? password : Buffer.from(prepared, 'utf8');
  }
  const prepared = saslPrep(password);
  return Buffer.from(prepared ?? password, 'utf8');
}

// --- md5 ---

const md5hex = (...parts: (string | Buffer)[]): string => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

/** The stored form of an md5 password (what pg_authid.rolpassword holds): 'md5' + md5(password + user). */
export function md5PasswordHash(user: string, password: string): string {
  return `md5${md5hex(password, user)}`;
}

/** The PasswordMessage answer to AuthenticationMD5Password: 'md5' + md5(md5(password + user) + salt). */
export function md5PasswordResponse(user: string, password: string, salt: Buffer): string {
  return `md5${md5hex(md5hex(password, user), salt)}`;
}
