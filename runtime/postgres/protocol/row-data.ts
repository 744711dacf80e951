// Query results: RowDescription ('T'), DataRow ('D'), CommandComplete ('C'),
// EmptyQueryResponse ('I'). All backend messages: text is decoded leniently, values are views.

import { protocolError, type ProtocolError } from './errors.ts';
import { BackendMessageType as B } from './framing.ts';
import { Cursor } from './text.ts';
import { finishScratch, scratchWriter, type Writer } from './writer.ts';
import { decodeEmpty } from './extended-query.ts';

export interface FieldDescription {
  readonly name: string;
  /** OID of the table the column comes from, 0 when it is not a plain table column */
  readonly tableOid: number;
  /** attribute number of the column in that table, 0 when none */
  readonly columnNumber: number;
  readonly typeOid: number;
  /** pg_type.typlen: negative for variable-width types */
  readonly typeSize: number;
  /** pg_attribute.atttypmod: type-specific, -1 when none */
  readonly typeModifier: number;
  /** 0 text, 1 binary (in a RowDescription answering Describe of a statement: always 0) */
  readonly format: number;
}

export interface RowDescription {
  readonly kind: 'RowDescription';
  readonly fields: FieldDescription[];
}

export interface DataRow {
  readonly kind: 'DataRow';
  /** column values as views of the body; null is SQL NULL (length -1) */
  readonly values: (Buffer | null)[];
}

export interface CommandComplete {
  readonly kind: 'CommandComplete';
  /** the command tag: `SELECT 3`, `INSERT 0 1`, `UPDATE 2`, `CREATE TABLE`, ... */
  readonly tag: string;
}

// --- RowDescription ---

export function decodeRowDescription(body: Buffer): RowDescription | ProtocolError {
  const c = new Cursor(body, B.RowDescription, 'row description', false);
  const n = c.count16('field count', 19);
  const fields: FieldDescription[] = new Array(n);
  for (let i = 0; i < n && c.err === null; i++) {
    const name = c.cstring('field name');
    const tableOid = c.uint32('table oid');
    const columnNumber = c.int16('column number');
    const typeOid = c.uint32('type oid');
    const typeSize = c.int16('type size');
    const typeModifier = c.int32('type modifier');
    const format = c.int16('format code');
    if (c.err === null && format !== 0 && format !== 1) c.fail('invalid-value', `unsupported format code ${format}`);
    fields[i] = { name, tableOid, columnNumber, typeOid, typeSize, typeModifier, format };
  }
  return c.done() ?? { kind: 'RowDescription', fields };
}

export function writeRowDescription(w: Writer, fields: readonly FieldDescription[]): void {
  if (fields.length > 0x7fff) throw new RangeError('too many fields');
  const at = w.beginMessage(B.RowDescription);
  w.int16(fields.length);
  for (const f of fields) {
    w.cstring(f.name).uint32(f.tableOid).int16(f.columnNumber).uint32(f.typeOid).int16(f.typeSize).int32(f.typeModifier).int16(f.format);
  }
  w.endMessage(at);
}

export function encodeRowDescription(fields: readonly FieldDescription[]): Buffer {
  const w = scratchWriter();
  writeRowDescription(w, fields);
  return finishScratch(w);
}

// --- DataRow ---

/** Decodes a DataRow. Refuses value lengths below -1 and values running past the body. */
export function decodeDataRow(body: Buffer): DataRow | ProtocolError {
  if (body.length < 2) return protocolError('short-message', 'data row: column count runs past the end of the message', B.DataRow);
  const n = body.readInt16BE(0);
  if (n < 0) return protocolError('invalid-count', 'data row: negative column count', B.DataRow);
  const values: (Buffer | null)[] = new Array(n);
  let off = 2;
  const end = body.length;
  for (let i = 0; i < n; i++) {
    if (off + 4 > end) return protocolError('short-message', `data row: column ${i + 1} runs past the end of the message`, B.DataRow);
    const len = body.readInt32BE(off);
    off += 4;
    if (len === -1) {
      values[i] = null;
      continue;
    }
    if (len < -1) return protocolError('invalid-value', `data row: invalid length ${len} of column ${i + 1}`, B.DataRow);
    if (len > end - off) return protocolError('short-message', `data row: column ${i + 1} runs past the end of the message`, B.DataRow);
    values[i] = body.subarray(off, off + len);
    off += len;
  }
  if (off !== end) return protocolError('trailing-bytes', `data row: ${end - off} unexpected bytes after the last column`, B.DataRow);
  return { kind: 'DataRow', values };
}

/** Enough room in a `scanDataRow` output for any DataRow (32,767 columns). */
export const DATA_ROW_SCAN_SIZE = 2 * 0x7fff;

/**
 * Scans a DataRow without allocating: for column i, `out[2i]` gets the offset of its value in
 * `body` and `out[2i+1]` its length (-1 for NULL). Returns the column count or the same
 * errors as decodeDataRow. Allocate `out` once (`new Int32Array(DATA_ROW_SCAN_SIZE)`).
 */
export function scanDataRow(body: Buffer, out: Int32Array): number | ProtocolError {
  if (body.length < 2) return protocolError('short-message', 'data row: column count runs past the end of the message', B.DataRow);
  const n = body.readInt16BE(0);
  if (n < 0) return protocolError('invalid-count', 'data row: negative column count', B.DataRow);
  if (2 * n > out.length) return protocolError('invalid-count', `data row: ${n} columns do not fit the scan buffer`, B.DataRow);
  let off = 2;
  const end = body.length;
  for (let i = 0; i < n; i++) {
    if (off + 4 > end) return protocolError('short-message', `data row: column ${i + 1} runs past the end of the message`, B.DataRow);
    const len = body.readInt32BE(off);
    off += 4;
    out[2 * i] = off;
    out[2 * i + 1] = len;
    if (len === -1) continue;
    if (len < -1) return protocolError('invalid-value', `data row: invalid length ${len} of column ${i + 1}`, B.DataRow);
    if (len > end - off) return protocolError('short-message', `data row: column ${i + 1} runs past the end of the message`, B.DataRow);
    off += len;
  }
  if (off !== end) return protocolError('trailing-bytes', `data row: ${end - off} unexpected bytes after the last column`, B.DataRow);
  return n;
}

/** Buffers are sent as is, strings as UTF-8, null as SQL NULL. */
export function writeDataRow(w: Writer, values: readonly (Buffer | string | null)[]): void {
  if (values.length > 0x7fff) throw new RangeError('too many columns');
  const at = w.beginMessage(B.DataRow);
  w.int16(values.length);
  for (const v of values) {
    if (v === null) w.int32(-1);
    else if (typeof v === 'string') {
      const lenAt = w.length;
      w.int32(0).string(v);
      w.setInt32(lenAt, w.length - lenAt - 4);
    } else w.int32(v.length).bytes(v);
  }
  w.endMessage(at);
}

export function encodeDataRow(values: readonly (Buffer | string | null)[]): Buffer {
  const w = scratchWriter();
  writeDataRow(w, values);
  return finishScratch(w);
}

// --- CommandComplete ---

export function decodeCommandComplete(body: Buffer): CommandComplete | ProtocolError {
  const c = new Cursor(body, B.CommandComplete, 'command complete', false);
  const tag = c.cstring('command tag');
  return c.done() ?? { kind: 'CommandComplete', tag };
}

export function writeCommandComplete(w: Writer, tag: string): void {
  const at = w.beginMessage(B.CommandComplete);
  w.cstring(tag);
  w.endMessage(at);
}

export function encodeCommandComplete(tag: string): Buffer {
  const w = scratchWriter();
  writeCommandComplete(w, tag);
  return finishScratch(w);
}

export interface CommandTag {
  /** the command words: `SELECT`, `INSERT`, `CREATE TABLE`, ... */
  readonly command: string;
  /** the row count, when the tag carries one */
  readonly rows: number | null;
  /** INSERT only: the (historical, always 0) OID field */
  readonly oid?: number;
}

/** The number the ASCII digits of `s` from `from` to `end` write, or -1 when there are none or another character. */
function trailingNumber(s: string, from: number, end: number): number {
  if (from >= end) return -1;
  let n = 0;
  for (let i = from; i < end; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/**
 * Splits a command tag: `INSERT 0 5` → INSERT, rows 5, oid 0; `UPDATE 2`; `CREATE TABLE` (no
 * rows). The last space-separated number is the row count and a number before it the OID; any
 * other text (a server's tag of unknown shape, line breaks included) is the command.
 */
export function parseCommandTag(tag: string): CommandTag {
  const last = spaceBefore(tag, tag.length);
  const rows = last < 0 ? -1 : trailingNumber(tag, last + 1, tag.length);
  if (rows < 0) return { command: tag, rows: null };
  const before = spaceBefore(tag, last);
  const oid = before < 0 ? -1 : trailingNumber(tag, before + 1, last);
  if (oid < 0) return { command: tag.slice(0, last), rows };
  return { command: tag.slice(0, before), rows, oid };
}

/** The index of the last space before `end`, or -1 (a loop: lastIndexOf is a call into the runtime). */
function spaceBefore(s: string, end: number): number {
  for (let i = end - 1; i >= 0; i--) if (s.charCodeAt(i) === 32) return i;
  return -1;
}

// --- EmptyQueryResponse ---

const EMPTY_QUERY = Buffer.from([B.EmptyQueryResponse, 0, 0, 0, 4]);

export const decodeEmptyQueryResponse = (body: Buffer) => decodeEmpty(body, B.EmptyQueryResponse, 'EmptyQueryResponse');
/** EmptyQueryResponse (a shared constant: do not modify). */
export const encodeEmptyQueryResponse = (): Buffer => EMPTY_QUERY;
