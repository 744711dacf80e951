// What every strategy yields for every common type, in text and binary formats; masked rows
// on the wire against a naive builder; COPY streams in text, CSV and binary.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { MaskStrategy } from '../../../spec/compiled-policy.ts';
import { maskValue, type ColumnType, type TypeClass } from '../../../runtime/postgres/masking/strategies.ts';
import { CopyMasker, DEFAULT_TEXT_COPY, maskDataRow, RowMasker } from '../../../runtime/postgres/masking/rows.ts';
import { HmacSha256 } from '../../../runtime/postgres/masking/hmac.ts';
import { createHmac, randomBytes } from 'node:crypto';
import type { ColumnMask } from '../../../runtime/postgres/masking/plan.ts';

const ctx = { hashKey: Buffer.from('test-key') };
const text = (cls: TypeClass, maxLength = -1): ColumnType => ({ cls, format: 0, maxLength });
const bin = (cls: TypeClass): ColumnType => ({ cls, format: 1, maxLength: -1 });
const m = (v: string | Buffer | null, s: MaskStrategy, t: ColumnType) => {
  const out = maskValue(v === null ? null : Buffer.isBuffer(v) ? v : Buffer.from(v), s, t, ctx);
  return out === null ? null : t.format === 0 ? out.toString('utf8') : out.toString('hex');
};

test('redact yields a valid neutral value of each type', () => {
  const redact: MaskStrategy = { name: 'redact' };
  const cases: [TypeClass, string][] = [
    ['text', '***'],
    ['bool', 'f'],
    ['int2', '0'],
    ['int4', '0'],
    ['int8', '0'],
    ['float4', '0'],
    ['float8', '0'],
    ['numeric', '0'],
    ['date', '1970-01-01'],
    ['time', '00:00:00'],
    ['timestamp', '1970-01-01 00:00:00'],
    ['timestamptz', '1970-01-01 00:00:00+00'],
    ['interval', '00:00:00'],
    ['uuid', '00000000-0000-0000-0000-000000000000'],
    ['json', 'null'],
    ['jsonb', 'null'],
    ['bytea', '\\x'],
  ];
  for (const [cls, expected] of cases) assert.is(m('secret', redact, text(cls)), expected, cls);
  assert.is(m('x', redact, text('other')), null, 'unknown types become NULL');
  assert.is(m('00000001', redact, bin('int4')), '00000000');
  assert.is(m('x', redact, bin('date')), 'ffffd533', 'binary date: days from 2000-01-01 to 1970-01-01');
  assert.is(m('x', redact, bin('timestamp')), 'fffca2fec4c82000', 'binary timestamp: microseconds from 2000-01-01 to 1970-01-01');
  assert.is(m('x', redact, bin('jsonb')), '016e756c6c');
  assert.is(m('x', redact, bin('numeric')), '0000000000000000');
  assert.is(m('x', redact, bin('bytea')), '', 'binary bytea: empty');
});

test('NULL stays NULL under every strategy; null masks everything', () => {
  for (const s of [{ name: 'redact' }, { name: 'hash' }, { name: 'email' }, { name: 'keep_last', n: 4 }, { name: 'null' }] as MaskStrategy[]) {
    assert.is(m(null, s, text('text')), null);
  }
  assert.is(m('123-45-6789', { name: 'null' }, text('text')), null);
});

test('email, keep_first and keep_last on text', () => {
  assert.is(m('jane.doe@example.com', { name: 'email' }, text('text')), 'j***@example.com');
  assert.is(m('not-an-email', { name: 'email' }, text('text')), '***');
  assert.is(m('+1 202 555 0143', { name: 'keep_last', n: 4 }, text('text')), '***********0143');
  assert.is(m('Grace Hopper', { name: 'keep_first', n: 1 }, text('text')), 'G***********');
  assert.is(m('ab', { name: 'keep_first', n: 4 }, text('text')), 'ab');
  assert.is(m('ünïcødé', { name: 'keep_last', n: 2 }, text('text')), '*****dé');
  assert.is(m('42', { name: 'email' }, text('int4')), '0', 'partial reveals of non-text types redact');
  assert.is(m('jane@example.com', { name: 'email' }, text('text', 8)), 'j***@exa', 'clipped to varchar(n)');
});

test('hash is keyed and deterministic, and keeps the type', () => {
  const h1 = m('123-45-6789', { name: 'hash' }, text('text'));
  assert.is(h1, m('123-45-6789', { name: 'hash' }, text('text')));
  assert.is.not(h1, m('123-45-6788', { name: 'hash' }, text('text')));
  assert.match(h1!, /^[0-9a-f]{64}$/);
  const other = maskValue(Buffer.from('123-45-6789'), { name: 'hash' }, text('text'), { hashKey: Buffer.from('other-key') });
  assert.is.not(other!.toString(), h1, 'a different key gives a different hash');
  // text and binary forms of the same integer hash alike, so masked keys join across formats
  const asText = m('42', { name: 'hash' }, text('int4'));
  const b = Buffer.alloc(4);
  b.writeInt32BE(42);
  const asBinary = maskValue(b, { name: 'hash' }, bin('int4'), ctx)!;
  assert.is(asBinary.readInt32BE(0), Number(asText));
  assert.match(m('42', { name: 'hash' }, text('int8'))!, /^-?\d+$/);
  assert.match(m('3f0e8a1c-0000-4000-8000-000000000000', { name: 'hash' }, text('uuid'))!, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.is(m('x', { name: 'hash' }, text('date')), '1970-01-01', 'types without a hash form redact');
});

test('numeric hashes alike in text and binary; redact fits short text types', () => {
  // 48213.77 in binary: ndigits 3, weight 1, sign +, dscale 2: 4 8213 7700
  const b = Buffer.alloc(14);
  [3, 1, 0, 2, 4, 8213, 7700].forEach((v, i) => b.writeInt16BE(v, 2 * i));
  const asText = m('48213.77', { name: 'hash' }, text('numeric'));
  const asBinary = maskValue(b, { name: 'hash' }, bin('numeric'), ctx)!;
  // the binary result's value as text: base-10000 digits
  const nd = asBinary.readInt16BE(0);
  let v = 0n;
  for (let i = 0; i < nd; i++) v = v * 10000n + BigInt(asBinary.readInt16BE(8 + 2 * i));
  const weight = asBinary.readInt16BE(2);
  v *= 10000n ** BigInt(weight - (nd - 1));
  assert.is(String(v), asText);
  const neg = Buffer.alloc(10);
  [1, -1, 0x4000, 4, 5].forEach((x, i) => (i === 2 ? neg.writeUInt16BE(x, 4) : neg.writeInt16BE(x, 2 * i)));
  assert.is(maskValue(neg, { name: 'hash' }, bin('numeric'), ctx)!.toString('hex'), maskValue(numericOf('-0.0005'), { name: 'hash' }, bin('numeric'), ctx)!.toString('hex'));
  assert.is(m('x', { name: 'redact' }, text('text', 1)), '*');
  assert.is(m('xy', { name: 'redact' }, text('text', 2)), '**');
  assert.is(m('xyz', { name: 'redact' }, text('text', 5)), '***');
});

/** -0.0005 as the server sends it: one digit 5, weight -1, negative, dscale 4 */
function numericOf(_s: string): Buffer {
  const b = Buffer.alloc(10);
  b.writeInt16BE(1, 0);
  b.writeInt16BE(-1, 2);
  b.writeUInt16BE(0x4000, 4);
  b.writeInt16BE(4, 6);
  b.writeInt16BE(5, 8);
  return b;
}

test('HMAC-SHA-256 equals node:crypto for keys and messages of every length class', () => {
  for (let i = 0; i < 600; i++) {
    const key = randomBytes(i % 140);
    const msg = randomBytes((i * 7) % 200);
    assert.is(new HmacSha256(key).mac(msg).toString('hex'), createHmac('sha256', key).update(msg).digest('hex'), `key ${key.length} bytes, message ${msg.length}`);
  }
});

function dataRow(values: (string | null)[]): Buffer {
  // naive: type, length, count, then each length-prefixed value
  const parts: Buffer[] = [];
  const count = Buffer.alloc(2);
  count.writeInt16BE(values.length);
  parts.push(count);
  for (const v of values) {
    const len = Buffer.alloc(4);
    len.writeInt32BE(v === null ? -1 : Buffer.byteLength(v));
    parts.push(len);
    if (v !== null) parts.push(Buffer.from(v));
  }
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(5);
  head[0] = 0x44;
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const masks: ColumnMask[] = [
  { index: 1, strategy: { name: 'email' }, type: text('text') },
  { index: 3, strategy: { name: 'redact' }, type: text('text') },
];

test('a DataRow is rewritten with only its masked columns changed', () => {
  const out = maskDataRow(dataRow(['1', 'ada@example.com', 'Ada', '078-05-1120', null]), masks, ctx);
  assert.equal(out, dataRow(['1', 'a***@example.com', 'Ada', '***', null]));
  assert.equal(maskDataRow(dataRow(['2', null, 'x', null]), masks, ctx), dataRow(['2', null, 'x', null]));
  assert.is(maskDataRow(Buffer.from([0x44, 0, 0, 0, 6, 0, 9]), masks, ctx), null, 'a malformed row is refused');
});

test('RowMasker (the compiled fast path) writes exactly what maskDataRow writes, on random rows and masks', () => {
  const strategies: MaskStrategy[] = [{ name: 'redact' }, { name: 'null' }, { name: 'hash' }, { name: 'email' }, { name: 'keep_first', n: 2 }, { name: 'keep_last', n: 3 }];
  const classes: TypeClass[] = ['text', 'int4', 'int8', 'numeric', 'uuid', 'date', 'bool', 'other'];
  const samples = ['', 'a', 'jane.doe@example.com', '@x', 'x@', 'ünï@cødé', '078-05-1120', '12345', '3f0e8a1c-1234-4000-8000-00000000abcd', 'a'.repeat(300), 'été'];
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let round = 0; round < 400; round++) {
    const width = 1 + rand(6);
    const ms: ColumnMask[] = [];
    for (let i = 0; i < width; i++) {
      if (rand(2) === 0) continue;
      const t: ColumnType = { cls: classes[rand(classes.length)], format: rand(4) === 0 ? 1 : 0, maxLength: rand(4) === 0 ? 1 + rand(10) : -1, pad: rand(5) === 0 };
      ms.push({ index: i, strategy: strategies[rand(strategies.length)], type: t });
    }
    const masker = new RowMasker(ms, ctx);
    for (let r = 0; r < 5; r++) {
      const values = Array.from({ length: width }, () => (rand(6) === 0 ? null : samples[rand(samples.length)]));
      const row = dataRow(values);
      const b = maskDataRow(row, ms, ctx);
      // the fast path may rewrite the row where it lies: give it a copy inside a larger buffer
      const holder = Buffer.concat([Buffer.from('xx'), row, Buffer.from('yy')]);
      const a = masker.mask(holder.subarray(2, 2 + row.length));
      assert.is(holder.subarray(-2).toString(), 'yy', 'nothing past the row is touched');
      assert.equal(a === null ? null : Buffer.from(a).toString('hex'), b === null ? null : b.toString('hex'), JSON.stringify({ values, ms }));
    }
  }
  const masker = new RowMasker(masks, ctx);
  assert.is(masker.mask(Buffer.from([0x44, 0, 0, 0, 6, 0, 9])), null, 'a malformed row is refused');
  assert.is(new RowMasker([{ index: 1, strategy: { name: 'redact' }, type: text('text') }, { index: 3, strategy: { name: 'redact' }, type: text('text') }], ctx).mask(Buffer.concat([dataRow(['1', 'x']), Buffer.from([0])])), null, 'a row that ends before a masked column is refused');
});

test('COPY text: escapes, NULLs, rows split across CopyData', () => {
  const c = new CopyMasker(DEFAULT_TEXT_COPY, masks, ctx);
  const out = Buffer.concat([c.push(Buffer.from('1\tada@example.com\tAda\t078-05-1120\n2\t\\N\tB\\tob\tx')), c.push(Buffer.from('y\n')), c.end()]).toString();
  assert.is(out, '1\ta***@example.com\tAda\t***\n2\t\\N\tB\\tob\t***\n');
});

test('COPY csv: quoted fields with delimiters, quotes and newlines, header kept', () => {
  const c = new CopyMasker({ kind: 'csv', delimiter: ',', quote: '"', escape: '"', nullString: '', header: true, encoding: null }, masks, ctx);
  const out = Buffer.concat([c.push(Buffer.from('id,email,name,ssn\n1,"ada@example.com","Lovelace, Ada","078\n""05"""\n2,,x,\n')), c.end()]).toString();
  assert.is(out, 'id,email,name,ssn\n1,a***@example.com,"Lovelace, Ada",***\n2,,x,\n');
});

test('COPY csv with ESCAPE other than QUOTE: escaped quotes do not end a quoted field, split anywhere', () => {
  const f = { kind: 'csv' as const, delimiter: ',', quote: '"', escape: '\\', nullString: '', header: false, encoding: null };
  const input = '1,"a\\"b\n",x,078-05-1120\n2,"q\\\\",y,219-09-9999\n';
  for (let cut = 1; cut < input.length; cut++) {
    const c = new CopyMasker(f, masks, ctx);
    const out = Buffer.concat([c.push(Buffer.from(input.slice(0, cut))), c.push(Buffer.from(input.slice(cut))), c.end()]).toString();
    assert.not.match(out, /078-05-1120|219-09-9999/, `cut at ${cut}: ${out}`);
    assert.is(out.split('\n').filter((l) => l.endsWith('***')).length, 2, `cut at ${cut}: ${out}`);
  }
});

test('COPY binary: header, tuples split anywhere, trailer', () => {
  const header = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
  const tuple = (vals: (string | null)[]) => {
    const parts: Buffer[] = [Buffer.from([0, vals.length])];
    for (const v of vals) {
      const len = Buffer.alloc(4);
      len.writeInt32BE(v === null ? -1 : Buffer.byteLength(v));
      parts.push(len);
      if (v !== null) parts.push(Buffer.from(v));
    }
    return Buffer.concat(parts);
  };
  const stream = Buffer.concat([header, tuple(['1', 'ada@example.com', 'Ada', '078-05-1120']), tuple(['2', null, 'B', null]), Buffer.from([0xff, 0xff])]);
  const expected = Buffer.concat([header, tuple(['1', 'a***@example.com', 'Ada', '***']), tuple(['2', null, 'B', null]), Buffer.from([0xff, 0xff])]);
  for (const cut of [1, 7, 19, 20, 25, 40, stream.length - 1]) {
    const c = new CopyMasker({ ...DEFAULT_TEXT_COPY, kind: 'binary' }, masks, ctx);
    const out = Buffer.concat([c.push(stream.subarray(0, cut)), c.push(stream.subarray(cut)), c.end()]);
    assert.equal(out, expected, `split at ${cut}`);
  }
});

test.run();
