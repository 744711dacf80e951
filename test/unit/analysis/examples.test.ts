// The analysis reports nothing on the examples: they are what users copy, and every finding on
// them would be a false positive (or a real problem to fix in the example).

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { analysisCheck } from '../../../compiler/analysis/index.ts';
import { compileFiles } from '../../../compiler/index.ts';
import { loadPolicyFiles } from '../../../compiler/sources.ts';

const examples = join(import.meta.dirname, '../../../examples');

/** Each example's policy: its `policies/` folder when it has one, else its folder. */
function policyRoots(): string[] {
  return readdirSync(examples)
    .map((name) => join(examples, name))
    .filter((dir) => statSync(dir).isDirectory())
    .map((dir) => (readdirSync(dir).includes('policies') ? join(dir, 'policies') : dir))
    .sort();
}

for (const root of policyRoots()) {
  test(`no findings on ${root.slice(examples.length + 1)}`, async () => {
    const input = await loadPolicyFiles([root]);
    assert.equal(input.problems, []);
    const out = compileFiles(input.files, undefined, [analysisCheck]);
    assert.ok(out.policy, 'the example compiles');
    assert.equal(out.diagnostics.map((d) => `${d.file}: ${d.code} ${d.message}`), []);
  });
}

test.run();
