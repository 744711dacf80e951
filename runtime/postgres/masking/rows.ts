// Masking result rows on the wire: a DataRow message is rewritten with its masked columns
// replaced, the others copied as they came; COPY … TO STDOUT rows in text, CSV and binary
// format likewise (spec/masking.md §5).

import { BackendMessageType as B, DATA_ROW_SCAN_SIZE, scanDataRow } from '../protocol/index.ts';
import type { ColumnMask } from './plan.ts';
import { hmacFor, type HmacSha256 } from './hmac.ts';
import { maskValue, type MaskContext } from './strategies.ts';

const scan = new Int32Array(DATA_ROW_SCAN_SIZE);

/**
 * The DataRow `raw` (a whole message, type byte included) with `masks` applied, or null when it
 * is malformed (the caller ends the session: a row it cannot read is not forwarded). The plain
 * form of what RowMasker does fast; tests compare the two.
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
// The fast path: a result's masks compiled once, rows rewritten into a shared arena

/** How one masked column is rewritten. */
const enum H {
  /** the same bytes whatever the value (NULL stays NULL): redact, null, partial reveals of non-text */
  Const,
  /** email on text with no length limit */
  Email,
  /** keep_first / keep_last on text with no length limit (ASCII values; others go General) */
  Keep,
  /** hash on text with no length limit: 64 hex characters */
  HashText,
  /** anything else: maskValue */
  General,
}

interface Handler {
  h: H;
  index: number;
  /** Const: the value (null: NULL) */
  value: Buffer | null;
  n: number;
  first: boolean;
  mask: ColumnMask;
}

const HEX = Buffer.from('0123456789abcdef');
const PROBE = Buffer.from('probe');

/** Whether a strategy's result depends on the value for a column of this type. */
function dependsOnValue(m: ColumnMask): boolean {
  switch (m.strategy.name) {
    case 'null':
    case 'redact':
      return false;
    case 'hash':
      return ['text', 'int2', 'int4', 'int8', 'numeric', 'uuid'].includes(m.type.cls);
    default:
      return m.type.cls === 'text';
  }
}

/**
 * A result's masks, compiled once. A row is rewritten where it lies when its masked form is no
 * longer (the common case: masks replace values with shorter ones): the masked values are
 * written over the originals and the bytes after them moved (`copyWithin`), nothing is
 * allocated. A longer masked row is built in an arena shared by the rows of the result (one
 * allocation per many rows). Either way the caller sends the returned bytes on and keeps no
 * other reference to them.
 */
export class RowMasker {
  private readonly handlers: Handler[];
  private readonly lens: Int32Array;
  private readonly offs: Int32Array;
  /** the masked length of each masked column (-1: NULL) */
  private readonly outs: Int32Array;
  /** the column index of each handler, and where email found its '@' */
  private readonly idx: Int32Array;
  private readonly ats: Int32Array;
  private readonly general: (Buffer | null)[];
  private readonly hmac: HmacSha256 | null;
  private readonly mac = Buffer.alloc(32);

  constructor(
    masks: readonly ColumnMask[],
    private readonly ctx: MaskContext,
  ) {
    this.hmac = ctx.hashKey ? hmacFor(ctx.hashKey) : null;
    this.handlers = [...masks]
      .sort((a, b) => a.index - b.index)
      .map((m) => {
        const plainText = m.type.cls === 'text' && m.type.maxLength <= 0 && !m.type.pad;
        const base = { index: m.index, value: null, n: 0, first: false, mask: m };
        if (!dependsOnValue(m)) return { ...base, h: H.Const, value: maskValue(PROBE, m.strategy, m.type, ctx) };
        if (plainText && m.strategy.name === 'email') return { ...base, h: H.Email };
        if (plainText && (m.strategy.name === 'keep_first' || m.strategy.name === 'keep_last')) return { ...base, h: H.Keep, n: m.strategy.n, first: m.strategy.name === 'keep_first' };
        if (plainText && m.strategy.name === 'hash' && this.hmac) return { ...base, h: H.HashText };
        return { ...base, h: H.General };
      });
    this.lens = new Int32Array(this.handlers.length);
    this.offs = new Int32Array(this.handlers.length);
    this.outs = new Int32Array(this.handlers.length);
    this.idx = Int32Array.from(this.handlers.map((h) => h.index));
    this.ats = new Int32Array(this.handlers.length);
    this.general = new Array<Buffer | null>(this.handlers.length).fill(null);
  }

  /**
   * Appends the masked DataRow to `arena` (where the session collects what it sends next);
   * false when `raw` is malformed (nothing is appended then).
   */
  maskInto(raw: Buffer, arena: RowArena): boolean {
    const end = raw.length;
    if (end < 7) return false;
    const n = (raw[5] << 8) | raw[6];
    if (n > 0x7fff) return false;
    const idx = this.idx;
    const kmax = idx.length;
    // Where the masked columns are and how long their masked values will be, checking the
    // row's framing on the way.
    let p = 7;
    let k = 0;
    let delta = 0;
    for (let i = 0; i < n; i++) {
      if (p + 4 > end) return false;
      const len = (raw[p] << 24) | (raw[p + 1] << 16) | (raw[p + 2] << 8) | raw[p + 3];
      if (len < -1 || (len > 0 && len > end - p - 4)) return false;
      if (k < kmax && idx[k] === i) {
        this.offs[k] = p;
        this.lens[k] = len;
        const out = len === -1 ? -1 : this.outLength(k, raw, p + 4, len);
        this.outs[k] = out;
        delta += (out > 0 ? out : 0) - (len > 0 ? len : 0);
        k++;
      }
      p += 4 + (len > 0 ? len : 0);
      // the columns after the last masked one are copied as they came
      if (k === kmax) break;
    }
    if (p > end || (k < kmax && p !== end)) return false;
    const size = end + delta;
    const out = arena.reserve(size);
    let w = arena.used;
    out[w] = raw[0];
    writeInt(out, w + 1, size - 1);
    out[w + 5] = raw[5];
    out[w + 6] = raw[6];
    let r = 7;
    w += 7;
    for (let j = 0; j < k; j++) {
      const at = this.offs[j];
      w = copySpan(raw, r, at, out, w);
      const len = this.lens[j];
      const next = this.outs[j];
      writeInt(out, w, next);
      if (len !== -1) this.write(j, raw, at + 4, len, out, w + 4, next);
      r = at + 4 + (len > 0 ? len : 0);
      w += 4 + (next > 0 ? next : 0);
    }
    arena.used = copySpan(raw, r, end, out, w);
    return true;
  }

  /** The masked DataRow on its own (tests, and paths that are not hot), or null when malformed. */
  mask(raw: Buffer): Buffer | null {
    const a = new RowArena();
    if (!this.maskInto(raw, a)) return null;
    const out: Buffer[] = [];
    a.take(out);
    return out[0] ?? null;
  }

  /** The masked value's length in bytes (-1 for NULL) for handler k (General values are computed here). */
  private outLength(k: number, raw: Buffer, off: number, len: number): number {
    const h = this.handlers[k];
    switch (h.h) {
      case H.Const:
        return h.value === null ? -1 : h.value.length;
      case H.Email: {
        const at = lastAt(raw, off, len);
        this.ats[k] = at;
        if (at <= off) return 3;
        return Math.min(leadLength(raw[off]), at - off) + 4 + (off + len - at - 1);
      }
      case H.Keep:
        if (isAscii(raw, off, len)) return len;
        break;
      case H.HashText:
        return 64;
      default:
        break;
    }
    const v = maskValue(raw.subarray(off, off + len), h.mask.strategy, h.mask.type, this.ctx);
    this.general[k] = v;
    return v === null ? -1 : v.length;
  }

  /** Writes the masked value of column k (original at src[off, off + len)) at out[w]. */
  private write(k: number, src: Buffer, off: number, len: number, out: Buffer, w: number, next: number): void {
    const h = this.handlers[k];
    switch (h.h) {
      case H.Const:
        if (h.value !== null) for (let i = 0; i < next; i++) out[w + i] = h.value[i];
        return;
      case H.Email: {
        const at = this.ats[k];
        if (at <= off) {
          out[w] = 0x2a;
          out[w + 1] = 0x2a;
          out[w + 2] = 0x2a;
          return;
        }
        // the first character, `***@`, the domain
        const cl = Math.min(leadLength(src[off]), at - off);
        let o = copySpan(src, off, off + cl, out, w);
        out[o++] = 0x2a;
        out[o++] = 0x2a;
        out[o++] = 0x2a;
        out[o++] = 0x40;
        copySpan(src, at + 1, off + len, out, o);
        return;
      }
      case H.Keep: {
        if (this.general[k] !== null) break;
        // ASCII: as long as before, the hidden characters become `*`
        if (len <= h.n) copySpan(src, off, off + len, out, w);
        else if (h.first) {
          copySpan(src, off, off + h.n, out, w);
          out.fill(0x2a, w + h.n, w + len);
        } else {
          out.fill(0x2a, w, w + len - h.n);
          copySpan(src, off + len - h.n, off + len, out, w + len - h.n);
        }
        return;
      }
      case H.HashText: {
        this.hmac!.macInto(src, off, len, this.mac);
        for (let i = 0; i < 32; i++) {
          const b = this.mac[i];
          out[w + 2 * i] = HEX[b >> 4];
          out[w + 2 * i + 1] = HEX[b & 15];
        }
        return;
      }
      default:
        break;
    }
    const v = this.general[k];
    this.general[k] = null;
    if (v !== null) for (let i = 0; i < next; i++) out[w + i] = v[i];
  }
}

/** Copies src[from, to) to out[w] and returns the end: short spans byte by byte, longer ones natively. */
function copySpan(src: Buffer, from: number, to: number, out: Buffer, w: number): number {
  const len = to - from;
  if (len < 64) for (let i = 0; i < len; i++) out[w + i] = src[from + i];
  else src.copy(out, w, from, to);
  return w + len;
}

/**
 * Where masked rows are written: large buffers filled in order and never written again where
 * they were handed out while the socket may hold them, so the views `take` returns stay valid.
 * The session takes the rows written since the last take before it queues anything else, so
 * the order of messages holds; one view covers many rows.
 */
export class RowArena {
  private buf = Buffer.alloc(0);
  private start = 0;
  used = 0;
  private readonly full: Buffer[] = [];

  /** A buffer with `size` bytes free at `used`. */
  reserve(size: number): Buffer {
    if (this.buf.length - this.used >= size) return this.buf;
    if (this.used > this.start) this.full.push(this.buf.subarray(this.start, this.used));
    this.buf = Buffer.allocUnsafe(Math.max(ARENA_SIZE, size));
    this.start = 0;
    this.used = 0;
    return this.buf;
  }

  /** Moves the rows written since the last take to `out`. */
  take(out: { push(b: Buffer): unknown }): void {
    if (this.full.length > 0) {
      for (const b of this.full) out.push(b);
      this.full.length = 0;
    }
    if (this.used > this.start) {
      out.push(this.buf.subarray(this.start, this.used));
      this.start = this.used;
    }
  }

  /** Rows are waiting to be taken. */
  get pending(): boolean {
    return this.used > this.start || this.full.length > 0;
  }

  /**
   * Everything taken has been sent (the socket holds none of it): the buffer is written from its
   * start again, instead of allocating another (which would keep the garbage collector busy).
   */
  recycle(): void {
    if (this.pending) return;
    this.start = 0;
    this.used = 0;
  }
}

const ARENA_SIZE = 256 * 1024;

function leadLength(b: number): number {
  return b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
}

function isAscii(b: Buffer, off: number, len: number): boolean {
  for (let i = off; i < off + len; i++) if (b[i] >= 0x80) return false;
  return true;
}

/** The last '@' of a value (the index in `b`), or -1. */
function lastAt(b: Buffer, off: number, len: number): number {
  for (let i = off + len - 1; i >= off; i--) if (b[i] === 0x40) return i;
  return -1;
}

function writeInt(out: Buffer, w: number, v: number): void {
  out[w] = v >>> 24;
  out[w + 1] = (v >>> 16) & 0xff;
  out[w + 2] = (v >>> 8) & 0xff;
  out[w + 3] = v & 0xff;
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
