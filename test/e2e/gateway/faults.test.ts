// Faults: the upstream down at connect or killed mid-query, a client gone mid-result (its
// query is cancelled upstream), a slow client reading a large result (memory stays bounded),
// CancelRequest mapped to the upstream, and 200 concurrent sessions of different identities
// with no cross-talk. The gateway process survives every one of them and keeps serving.

import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startGateway, type GatewayFixture } from '../../support/gateway.ts';
import { freePort } from '../../support/ports.ts';
import { startPostgres, type PostgresServer } from '../../support/postgres-server.ts';
import { expectError, SHOP_RULES, SHOP_SETUP } from './shop.ts';
import { login, loginBytes, open, render, w } from './wire.ts';
import { WireSession } from '../../support/pg-session.ts';
import { BackendReader } from '../../../runtime/postgres/protocol/framing.ts';

const run = promisify(execFile);
const GROUPS = 10;
const test = suite<{ gw: GatewayFixture; server: PostgresServer }>('faults');

const SETUP = `${SHOP_SETUP}
  ${Array.from({ length: GROUPS }, (_, i) => `CREATE TABLE t${i} (v text); INSERT INTO t${i} VALUES ('secret-of-g${i}');`).join('\n')}`;
const RULES = `${SHOP_RULES}
${Array.from({ length: GROUPS }, (_, i) => `group "g${i}" { on db { allow read on public.t${i} } }`).join('\n')}`;

test.before(async (ctx) => {
  // a server of our own: 200 sessions need more than the shared server's 100 connections
  ctx.server = await startPostgres({ isolated: true });
  await ctx.server.psql('ALTER SYSTEM SET max_connections = 260');
  const pgctl = `${ctx.server.binDir}/pg_ctl`;
  const args = ['restart', '-D', ctx.server.dataDir, '-w', '-t', '60', '-m', 'fast', '-l', `${ctx.server.dataDir}/restart.log`];
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  await run(asRoot ? 'runuser' : pgctl, asRoot ? ['-u', 'postgres', '--', pgctl, ...args] : args, { cwd: '/tmp' });
  ctx.gw = await startGateway({ setup: SETUP, rules: RULES, server: ctx.server });
});
test.after(async (ctx) => {
  await ctx.gw.close();
  await ctx.server.stop();
});

async function client(gw: GatewayFixture, groups: string[], application_name?: string): Promise<pg.Client> {
  const c = new pg.Client({ ...(await gw.clientConfig(groups)), ...(application_name ? { application_name } : {}) });
  c.on('error', () => {});
  await c.connect();
  return c;
}

/** The server's view of the sessions a client named `app` opened through the gateway. */
async function activity(gw: GatewayFixture, app: string): Promise<string[]> {
  const out = await gw.pg.psql(`SELECT state FROM pg_stat_activity WHERE application_name = '${app}'`);
  return out.split('\n').filter((l) => l.trim() !== '');
}

async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const SLOW = 'SELECT count(*) FROM generate_series(1, 2000000000)';

test('a startup parameter value the server refuses is the client\'s error, not the target\'s outage', async ({ gw }) => {
  for (const [name, value, code] of [['DateStyle', 'garbage', '22023'], ['TimeZone', 'Mars/Olympus', '22023']] as const) {
    // node-postgres has no setting for these: sent raw
    const s = new WireSession(await open(gw));
    s.send(loginBytes(gw, await gw.token(['clerks']), [[name, value]]));
    const out = render(await s.until('ErrorResponse'));
    assert.match(out[out.length - 1], new RegExp(`^ErrorResponse FATAL ${code} pamc: target "db" refused a startup parameter: invalid value for parameter "${name}": "${value}"`));
    s.close();
  }
  assert.not.ok(gw.log.lines.some((l) => l.event === 'upstream-unavailable'), 'no outage is logged');
  assert.ok(gw.log.lines.some((l) => l.event === 'startup-parameter-refused'));
});

test('upstream down at connect: a clean FATAL 08006, and the gateway goes on', async ({ gw }) => {
  const down = await startGateway({ setup: '', rules: SHOP_RULES, server: gw.pg, upstream: { host: '127.0.0.1', port: await freePort() } });
  try {
    const c = new pg.Client(await down.clientConfig(['clerks']));
    c.on('error', () => {});
    const e = await expectError(c.connect());
    assert.is(e.code, '08006');
    assert.is(e.severity, 'FATAL');
    assert.is(e.message, 'pamc: target "db" is unavailable');
    assert.ok(down.log.lines.some((l) => l.event === 'upstream-unavailable'));
    assert.not.ok(JSON.stringify(down.log.lines).includes(gw.pg.users.scram.password), 'no credentials in the log');
  } finally {
    await down.close();
  }
  const ok = await client(gw, ['clerks']);
  assert.equal((await ok.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
  await ok.end();
});

test('a target database whose encoding is not UTF8 is refused at connect (0A000), never read as if it were', async ({ gw }) => {
  // LATIN1 cuts a long name at other bytes than the parser the gateway reads SQL with
  const latin = await startGateway({ setup: '', rules: SHOP_RULES, server: gw.pg, databaseOptions: "TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'" });
  try {
    const c = new pg.Client(await latin.clientConfig(['clerks']));
    c.on('error', () => {});
    const e = await expectError(c.connect());
    assert.equal([e.code, e.severity, e.message], ['0A000', 'FATAL', 'pamc: target "db" cannot be served: its database encoding is LATIN1, and pamc reads SQL as a UTF8 database does']);
    assert.ok(latin.log.lines.some((l) => l.event === 'upstream-encoding'));
  } finally {
    await latin.close();
  }
});

test('upstream killed mid-query: the client gets an error, the gateway keeps serving', async ({ gw }) => {
  const c = await client(gw, ['clerks'], 'fault-kill');
  const running = expectError(c.query(SLOW));
  await until('the query to run', async () => (await activity(gw, 'fault-kill')).includes('active'));
  await gw.pg.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'fault-kill'");
  const e = await running;
  assert.is(e.code, '57P01');
  const other = await client(gw, ['clerks']);
  assert.equal((await other.query('SELECT count(*)::int AS n FROM orders')).rows, [{ n: 100 }]);
  await other.end();
});

test('client gone mid-query: the upstream query is cancelled', async ({ gw }) => {
  const s = await login(gw, ['clerks'], [['application_name', 'fault-gone']]);
  s.send(w.query(SLOW));
  await until('the query to run', async () => (await activity(gw, 'fault-gone')).includes('active'));
  s.socket.destroy();
  await until('the query to stop', async () => !(await activity(gw, 'fault-gone')).includes('active'), 5000);
});

test('client gone mid-result (a large result it stopped reading): the upstream session ends', async ({ gw }) => {
  const socket = connect({ host: gw.host, port: gw.port });
  await new Promise((r) => socket.once('connect', r));
  socket.write(Buffer.concat([loginBytes(gw, await gw.token(['clerks']), [['application_name', 'fault-big']]), w.query("SELECT repeat('x', 1000) FROM generate_series(1, 1000000)")]));
  await new Promise((r) => socket.once('data', r));
  socket.pause();
  await until('the query to run', async () => (await activity(gw, 'fault-big')).length > 0);
  socket.destroy();
  await until('the upstream session to end', async () => (await activity(gw, 'fault-big')).length === 0, 8000);
});

test('a slow client reading a large result: memory stays bounded, every row arrives', async ({ gw }) => {
  const rows = 300_000;
  const socket = connect({ host: gw.host, port: gw.port });
  await new Promise((r) => socket.once('connect', r));
  let bytes = 0;
  let tail = Buffer.alloc(0);
  // every row read and checked as it arrives: the gateway relays views of what it read from the
  // server, and none of them may be written over while it waits for this client
  const reader = new BackendReader();
  const xs = Buffer.alloc(1000, 'x');
  let next = 1;
  let wrong: string | null = null;
  const done = new Promise<void>((resolve) =>
    socket.on('data', (d: Buffer) => {
      bytes += d.length;
      reader.push(d);
      for (let m = reader.next(); m !== null && wrong === null; m = reader.next()) {
        if (m.kind === 'ProtocolError') wrong = `unreadable at row ${next}: ${m.message}`;
        else if (m.type === 0x44) {
          const b = m.body;
          const n = b.readInt32BE(2);
          const g = b.toString('latin1', 6, 6 + n);
          if (g !== String(next) || b.readInt32BE(6 + n) !== 1000 || !b.subarray(10 + n).equals(xs)) wrong = `row ${next} arrived as ${g}`;
          next++;
        }
      }
      tail = Buffer.concat([tail, d]).subarray(-64);
      // the final ReadyForQuery after the result
      if (wrong !== null || tail.includes(Buffer.from(`SELECT ${rows}\u0000Z\u0000\u0000\u0000\u0005I`))) resolve();
    }),
  );
  global.gc?.();
  const before = process.memoryUsage().rss;
  socket.write(Buffer.concat([loginBytes(gw, await gw.token(['clerks'])), w.query(`SELECT g, repeat('x', 1000) FROM generate_series(1, ${rows}) g`)]));
  // stop reading once the rows flow (a fixed delay let a fast machine read half the result first)
  await new Promise<void>((r) => {
    const check = () => (bytes >= 1 << 20 ? (socket.pause(), r()) : setImmediate(check));
    check();
  });
  let peak = 0;
  for (let i = 0; i < 15; i++) {
    await new Promise((r) => setTimeout(r, 100));
    peak = Math.max(peak, process.memoryUsage().rss - before);
  }
  const received = bytes;
  socket.resume();
  await done;
  socket.destroy();
  assert.is(wrong, null);
  assert.is(next - 1, rows, 'every row, each once, in order');
  const total = rows * 1019;
  assert.ok(received < total / 4, `the client read ${received} of ~${total} bytes while paused`);
  assert.ok(peak < 96 * 1024 * 1024, `RSS grew by ${(peak / 1048576).toFixed(1)} MiB while the client was not reading (result ${(total / 1048576).toFixed(0)} MiB)`);
  console.log(`    (slow client: ${(total / 1048576).toFixed(0)} MiB result, RSS growth while paused ${(peak / 1048576).toFixed(1)} MiB)`);
});

test('CancelRequest with the gateway\'s backend key cancels the upstream query (57014)', async ({ gw }) => {
  const socket = connect({ host: gw.host, port: gw.port });
  await new Promise((r) => socket.once('connect', r));
  const { WireSession } = await import('../../support/pg-session.ts');
  const ws = new WireSession(socket);
  ws.send(loginBytes(gw, await gw.token(['clerks']), [['application_name', 'fault-cancel']]));
  const hello = await ws.until('ReadyForQuery');
  const key = hello.find((m) => m.kind === 'BackendKeyData') as { pid: number; secret: Buffer } | undefined;
  assert.ok(key, 'BackendKeyData');
  ws.send(w.query(SLOW));
  await until('the query to run', async () => (await activity(gw, 'fault-cancel')).includes('active'));
  // a wrong key cancels nothing
  for (const secret of [[0, 0, 0, 0], [...key!.secret]]) {
    const c = connect({ host: gw.host, port: gw.port });
    await new Promise((r) => c.once('connect', r));
    c.end(w.cancelRequest(secret[0] === 0 && secret[3] === 0 ? key!.pid ^ 1 : key!.pid, secret));
    await new Promise((r) => c.once('close', r));
    if (secret[0] === 0 && secret[3] === 0) {
      await new Promise((r) => setTimeout(r, 300));
      assert.ok((await activity(gw, 'fault-cancel')).includes('active'), 'a wrong key cancelled the query');
    }
  }
  const m = render(await ws.until('ReadyForQuery')).filter((x) => !x.startsWith('ParameterStatus'));
  assert.ok(m.includes('ErrorResponse ERROR 57014 canceling statement due to user request'), m.join(' / '));
  ws.send(w.query('SELECT 3'));
  assert.ok(render(await ws.until('ReadyForQuery')).includes('DataRow 3'));
  ws.close();
});

test('200 concurrent sessions of different identities: each sees only what its groups allow', async ({ gw }) => {
  const n = 200;
  await until('earlier sessions to close', async () => gw.gateway.sessionCount() === 0);
  const baseline = 0;
  const clients = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const c = new pg.Client({ ...(await gw.clientConfig([`g${i % GROUPS}`], { sub: `agent-${i}` })), application_name: `agent-${i}` });
      c.on('error', () => {});
      await c.connect();
      return c;
    }),
  );
  const wrong: string[] = [];
  await Promise.all(
    clients.map(async (c, i) => {
      const g = i % GROUPS;
      for (let round = 0; round < 3; round++) {
        const r = await c.query(`SELECT v, current_setting('application_name') AS app FROM t${g}`);
        if (r.rows.length !== 1 || r.rows[0].v !== `secret-of-g${g}` || r.rows[0].app !== `agent-${i}`) wrong.push(`${i}: ${JSON.stringify(r.rows)}`);
        const e = await c.query(`SELECT v FROM t${(g + 1) % GROUPS}`).then(
          () => 'allowed',
          (x: { code: string }) => x.code,
        );
        if (e !== '42501') wrong.push(`${i}: other group's table ${e}`);
      }
    }),
  );
  assert.equal(wrong, []);
  assert.is(gw.gateway.sessionCount() - baseline, n);
  await Promise.all(clients.map((c) => c.end()));
  await until('sessions to close', async () => gw.gateway.sessionCount() <= baseline);
});

test.run();
