// The function call sub-protocol: FunctionCall ('F') from the client (the gateway refuses
// it: it calls a function by OID with no SQL to classify; psycopg2's large objects use it),
// FunctionCallResponse ('V') from the server.

import { protocolError, type ProtocolError } from './errors.ts';
import { BackendMessageType as B, FrontendMessageType as F } from './framing.ts';
import { Cursor } from './text.ts';
import { finishScratch, scratchWriter, type Writer } from './writer.ts';
import type { FormatCode } from './extended-query.ts';

export interface FunctionCall {
  readonly kind: 'FunctionCall';
  readonly functionOid: number;
  /** 0 entries: all text; 1: that format for all; otherwise one per argument */
  readonly argFormats: FormatCode[];
  /** argument values as views; null is SQL NULL */
  readonly args: (Buffer | null)[];
  readonly resultFormat: FormatCode;
}

export interface FunctionCallResponse {
  readonly kind: 'FunctionCallResponse';
  /** the result (a view), or null for SQL NULL */
  readonly value: Buffer | null;
}

export function decodeFunctionCall(body: Buffer): FunctionCall | ProtocolError {
  const c = new Cursor(body, F.FunctionCall, 'function call', true);
  const functionOid = c.uint32('function oid');
  const nf = c.count16('argument format count', 2);
  const argFormats: FormatCode[] = new Array(nf);
  for (let i = 0; i < nf && c.err === null; i++) {
    const f = c.int16('argument format');
    if (c.err === null && f !== 0 && f !== 1) c.fail('invalid-value', `unsupported format code ${f}`);
    argFormats[i] = f as FormatCode;
  }
  const n = c.count16('argument count', 4);
  if (c.err === null && nf > 1 && nf !== n) {
    return protocolError('invalid-count', `function call: ${nf} argument formats but ${n} arguments`, F.FunctionCall);
  }
  const args: (Buffer | null)[] = new Array(n);
  for (let i = 0; i < n && c.err === null; i++) {
    const len = c.int32('argument length');
    if (len === -1) args[i] = null;
    else if (len < -1) c.fail('invalid-value', `invalid length ${len} of argument ${i + 1}`);
    else args[i] = c.bytes(len, `argument ${i + 1}`);
  }
  const rf = c.int16('result format');
  if (c.err === null && rf !== 0 && rf !== 1) c.fail('invalid-value', `unsupported result format code ${rf}`);
  return c.done() ?? { kind: 'FunctionCall', functionOid, argFormats, args, resultFormat: rf as FormatCode };
}

export interface FunctionCallInput {
  functionOid: number;
  argFormats?: readonly FormatCode[];
  args?: readonly (Buffer | null)[];
  resultFormat?: FormatCode;
}

export function writeFunctionCall(w: Writer, m: FunctionCallInput): void {
  const formats = m.argFormats ?? [];
  const args = m.args ?? [];
  const at = w.beginMessage(F.FunctionCall);
  w.uint32(m.functionOid).int16(formats.length);
  for (const f of formats) w.int16(f);
  w.int16(args.length);
  for (const a of args) {
    if (a === null) w.int32(-1);
    else w.int32(a.length).bytes(a);
  }
  w.int16(m.resultFormat ?? 0);
  w.endMessage(at);
}

export function encodeFunctionCall(m: FunctionCallInput): Buffer {
  const w = scratchWriter();
  writeFunctionCall(w, m);
  return finishScratch(w);
}

export function decodeFunctionCallResponse(body: Buffer): FunctionCallResponse | ProtocolError {
  const c = new Cursor(body, B.FunctionCallResponse, 'function call response', false);
  const len = c.int32('result length');
  if (c.err === null && len < -1) return protocolError('invalid-value', `function call response: invalid result length ${len}`, B.FunctionCallResponse);
  const value = len === -1 ? null : c.bytes(len, 'result');
  return c.done() ?? { kind: 'FunctionCallResponse', value };
}

export function writeFunctionCallResponse(w: Writer, value: Buffer | null): void {
  const at = w.beginMessage(B.FunctionCallResponse);
  if (value === null) w.int32(-1);
  else w.int32(value.length).bytes(value);
  w.endMessage(at);
}

export function encodeFunctionCallResponse(value: Buffer | null): Buffer {
  const w = scratchWriter();
  writeFunctionCallResponse(w, value);
  return finishScratch(w);
}
