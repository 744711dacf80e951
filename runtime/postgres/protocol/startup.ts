// The untyped startup-phase packets: StartupMessage, SSLRequest, GSSENCRequest, CancelRequest.
//
// Decoders take the body of a startup frame (see framing.ts: everything after the length
// word, starting with the int32 code).
//
// Protocol versions. This implementation speaks protocol 3.0. A client may ask for a newer
// minor version (PostgreSQL 18's libpq asks for 3.2 when `max_protocol_version=3.2` or
// `latest` is set) and may send protocol options (`_pq_.name`). The server's answer, as
// PostgreSQL itself gives it, is a NegotiateProtocolVersion message naming the newest minor
// version it supports (0; on the wire the whole version number 3.0, see status.ts) and the
// options it did not recognise, after which the session
// continues in 3.0; clients that accept 3.0 carry on, the others disconnect. `negotiation()`
// computes that answer. We do not accept 3.2 because it changes the meaning of messages the
// gateway relays (BackendKeyData and CancelRequest carry a variable-length secret key), and
// the upstream we log in to may not speak it. Major versions other than 3 are refused
// (SQLSTATE 0A000, like PostgreSQL's "unsupported frontend protocol").

import { protocolError, type ProtocolError } from './errors.ts';
import { Cursor } from './text.ts';
import { finishScratch, scratchWriter, type Writer } from './writer.ts';

export const SSL_REQUEST_CODE = 80877103; // 1234 << 16 | 5679
export const GSSENC_REQUEST_CODE = 80877104; // 1234 << 16 | 5680
export const CANCEL_REQUEST_CODE = 80877102; // 1234 << 16 | 5678
export const PROTOCOL_3_0 = 196608; // 3 << 16
/** The newest minor version of protocol 3 this implementation speaks. */
export const SUPPORTED_MINOR_VERSION = 0;
/** Longest secret key a CancelRequest / BackendKeyData may carry (protocol 3.2 allows 256). */
export const MAX_CANCEL_KEY_LENGTH = 256;

export interface StartupMessage {
  readonly kind: 'StartupMessage';
  readonly major: number;
  readonly minor: number;
  /** the parameters in order, protocol options (`_pq_.` names) excluded */
  readonly parameters: Map<string, string>;
  /** protocol options (`_pq_.name` → value), in order */
  readonly protocolOptions: Map<string, string>;
}
export interface SSLRequest {
  readonly kind: 'SSLRequest';
}
export interface GSSENCRequest {
  readonly kind: 'GSSENCRequest';
}
export interface CancelRequest {
  readonly kind: 'CancelRequest';
  readonly pid: number;
  /** the secret key: 4 bytes in protocol 3.0 (a copy, safe to keep) */
  readonly secret: Buffer;
}
export type StartupPacket = StartupMessage | SSLRequest | GSSENCRequest | CancelRequest;

/**
 * Decodes a startup-phase packet body. Refuses: unknown request codes, protocol majors other
 * than 3, a parameter list without its final terminator, a name without a value, an empty
 * name before the end, a name given twice (the server would use the last one, a check might
 * read the first), invalid UTF-8 anywhere, and bytes after the terminator. A missing `user`
 * is not checked here: that is the caller's FATAL (28000), as in PostgreSQL.
 */
export function decodeStartupPacket(body: Buffer): StartupPacket | ProtocolError {
  if (body.length < 4) return protocolError('short-message', 'startup packet: too short for a protocol code', 0);
  const code = body.readInt32BE(0);
  switch (code) {
    case SSL_REQUEST_CODE:
    case GSSENC_REQUEST_CODE:
      if (body.length !== 4) return protocolError('invalid-length', 'startup packet: an encryption request has no body', 0);
      return code === SSL_REQUEST_CODE ? { kind: 'SSLRequest' } : { kind: 'GSSENCRequest' };
    case CANCEL_REQUEST_CODE: {
      const keyLen = body.length - 8;
      if (keyLen < 4 || keyLen > MAX_CANCEL_KEY_LENGTH) {
        return protocolError('invalid-length', `cancel request: invalid secret key length ${Math.max(keyLen, 0)}`, 0);
      }
      return { kind: 'CancelRequest', pid: body.readInt32BE(4), secret: Buffer.from(body.subarray(8)) };
    }
  }
  const major = code >>> 16;
  const minor = code & 0xffff;
  if (major !== 3) {
    return protocolError('unsupported-protocol', `unsupported frontend protocol ${major}.${minor}`, 0, '0A000');
  }
  const c = new Cursor(body, 0, 'startup packet', true);
  c.off = 4;
  const parameters = new Map<string, string>();
  const protocolOptions = new Map<string, string>();
  for (;;) {
    if (c.off >= body.length) {
      return protocolError('missing-terminator', 'startup packet: the parameter list is not terminated', 0);
    }
    if (body[c.off] === 0) {
      c.off++;
      break;
    }
    const name = c.cstring('parameter name');
    if (c.err === null && c.off >= body.length) {
      return protocolError('invalid-count', 'startup packet: a parameter name without a value', 0);
    }
    const value = c.cstring('parameter value');
    if (c.err !== null) return c.err;
    if (parameters.has(name) || protocolOptions.has(name)) {
      return protocolError('duplicate-parameter', `startup packet: parameter \`${printable(name)}\` given twice`, 0);
    }
    if (name.startsWith('_pq_.')) protocolOptions.set(name, value);
    else parameters.set(name, value);
  }
  const err = c.done();
  if (err !== null) return err;
  return { kind: 'StartupMessage', major, minor, parameters, protocolOptions };
}

/** A parameter name for an error message: at most 64 printable characters. */
function printable(s: string): string {
  const t = s.replace(/[^\x20-\x7e]/g, '?');
  return t.length > 64 ? `${t.slice(0, 61)}...` : t;
}

/**
 * What the server must answer before authentication, if anything: a NegotiateProtocolVersion
 * when the client asked for a newer minor version or sent protocol options. null when the
 * startup message needs no negotiation.
 */
export function negotiation(
  m: StartupMessage,
  supportedMinor = SUPPORTED_MINOR_VERSION,
): { newestMinor: number; unrecognizedOptions: string[] } | null {
  if (m.minor <= supportedMinor && m.protocolOptions.size === 0) return null;
  return { newestMinor: Math.min(m.minor, supportedMinor), unrecognizedOptions: [...m.protocolOptions.keys()] };
}

export interface StartupOptions {
  /** minor protocol version to ask for (default 0: protocol 3.0) */
  minor?: number;
  /** protocol options, sent after the parameters (names start with `_pq_.`) */
  protocolOptions?: Iterable<readonly [string, string]>;
}

export function writeStartupMessage(
  w: Writer,
  parameters: Iterable<readonly [string, string]> | Record<string, string>,
  options: StartupOptions = {},
): void {
  const at = w.beginMessage();
  w.int32(PROTOCOL_3_0 | ((options.minor ?? 0) & 0xffff));
  const entries = Symbol.iterator in parameters ? parameters : Object.entries(parameters);
  for (const [k, v] of entries as Iterable<readonly [string, string]>) {
    if (k === '') throw new TypeError('a startup parameter name cannot be empty');
    w.cstring(k).cstring(v);
  }
  for (const [k, v] of options.protocolOptions ?? []) w.cstring(k).cstring(v);
  w.int8(0);
  w.endMessage(at);
}

export function encodeStartupMessage(
  parameters: Iterable<readonly [string, string]> | Record<string, string>,
  options: StartupOptions = {},
): Buffer {
  const w = scratchWriter();
  writeStartupMessage(w, parameters, options);
  return finishScratch(w);
}

function codePacket(code: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeInt32BE(8, 0);
  b.writeInt32BE(code, 4);
  return b;
}

export function encodeSSLRequest(): Buffer {
  return codePacket(SSL_REQUEST_CODE);
}

export function encodeGSSENCRequest(): Buffer {
  return codePacket(GSSENC_REQUEST_CODE);
}

/** CancelRequest. `secret`: the key from BackendKeyData (4 bytes in protocol 3.0) or an int32. */
export function encodeCancelRequest(pid: number, secret: Buffer | number): Buffer {
  const key = typeof secret === 'number' ? int32Bytes(secret) : secret;
  const b = Buffer.alloc(12 + key.length);
  b.writeInt32BE(12 + key.length, 0);
  b.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  b.writeInt32BE(pid | 0, 8);
  key.copy(b, 12);
  return b;
}

function int32Bytes(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n | 0, 0);
  return b;
}
