// The extended query protocol.
//
// Frontend: Parse ('P'), Bind ('B'), Describe ('D'), Execute ('E'), Close ('C'), Sync ('S'),
// Flush ('H'). Backend: ParseComplete ('1'), BindComplete ('2'), CloseComplete ('3'),
// NoData ('n'), ParameterDescription ('t'), PortalSuspended ('s').
//
// Names and SQL are decoded as strict UTF-8. Bind parameter values are views of the body
// (copy what you keep). Encoders of the messages without a body return shared constants:
// never modify them.

import { protocolError, type ProtocolError } from './errors.ts';
import { BackendMessageType as B, FrontendMessageType as F } from './framing.ts';
import { Cursor } from './text.ts';
import { finishScratch, scratchWriter, type Writer } from './writer.ts';

/** Format codes: 0 text, 1 binary. */
export type FormatCode = 0 | 1;

export interface Parse {
  readonly kind: 'Parse';
  /** prepared statement name; '' is the unnamed statement */
  readonly name: string;
  readonly query: string;
  /** parameter type OIDs the client specified (0 = unspecified); may be fewer than the query's parameters */
  readonly paramTypes: number[];
}

export interface Bind {
  readonly kind: 'Bind';
  /** portal name; '' is the unnamed portal */
  readonly portal: string;
  /** prepared statement name; '' is the unnamed statement */
  readonly statement: string;
  /** 0 entries: all text; 1: that format for all; otherwise one per parameter */
  readonly paramFormats: FormatCode[];
  /** parameter values as views of the body; null is SQL NULL */
  readonly params: (Buffer | null)[];
  /** 0 entries: all text; 1: that format for all columns; otherwise one per result column */
  readonly resultFormats: FormatCode[];
}

export interface Describe {
  readonly kind: 'Describe';
  /** 'S' a prepared statement, 'P' a portal */
  readonly target: 'S' | 'P';
  readonly name: string;
}

export interface Execute {
  readonly kind: 'Execute';
  readonly portal: string;
  /** row limit; 0 (or, as the server reads it, any value <= 0) means no limit */
  readonly maxRows: number;
}

export interface Close {
  readonly kind: 'Close';
  readonly target: 'S' | 'P';
  readonly name: string;
}

export interface ParameterDescription {
  readonly kind: 'ParameterDescription';
  readonly types: number[];
}

// --- Parse ---

export function decodeParse(body: Buffer): Parse | ProtocolError {
  const c = new Cursor(body, F.Parse, 'parse', true);
  const name = c.cstring('statement name');
  const query = c.cstring('query string');
  const n = c.count16('parameter type count', 4);
  const paramTypes: number[] = new Array(n);
  for (let i = 0; i < n; i++) paramTypes[i] = c.uint32('parameter type');
  return c.done() ?? { kind: 'Parse', name, query, paramTypes };
}

export function writeParse(w: Writer, name: string, query: string, paramTypes: readonly number[] = []): void {
  if (paramTypes.length > 0x7fff) throw new RangeError('too many parameter types');
  const at = w.beginMessage(F.Parse);
  w.cstring(name).cstring(query).int16(paramTypes.length);
  for (const t of paramTypes) w.uint32(t);
  w.endMessage(at);
}

export function encodeParse(name: string, query: string, paramTypes: readonly number[] = []): Buffer {
  const w = scratchWriter();
  writeParse(w, name, query, paramTypes);
  return finishScratch(w);
}

// --- Bind ---

function formatCodes(c: Cursor, what: string): FormatCode[] {
  const n = c.count16(`${what} count`, 2);
  const out: FormatCode[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const f = c.int16(what);
    if (c.err !== null) return out;
    if (f !== 0 && f !== 1) {
      c.fail('invalid-value', `unsupported format code ${f}`);
      return out;
    }
    out[i] = f;
  }
  return out;
}

/**
 * Decodes Bind. Refuses: a parameter format count other than 0, 1 or the parameter count;
 * format codes other than 0 and 1; value lengths below -1; values running past the body;
 * bytes after the result formats (for instance a message carrying more values than its
 * parameter count says).
 */
export function decodeBind(body: Buffer): Bind | ProtocolError {
  const c = new Cursor(body, F.Bind, 'bind', true);
  const portal = c.cstring('portal name');
  const statement = c.cstring('statement name');
  const paramFormats = formatCodes(c, 'parameter format');
  const n = c.count16('parameter count', 4);
  if (c.err === null && paramFormats.length > 1 && paramFormats.length !== n) {
    return protocolError('invalid-count', `bind: ${paramFormats.length} parameter formats but ${n} parameters`, F.Bind);
  }
  const params: (Buffer | null)[] = new Array(n);
  for (let i = 0; i < n && c.err === null; i++) {
    const len = c.int32('parameter length');
    if (len === -1) params[i] = null;
    else if (len < -1) c.fail('invalid-value', `invalid length ${len} of parameter ${i + 1}`);
    else params[i] = c.bytes(len, `parameter ${i + 1}`);
  }
  const resultFormats = formatCodes(c, 'result format');
  return c.done() ?? { kind: 'Bind', portal, statement, paramFormats, params, resultFormats };
}

/** The format of parameter `i` (0-based) of a Bind. */
export function bindParamFormat(bind: Bind, i: number): FormatCode {
  return formatAt(bind.paramFormats, i);
}

/** The format of value `i` under a list of format codes as Bind and FunctionCall send them: none (all text), one for all, or one each. */
export function formatAt(f: readonly FormatCode[], i: number): FormatCode {
  return f.length === 0 ? 0 : f.length === 1 ? f[0]! : (f[i] ?? 0);
}

/** The format of result column `i` (0-based) asked for by a Bind. */
export function bindResultFormat(bind: Bind, i: number): FormatCode {
  const f = bind.resultFormats;
  return f.length === 0 ? 0 : f.length === 1 ? f[0]! : (f[i] ?? 0);
}

export interface BindInput {
  portal?: string;
  statement?: string;
  paramFormats?: readonly FormatCode[];
  /** Buffers are sent as is; strings as UTF-8; null as SQL NULL */
  params?: readonly (Buffer | string | null)[];
  resultFormats?: readonly FormatCode[];
}

export function writeBind(w: Writer, b: BindInput): void {
  const params = b.params ?? [];
  const pf = b.paramFormats ?? [];
  const rf = b.resultFormats ?? [];
  if (params.length > 0x7fff || pf.length > 0x7fff || rf.length > 0x7fff) throw new RangeError('too many bind parameters or formats');
  const at = w.beginMessage(F.Bind);
  w.cstring(b.portal ?? '').cstring(b.statement ?? '');
  w.int16(pf.length);
  for (const f of pf) w.int16(f);
  w.int16(params.length);
  for (const p of params) {
    if (p === null) w.int32(-1);
    else if (typeof p === 'string') {
      const lenAt = w.length;
      w.int32(0).string(p);
      w.setInt32(lenAt, w.length - lenAt - 4);
    } else w.int32(p.length).bytes(p);
  }
  w.int16(rf.length);
  for (const f of rf) w.int16(f);
  w.endMessage(at);
}

export function encodeBind(b: BindInput): Buffer {
  const w = scratchWriter();
  writeBind(w, b);
  return finishScratch(w);
}

// --- Describe, Close ---

function decodeTargetName(body: Buffer, type: number, what: string): { target: 'S' | 'P'; name: string } | ProtocolError {
  const c = new Cursor(body, type, what, true);
  const t = c.int8('target');
  if (c.err === null && t !== 0x53 && t !== 0x50) {
    return protocolError('invalid-value', `${what}: invalid target type 0x${t.toString(16)}`, type);
  }
  const name = c.cstring('name');
  const err = c.done();
  if (err !== null) return err;
  return { target: t === 0x53 ? 'S' : 'P', name };
}

export function decodeDescribe(body: Buffer): Describe | ProtocolError {
  const r = decodeTargetName(body, F.Describe, 'describe');
  return 'kind' in r ? r : { kind: 'Describe', target: r.target, name: r.name };
}

export function writeDescribe(w: Writer, target: 'S' | 'P', name = ''): void {
  const at = w.beginMessage(F.Describe);
  w.int8(target === 'S' ? 0x53 : 0x50).cstring(name);
  w.endMessage(at);
}

export function encodeDescribe(target: 'S' | 'P', name = ''): Buffer {
  const w = scratchWriter();
  writeDescribe(w, target, name);
  return finishScratch(w);
}

export function decodeClose(body: Buffer): Close | ProtocolError {
  const r = decodeTargetName(body, F.Close, 'close');
  return 'kind' in r ? r : { kind: 'Close', target: r.target, name: r.name };
}

export function writeClose(w: Writer, target: 'S' | 'P', name = ''): void {
  const at = w.beginMessage(F.Close);
  w.int8(target === 'S' ? 0x53 : 0x50).cstring(name);
  w.endMessage(at);
}

export function encodeClose(target: 'S' | 'P', name = ''): Buffer {
  const w = scratchWriter();
  writeClose(w, target, name);
  return finishScratch(w);
}

// --- Execute ---

export function decodeExecute(body: Buffer): Execute | ProtocolError {
  const c = new Cursor(body, F.Execute, 'execute', true);
  const portal = c.cstring('portal name');
  const maxRows = c.int32('row limit');
  return c.done() ?? { kind: 'Execute', portal, maxRows };
}

export function writeExecute(w: Writer, portal = '', maxRows = 0): void {
  const at = w.beginMessage(F.Execute);
  w.cstring(portal).int32(maxRows);
  w.endMessage(at);
}

export function encodeExecute(portal = '', maxRows = 0): Buffer {
  const w = scratchWriter();
  writeExecute(w, portal, maxRows);
  return finishScratch(w);
}

// --- messages without a body ---

function emptyMessage(type: number): Buffer {
  const b = Buffer.alloc(5);
  b[0] = type;
  b.writeInt32BE(4, 1);
  return b;
}

/** Checks that a message that has no fields has none. */
export function decodeEmpty<K extends string>(body: Buffer, type: number, kind: K): { readonly kind: K } | ProtocolError {
  if (body.length !== 0) return protocolError('trailing-bytes', `${kind}: ${body.length} unexpected bytes in a message without fields`, type);
  return { kind };
}

const SYNC = emptyMessage(F.Sync);
const FLUSH = emptyMessage(F.Flush);
const PARSE_COMPLETE = emptyMessage(B.ParseComplete);
const BIND_COMPLETE = emptyMessage(B.BindComplete);
const CLOSE_COMPLETE = emptyMessage(B.CloseComplete);
const NO_DATA = emptyMessage(B.NoData);
const PORTAL_SUSPENDED = emptyMessage(B.PortalSuspended);

export const decodeSync = (body: Buffer) => decodeEmpty(body, F.Sync, 'Sync');
export const decodeFlush = (body: Buffer) => decodeEmpty(body, F.Flush, 'Flush');
export const decodeParseComplete = (body: Buffer) => decodeEmpty(body, B.ParseComplete, 'ParseComplete');
export const decodeBindComplete = (body: Buffer) => decodeEmpty(body, B.BindComplete, 'BindComplete');
export const decodeCloseComplete = (body: Buffer) => decodeEmpty(body, B.CloseComplete, 'CloseComplete');
export const decodeNoData = (body: Buffer) => decodeEmpty(body, B.NoData, 'NoData');
export const decodePortalSuspended = (body: Buffer) => decodeEmpty(body, B.PortalSuspended, 'PortalSuspended');

/** Sync (a shared constant: do not modify). */
export const encodeSync = (): Buffer => SYNC;
/** Flush (a shared constant: do not modify). */
export const encodeFlush = (): Buffer => FLUSH;
export const encodeParseComplete = (): Buffer => PARSE_COMPLETE;
export const encodeBindComplete = (): Buffer => BIND_COMPLETE;
export const encodeCloseComplete = (): Buffer => CLOSE_COMPLETE;
export const encodeNoData = (): Buffer => NO_DATA;
export const encodePortalSuspended = (): Buffer => PORTAL_SUSPENDED;

export const writeSync = (w: Writer): void => void w.bytes(SYNC);
export const writeFlush = (w: Writer): void => void w.bytes(FLUSH);

// --- ParameterDescription ---

export function decodeParameterDescription(body: Buffer): ParameterDescription | ProtocolError {
  const c = new Cursor(body, B.ParameterDescription, 'parameter description', false);
  const n = c.count16('parameter count', 4);
  const types: number[] = new Array(n);
  for (let i = 0; i < n; i++) types[i] = c.uint32('parameter type');
  return c.done() ?? { kind: 'ParameterDescription', types };
}

export function writeParameterDescription(w: Writer, types: readonly number[]): void {
  const at = w.beginMessage(B.ParameterDescription);
  w.int16(types.length);
  for (const t of types) w.uint32(t);
  w.endMessage(at);
}

export function encodeParameterDescription(types: readonly number[]): Buffer {
  const w = scratchWriter();
  writeParameterDescription(w, types);
  return finishScratch(w);
}
