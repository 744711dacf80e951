// `pamc serve` as a process: hot reload when the policy file changes (the next statement of
// an open session is decided by the new policy; an invalid policy is logged and the old one
// stays), reload on SIGHUP, the admin listener, and graceful shutdown on SIGTERM.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startGateway, type GatewayFixture } from '../../support/gateway.ts';
import { freePort } from '../../support/ports.ts';
import { expectError, SHOP_SETUP } from './shop.ts';

const PAMC = fileURLToPath(new URL('../../../bin/pamc.js', import.meta.url));
const ORDERS = `group "analysts" { on db { allow read on public.orders } }`;
const ITEMS = `group "analysts" { on db { allow read on public.order_items } }`;

interface Served {
  proc: ChildProcess;
  port: number;
  admin: number;
  out: () => string;
  exited: Promise<number | null>;
}

const test = suite<{ fixture: GatewayFixture; policy: string; text: string }>('pamc serve: reload and shutdown');

test.before(async (ctx) => {
  // the fixture prepares the database, the JWKS and the policy file; the CLI serves them
  ctx.fixture = await startGateway({ setup: SHOP_SETUP, rules: ORDERS });
  await ctx.fixture.close();
  ctx.policy = join(ctx.fixture.dir, 'policy.pam');
  ctx.text = readFileSync(ctx.policy, 'utf8');
});

async function serve(policy: string, extra: string[] = []): Promise<Served> {
  const port = await freePort();
  const admin = await freePort();
  const proc = spawn(process.execPath, [PAMC, 'serve', policy, '--listen', `db=127.0.0.1:${port}`, '--admin', `127.0.0.1:${admin}`, ...extra], {
    env: { ...process.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const deadline = Date.now() + 30_000;
  while (!out.includes('gateway-started')) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`pamc serve did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { proc, port, admin, out: () => out, exited };
}

async function eventually(what: string, check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function session(ctx: { fixture: GatewayFixture }, s: Served): Promise<pg.Client> {
  const c = new pg.Client({ ...(await ctx.fixture.clientConfig(['analysts'])), port: s.port });
  c.on('error', () => {});
  await c.connect();
  return c;
}

const outcome = (c: pg.Client, sql: string) =>
  c.query(sql).then(
    () => 'allowed',
    (e: { code: string }) => e.code,
  );

test('a file change reloads the policy for open sessions; an invalid policy keeps the old one', async (ctx) => {
  writeFileSync(ctx.policy, ctx.text);
  const s = await serve(ctx.policy);
  try {
    const c = await session(ctx, s);
    assert.is(await outcome(c, 'SELECT count(*) FROM orders'), 'allowed');
    assert.is(await outcome(c, 'SELECT count(*) FROM order_items'), '42501');
    writeFileSync(ctx.policy, ctx.text.replace(ORDERS, ITEMS));
    await eventually('the new policy', async () => (await outcome(c, 'SELECT count(*) FROM orders')) === '42501');
    assert.is(await outcome(c, 'SELECT count(*) FROM order_items'), 'allowed');
    writeFileSync(ctx.policy, ctx.text.replace(ORDERS, 'group "analysts" { on db { allow read on } }'));
    await eventually('the failed reload to be logged', () => s.out().includes('policy-reload-failed'));
    assert.is(await outcome(c, 'SELECT count(*) FROM order_items'), 'allowed', 'the old policy stays');
    assert.is(await outcome(c, 'SELECT count(*) FROM orders'), '42501');
    const metrics = await (await fetch(`http://127.0.0.1:${s.admin}/metrics`)).text();
    assert.match(metrics, /pamc_policy_reloads_total\{result="ok"\} 1/);
    assert.match(metrics, /pamc_policy_reloads_total\{result="failed"\} 1/);
    assert.match(metrics, /pamc_statements_total\{decision="deny",target="db"\} 3/);
    assert.match(metrics, /pamc_sessions_active\{target="db"\} 1/);
    await c.end();
  } finally {
    s.proc.kill('SIGKILL');
    await s.exited;
  }
});

test('SIGHUP reloads (with --no-watch); SIGTERM ends idle sessions with 57P01 and exits 0', async (ctx) => {
  writeFileSync(ctx.policy, ctx.text);
  const s = await serve(ctx.policy, ['--no-watch']);
  const c = await session(ctx, s);
  assert.is(await outcome(c, 'SELECT count(*) FROM orders'), 'allowed');
  writeFileSync(ctx.policy, ctx.text.replace(ORDERS, ITEMS));
  await new Promise((r) => setTimeout(r, 600));
  assert.is(await outcome(c, 'SELECT count(*) FROM orders'), 'allowed', 'no reload without a signal');
  s.proc.kill('SIGHUP');
  await eventually('the reload', async () => (await outcome(c, 'SELECT count(*) FROM orders')) === '42501');
  const ended = new Promise<{ code?: string }>((r) => c.once('error', r));
  const started = Date.now();
  s.proc.kill('SIGTERM');
  const e = await ended;
  assert.is(e.code, '57P01');
  assert.is(await s.exited, 0);
  assert.ok(Date.now() - started < 5000, 'an idle session does not hold the shutdown');
  assert.match(s.out(), /"event":"shutdown","signal":"SIGTERM"/);
  const late = new pg.Client({ ...(await ctx.fixture.clientConfig(['analysts'])), port: s.port });
  late.on('error', () => {});
  await expectError(late.connect());
});

test('with an audit block: the statements of a session are recorded; the log verifies after SIGTERM', async (ctx) => {
  const pair = generateKeyPairSync('ed25519');
  const dir = ctx.fixture.dir;
  writeFileSync(join(dir, 'serve-audit.jwk'), JSON.stringify(pair.privateKey.export({ format: 'jwk' })));
  writeFileSync(join(dir, 'serve-audit-public.jwk'), JSON.stringify(pair.publicKey.export({ format: 'jwk' })));
  writeFileSync(ctx.policy, `${ctx.text}\naudit {\n  dir "serve-audit"\n  key file "serve-audit.jwk"\n}\n`);
  const s = await serve(ctx.policy, ['--no-watch']);
  const c = await session(ctx, s);
  for (let i = 0; i < 20; i++) assert.is(await outcome(c, `SELECT count(*) FROM orders WHERE id > ${i}`), 'allowed');
  assert.is(await outcome(c, 'SELECT count(*) FROM order_items'), '42501');
  c.on('error', () => {});
  s.proc.kill('SIGTERM');
  assert.is(await s.exited, 0);
  const auditDir = join(dir, 'serve-audit');
  const records = readdirSync(auditDir)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(join(auditDir, f), 'utf8').split('\n').filter(Boolean))
    .map((l) => JSON.parse(l) as { kind: string; text?: string; outcome?: string; reason?: string });
  const statements = records.filter((r) => r.kind === 'statement');
  assert.is(statements.filter((r) => r.outcome === 'ok' && r.text?.startsWith('SELECT count(*) FROM orders WHERE id > ')).length, 20);
  assert.is(statements.filter((r) => r.outcome === 'denied' && r.text === 'SELECT count(*) FROM order_items').length, 1);
  assert.is(records[records.length - 1].reason, 'close', 'the log ends with the close checkpoint');
  const verified = await new Promise<{ ok: boolean }>((resolve) =>
    execFile(process.execPath, [PAMC, 'audit', 'verify', auditDir, '--key', join(dir, 'serve-audit-public.jwk'), '--json'], (_e, stdout) => resolve(JSON.parse(stdout || '{"ok":false}'))),
  );
  assert.ok(verified.ok, 'pamc audit verify');
});

test.run();
