// The CLI builds the lexer and parser without Chevrotain's grammar self-checks (they cost a cold
// start); this test builds them with the checks, so a grammar mistake still fails the suite.

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

test('the grammar passes Chevrotain self-validation', () => {
  const root = join(import.meta.dirname, '../../..');
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', '-e', "import('./language/index.ts').then((l) => { const r = l.parsePolicy('policy \"x\"', 'x.pam'); process.stdout.write(String(r.diagnostics.length)); })"],
    { cwd: root, env: { ...process.env, PAMC_VALIDATE_GRAMMAR: '1', FORCE_COLOR: '0', NO_COLOR: '1' }, encoding: 'utf8' },
  );
  assert.is(out.trim(), '0');
});

test.run();
