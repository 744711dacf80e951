// spec/diagnostics.md is the catalog of diagnostic codes: every code the compiler knows has an
// entry, and every entry's example really produces its code.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DIAGNOSTIC_CODES } from '../../../compiler/codes.ts';
import { compileTexts, HEADER } from '../../support/compile.ts';

const doc = readFileSync(join(import.meta.dirname, '../../../spec/diagnostics.md'), 'utf8');
const sections = new Map<string, string>();
for (const part of doc.split(/^### /m).slice(1)) {
  const code = part.slice(0, 7);
  sections.set(code, part);
}

test('every code of compiler/codes.ts has an entry in spec/diagnostics.md', () => {
  const missing = Object.keys(DIAGNOSTIC_CODES).filter((c) => !sections.has(c) && !c.startsWith('PAM4') && !c.startsWith('PAM5'));
  assert.equal(missing, []);
});

for (const [code, body] of sections) {
  if (body.includes('*(no snippet)*')) continue;
  test(`${code}: the example produces the code`, () => {
    const m = /```pam\n([\s\S]*?)```/.exec(body);
    assert.ok(m, `${code} has an example`);
    const example = m![1];
    const text = /^policy "/m.test(example) && !/^policy "other"/m.test(example) ? example : HEADER + example;
    const out = compileTexts({ 'policy.pam': code === 'PAM1001' ? example : text });
    const codes = out.diagnostics.map((d) => d.code);
    assert.ok(codes.includes(code), `${code} not among ${codes.join(', ') || 'no diagnostics'}`);
  });
}

test.run();
