// Masking result rows on the wire: a DataRow message is rewritten with its masked columns
// replaced, the others copied as they came; COPY … TO STDOUT rows in text, CSV and binary
// format likewise (spec/masking.md §5).

import { BackendMessageType as B, DATA_ROW_SCAN_SIZE, scanDataRow } from '../protocol/index.ts';
import type { ColumnMask } from './plan.ts';
import { maskValue, type MaskContext } from './strategies.ts';

const scan = new Int32Array(DATA_ROW_SCAN_SIZE);

/**
 * The DataRow `raw` (a whole message, type byte included) with `masks` applied, or null when it
 * is malformed (the caller ends the session: a row it cannot read is not forwarded).
 */
export function maskDataRow(raw: Buffer, masks: readonly ColumnMask[], ctx: MaskContext): Buffer | null {
  const body = raw.subarray(5);
  const n = scanDataRow(body, scan);
  if (typeof n !== 'number') return null;
  // The masked values first, then one buffer of the right size.
  const replaced: (Buffer | null)[] = new Array(masks.length);
  let size = raw.length;
  for (let k = 0; k < masks.length; k++) {
    const m = masks[k];
    if (m.index >= n) {
      replaced[k] = null;
      continue;
    }
    const off = scan[2 * m.index];
    const len = scan[2 * m.index + 1];
    const original = len === -1 ? null : body.subarray(off, off + len);
    const v = maskValue(original, m.strategy, m.type, ctx);
    replaced[k] = v;
    size += (v === null ? 0 : v.length) - (len === -1 ? 0 : len);
  }
  const out = Buffer.allocUnsafe(size);
  out[0] = B.DataRow;
  out.writeInt32BE(size - 1, 1);
  out.writeInt16BE(n, 5);
  let w = 7;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const len = scan[2 * i + 1];
    if (k < masks.length && masks[k].index === i) {
      const v = replaced[k++];
      if (v === null) {
        out.writeInt32BE(-1, w);
        w += 4;
      } else {
        out.writeInt32BE(v.length, w);
        w += 4;
        v.copy(out, w);
        w += v.length;
      }
      continue;
    }
    out.writeInt32BE(len, w);
    w += 4;
    if (len > 0) {
      const off = scan[2 * i];
      body.copy(out, w, off, off + len);
      w += len;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// COPY … TO STDOUT

export interface CopyFormat {
  kind: 'text' | 'csv' | 'binary';
  delimiter: string;
  quote: string;
  escape: string;
  nullString: string;
  header: boolean;
  /** the ENCODING option, when given */
  encoding: string | null;
}

export const DEFAULT_TEXT_COPY: CopyFormat = { kind: 'text', delimiter: '\t', quote: '"', escape: '"', nullString: '\\N', header: false, encoding: null };

function decodeTextField(s: string): string {
  return s.replace(/\\(.)/gs, (_m, c: string) => {
    switch (c) {
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'v':
        return '\v';
      default:
        return c;
    }
  });
}

function encodeTextField(s: string, delimiter: string): string {
  let out = '';
  for (const ch of s) {
    if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === delimiter) out += `\\${ch}`;
    else out += ch;
  }
  return out;
}

/** Splits a text-format line on unescaped delimiters. */
function splitText(line: string, delimiter: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && i + 1 < line.length) {
      cur += c + line[i + 1];
      i++;
    } else if (c === delimiter) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** Splits a CSV record (one line, or several when quoted fields hold newlines) into raw fields. */
function splitCsv(record: string, f: CopyFormat): { value: string; quoted: boolean }[] {
  const out: { value: string; quoted: boolean }[] = [];
  let i = 0;
  for (;;) {
    let value = '';
    let quoted = false;
    if (record[i] === f.quote) {
      quoted = true;
      i++;
      while (i < record.length) {
        const c = record[i];
        // Inside quotes, ESCAPE before QUOTE (by default the quote doubled) is a literal quote.
        if (c === f.escape && i + 1 < record.length && (record[i + 1] === f.quote || (f.escape !== f.quote && record[i + 1] === f.escape))) {
          value += record[i + 1];
          i += 2;
          continue;
        }
        i++;
        if (c === f.quote) break;
        value += c;
      }
    }
    while (i < record.length && record[i] !== f.delimiter) value += record[i++];
    out.push({ value, quoted });
    if (i >= record.length) break;
    i++;
  }
  return out;
}

function encodeCsvField(value: string, f: CopyFormat): string {
  const needs = value === f.nullString || value.includes(f.delimiter) || value.includes(f.quote) || value.includes('\n') || value.includes('\r');
  if (!needs) return value;
  const esc = value.split(f.quote).join(f.escape + f.quote);
  return `${f.quote}${esc}${f.quote}`;
}

/**
 * Masks the COPY stream of one statement. Rows can be split across CopyData messages, so the
 * masker keeps the unfinished tail; `push` returns what to send now.
 */
export class CopyMasker {
  private tail = Buffer.alloc(0);
  /** CSV: where scanning of the tail resumes, and whether that point is inside quotes */
  private scanFrom = 0;
  private scanInQuote = false;
  private headerPending: boolean;
  private binaryHeaderDone = false;

  constructor(
    private readonly format: CopyFormat,
    private readonly masks: readonly ColumnMask[],
    private readonly ctx: MaskContext,
  ) {
    this.headerPending = format.kind !== 'binary' && format.header;
  }

  push(data: Buffer): Buffer {
    const buf = this.tail.length > 0 ? Buffer.concat([this.tail, data]) : data;
    return this.format.kind === 'binary' ? this.binary(buf) : this.textual(buf);
  }

  /** Whatever remains at CopyDone (a last line without a newline). */
  end(): Buffer {
    if (this.tail.length === 0) return this.tail;
    const rest = this.tail;
    this.tail = Buffer.alloc(0);
    this.scanFrom = 0;
    this.scanInQuote = false;
    return this.format.kind === 'binary' ? rest : this.maskLine(rest.toString('utf8'), '');
  }

  private textual(buf: Buffer): Buffer {
    const parts: Buffer[] = [];
    let start = 0;
    if (this.format.kind === 'text') {
      // Text format escapes newlines inside values: every newline ends a row.
      for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, start)) {
        parts.push(this.maskLine(buf.subarray(start, i).toString('utf8'), '\n'));
        start = i + 1;
      }
      this.tail = Buffer.from(buf.subarray(start));
      return parts.length === 1 ? parts[0] : Buffer.concat(parts);
    }
    // CSV: a newline ends a record outside quotes only; inside quotes ESCAPE before QUOTE (or
    // before ESCAPE) is literal, and with ESCAPE = QUOTE a doubled quote is.
    const quote = this.format.quote.charCodeAt(0);
    const escape = this.format.escape.charCodeAt(0);
    let i = this.scanFrom;
    let inQuote = this.scanInQuote;
    while (i < buf.length) {
      const c = buf[i];
      if (inQuote) {
        if (c === escape && escape !== quote) {
          if (i + 1 >= buf.length) break; // decide when the next byte is here
          if (buf[i + 1] === quote || buf[i + 1] === escape) {
            i += 2;
            continue;
          }
          i++;
          continue;
        }
        if (c === quote) {
          if (escape === quote) {
            if (i + 1 >= buf.length) break;
            if (buf[i + 1] === quote) {
              i += 2;
              continue;
            }
          }
          inQuote = false;
        }
        i++;
        continue;
      }
      if (c === quote) inQuote = true;
      else if (c === 0x0a) {
        parts.push(this.maskLine(buf.subarray(start, i).toString('utf8'), '\n'));
        start = i + 1;
      }
      i++;
    }
    this.tail = Buffer.from(buf.subarray(start));
    this.scanFrom = i - start;
    this.scanInQuote = inQuote;
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  private maskLine(line: string, newline: string): Buffer {
    if (this.headerPending) {
      this.headerPending = false;
      return Buffer.from(line + newline);
    }
    const cr = line.endsWith('\r') ? '\r' : '';
    const body = cr ? line.slice(0, -1) : line;
    const f = this.format;
    let out: string;
    if (f.kind === 'text') {
      if (body === '\\.') return Buffer.from(line + newline);
      const fields = splitText(body, f.delimiter);
      for (const m of this.masks) {
        if (m.index >= fields.length) continue;
        const raw = fields[m.index];
        const original = raw === f.nullString ? null : Buffer.from(decodeTextField(raw), 'utf8');
        const v = maskValue(original, m.strategy, { ...m.type, format: 0 }, this.ctx);
        fields[m.index] = v === null ? f.nullString : encodeTextField(v.toString('utf8'), f.delimiter);
      }
      out = fields.join(f.delimiter);
    } else {
      const fields = splitCsv(body, f);
      const texts = fields.map((x) => (x.quoted ? encodeCsvField(x.value, f) : x.value));
      for (const m of this.masks) {
        if (m.index >= fields.length) continue;
        const x = fields[m.index];
        const isNull = !x.quoted && x.value === f.nullString;
        const v = maskValue(isNull ? null : Buffer.from(x.value, 'utf8'), m.strategy, { ...m.type, format: 0 }, this.ctx);
        texts[m.index] = v === null ? f.nullString : encodeCsvField(v.toString('utf8'), f);
      }
      out = texts.join(f.delimiter);
    }
    return Buffer.from(out + cr + newline, 'utf8');
  }

  private binary(buf: Buffer): Buffer {
    const parts: Buffer[] = [];
    let off = 0;
    if (!this.binaryHeaderDone) {
      // PGCOPY\n\xff\r\n\0, flags int32, extension length int32 + extension
      if (buf.length < 19) {
        this.tail = Buffer.from(buf);
        return Buffer.alloc(0);
      }
      const extLen = buf.readInt32BE(15);
      if (buf.length < 19 + extLen) {
        this.tail = Buffer.from(buf);
        return Buffer.alloc(0);
      }
      parts.push(buf.subarray(0, 19 + extLen));
      off = 19 + extLen;
      this.binaryHeaderDone = true;
    }
    for (;;) {
      if (buf.length - off < 2) break;
      const n = buf.readInt16BE(off);
      if (n === -1) {
        parts.push(buf.subarray(off, off + 2)); // trailer
        off += 2;
        continue;
      }
      // walk the tuple to see whether it is complete
      let p = off + 2;
      const fields: { off: number; len: number }[] = [];
      let complete = true;
      for (let i = 0; i < n; i++) {
        if (buf.length - p < 4) {
          complete = false;
          break;
        }
        const len = buf.readInt32BE(p);
        p += 4;
        if (len > 0 && buf.length - p < len) {
          complete = false;
          break;
        }
        fields.push({ off: p, len });
        if (len > 0) p += len;
      }
      if (!complete) break;
      const values: (Buffer | null)[] = fields.map((x) => (x.len === -1 ? null : buf.subarray(x.off, x.off + x.len)));
      for (const m of this.masks) {
        if (m.index < values.length) values[m.index] = maskValue(values[m.index], m.strategy, { ...m.type, format: 1 }, this.ctx);
      }
      const size = 2 + values.reduce((s, v) => s + 4 + (v === null ? 0 : v.length), 0);
      const tuple = Buffer.allocUnsafe(size);
      tuple.writeInt16BE(n, 0);
      let w = 2;
      for (const v of values) {
        tuple.writeInt32BE(v === null ? -1 : v.length, w);
        w += 4;
        if (v) {
          v.copy(tuple, w);
          w += v.length;
        }
      }
      parts.push(tuple);
      off = p;
    }
    this.tail = Buffer.from(buf.subarray(off));
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }
}
