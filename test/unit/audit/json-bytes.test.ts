// The recorder's byte writer writes exactly the UTF-8 of what JSON.stringify writes, for every
// UTF-16 code unit, surrogate pairs and lone surrogates, strings on both sides of the native
// threshold, and numbers of every kind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { JsonBytes } from '../../../runtime/audit/json-bytes.ts';

function written(f: (w: JsonBytes) => void, size = 16): string {
  const w = new JsonBytes(size);
  f(w);
  return w.buf.subarray(0, w.pos).toString('hex');
}
const expected = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8').toString('hex');

test('every UTF-16 code unit alone, and between ASCII, is the UTF-8 of JSON.stringify', () => {
  for (let c = 0; c <= 0xffff; c++) {
    const s = String.fromCharCode(c);
    for (const v of [s, `a${s}b`]) {
      const got = written((w) => w.str(v), 1);
      if (got !== expected(v)) assert.fixture(got, expected(v), `U+${c.toString(16)} in ${JSON.stringify(v)}`);
    }
  }
});

test('surrogates: pairs, reversed pairs, lone at either end, runs', () => {
  const cases = ['😀', '\ud83d\ude00\ud83d\ude00', '\ude00\ud83d', '\ud83d', 'x\ud83d', '\ude00x', '\ud800\ud800\udc00', '\udbff\udfff', '\ud800\udc00\udc00', 'é😀\u2028\u2029\u007f'];
  for (const v of cases) assert.is(written((w) => w.str(v)), expected(v), JSON.stringify(v));
});

test('strings on both sides of the native threshold, with escapes near the cut', () => {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = ['a', '"', '\\', '\n', '\u0001', 'é', '€', '😀', '\ud800', '\udc00', ' '];
  for (let i = 0; i < 2000; i++) {
    const len = [0, 1, 255, 256, 257, 300, 5000][rnd(7)];
    let v = '';
    while (v.length < len) v += alphabet[rnd(alphabet.length)];
    assert.is(written((w) => w.str(v), 1), expected(v), `string ${i}`);
  }
});

test('numbers as JSON.stringify writes them', () => {
  const values = [0, -0, 1, 9, 10, 99, 100, 12345, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 1_764_126_000_000, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, 2 ** 53 + 2, 2 ** 60, 123456789012345678, 2 ** 55 + 8, 9.87654321e19, 1e21, 1e22, 123e-20, -1, -(2 ** 31), 0.1, 0.001, 1.5, 0.253, 1 / 3, 5e-7, 1.7976931348623157e308, Number.MIN_VALUE, NaN, Infinity, -Infinity];
  values.push(1e9, 1e9 - 1, 1e9 + 1, 999_999_999_999.999, 1e12 - 0.001, 1e12, 0.002, 0.01, 0.1 + 0.2, 1.005, 4.35, 1_000_000.5, 2 ** 31 + 0.125, 1_764_126_000_000.5);
  for (let i = 0; i < 1000; i++) {
    values.push(Math.round(Math.random() * 1e6) / 1000, Math.floor(Math.random() * 2 ** 53), Math.random() * 1e-5);
    // timings as the gateway rounds them, in every range, and what is nearly but not quite such a value
    const ms = Math.round(Math.random() * 10 ** (3 + Math.floor(Math.random() * 13))) / 1000;
    values.push(ms, ms + Number.EPSILON * ms, Math.random() * 1e12, 1_700_000_000_000 + Math.floor(Math.random() * 1e11));
  }
  for (const n of values) assert.is(written((w) => w.num(n), 1), expected(n), String(n));
});

test('the buffer grows and keeps what was written', () => {
  const w = new JsonBytes(1);
  const parts: string[] = [];
  for (let i = 0; i < 500; i++) {
    w.str(`k${i}`);
    w.byte(0x2c);
    w.num(i * 1.5);
    w.ascii(',');
    w.utf8('"é"');
    w.bytes(Buffer.from('|'));
    parts.push(`${JSON.stringify(`k${i}`)},${JSON.stringify(i * 1.5)},"é"|`);
  }
  assert.is(w.buf.toString('utf8', 0, w.pos), parts.join(''));
});

test.run();
