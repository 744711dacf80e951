// The embedded default as a user starts it: `pamc serve examples/quickstart/policy.pam` serves
// PGlite seeded from the example, prints a ready-to-paste psql line, and masks what the policy
// says. PGlite is one PostgreSQL session underneath, so it serves one client session at a time:
// two at once would share prepared statements, portals, settings and the transaction while each
// gateway session saw only its own half (one could DEALLOCATE and PREPARE again a name the other
// then executes). The next session waits for the open one to end, and is refused (53300) if it
// does not end in time.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '../../support/ports.ts';
import * as w from '../../support/pgwire-builder.ts';
import { connect } from 'node:net';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PAMC = `${ROOT}bin/pamc.js`;
const POLICY = 'examples/quickstart/policy.pam';

const test = suite<{ proc: ChildProcess; port: number; out: () => string; token: string }>('the embedded quickstart');

test.before(async (ctx) => {
  ctx.port = await freePort();
  ctx.proc = spawn(process.execPath, [PAMC, 'serve', POLICY, '--listen', `shop=127.0.0.1:${ctx.port}`, '--admin', 'none', '--no-watch'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  ctx.proc.stdout!.on('data', (d) => (out += d));
  ctx.proc.stderr!.on('data', (d) => (out += d));
  ctx.out = () => out;
  const deadline = Date.now() + 60_000;
  while (!out.includes('gateway-started')) {
    if (Date.now() > deadline || ctx.proc.exitCode !== null) throw new Error(`pamc serve did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  ctx.token = execFileSync(process.execPath, [PAMC, 'token', '--dev', '--groups', 'analysts', '--policy', POLICY], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
});

test.after(async (ctx) => {
  ctx.proc?.kill('SIGTERM');
  await new Promise((r) => ctx.proc?.once('exit', r));
});

function client(ctx: { port: number; token: string }): pg.Client {
  const c = new pg.Client({ host: '127.0.0.1', port: ctx.port, database: 'shop', user: 'agent', password: ctx.token });
  c.on('error', () => {});
  return c;
}

test('it prints how to connect, and serves the seeded shop with the policy\'s masks', async (ctx) => {
  assert.match(ctx.out(), `psql "host=127.0.0.1 port=${ctx.port} dbname=shop user=agent"`);
  assert.match(ctx.out(), 'npx pamc token --dev --groups analysts');
  const c = client(ctx);
  await c.connect();
  const r = await c.query('SELECT email, ssn FROM customers ORDER BY id LIMIT 1');
  assert.equal(r.rows, [{ email: 'a***@example.com', ssn: '***' }]);
  await c.end();
});

test('one client session at a time: the next waits for the open one, and is refused (53300) when it stays open', async (ctx) => {
  const a = client(ctx);
  await a.connect();
  await a.query('BEGIN');
  // refused after the wait: the open session's transaction is untouched
  const b = client(ctx);
  const started = Date.now();
  const err = await b.connect().then(
    () => null,
    (e: { code?: string; message: string }) => e,
  );
  assert.ok(err, 'a second session while one is open');
  assert.is(err!.code, '53300');
  assert.match(err!.message, 'serves one session at a time');
  assert.ok(Date.now() - started >= 4_000, 'it waited for the open session first');
  assert.equal((await a.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
  // a session that comes while the open one is about to end gets the server once it has
  const c = client(ctx);
  const connecting = c.connect();
  await new Promise((r) => setTimeout(r, 300));
  await a.query('ROLLBACK');
  await a.end();
  await connecting;
  assert.equal((await c.query("SELECT current_setting('transaction_isolation') IS NOT NULL AS ok")).rows, [{ ok: true }]);
  await c.end();
});

test('a client that gives up while it waits leaves nothing behind: the next session gets the server', async (ctx) => {
  const a = client(ctx);
  await a.connect();
  // a raw client logs in and goes away while the gateway waits for the open session
  const raw = connect({ host: '127.0.0.1', port: ctx.port });
  await new Promise((r) => raw.once('connect', r));
  raw.on('error', () => {});
  raw.write(Buffer.concat([w.startupMessage([['user', 'agent'], ['database', 'shop']]), w.passwordMessage(ctx.token)]));
  await new Promise((r) => setTimeout(r, 500));
  raw.destroy();
  await new Promise((r) => setTimeout(r, 300));
  await a.end(); // the waiting login now gets the server, for a client that is gone
  await new Promise((r) => setTimeout(r, 500));
  const c = client(ctx);
  await c.connect();
  assert.equal((await c.query('SELECT 2 AS two')).rows, [{ two: 2 }]);
  await c.end();
});

test.run();
