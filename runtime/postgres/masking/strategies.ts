// Masked values: what each strategy yields for a value of each column type, in the text and
// the binary result formats (spec/masking.md §3). Every masked value is a valid value of its
// type in its format, so every client decodes it; where no such value is known, NULL.
// NULL stays NULL under every strategy.

import { hmacFor } from './hmac.ts';
import type { MaskStrategy } from '../../../spec/compiled-policy.ts';

/** How a type is masked: by what its values look like, not by its name. */
export type TypeClass = 'text' | 'bool' | 'int2' | 'int4' | 'int8' | 'float4' | 'float8' | 'numeric' | 'date' | 'time' | 'timestamp' | 'timestamptz' | 'interval' | 'uuid' | 'json' | 'jsonb' | 'bytea' | 'other';

/** Built-in type OIDs (pg_type.oid is fixed for built-ins). */
const BUILTIN: Record<number, TypeClass> = {
  16: 'bool',
  17: 'bytea',
  18: 'text', // "char"
  19: 'text', // name
  20: 'int8',
  21: 'int2',
  23: 'int4',
  25: 'text',
  114: 'json',
  700: 'float4',
  701: 'float8',
  1042: 'text', // bpchar
  1043: 'text', // varchar
  1082: 'date',
  1083: 'time',
  1114: 'timestamp',
  1184: 'timestamptz',
  1186: 'interval',
  1700: 'numeric',
  2950: 'uuid',
  3802: 'jsonb',
};

export function builtinTypeClass(oid: number): TypeClass | undefined {
  return BUILTIN[oid];
}

/** What masking needs to know about an output column. */
export interface ColumnType {
  cls: TypeClass;
  /** binary (1) or text (0) result format */
  format: 0 | 1;
  /** maximum length in characters for varchar(n) / char(n), else -1 */
  maxLength: number;
  /** char(n): values are padded with spaces to `maxLength`, as the server prints them */
  pad?: boolean;
}

export interface MaskContext {
  /** the target's HMAC key for `hash`; null when the policy names none */
  hashKey: Buffer | null;
}

const STARS = Buffer.from('***');
const EMPTY = Buffer.alloc(0);
const EMPTY_BYTEA_TEXT = Buffer.from('\\x');
const DAYS_1970_FROM_2000 = -10957;
const MICROS_1970_FROM_2000 = -946684800000000n;

/** The neutral value of a type (what `redact` yields for types that are not text), or null for NULL. */
function neutral(t: ColumnType): Buffer | null {
  const bin = t.format === 1;
  switch (t.cls) {
    case 'text':
      if (t.pad || (t.maxLength > 0 && t.maxLength < 3)) return Buffer.from(clipText('***', t), 'utf8');
      return STARS;
    case 'bool':
      return bin ? Buffer.from([0]) : Buffer.from('f');
    case 'int2':
      return bin ? Buffer.alloc(2) : Buffer.from('0');
    case 'int4':
    case 'float4':
      return bin ? Buffer.alloc(4) : Buffer.from('0');
    case 'int8':
    case 'float8':
      return bin ? Buffer.alloc(8) : Buffer.from('0');
    case 'numeric':
      // binary numeric: ndigits, weight, sign, dscale — all zero is 0
      return bin ? Buffer.alloc(8) : Buffer.from('0');
    case 'date': {
      if (!bin) return Buffer.from('1970-01-01');
      const b = Buffer.alloc(4);
      b.writeInt32BE(DAYS_1970_FROM_2000);
      return b;
    }
    case 'time':
      return bin ? Buffer.alloc(8) : Buffer.from('00:00:00');
    case 'timestamp':
    case 'timestamptz': {
      if (!bin) return Buffer.from(t.cls === 'timestamp' ? '1970-01-01 00:00:00' : '1970-01-01 00:00:00+00');
      const b = Buffer.alloc(8);
      b.writeBigInt64BE(MICROS_1970_FROM_2000);
      return b;
    }
    case 'interval':
      return bin ? Buffer.alloc(16) : Buffer.from('00:00:00');
    case 'uuid':
      return bin ? Buffer.alloc(16) : Buffer.from('00000000-0000-0000-0000-000000000000');
    case 'json':
      return Buffer.from('null');
    case 'jsonb':
      return bin ? Buffer.from([1, ...Buffer.from('null')]) : Buffer.from('null');
    case 'bytea':
      // an empty value; in text, as the server prints it (bytea_output hex; clients read either)
      return bin ? EMPTY : EMPTY_BYTEA_TEXT;
    default:
      return null;
  }
}

/** The value as text, for the strategies that read it; null when it cannot be read. */
function valueText(value: Buffer, t: ColumnType): string | null {
  if (t.format === 0 || t.cls === 'text') return value.toString('utf8');
  switch (t.cls) {
    case 'int2':
      return value.length === 2 ? String(value.readInt16BE(0)) : null;
    case 'int4':
      return value.length === 4 ? String(value.readInt32BE(0)) : null;
    case 'int8':
      return value.length === 8 ? String(value.readBigInt64BE(0)) : null;
    case 'uuid':
      return value.length === 16 ? formatUuid(value) : null;
    case 'numeric':
      return numericText(value);
    default:
      return null;
  }
}

/** The text form of a binary numeric (as the server prints it), or null when malformed. */
function numericText(b: Buffer): string | null {
  if (b.length < 8) return null;
  const ndigits = b.readInt16BE(0);
  const weight = b.readInt16BE(2);
  const sign = b.readUInt16BE(4);
  const dscale = b.readInt16BE(6);
  if (ndigits < 0 || b.length !== 8 + 2 * ndigits || dscale < 0) return null;
  if (sign === 0xc000) return 'NaN';
  if (sign === 0xd000) return 'Infinity';
  if (sign === 0xf000) return '-Infinity';
  const digit = (i: number) => (i >= 0 && i < ndigits ? b.readInt16BE(8 + 2 * i) : 0);
  // integer part: base-10000 digits 0..weight
  let int = '';
  for (let i = 0; i <= weight; i++) int += i === 0 ? String(digit(i)) : String(digit(i)).padStart(4, '0');
  if (int === '') int = '0';
  let frac = '';
  for (let i = weight + 1; frac.length < dscale; i++) frac += String(digit(i)).padStart(4, '0');
  frac = frac.slice(0, dscale);
  const text = dscale > 0 ? `${int}.${frac}` : int;
  return sign === 0x4000 ? `-${text}` : text;
}

function formatUuid(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** A text-like masked value as the column's type holds it: cut to varchar(n)/char(n), char(n) padded. */
function clipText(s: string, t: ColumnType): string {
  if (t.maxLength <= 0) return s;
  const chars = [...s];
  if (chars.length > t.maxLength) return chars.slice(0, t.maxLength).join('');
  if (t.pad && chars.length < t.maxLength) return s + ' '.repeat(t.maxLength - chars.length);
  return s;
}

/** HMAC-SHA-256 of the value's text form: equal values give equal masks, so masked columns still join. */
function hashed(value: Buffer, t: ColumnType, ctx: MaskContext): Buffer | null {
  const text = valueText(value, t);
  if (text === null || ctx.hashKey === null) return neutral(t);
  const mac = hmacFor(ctx.hashKey).mac(Buffer.from(text, 'utf8'));
  const bin = t.format === 1;
  switch (t.cls) {
    case 'text':
      return Buffer.from(clipText(mac.toString('hex'), t), 'utf8');
    case 'int2': {
      const v = mac.readInt16BE(0);
      if (!bin) return Buffer.from(String(v));
      const b = Buffer.alloc(2);
      b.writeInt16BE(v);
      return b;
    }
    case 'int4': {
      const v = mac.readInt32BE(0);
      if (!bin) return Buffer.from(String(v));
      const b = Buffer.alloc(4);
      b.writeInt32BE(v);
      return b;
    }
    case 'int8': {
      const v = mac.readBigInt64BE(0);
      if (!bin) return Buffer.from(String(v));
      const b = Buffer.alloc(8);
      b.writeBigInt64BE(v);
      return b;
    }
    case 'numeric': {
      const v = mac.readBigUInt64BE(0) % 10n ** 15n;
      return bin ? numericBinary(v) : Buffer.from(String(v));
    }
    case 'uuid': {
      const u = Buffer.from(mac.subarray(0, 16));
      return bin ? u : Buffer.from(formatUuid(u));
    }
    default:
      return neutral(t);
  }
}

/** The binary form of a non-negative integer as a numeric: base-10000 digits. */
function numericBinary(v: bigint): Buffer {
  const digits: number[] = [];
  let x = v;
  while (x > 0n) {
    digits.unshift(Number(x % 10000n));
    x /= 10000n;
  }
  const b = Buffer.alloc(8 + 2 * digits.length);
  b.writeInt16BE(digits.length, 0);
  b.writeInt16BE(digits.length > 0 ? digits.length - 1 : 0, 2);
  b.writeUInt16BE(0, 4); // positive
  b.writeInt16BE(0, 6); // dscale
  digits.forEach((d, i) => b.writeInt16BE(d, 8 + 2 * i));
  return b;
}

function maskEmail(text: string): string {
  const at = text.lastIndexOf('@');
  if (at <= 0) return '***';
  const first = [...text.slice(0, at)][0];
  return `${first}***@${text.slice(at + 1)}`;
}

function keep(text: string, n: number, fromStart: boolean): string {
  const chars = [...text];
  if (chars.length <= n) return text;
  const hidden = '*'.repeat(chars.length - n);
  return fromStart ? chars.slice(0, n).join('') + hidden : hidden + chars.slice(chars.length - n).join('');
}

/**
 * The masked form of one value (a DataRow field): bytes, or null for NULL. `value` is null when
 * the original is NULL.
 */
export function maskValue(value: Buffer | null, strategy: MaskStrategy, t: ColumnType, ctx: MaskContext): Buffer | null {
  if (value === null) return null;
  switch (strategy.name) {
    case 'null':
      return null;
    case 'redact':
      return neutral(t);
    case 'hash':
      return hashed(value, t, ctx);
    case 'email':
    case 'keep_first':
    case 'keep_last': {
      if (t.cls !== 'text') return neutral(t);
      const text = value.toString('utf8');
      const masked = strategy.name === 'email' ? maskEmail(text) : keep(text, strategy.n, strategy.name === 'keep_first');
      return Buffer.from(clipText(masked, t), 'utf8');
    }
  }
}
