// A result of 1,000,000 rows through a masked query (two masked columns: redact and hash),
// streamed by psql with FETCH_COUNT (DECLARE / FETCH in pieces of 10,000) and by postgres.js
// as one portal read with a cursor: every row arrives, masked, and the gateway's memory stays
// flat while it streams. The gateway here is `pamc serve` in a process of its own (on the
// fixture's policy folder), so its RSS is sampled alone.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../../support/ports.ts';
import postgres from 'postgres';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startGateway, type GatewayFixture } from '../../support/gateway.ts';
import { HASH_KEY, HASH_KEY_ENV } from './fixture.ts';

const ROWS = 1_000_000;

const SETUP = `
CREATE VIEW million AS
  SELECT g AS id, 'ssn-' || lpad(g::text, 9, '0') AS ssn, 'user' || g || '@example.com' AS email, g * 7 AS n
    FROM generate_series(1, ${ROWS}) g;
`;

const RULES = `
group "masked" {
  on db {
    allow read on public.*, catalog
    mask public.million.ssn with redact
    mask public.million.email with hash
  }
}`;

const test = suite<{ gw: GatewayFixture; serve: ChildProcess; port: number }>('masking: a million rows');

test.before(async (ctx) => {
  process.env[HASH_KEY_ENV] = HASH_KEY;
  ctx.gw = await startGateway({ setup: SETUP, rules: RULES, targetSettings: `masking { hash_key env "${HASH_KEY_ENV}" }` });
  ctx.port = await freePort();
  const root = new URL('../../../', import.meta.url).pathname;
  ctx.serve = spawn(process.execPath, [join(root, 'bin', 'pamc.js'), 'serve', ctx.gw.dir, '--listen', `db=127.0.0.1:${ctx.port}`, '--admin', 'none', '--log-level', 'warn', '--no-watch'], {
    env: process.env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  // until it accepts connections
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port: ctx.port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (i > 300) throw new Error('pamc serve did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
});
test.after(async ({ gw, serve }) => {
  serve?.kill('SIGTERM');
  await gw?.close();
});

/** Samples the gateway process's RSS until stopped; growth past the first second. */
function rssSampler(pid: number): { stop(): { growthMiB: number; peakMiB: number; samples: number } } {
  const samples: number[] = [];
  const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  const timer = setInterval(() => samples.push(rss()), 50);
  return {
    stop() {
      clearInterval(timer);
      // after the stream got going: the first second settles buffers and JIT code
      const settled = samples.slice(Math.min(20, Math.floor(samples.length / 4)));
      const base = Math.min(...settled);
      const peak = Math.max(...settled);
      return { growthMiB: (peak - base) / 1048576, peakMiB: peak / 1048576, samples: samples.length };
    },
  };
}

const LINE = /^(\d+)\|\*\*\*\|[0-9a-f]{64}\|(\d+)$/;

test('psql with FETCH_COUNT: every row arrives masked, RSS flat', async ({ gw, serve, port }) => {
  const rss = rssSampler(serve.pid!);
  const started = performance.now();
  const child = spawn('psql', [gw.conninfo().replace(`port=${gw.port}`, `port=${port}`), '-X', '-q', '-A', '-t', '-F', '|', '-v', 'FETCH_COUNT=10000', '-v', 'ON_ERROR_STOP=1', '-c', 'SELECT id, ssn, email, n FROM million'], {
    env: { ...process.env, PGPASSWORD: await gw.token(['masked']) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let rows = 0;
  let bad = 0;
  let firstBad = '';
  let rest = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) {
      if (l === '') continue;
      rows++;
      const m = LINE.exec(l);
      if (!m || Number(m[2]) !== Number(m[1]) * 7) {
        bad++;
        firstBad ||= l;
      }
    }
  });
  const code = await new Promise<number | null>((r) => child.on('close', r));
  const seconds = (performance.now() - started) / 1000;
  const mem = rss.stop();
  assert.is(code, 0, err);
  assert.is(rows, ROWS);
  assert.is(bad, 0, `a row not masked as expected: ${firstBad}`);
  assert.ok(mem.growthMiB < 64, `RSS grew by ${mem.growthMiB.toFixed(1)} MiB while streaming`);
  console.log(`    (psql FETCH_COUNT: ${ROWS} rows in ${seconds.toFixed(1)} s; RSS growth while streaming ${mem.growthMiB.toFixed(1)} MiB, peak ${mem.peakMiB.toFixed(0)} MiB)`);
});

test('postgres.js: one portal read with a cursor in batches of 5,000', async ({ gw, serve, port }) => {
  const c = await gw.clientConfig(['masked']);
  const sql = postgres({ host: c.host, port, database: c.database, username: c.user, password: c.password, max: 1 });
  const rss = rssSampler(serve.pid!);
  const started = performance.now();
  let rows = 0;
  let bad = 0;
  await sql.begin(async (tx) => {
    for await (const batch of tx`SELECT id, ssn, email, n FROM million`.cursor(5000)) {
      for (const r of batch as unknown as { id: number; ssn: string; email: string; n: number }[]) {
        rows++;
        if (r.ssn !== '***' || !/^[0-9a-f]{64}$/.test(r.email) || r.n !== r.id * 7) bad++;
      }
    }
  });
  const seconds = (performance.now() - started) / 1000;
  const mem = rss.stop();
  await sql.end();
  assert.is(rows, ROWS);
  assert.is(bad, 0);
  assert.ok(mem.growthMiB < 64, `RSS grew by ${mem.growthMiB.toFixed(1)} MiB while streaming`);
  console.log(`    (postgres.js cursor: ${ROWS} rows in ${seconds.toFixed(1)} s; RSS growth while streaming ${mem.growthMiB.toFixed(1)} MiB)`);
});

test.run();
