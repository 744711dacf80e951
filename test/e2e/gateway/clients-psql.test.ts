// psql through the gateway: simple queries, multi-statement -c (all or nothing), the catalog
// queries behind \d and \dt, COPY both ways, and denials in the same session.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startGateway, type GatewayFixture } from '../../support/gateway.ts';
import { libpqEnv, run, SHOP_RULES, SHOP_SETUP } from './shop.ts';

const test = suite<{ gw: GatewayFixture }>('clients: psql');

test.before(async (ctx) => {
  ctx.gw = await startGateway({ setup: SHOP_SETUP, rules: SHOP_RULES });
});
test.after(async (ctx) => {
  await ctx.gw.close();
});

async function psql(gw: GatewayFixture, groups: string[], args: string[], input?: string): Promise<{ stdout: string; stderr: string; code: number }> {
  const env = { ...process.env, ...(await libpqEnv(gw, groups)) };
  const p = run('psql', [gw.conninfo(), '-X', '-v', 'ON_ERROR_STOP=0', ...args], { env });
  if (input !== undefined) {
    p.child.stdin?.end(input);
  }
  try {
    const r = await p;
    return { ...r, code: 0 };
  } catch (e) {
    const x = e as { stdout: string; stderr: string; code: number };
    return { stdout: x.stdout, stderr: x.stderr, code: x.code };
  }
}

test('\\dt and \\d read the catalog with the `catalog` set', async ({ gw }) => {
  const r = await psql(gw, ['analysts'], ['-c', '\\dt', '-c', '\\d orders']);
  assert.is(r.stderr, '');
  assert.match(r.stdout, /public \| orders\s+\| table/);
  assert.match(r.stdout, /public \| secrets\s+\| table/);
  assert.match(r.stdout, /Table "public.orders"/);
  assert.match(r.stdout, /amount\s+\| numeric\(10,2\)/);
  assert.match(r.stdout, /"orders_pkey" PRIMARY KEY, btree \(id\)/);
});

test('multi-statement -c: every result when all are allowed', async ({ gw }) => {
  const r = await psql(gw, ['analysts'], ['-At', '-c', 'SELECT 1; SELECT count(*) FROM orders; SELECT v FROM secrets']);
  assert.is(r.stderr, '');
  assert.equal(r.stdout.trim().split('\n'), ['1', '100', 'top']);
});

test('multi-statement -c with one denied statement runs none of them; the session goes on', async ({ gw }) => {
  const r = await psql(gw, ['clerks'], ['-At', '-c', "UPDATE orders SET status = 'gone' WHERE id = 3; DELETE FROM secrets", '-c', 'SELECT status FROM orders WHERE id = 3']);
  assert.match(r.stderr, /ERROR:\s+pamc: permission denied: no rule allows delete on public\.secrets/);
  assert.match(r.stderr, /statement 2 of 2; none of them ran/);
  assert.is(r.stdout.trim(), 'new');
  assert.is((await gw.direct('SELECT count(*) FROM secrets')).trim(), '1');
});

test('a denied statement names the rule with its file:line:col; the next one runs', async ({ gw }) => {
  const r = await psql(gw, ['clerks'], ['-At', '-c', 'DROP TABLE orders', '-c', 'SELECT count(*) FROM orders']);
  assert.match(r.stderr, /ERROR:\s+pamc: permission denied: drop on public\.orders is denied by rule policy\.pam:\d+:\d+ `deny drop, truncate, dcl, admin`/);
  assert.is(r.stdout.trim(), '100');
});

test('COPY FROM STDIN and TO STDOUT when allowed; a denied COPY leaves nothing behind', async ({ gw }) => {
  const r = await psql(gw, ['clerks'], ['-c', 'COPY orders (id, status) FROM STDIN'], '501\tcopied\n502\tcopied\n\\.\n');
  assert.is(r.stderr, '');
  assert.match(r.stdout, /COPY 2/);
  const out = await psql(gw, ['clerks'], ['-c', "COPY (SELECT id, status FROM orders WHERE status = 'copied' ORDER BY id) TO STDOUT"]);
  assert.is(out.stdout, '501\tcopied\n502\tcopied\n');
  const denied = await psql(gw, ['clerks'], ['-c', 'COPY secrets FROM STDIN', '-c', 'SELECT 7'], 'stolen\n\\.\n');
  assert.match(denied.stderr, /no rule allows copy_in on public\.secrets/);
  assert.match(denied.stdout, /7/);
  assert.is((await gw.direct("SELECT count(*) FROM secrets WHERE v = 'stolen'")).trim(), '0');
  const file = await psql(gw, ['clerks'], ['-c', "COPY orders TO '/tmp/pamc-e2e-orders'", '-c', "COPY orders FROM PROGRAM 'id'"]);
  assert.match(file.stderr, /copy_file on \/tmp\/pamc-e2e-orders is denied/);
  assert.match(file.stderr, /copy_program on id is denied/);
});

test('LISTEN / NOTIFY: a notification reaches the listening session', async ({ gw }) => {
  const r = await psql(gw, ['clerks'], ['-c', 'LISTEN jobs', '-c', "NOTIFY jobs, 'hello'", '-c', 'SELECT 1']);
  assert.is(r.stderr.includes('ERROR'), false, r.stderr);
  assert.match(r.stdout, /Asynchronous notification "jobs" with payload "hello" received/);
});

test.run();
