// ErrorResponse ('E') and NoticeResponse ('N'): a list of (field code byte, string) pairs
// ended by a zero byte. Unknown field codes are kept (in `other`) and re-encoded, as the
// protocol asks frontends to ignore, not reject, them.
//
//   encodeErrorResponse(errorFields('42501', 'permission denied for table customers', { hint: '...' }))
//   encodeErrorResponse(errorFields('08P01', 'invalid message length', { severity: 'FATAL' }))

import { protocolError, type ProtocolError } from './errors.ts';
import { BackendMessageType as B } from './framing.ts';
import { finishScratch, scratchWriter, type Writer } from './writer.ts';

export interface NoticeFields {
  /** S: ERROR, FATAL, PANIC, WARNING, NOTICE, DEBUG, INFO, LOG (possibly localized) */
  severity: string;
  /** V: the severity, never localized (servers since 9.6) */
  severityNonLocalized?: string;
  /** C: SQLSTATE */
  code: string;
  /** M: primary message */
  message: string;
  /** D */
  detail?: string;
  /** H */
  hint?: string;
  /** P: 1-based character position in the query string, as decimal text */
  position?: string;
  /** p */
  internalPosition?: string;
  /** q */
  internalQuery?: string;
  /** W: context (call stack) */
  where?: string;
  /** s */
  schema?: string;
  /** t */
  table?: string;
  /** c */
  column?: string;
  /** d */
  dataType?: string;
  /** n */
  constraint?: string;
  /** F: source file */
  file?: string;
  /** L: source line */
  line?: string;
  /** R: source routine */
  routine?: string;
  /** fields with codes this implementation does not know, in order */
  other?: [code: string, value: string][];
}

export interface ErrorResponse {
  readonly kind: 'ErrorResponse';
  readonly fields: NoticeFields;
}

export interface NoticeResponse {
  readonly kind: 'NoticeResponse';
  readonly fields: NoticeFields;
}

type Key = Exclude<keyof NoticeFields, 'other'>;

/** Field code byte → property, in the order fields are encoded. */
export const NOTICE_FIELD_CODES: readonly (readonly [string, Key])[] = [
  ['S', 'severity'],
  ['V', 'severityNonLocalized'],
  ['C', 'code'],
  ['M', 'message'],
  ['D', 'detail'],
  ['H', 'hint'],
  ['P', 'position'],
  ['p', 'internalPosition'],
  ['q', 'internalQuery'],
  ['W', 'where'],
  ['s', 'schema'],
  ['t', 'table'],
  ['c', 'column'],
  ['d', 'dataType'],
  ['n', 'constraint'],
  ['F', 'file'],
  ['L', 'line'],
  ['R', 'routine'],
];

const BY_CODE = new Map<number, Key>(NOTICE_FIELD_CODES.map(([c, k]) => [c.charCodeAt(0), k]));

function decodeFields(body: Buffer, type: number, what: string): NoticeFields | ProtocolError {
  const f: NoticeFields = { severity: '', code: '', message: '' };
  let off = 0;
  for (;;) {
    if (off >= body.length) return protocolError('missing-terminator', `${what}: the field list is not terminated`, type);
    const code = body[off]!;
    if (code === 0) {
      off++;
      break;
    }
    const end = body.indexOf(0, off + 1);
    if (end < 0) return protocolError('missing-terminator', `${what}: a field is not NUL-terminated`, type);
    const value = body.toString('utf8', off + 1, end);
    const key = BY_CODE.get(code);
    if (key !== undefined) f[key] = value;
    else (f.other ??= []).push([String.fromCharCode(code), value]);
    off = end + 1;
  }
  if (off !== body.length) return protocolError('trailing-bytes', `${what}: ${body.length - off} unexpected bytes after the field list`, type);
  return f;
}

export function decodeErrorResponse(body: Buffer): ErrorResponse | ProtocolError {
  const f = decodeFields(body, B.ErrorResponse, 'error response');
  return 'kind' in f ? f : { kind: 'ErrorResponse', fields: f };
}

export function decodeNoticeResponse(body: Buffer): NoticeResponse | ProtocolError {
  const f = decodeFields(body, B.NoticeResponse, 'notice response');
  return 'kind' in f ? f : { kind: 'NoticeResponse', fields: f };
}

function writeFields(w: Writer, type: number, f: NoticeFields): void {
  const at = w.beginMessage(type);
  for (const [code, key] of NOTICE_FIELD_CODES) {
    const v = f[key];
    if (v === undefined) continue;
    w.int8(code.charCodeAt(0)).cstring(v);
  }
  for (const [code, v] of f.other ?? []) {
    if (code.length !== 1 || code === '\0') throw new TypeError('a notice field code is one non-NUL character');
    w.int8(code.charCodeAt(0)).cstring(v);
  }
  w.int8(0);
  w.endMessage(at);
}

export const writeErrorResponse = (w: Writer, f: NoticeFields): void => writeFields(w, B.ErrorResponse, f);
export const writeNoticeResponse = (w: Writer, f: NoticeFields): void => writeFields(w, B.NoticeResponse, f);

export function encodeErrorResponse(f: NoticeFields): Buffer {
  const w = scratchWriter();
  writeFields(w, B.ErrorResponse, f);
  return finishScratch(w);
}

export function encodeNoticeResponse(f: NoticeFields): Buffer {
  const w = scratchWriter();
  writeFields(w, B.NoticeResponse, f);
  return finishScratch(w);
}

export interface ErrorExtras {
  /** default ERROR (NOTICE for notices) */
  severity?: 'ERROR' | 'FATAL' | 'PANIC' | 'WARNING' | 'NOTICE' | 'DEBUG' | 'INFO' | 'LOG';
  detail?: string;
  hint?: string;
  position?: number;
}

/**
 * Fields of an error (or, with a notice severity, a notice) as PostgreSQL would send them:
 * S and V both set to the severity, C, M, then D, H, P when given.
 */
export function errorFields(sqlstate: string, message: string, extras: ErrorExtras = {}): NoticeFields {
  if (!/^[0-9A-Z]{5}$/.test(sqlstate)) throw new TypeError('an SQLSTATE is five digits or upper-case letters');
  const severity = extras.severity ?? 'ERROR';
  const f: NoticeFields = { severity, severityNonLocalized: severity, code: sqlstate, message };
  if (extras.detail !== undefined) f.detail = extras.detail;
  if (extras.hint !== undefined) f.hint = extras.hint;
  if (extras.position !== undefined) f.position = String(extras.position);
  return f;
}

/** An ErrorResponse with severity/SQLSTATE/message/detail/hint: `buildError('42501', 'denied by rule ...')`. */
export function buildError(sqlstate: string, message: string, extras: ErrorExtras = {}): Buffer {
  return encodeErrorResponse(errorFields(sqlstate, message, extras));
}

/** A NoticeResponse (severity NOTICE unless given). */
export function buildNotice(sqlstate: string, message: string, extras: ErrorExtras = {}): Buffer {
  return encodeNoticeResponse(errorFields(sqlstate, message, { ...extras, severity: extras.severity ?? 'NOTICE' }));
}

/** One line for logs: `FATAL 28P01 password authentication failed for user "x"`. */
export function describeFields(f: NoticeFields): string {
  const sev = f.severityNonLocalized ?? f.severity;
  return `${sev} ${f.code} ${f.message}`.replace(/[\r\n]+/g, ' ');
}
