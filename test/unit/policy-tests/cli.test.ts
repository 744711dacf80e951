// `pamc test` as CI runs it: the process, its output and its exit codes. Every example's tests
// must pass with full decision coverage, so CI fails when an example's policy and its tests
// drift apart.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseXml } from './xml.ts';
import { SHOP, workspace } from './workspace.ts';

const root = resolve(import.meta.dirname, '../../..');

function pamc(args: string[], cwd = root) {
  const r = spawnSync(process.execPath, [join(root, 'bin/pamc.js'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const ws = workspace({
  'policy.pam': SHOP,
  'pass/t.pamtest': 'policy "../policy.pam"\ncase "a" { groups "analysts" sql "SELECT 1" expect allow }\n',
  'fail/t.pamtest': 'policy "../policy.pam"\ncase "a" { groups "analysts" sql "DROP TABLE x" expect allow }\n',
  'empty/readme.txt': 'no tests here',
});

test.after(() => ws.remove());

test('`pamc test examples` passes with 100% decision coverage of every example', () => {
  const r = pamc(['test', 'examples', '--coverage', '--min-coverage', '100']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /examples\/quickstart\/policy\.pamtest/);
  assert.match(r.stdout, /examples\/crewai\/policy\.pamtest/);
  assert.match(r.stdout, /examples\/multi-file\/policies\.pamtest/);
  assert.not.match(r.stdout, /not exercised/);
  assert.match(r.stdout, /3 test files, \d+ cases: \d+ passed, 0 failed\n$/);
});

test('the conformance suite passes through the command too', () => {
  const r = pamc(['test', 'spec/conformance', '--min-coverage', '100', '--format', 'github']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.not.match(r.stdout, /^::error/m);
});

test('exit 1 when a case fails; the failing case is named with its line', () => {
  const r = pamc(['test', 'fail'], ws.dir);
  assert.is(r.code, 1);
  assert.match(r.stdout, /✗ a\n {6}at fail\/t\.pamtest:2:1\n {6}expected allow, got deny: drop on public\.x denied by policy\.pam:28:3/);
});

test('exit 1 when coverage is below the minimum; 0 when it is not', () => {
  const low = pamc(['test', 'pass', '--min-coverage', '50'], ws.dir);
  assert.is(low.code, 1);
  assert.match(low.stdout, /below the minimum of 50%/);
  assert.is(pamc(['test', 'pass', '--min-coverage', '0'], ws.dir).code, 0);
  assert.is(pamc(['test', 'pass'], ws.dir).code, 0);
});

test('exit 2 for usage errors: no test files, a missing path, bad options', () => {
  const none = pamc(['test', 'empty'], ws.dir);
  assert.is(none.code, 2);
  assert.match(none.stderr, /no \.pamtest files in `empty`/);
  const missing = pamc(['test', 'nowhere'], ws.dir);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /`nowhere` does not exist/);
  assert.is(pamc(['test', 'pass', '--min-coverage', '150'], ws.dir).code, 2);
  assert.is(pamc(['test', 'pass', '--format', 'xml'], ws.dir).code, 2);
  assert.not.match(none.stderr + missing.stderr, /\n\s+at /, 'no stack trace');
});

test('the default path is the current folder, searched recursively', () => {
  const r = pamc(['test'], ws.dir);
  assert.is(r.code, 1, 'fail/ is below');
  assert.match(r.stdout, /2 test files, 2 cases: 1 passed, 1 failed/);
});

test('--format junit -o writes a JUnit file', () => {
  const out = join(ws.dir, 'report.xml');
  const r = pamc(['test', 'pass', 'fail', '--format', 'junit', '-o', out], ws.dir);
  assert.is(r.code, 1);
  assert.is(r.stdout, '');
  assert.ok(existsSync(out));
  const xml = parseXml(readFileSync(out, 'utf8'));
  assert.is(xml.name, 'testsuites');
  assert.is(xml.attributes.failures, '1');
});

test('--format json is parseable and says whether the run is ok', () => {
  const r = pamc(['test', 'pass', '--format', 'json'], ws.dir);
  assert.is(r.code, 0);
  assert.is(JSON.parse(r.stdout).ok, true);
});

test.run();
