// postgres.js through the gateway: it prepares every query under a name (Parse + Describe +
// Flush), executes without Describe, and pipelines every query of a connection. A denial in
// the middle of a pipeline must fail only its own query: the queries after it get their own
// rows, never another query's (a duplicate or early ReadyForQuery would shift them).

import postgres from 'postgres';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startGateway, type GatewayFixture } from '../../support/gateway.ts';
import { expectError, SHOP_RULES, SHOP_SETUP } from './shop.ts';

const test = suite<{ gw: GatewayFixture }>('clients: postgres.js');

test.before(async (ctx) => {
  ctx.gw = await startGateway({ setup: SHOP_SETUP, rules: SHOP_RULES });
});
test.after(async (ctx) => {
  await ctx.gw.close();
});

async function connect(gw: GatewayFixture, groups: string[]) {
  const c = await gw.clientConfig(groups);
  return postgres({ host: c.host, port: c.port, database: c.database, username: c.user, password: c.password, max: 1, onnotice: () => {} });
}

function outcome(r: PromiseSettledResult<readonly unknown[]>): unknown {
  return r.status === 'fulfilled' ? [...r.value] : (r.reason as { code: string }).code;
}

test('pipelined queries with denials and a server error in the middle each get their own result', async ({ gw }) => {
  const sql = await connect(gw, ['clerks']);
  const results = await Promise.allSettled([
    sql`SELECT ${1}::int AS a`,
    sql`SELECT * FROM secrets`,
    sql`SELECT id FROM orders WHERE id = ${2}`,
    sql`SELECT 1/0 AS boom`,
    sql`SELECT id FROM orders WHERE id = ${3}`,
    sql`DELETE FROM secrets WHERE v = ${'top'}`,
    sql`SELECT count(*)::int AS n FROM orders`,
  ]);
  assert.equal(results.map(outcome), [[{ a: 1 }], '42501', [{ id: 2 }], '22012', [{ id: 3 }], '42501', [{ n: 100 }]]);
  // the same statements again: now executions of statements postgres.js has prepared (no Describe)
  const again = await Promise.allSettled([sql`SELECT ${5}::int AS a`, sql`SELECT * FROM secrets`, sql`SELECT id FROM orders WHERE id = ${6}`]);
  assert.equal(again.map(outcome), [[{ a: 5 }], '42501', [{ id: 6 }]]);
  assert.is((await gw.direct('SELECT count(*) FROM secrets')).trim(), '1');
  await sql.end();
});

test('many executions of one prepared query, pipelined', async ({ gw }) => {
  const sql = await connect(gw, ['clerks']);
  const ids = Array.from({ length: 50 }, (_, i) => i + 1);
  const rows = await Promise.all(ids.map((id) => sql`SELECT id, amount FROM orders WHERE id = ${id}`));
  assert.equal(
    rows.map((r) => r[0].id),
    ids,
  );
  assert.is(rows[9][0].amount, '15.00');
  await sql.end();
});

test('sql.begin: a transaction commits; a denial inside rolls it back', async ({ gw }) => {
  const sql = await connect(gw, ['clerks']);
  const r = await sql.begin(async (tx) => {
    await tx`UPDATE orders SET note = ${'pjs'} WHERE id = ${20}`;
    return tx`SELECT note FROM orders WHERE id = ${20}`;
  });
  assert.equal([...r], [{ note: 'pjs' }]);
  const e = await expectError(
    sql.begin(async (tx) => {
      await tx`UPDATE orders SET note = ${'never'} WHERE id = ${21}`;
      await tx`DROP TABLE orders`;
    }),
  );
  assert.is(e.code, '42501');
  assert.equal([...(await sql`SELECT id, note FROM orders WHERE id IN (20, 21) ORDER BY id`)], [
    { id: 20, note: 'pjs' },
    { id: 21, note: null },
  ]);
  await sql.end();
});

test('simple-protocol multi-statement text (sql.unsafe) and its denial', async ({ gw }) => {
  const sql = await connect(gw, ['clerks']);
  const r = await sql.unsafe('SELECT 1 AS a; SELECT 2 AS b');
  assert.equal((r as unknown as Iterable<unknown>[]).map((x) => [...x]), [[{ a: 1 }], [{ b: 2 }]]);
  assert.is((await expectError(sql.unsafe("UPDATE orders SET note = 'x' WHERE id = 1; DELETE FROM secrets"))).code, '42501');
  assert.equal([...(await sql`SELECT note FROM orders WHERE id = 1`)], [{ note: null }]);
  await sql.end();
});

test.run();
