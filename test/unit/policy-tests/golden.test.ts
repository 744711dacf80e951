// Golden files of `pamc test`'s reports: each folder under test/golden/policy-tests/ holds a
// policy and its cases; what every format prints (with --coverage) is compared with the
// expected files, durations blanked out. `UPDATE=1` rewrites them.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderGithub } from '../../../bin/policy-tests/report-github.ts';
import { renderHuman } from '../../../bin/policy-tests/report-human.ts';
import { renderJson } from '../../../bin/policy-tests/report-json.ts';
import { renderJunit } from '../../../bin/policy-tests/report-junit.ts';
import { runTestFiles } from '../../../bin/policy-tests/run.ts';
import { OPTIONS } from './workspace.ts';

const root = resolve(import.meta.dirname, '../../..');
const golden = join(root, 'test/golden/policy-tests');
const update = process.env.UPDATE === '1';

function compareOrWrite(file: string, actual: string): void {
  if (update) {
    writeFileSync(file, actual);
    return;
  }
  assert.ok(existsSync(file), `missing ${file}; run with UPDATE=1`);
  assert.fixture(actual, readFileSync(file, 'utf8'));
}

const timeless = (s: string) => s.replace(/time="[0-9.]+"/g, 'time="0.000"').replace(/"durationMs": [0-9.]+/g, '"durationMs": 0');

for (const name of readdirSync(golden).sort()) {
  test(`golden: ${name}`, async () => {
    const dir = join(golden, name);
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.pamtest'))
      .map((f) => join(dir, f));
    const r = await runTestFiles(files, dir);
    const o = { ...OPTIONS, coverage: true };
    compareOrWrite(join(dir, 'expected.txt'), renderHuman(r, o));
    compareOrWrite(join(dir, 'expected.github.txt'), renderGithub(r, o));
    compareOrWrite(join(dir, 'expected.junit.xml'), timeless(renderJunit(r, o)));
    compareOrWrite(join(dir, 'expected.json'), timeless(renderJson(r, o)));
  });
}

test.run();
