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
const SILENCE_MS = Number(process.env.PAMC_TEST_SILENCE_MS ?? 600_000);
const EXIT_GRACE_MS = Number(process.env.PAMC_TEST_EXIT_GRACE_MS ?? 30_000);
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
    // A suite process that hangs must fail, not stall CI: stopped when it stays silent too long,
    // or when it has printed its summary but does not exit (a test left a server or socket open).
    let stopped = null;
    const stop = (why) => {
      if (stopped !== null) return;
      stopped = why;
      process.stdout.write(`\n${dir}: ${why}: stopped\n`);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
    };
    let silence = setTimeout(() => stop(`no output for ${SILENCE_MS / 1000} s`), SILENCE_MS);
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
      clearTimeout(silence);
      if (/Duration:/.test(out)) silence = setTimeout(() => stop('the tests ended but the process did not exit (something left open)'), EXIT_GRACE_MS);
      else silence = setTimeout(() => stop(`no output for ${SILENCE_MS / 1000} s`), SILENCE_MS);
    });
    child.on('close', (code) => {
      clearTimeout(silence);
      const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const passed = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const skipped = Number(/Skipped:\s+(\d+)/.exec(out)?.[1] ?? 0);
      let failed = total - passed - skipped;
      // A suite that crashed before reporting, or had to be stopped, counts one more failure.
      if ((code !== 0 && failed === 0) || stopped !== null) failed += 1;
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
