import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSource, firstInvalidUtf8, lineIndex, readSource } from '../../../language/source.ts';

const enc = (s: string) => new TextEncoder().encode(s);

test('decodes UTF-8 and strips a leading BOM', () => {
  const r = decodeSource(new Uint8Array([0xef, 0xbb, 0xbf, ...enc('policy "é"')]), 'a.pam');
  assert.ok(r.ok);
  assert.is(r.text, 'policy "é"');
  assert.equal(r.diagnostics, []);
  // a BOM elsewhere is kept (and the lexer will complain about it)
  assert.is(decodeSource(enc('a\ufeff'), 'a').text, 'a\ufeff');
});

test('finds the first bad byte', () => {
  assert.is(firstInvalidUtf8(enc('ascii é 😀')), -1);
  assert.is(firstInvalidUtf8(new Uint8Array([0x61, 0xff])), 1);
  assert.is(firstInvalidUtf8(new Uint8Array([0x61, 0xc3])), 1); // truncated sequence
  assert.is(firstInvalidUtf8(new Uint8Array([0xc0, 0x80])), 0); // overlong
  assert.is(firstInvalidUtf8(new Uint8Array([0xed, 0xa0, 0x80])), 0); // surrogate
  assert.is(firstInvalidUtf8(new Uint8Array([0xf4, 0x90, 0x80, 0x80])), 0); // above U+10FFFF
  assert.is(firstInvalidUtf8(new Uint8Array([0x61, 0x80])), 1); // lone continuation
});

test('PAM0006 with the byte offset and a span in the decodable text', () => {
  const r = decodeSource(new Uint8Array([...enc('a\né'), 0xfe, ...enc('x')]), 'a.pam');
  assert.not.ok(r.ok);
  assert.is(r.diagnostics[0].code, 'PAM0006');
  assert.match(r.diagnostics[0].message, 'byte offset 4');
  assert.equal(r.diagnostics[0].span, { start: 3, end: 4 });
  assert.is(r.text, 'a\né\ufffdx');
});

test('PAM0007 before decoding', () => {
  const r = decodeSource(new Uint8Array(8 * 1024 * 1024 + 1), 'big.pam');
  assert.not.ok(r.ok);
  assert.equal(
    r.diagnostics.map((d) => d.code),
    ['PAM0007'],
  );
});

test('readSource refuses a large file without reading it, and reads a small one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pamc-src-'));
  try {
    const big = join(dir, 'big.pam');
    writeFileSync(big, '');
    // a sparse 9 MiB file: large by its size, cheap to make
    const { truncateSync } = await import('node:fs');
    truncateSync(big, 9 * 1024 * 1024);
    const t = performance.now();
    const r = await readSource(big);
    assert.ok(performance.now() - t < 100);
    assert.equal(
      r.diagnostics.map((d) => d.code),
      ['PAM0007'],
    );
    const small = join(dir, 'small.pam');
    writeFileSync(small, 'policy "x"\n');
    const s = await readSource(small);
    assert.ok(s.ok);
    assert.is(s.text, 'policy "x"\n');
    const missing = await readSource(join(dir, 'nope.pam'));
    assert.not.ok(missing.ok);
    assert.is(missing.diagnostics[0].code, 'PAM0011');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('line index: 1-based lines and columns, UTF-16 columns, tabs count one', () => {
  const text = 'ab\n\tcd\r\né😀x\rlast';
  const li = lineIndex(text);
  assert.is(li.lineCount, 4);
  assert.equal(li.position(0), { line: 1, column: 1 });
  assert.equal(li.position(2), { line: 1, column: 3 });
  assert.equal(li.position(3), { line: 2, column: 1 });
  assert.equal(li.position(4), { line: 2, column: 2 });
  assert.equal(li.position(text.indexOf('x')), { line: 3, column: 4 });
  assert.equal(li.position(text.indexOf('last')), { line: 4, column: 1 });
  assert.equal(li.position(text.length), { line: 4, column: 5 });
  assert.is(li.lineText(2), '\tcd');
  assert.is(li.lineText(3), 'é😀x');
  assert.is(li.lineText(4), 'last');
  assert.is(li.lineText(9), '');
  assert.is(li.offset({ line: 3, column: 4 }), text.indexOf('x'));
  assert.equal(li.position(-5), { line: 1, column: 1 });
  assert.equal(li.position(NaN), { line: 1, column: 1 });
});

test('line index of an empty text and a text ending in a newline', () => {
  assert.equal(lineIndex('').position(0), { line: 1, column: 1 });
  const li = lineIndex('a\n');
  assert.is(li.lineCount, 2);
  assert.equal(li.position(2), { line: 2, column: 1 });
  assert.is(li.lineText(1), 'a');
});

test.run();
