// Golden files for `pamc diff`: each folder under test/golden/diff/ holds a `base/` and a `head/`
// policy and the three renderings of their diff (expected.txt, expected.json, expected.md).
// `UPDATE=1` rewrites them. Every case also checks that the reverse diff mirrors it.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileFiles } from '../../../compiler/index.ts';
import { diffPolicies } from '../../../compiler/diff/index.ts';
import { renderDiff } from '../../../compiler/diff/render.ts';
import { buildReport } from '../../../compiler/diff/report.ts';
import { sideFromTexts } from '../../../compiler/diff/sources.ts';

const root = join(import.meta.dirname, '../../golden/diff');
const update = process.env.UPDATE === '1';

function compareOrWrite(file: string, actual: string): void {
  if (update) {
    writeFileSync(file, actual);
    return;
  }
  assert.ok(existsSync(file), `missing ${file}; run with UPDATE=1`);
  assert.fixture(actual, readFileSync(file, 'utf8'));
}

function side(dir: string, label: string) {
  const texts: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) if (f.endsWith('.pam')) texts[f] = readFileSync(join(dir, f), 'utf8');
  const s = sideFromTexts(label, texts);
  const out = compileFiles(s.files);
  const errors = out.diagnostics.filter((d) => d.severity === 'error');
  assert.equal(errors.map((d) => `${d.file}: ${d.code} ${d.message}`), [], `${dir} compiles`);
  return { info: { label, display: (p: string) => `${label}/${p}` }, policy: out.policy! };
}

for (const name of readdirSync(root).sort()) {
  test(`diff golden: ${name}`, () => {
    const dir = join(root, name);
    const base = side(join(dir, 'base'), 'base');
    const head = side(join(dir, 'head'), 'head');
    const report = buildReport(diffPolicies(base.policy, head.policy), base.info, head.info);
    compareOrWrite(join(dir, 'expected.txt'), renderDiff('human', report));
    compareOrWrite(join(dir, 'expected.json'), renderDiff('json', report));
    compareOrWrite(join(dir, 'expected.md'), renderDiff('markdown', report));
    const back = buildReport(diffPolicies(head.policy, base.policy), head.info, base.info);
    assert.equal(back.summary.changes, report.summary.changes, 'the reverse diff has as many changes');
    assert.equal(back.summary.widening, report.items.filter((i) => i.narrowing).length, 'what narrows one way widens the other');
  });
}

test.run();
