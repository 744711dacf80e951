// Golden files for the analysis of `pamc check`: each folder under test/golden/analysis/ holds a
// policy with planted findings (commented where they are planted) and `expected.txt`, the
// rendered diagnostics. `UPDATE=1` rewrites them.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { analysisCheck } from '../../../compiler/analysis/index.ts';
import { compileFiles } from '../../../compiler/index.ts';
import { renderDiagnostics } from '../../../compiler/render.ts';
import { decodeSource } from '../../../language/source.ts';

const root = join(import.meta.dirname, '../../golden/analysis');
const update = process.env.UPDATE === '1';

for (const name of readdirSync(root).sort()) {
  test(`analysis golden: ${name}`, () => {
    const dir = join(root, name);
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.pam'))
      .sort()
      .map((f) => ({ path: f, display: f, source: decodeSource(readFileSync(join(dir, f)), f) }));
    const out = compileFiles(files, undefined, [analysisCheck]);
    const rendered = renderDiagnostics('human', out.diagnostics, out.texts, files.length);
    const file = join(dir, 'expected.txt');
    if (update) writeFileSync(file, rendered);
    else {
      assert.ok(existsSync(file), `missing ${file}; run with UPDATE=1`);
      assert.fixture(rendered, readFileSync(file, 'utf8'));
    }
    // every finding planted in the policy is marked with a comment naming its code or `dead`/`redundant`
    const text = files.map((f) => (f.source.ok ? f.source.text : '')).join('\n');
    const planted = (text.match(/# (dead|redundant)\b/g) ?? []).length;
    const found = out.diagnostics.filter((d) => d.code === 'PAM4001' || d.code === 'PAM4002').length;
    assert.is(found, planted, 'one PAM4001/PAM4002 per planted dead or redundant rule');
  });
}

test.run();
