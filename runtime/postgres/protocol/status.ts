// Session status: ReadyForQuery ('Z'), ParameterStatus ('S'), BackendKeyData ('K'),
// NotificationResponse ('A'), NegotiateProtocolVersion ('v') from the server; Terminate ('X')
// from the client.

import { protocolError, type ProtocolError } from './errors.ts';
import { BackendMessageType as B, FrontendMessageType as F } from './framing.ts';
import { decodeEmpty } from './extended-query.ts';
import { MAX_CANCEL_KEY_LENGTH } from './startup.ts';
import { Cursor } from './text.ts';
import { finishScratch, scratchWriter, type Writer } from './writer.ts';

/** I idle, T in a transaction block, E in a failed transaction block. */
export type TransactionStatus = 'I' | 'T' | 'E';

export interface ReadyForQuery {
  readonly kind: 'ReadyForQuery';
  readonly status: TransactionStatus;
}

export interface ParameterStatus {
  readonly kind: 'ParameterStatus';
  readonly name: string;
  readonly value: string;
}

export interface BackendKeyData {
  readonly kind: 'BackendKeyData';
  readonly pid: number;
  /** the secret key: 4 bytes in protocol 3.0, up to 256 in 3.2 (a copy, safe to keep) */
  readonly secret: Buffer;
}

export interface NotificationResponse {
  readonly kind: 'NotificationResponse';
  readonly pid: number;
  readonly channel: string;
  readonly payload: string;
}

export interface NegotiateProtocolVersion {
  readonly kind: 'NegotiateProtocolVersion';
  /**
   * The newest minor version the server supports for the major version asked for. On the
   * wire PostgreSQL (and libpq, reading it) puts the whole version number there, major << 16
   * | minor (196608 for 3.0), although the documentation says "minor version"; the low 16
   * bits are the minor version either way.
   */
  readonly newestMinor: number;
  /** the Int32 exactly as sent */
  readonly version: number;
  readonly unrecognizedOptions: string[];
}

// --- ReadyForQuery ---

const RFQ: Record<TransactionStatus, Buffer> = {
  I: Buffer.from([B.ReadyForQuery, 0, 0, 0, 5, 0x49]),
  T: Buffer.from([B.ReadyForQuery, 0, 0, 0, 5, 0x54]),
  E: Buffer.from([B.ReadyForQuery, 0, 0, 0, 5, 0x45]),
};
const RFQ_DECODED: Record<TransactionStatus, ReadyForQuery> = {
  I: { kind: 'ReadyForQuery', status: 'I' },
  T: { kind: 'ReadyForQuery', status: 'T' },
  E: { kind: 'ReadyForQuery', status: 'E' },
};

/** Decodes ReadyForQuery (returns shared objects: do not modify). */
export function decodeReadyForQuery(body: Buffer): ReadyForQuery | ProtocolError {
  if (body.length !== 1) return protocolError('invalid-length', `ready for query: body of ${body.length} bytes, expected 1`, B.ReadyForQuery);
  const s = body[0];
  if (s === 0x49) return RFQ_DECODED.I;
  if (s === 0x54) return RFQ_DECODED.T;
  if (s === 0x45) return RFQ_DECODED.E;
  return protocolError('invalid-value', `ready for query: invalid transaction status 0x${s!.toString(16)}`, B.ReadyForQuery);
}

/** ReadyForQuery (a shared constant: do not modify). */
export function encodeReadyForQuery(status: TransactionStatus): Buffer {
  return RFQ[status];
}

export function writeReadyForQuery(w: Writer, status: TransactionStatus): void {
  w.bytes(RFQ[status]);
}

// --- ParameterStatus ---

export function decodeParameterStatus(body: Buffer): ParameterStatus | ProtocolError {
  const c = new Cursor(body, B.ParameterStatus, 'parameter status', false);
  const name = c.cstring('parameter name');
  const value = c.cstring('parameter value');
  return c.done() ?? { kind: 'ParameterStatus', name, value };
}

export function writeParameterStatus(w: Writer, name: string, value: string): void {
  const at = w.beginMessage(B.ParameterStatus);
  w.cstring(name).cstring(value);
  w.endMessage(at);
}

export function encodeParameterStatus(name: string, value: string): Buffer {
  const w = scratchWriter();
  writeParameterStatus(w, name, value);
  return finishScratch(w);
}

// --- BackendKeyData ---

export function decodeBackendKeyData(body: Buffer): BackendKeyData | ProtocolError {
  const keyLen = body.length - 4;
  if (keyLen < 4 || keyLen > MAX_CANCEL_KEY_LENGTH) {
    return protocolError('invalid-length', `backend key data: invalid secret key length ${Math.max(keyLen, 0)}`, B.BackendKeyData);
  }
  return { kind: 'BackendKeyData', pid: body.readInt32BE(0), secret: Buffer.from(body.subarray(4)) };
}

/** BackendKeyData. `secret`: 4 bytes (protocol 3.0) or an int32. */
export function encodeBackendKeyData(pid: number, secret: Buffer | number): Buffer {
  const key = typeof secret === 'number' ? null : secret;
  const len = key === null ? 4 : key.length;
  const out = Buffer.allocUnsafe(9 + len);
  out[0] = B.BackendKeyData;
  out.writeInt32BE(8 + len, 1);
  out.writeInt32BE(pid | 0, 5);
  if (key === null) out.writeInt32BE((secret as number) | 0, 9);
  else key.copy(out, 9);
  return out;
}

// --- NotificationResponse ---

export function decodeNotificationResponse(body: Buffer): NotificationResponse | ProtocolError {
  const c = new Cursor(body, B.NotificationResponse, 'notification response', false);
  const pid = c.int32('process id');
  const channel = c.cstring('channel name');
  const payload = c.cstring('payload');
  return c.done() ?? { kind: 'NotificationResponse', pid, channel, payload };
}

export function writeNotificationResponse(w: Writer, pid: number, channel: string, payload: string): void {
  const at = w.beginMessage(B.NotificationResponse);
  w.int32(pid).cstring(channel).cstring(payload);
  w.endMessage(at);
}

export function encodeNotificationResponse(pid: number, channel: string, payload: string): Buffer {
  const w = scratchWriter();
  writeNotificationResponse(w, pid, channel, payload);
  return finishScratch(w);
}

// --- NegotiateProtocolVersion ---

export function decodeNegotiateProtocolVersion(body: Buffer): NegotiateProtocolVersion | ProtocolError {
  const c = new Cursor(body, B.NegotiateProtocolVersion, 'negotiate protocol version', false);
  const version = c.int32('newest minor version');
  const n = c.int32('option count');
  if (c.err === null && (n < 0 || n > body.length)) return protocolError('invalid-count', `negotiate protocol version: invalid option count ${n}`, B.NegotiateProtocolVersion);
  const unrecognizedOptions: string[] = [];
  for (let i = 0; i < n && c.err === null; i++) unrecognizedOptions.push(c.cstring('option name'));
  return c.done() ?? { kind: 'NegotiateProtocolVersion', newestMinor: version & 0xffff, version, unrecognizedOptions };
}

/**
 * NegotiateProtocolVersion for protocol 3.`newestMinor`. Written as PostgreSQL writes it: the
 * whole version number (3 << 16 | minor), which is what libpq expects (a bare 0 makes
 * PostgreSQL 18's libpq report an unsupported major version).
 */
export function writeNegotiateProtocolVersion(w: Writer, newestMinor: number, unrecognizedOptions: readonly string[]): void {
  const at = w.beginMessage(B.NegotiateProtocolVersion);
  w.int32((3 << 16) | (newestMinor & 0xffff)).int32(unrecognizedOptions.length);
  for (const o of unrecognizedOptions) w.cstring(o);
  w.endMessage(at);
}

export function encodeNegotiateProtocolVersion(newestMinor: number, unrecognizedOptions: readonly string[]): Buffer {
  const w = scratchWriter();
  writeNegotiateProtocolVersion(w, newestMinor, unrecognizedOptions);
  return finishScratch(w);
}

// --- Terminate ---

const TERMINATE = Buffer.from([F.Terminate, 0, 0, 0, 4]);

export const decodeTerminate = (body: Buffer) => decodeEmpty(body, F.Terminate, 'Terminate');
/** Terminate (a shared constant: do not modify). */
export const encodeTerminate = (): Buffer => TERMINATE;
