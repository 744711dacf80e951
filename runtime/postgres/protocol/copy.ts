// COPY: CopyInResponse ('G'), CopyOutResponse ('H'), CopyBothResponse ('W') from the server;
// CopyData ('d') and CopyDone ('c') in both directions; CopyFail ('f') from the client.
//
// CopyData bodies are opaque bytes (a view). CopyFail's message is decoded strictly.

import { type ProtocolError } from './errors.ts';
import { BackendMessageType as B, FrontendMessageType as F } from './framing.ts';
import { decodeEmpty } from './extended-query.ts';
import { Cursor } from './text.ts';
import { finishScratch, scratchWriter, type Writer } from './writer.ts';

export type CopyResponseKind = 'CopyInResponse' | 'CopyOutResponse' | 'CopyBothResponse';

export interface CopyResponse {
  readonly kind: CopyResponseKind;
  /** 0 textual (rows separated by newlines, columns by a delimiter), 1 binary */
  readonly format: number;
  /** one format code per column (all 0 when `format` is 0) */
  readonly columnFormats: number[];
}

export interface CopyData {
  readonly kind: 'CopyData';
  readonly data: Buffer;
}

export interface CopyFail {
  readonly kind: 'CopyFail';
  readonly message: string;
}

const TYPES: Record<CopyResponseKind, number> = {
  CopyInResponse: B.CopyInResponse,
  CopyOutResponse: B.CopyOutResponse,
  CopyBothResponse: B.CopyBothResponse,
};

function decodeCopyResponse(body: Buffer, kind: CopyResponseKind): CopyResponse | ProtocolError {
  const c = new Cursor(body, TYPES[kind], kind, false);
  const format = c.int8('overall format');
  if (c.err === null && format !== 0 && format !== 1) c.fail('invalid-value', `unsupported copy format ${format}`);
  const n = c.count16('column count', 2);
  const columnFormats: number[] = new Array(n);
  for (let i = 0; i < n && c.err === null; i++) {
    const f = c.int16('column format');
    if (c.err === null && f !== 0 && f !== 1) c.fail('invalid-value', `unsupported format code ${f}`);
    columnFormats[i] = f;
  }
  return c.done() ?? { kind, format, columnFormats };
}

export const decodeCopyInResponse = (body: Buffer) => decodeCopyResponse(body, 'CopyInResponse');
export const decodeCopyOutResponse = (body: Buffer) => decodeCopyResponse(body, 'CopyOutResponse');
export const decodeCopyBothResponse = (body: Buffer) => decodeCopyResponse(body, 'CopyBothResponse');

export function writeCopyResponse(w: Writer, kind: CopyResponseKind, format: number, columnFormats: readonly number[]): void {
  const at = w.beginMessage(TYPES[kind]);
  w.int8(format).int16(columnFormats.length);
  for (const f of columnFormats) w.int16(f);
  w.endMessage(at);
}

export function encodeCopyResponse(kind: CopyResponseKind, format: number, columnFormats: readonly number[]): Buffer {
  const w = scratchWriter();
  writeCopyResponse(w, kind, format, columnFormats);
  return finishScratch(w);
}

export const encodeCopyInResponse = (format: number, columnFormats: readonly number[]) => encodeCopyResponse('CopyInResponse', format, columnFormats);
export const encodeCopyOutResponse = (format: number, columnFormats: readonly number[]) => encodeCopyResponse('CopyOutResponse', format, columnFormats);
export const encodeCopyBothResponse = (format: number, columnFormats: readonly number[]) => encodeCopyResponse('CopyBothResponse', format, columnFormats);

/** CopyData: the body is the data (a view). Same type byte both ways. */
export function decodeCopyData(body: Buffer): CopyData {
  return { kind: 'CopyData', data: body };
}

export function writeCopyData(w: Writer, data: Uint8Array): void {
  const at = w.beginMessage(F.CopyData);
  w.bytes(data);
  w.endMessage(at);
}

/** CopyData: header and data in one new buffer. To avoid copying large data, use `copyDataHeader`. */
export function encodeCopyData(data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + data.length);
  out[0] = F.CopyData;
  out.writeInt32BE(4 + data.length, 1);
  out.set(data, 5);
  return out;
}

/** The 5 header bytes of a CopyData of `dataLength` bytes: write it, then the data, without a copy. */
export function copyDataHeader(dataLength: number): Buffer {
  const out = Buffer.allocUnsafe(5);
  out[0] = F.CopyData;
  out.writeInt32BE(4 + dataLength, 1);
  return out;
}

const COPY_DONE = Buffer.from([F.CopyDone, 0, 0, 0, 4]);

export const decodeCopyDone = (body: Buffer) => decodeEmpty(body, F.CopyDone, 'CopyDone');
/** CopyDone (a shared constant: do not modify). */
export const encodeCopyDone = (): Buffer => COPY_DONE;

export function decodeCopyFail(body: Buffer): CopyFail | ProtocolError {
  const c = new Cursor(body, F.CopyFail, 'copy fail', true);
  const message = c.cstring('error message');
  return c.done() ?? { kind: 'CopyFail', message };
}

export function writeCopyFail(w: Writer, message: string): void {
  const at = w.beginMessage(F.CopyFail);
  w.cstring(message);
  w.endMessage(at);
}

export function encodeCopyFail(message: string): Buffer {
  const w = scratchWriter();
  writeCopyFail(w, message);
  return finishScratch(w);
}
