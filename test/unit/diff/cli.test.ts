// `pamc diff` as CI runs it: paths, git revisions (read with git, nothing checked out), the
// working tree against a revision, formats, `--fail-on`, and clean usage errors.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HEADER } from '../../support/compile.ts';

const root = resolve(import.meta.dirname, '../../..');
const repo = mkdtempSync(join(tmpdir(), 'pamc-diff-'));

function run(cmd: string, args: string[], cwd = repo) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const git = (...args: string[]) => run('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'init.defaultBranch=main', ...args]);
const pamc = (...args: string[]) => run(process.execPath, [join(root, 'bin/pamc.js'), ...args]);

const TARGET = 'target shop: postgres { host "db" database "shop" login user "u" password env "P" }\n';
const BASE = 'group "analysts" {\n  on shop {\n    allow read on public.orders\n  }\n}\n';
const HEAD = 'group "analysts" {\n  on shop {\n    allow read on public.*\n  }\n}\n';

function write(files: Record<string, string>) {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(repo, path, '..'), { recursive: true });
    writeFileSync(join(repo, path), text);
  }
}

test.before(() => {
  git('init', '-q');
  write({ 'policies/00-header.pam': HEADER + TARGET, 'policies/10-analysts.pam': BASE, 'other/unrelated.pam': 'not a policy {' });
  git('add', '.');
  git('commit', '-q', '-m', 'base');
  write({ 'policies/10-analysts.pam': HEAD });
  git('commit', '-q', '-am', 'head');
});

test.after(() => rmSync(repo, { recursive: true, force: true }));

test('two revisions of the policy under a path', () => {
  const r = pamc('diff', 'HEAD~1', 'HEAD', '--', 'policies/');
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^pamc diff HEAD~1 → HEAD: 1 change: 1 widens access\n/);
  assert.match(r.stdout, /widens  target shop · group "analysts" · select, copy_out on public\.\*/);
  assert.match(r.stdout, /\+ HEAD:policies\/10-analysts\.pam:3:5  allow read on public\.\*/);
  // public.orders was allowed before and still is: the old rule explains nothing that changed
  assert.not.match(r.stdout, /allow read on public\.orders/);
});

test('--fail-on widen exits 1 on a widening, and not the other way round', () => {
  assert.is(pamc('diff', 'HEAD~1', 'HEAD', '--fail-on', 'widen', '--', 'policies/').code, 1);
  const back = pamc('diff', 'HEAD', 'HEAD~1', '--fail-on', 'widen', '--', 'policies/');
  assert.is(back.code, 0, back.stderr);
  assert.match(back.stdout, /1 narrows it/);
  assert.is(pamc('diff', 'HEAD', 'HEAD~1', '--fail-on', 'any', '--', 'policies/').code, 1);
  assert.is(pamc('diff', 'HEAD', 'HEAD', '--fail-on', 'any', '--', 'policies/').code, 0);
});

test('a revision against the working tree; two folders on disk', () => {
  write({ 'policies/10-analysts.pam': BASE });
  const r = pamc('diff', 'HEAD', 'policies');
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /1 narrows it/);
  assert.match(r.stdout, /- HEAD:policies\/10-analysts\.pam:3:5  allow read on public\.\*/);
  git('checkout', '-q', '--', 'policies');
  write({ 'a/p.pam': HEADER + TARGET + BASE, 'b/p.pam': HEADER + TARGET + HEAD });
  const folders = pamc('diff', 'a', 'b', '--format', 'json');
  assert.is(folders.code, 0, folders.stderr);
  const json = JSON.parse(folders.stdout);
  assert.equal(json.summary, { changes: 1, widening: 1, narrowing: 0, other: 0 });
  assert.equal(json.changes[0].scope, [{ actions: ['select', 'copy_out'], resources: ['public.*'] }]);
});

test('markdown to a file', () => {
  const r = pamc('diff', 'HEAD~1', 'HEAD', '--format', 'markdown', '-o', 'diff.md', '--', 'policies/');
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, '');
  const md = readFileSync(join(repo, 'diff.md'), 'utf8');
  assert.match(md, /^### pamc diff: 1 change: 1 widens access\n/);
  assert.match(md, /\| \*\*widens\*\* \| `shop` \| `analysts` \| `select`, `copy_out` on `public\.\*` \|/);
});

test('usage errors and policies with errors', () => {
  const neither = pamc('diff', 'nosuchrev', 'HEAD');
  assert.is(neither.code, 2);
  assert.match(neither.stderr, /`nosuchrev` is neither a file or folder nor a git revision/);
  const nothing = pamc('diff', 'HEAD~1', 'HEAD', '--', 'nowhere/');
  assert.is(nothing.code, 2);
  assert.match(nothing.stderr, /holds no \.pam files/);
  const broken = pamc('diff', 'HEAD~1', 'HEAD', '--', 'other/');
  assert.is(broken.code, 1);
  assert.match(broken.stderr, /the base policy \(HEAD~1\) has errors/);
});

test.run();
