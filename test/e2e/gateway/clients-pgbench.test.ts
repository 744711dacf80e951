// pgbench through the gateway in its three query modes: `-M simple` (literals inline),
// `extended` (unnamed Parse/Bind/Describe/Execute/Sync each time) and `prepared` (named
// statements parsed once). The tables are initialised directly on the server; the select-only
// script and the default TPC-B-like script (a transaction of updates, a select and an insert)
// run through the gateway and must finish with no failed transaction.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startGateway, type GatewayFixture } from '../../support/gateway.ts';
import { run, SHOP_RULES } from './shop.ts';

const test = suite<{ gw: GatewayFixture; token: string }>('clients: pgbench');

test.before(async (ctx) => {
  ctx.gw = await startGateway({ rules: SHOP_RULES });
  const { pg, database } = ctx.gw;
  await run('pgbench', ['-i', '-q', '-s', '1', '-h', pg.host, '-p', String(pg.port), '-U', pg.users.scram.user, database], {
    env: { ...process.env, PGPASSWORD: pg.users.scram.password },
  });
  ctx.token = await ctx.gw.token(['bench']);
});
test.after(async (ctx) => {
  await ctx.gw.close();
});

async function pgbench(ctx: { gw: GatewayFixture; token: string }, args: string[]): Promise<string> {
  const { gw } = ctx;
  const { stdout, stderr } = await run('pgbench', ['-n', '-h', gw.host, '-p', String(gw.port), '-U', 'agent', ...args, gw.database], {
    env: { ...process.env, PGPASSWORD: ctx.token },
    timeout: 60_000,
  });
  return stdout + stderr;
}

for (const mode of ['simple', 'extended', 'prepared']) {
  test(`-M ${mode}: select-only and TPC-B-like transactions, none failed`, async (ctx) => {
    const before = Number((await ctx.gw.direct('SELECT count(*) FROM pgbench_history')).trim());
    const s = await pgbench(ctx, ['-M', mode, '-S', '-c', '4', '-t', '250']);
    assert.match(s, /number of transactions actually processed: 1000\/1000/);
    assert.match(s, /number of failed transactions: 0 \(0\.000%\)/);
    const t = await pgbench(ctx, ['-M', mode, '-c', '2', '-t', '50']);
    assert.match(t, /number of transactions actually processed: 100\/100/);
    assert.match(t, /number of failed transactions: 0 \(0\.000%\)/);
    const after = Number((await ctx.gw.direct('SELECT count(*) FROM pgbench_history')).trim());
    assert.is(after - before, 100);
  });
}

test('a custom script with a denied statement fails its transactions cleanly', async (ctx) => {
  const { writeFileSync, mkdtempSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'pamc-pgbench-'));
  writeFileSync(join(dir, 'bad.sql'), 'DELETE FROM pgbench_history;\n');
  const out = await pgbench(ctx, ['-f', join(dir, 'bad.sql'), '-t', '3']).catch((e: { stdout: string; stderr: string }) => e.stdout + e.stderr);
  assert.match(out, /pamc: permission denied: no rule allows delete on public\.pgbench_history/);
  assert.ok(Number((await ctx.gw.direct('SELECT count(*) FROM pgbench_history')).trim()) > 0);
  rmSync(dir, { recursive: true, force: true });
});

test.run();
