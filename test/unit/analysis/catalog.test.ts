// spec/diff.md §6 catalogues the analysis codes with examples: each example really produces its
// code, and every analysis code of compiler/codes.ts has an entry.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { analysisCheck } from '../../../compiler/analysis/index.ts';
import { DIAGNOSTIC_CODES } from '../../../compiler/codes.ts';
import { compileFiles } from '../../../compiler/index.ts';
import { decodeSource } from '../../../language/source.ts';
import { HEADER } from '../../support/compile.ts';

const doc = readFileSync(join(import.meta.dirname, '../../../spec/diff.md'), 'utf8');
const sections = new Map<string, string>();
for (const part of doc.split(/^### /m).slice(1)) sections.set(part.slice(0, 7), part);

test('every PAM4 code has an entry in spec/diff.md', () => {
  const missing = Object.keys(DIAGNOSTIC_CODES).filter((c) => c.startsWith('PAM4') && !sections.has(c));
  assert.equal(missing, []);
});

for (const [code, body] of sections) {
  const m = /```pam\n([\s\S]*?)```/.exec(body);
  if (!m) continue;
  test(`${code}: the example produces the code`, () => {
    const text = HEADER + m[1];
    const out = compileFiles([{ path: 'p.pam', display: 'p.pam', source: decodeSource(Buffer.from(text), 'p.pam') }], undefined, [analysisCheck]);
    const codes = out.diagnostics.map((d) => d.code);
    assert.ok(codes.includes(code), `${code} not among ${codes.join(', ') || 'no diagnostics'}`);
    assert.equal(out.diagnostics.filter((d) => d.severity === 'error'), []);
  });
}

test.run();
