// Golden files for the compiler: each folder under test/golden/compiler/ holds the .pam files of
// one policy and what compiling it gives — `expected.json` (the compiled policy) when it
// compiles, `expected.txt` (the rendered diagnostics) always. `UPDATE=1` rewrites them.

import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { serializeCompiled } from '../../../compiler/index.ts';
import { renderDiagnostics } from '../../../compiler/render.ts';
import { loadPolicy } from '../../../runtime/policy/load.ts';
import { compileTexts } from '../../support/compile.ts';

const root = join(import.meta.dirname, '../../golden/compiler');
const update = process.env.UPDATE === '1';

function compareOrWrite(file: string, actual: string): void {
  if (update) {
    writeFileSync(file, actual);
    return;
  }
  assert.ok(existsSync(file), `missing ${file}; run with UPDATE=1`);
  assert.fixture(actual, readFileSync(file, 'utf8'));
}

for (const name of readdirSync(root).sort()) {
  test(`golden: ${name}`, () => {
    const dir = join(root, name);
    const files: Record<string, string> = {};
    for (const f of readdirSync(dir).sort()) if (f.endsWith('.pam')) files[f] = readFileSync(join(dir, f), 'utf8');
    const out = compileTexts(files);
    const rendered = renderDiagnostics('human', out.diagnostics, out.texts, Object.keys(files).length);
    compareOrWrite(join(dir, 'expected.txt'), rendered);
    const jsonFile = join(dir, 'expected.json');
    if (out.policy) {
      const json = serializeCompiled(out.policy);
      compareOrWrite(jsonFile, json);
      // The output is what the runtime accepts: schema-valid, no dangling references.
      loadPolicy(JSON.parse(json));
    } else {
      if (update && existsSync(jsonFile)) unlinkSync(jsonFile);
      assert.not.ok(existsSync(jsonFile), `${name} no longer compiles but has expected.json`);
    }
  });
}

test.run();
