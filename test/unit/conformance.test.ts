// The conformance suite (spec/conformance/): every case of every scenario, as one uvu test each,
// decided by the runtime through `pamc test`'s runner; and every rule of every scenario
// exercised (a scenario with a rule no case reaches is itself a defect).
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { percentText } from '../../bin/policy-tests/coverage.ts';
import { decisionDetails } from '../../bin/policy-tests/outcome.ts';
import { runTestFiles } from '../../bin/policy-tests/run.ts';

const root = resolve(import.meta.dirname, '../..');
const suite = join(root, 'spec/conformance');
const scenarios = readdirSync(suite, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();
const files = scenarios.flatMap((s) =>
  readdirSync(join(suite, s))
    .filter((f) => f.endsWith('.pamtest'))
    .map((f) => join(suite, s, f)),
);

const result = await runTestFiles(files, root);

test('the suite has at least eight scenarios, each with cases', () => {
  assert.ok(scenarios.length >= 8, `${scenarios.length} scenarios`);
  for (const s of scenarios) assert.ok(files.some((f) => f.includes(`/${s}/`)), `${s} has a .pamtest file`);
  for (const f of result.files) assert.ok(f.cases.length > 0, `${f.display} has cases`);
});

for (const f of result.files) {
  test(`${f.display}: no diagnostics`, () => {
    assert.equal(
      f.diagnostics.map((d) => `${d.code} ${d.message}`),
      [],
    );
    assert.ok(f.policy?.compiled, `${f.policy?.display} compiles`);
  });
  for (const c of f.cases) {
    test(`${f.display}:${c.line} ${c.name}`, () => {
      const why = [...c.errors, ...c.mismatches, ...(c.actual ? decisionDetails(c.actual) : [])].join('\n');
      assert.is(c.status, 'pass', why);
    });
  }
}

for (const cov of result.coverage) {
  test(`${cov.policy.display}: every rule exercised`, () => {
    assert.equal(
      cov.uncovered.map((r) => `${r.text} (line ${r.source?.line})`),
      [],
      `coverage ${percentText(cov)}`,
    );
  });
}

test.run();
