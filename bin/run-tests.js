#!/usr/bin/env node
// Runs the uvu suites (each in its own process) and ends with one line: `N passed, N failed`.
//   node bin/run-tests.js            all suites: unit, then e2e
//   node bin/run-tests.js unit       one suite
//   node bin/run-tests.js unit lexer only files whose path matches the pattern
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const suites = ['unit', 'e2e'];
const [only, pattern] = process.argv.slice(2);
const chosen = only ? [only] : suites;

function runSuite(name) {
  return new Promise((resolvePromise) => {
    const dir = join('test', name);
    if (!existsSync(join(root, dir))) return resolvePromise({ passed: 0, failed: 0 });
    const re = pattern ? `${pattern}.*\\.test\\.ts$` : '\\.test\\.ts$';
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'node_modules/uvu/bin.js'), dir, re], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? '0' },
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.on('close', (code) => {
      const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const passed = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const skipped = Number(/Skipped:\s+(\d+)/.exec(out)?.[1] ?? 0);
      let failed = total - passed - skipped;
      // A suite that crashed before reporting counts as one failure.
      if (code !== 0 && failed === 0) failed = 1;
      resolvePromise({ passed, failed: failed + skipped });
    });
  });
}

let passed = 0;
let failed = 0;
for (const suite of chosen) {
  console.log(`\n== ${suite} ==`);
  const r = await runSuite(suite);
  passed += r.passed;
  failed += r.failed;
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
