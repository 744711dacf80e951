// The gateway with node-postgres and psql against a real PostgreSQL: allowed work runs, denied
// work gets a clean 42501 naming the rule, the session and its transaction state stay true.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mintToken, startGateway, type GatewayFixture } from '../../support/gateway.ts';

const run = promisify(execFile);
const test = suite<{ gw: GatewayFixture }>('gateway basics');

test.before(async (ctx) => {
  ctx.gw = await startGateway({
    setup: `
      CREATE TABLE orders (id int PRIMARY KEY, status text);
      INSERT INTO orders VALUES (1, 'new'), (2, 'paid');
      CREATE TABLE secrets (v text);
      INSERT INTO secrets VALUES ('top');`,
    rules: `
group "readers" {
  on db {
    allow read on public.orders, catalog
  }
}
group "writers" {
  on db {
    allow read, insert, update on public.orders, catalog
  }
}
on db {
  deny drop, truncate
}`,
  });
});

test.after(async (ctx) => {
  await ctx.gw.close();
});

async function client(gw: GatewayFixture, groups: string[]): Promise<pg.Client> {
  const c = new pg.Client(await gw.clientConfig(groups));
  await c.connect();
  return c;
}

async function error(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code?: string; message: string };
  }
  throw new Error('expected an error');
}

test('an allowed query returns rows', async ({ gw }) => {
  const c = await client(gw, ['readers']);
  const r = await c.query('SELECT id, status FROM orders ORDER BY id');
  assert.equal(r.rows, [
    { id: 1, status: 'new' },
    { id: 2, status: 'paid' },
  ]);
  await c.end();
});

test('a denied query fails with 42501, names the rule, and the session goes on', async ({ gw }) => {
  const c = await client(gw, ['readers']);
  const e = await error(c.query('SELECT * FROM secrets'));
  assert.is(e.code, '42501');
  assert.match(e.message, /no rule allows select on public\.secrets/);
  const e2 = await error(c.query('DROP TABLE orders'));
  assert.is(e2.code, '42501');
  assert.match(e2.message, /policy\.pam:\d+:\d+/);
  assert.equal((await c.query('SELECT count(*)::int AS n FROM orders')).rows, [{ n: 2 }]);
  await c.end();
});

test('parameters and named statements through the extended protocol', async ({ gw }) => {
  const c = await client(gw, ['writers']);
  assert.equal((await c.query({ text: 'SELECT status FROM orders WHERE id = $1', values: [2] })).rows, [{ status: 'paid' }]);
  assert.equal((await c.query({ name: 'by-id', text: 'SELECT status FROM orders WHERE id = $1', values: [1] })).rows, [{ status: 'new' }]);
  assert.equal((await c.query({ name: 'by-id', text: 'SELECT status FROM orders WHERE id = $1', values: [2] })).rows, [{ status: 'paid' }]);
  const e = await error(c.query({ text: 'SELECT v FROM secrets WHERE v = $1', values: ['top'] }));
  assert.is(e.code, '42501');
  assert.equal((await c.query({ text: 'SELECT $1::int AS one', values: [1] })).rows, [{ one: 1 }]);
  await c.end();
});

test('a denial inside a transaction block fails the transaction, as any error would', async ({ gw }) => {
  const c = await client(gw, ['writers']);
  await c.query('BEGIN');
  await c.query("UPDATE orders SET status = 'x' WHERE id = 1");
  assert.is((await error(c.query('SELECT * FROM secrets'))).code, '42501');
  assert.is((await error(c.query('SELECT 1'))).code, '25P02');
  await c.query('ROLLBACK');
  assert.equal((await c.query('SELECT status FROM orders WHERE id = 1')).rows, [{ status: 'new' }]);
  await c.end();
});

test('psql: a multi-statement query with one denied statement runs none of them', async ({ gw }) => {
  const token = await mintToken(['writers']);
  const r = await run('psql', [gw.conninfo(), '-X', '-v', 'ON_ERROR_STOP=0', '-c', "UPDATE orders SET status = 'gone' WHERE id = 2; DROP TABLE orders"], {
    env: { ...process.env, PGPASSWORD: token },
  }).catch((e) => e as { stdout: string; stderr: string });
  assert.match(r.stderr, /42501|permission denied/);
  assert.equal((await gw.direct('SELECT status FROM orders WHERE id = 2')).trim(), 'paid');
});

test('tokens: expired and foreign tokens are refused with 28P01; no grants with 28000', async ({ gw }) => {
  const expired = await mintToken(['readers'], {}, { expiresIn: -120 });
  const c1 = new pg.Client({ ...(await gw.clientConfig(['readers'])), password: expired });
  const e1 = await error(c1.connect());
  assert.is(e1.code, '28P01');
  assert.match(e1.message, /expired/);
  assert.not.match(e1.message, new RegExp(expired.slice(0, 30)));
  const c2 = new pg.Client({ ...(await gw.clientConfig(['readers'])), password: 'not-a-token' });
  assert.is((await error(c2.connect())).code, '28P01');
  const c3 = new pg.Client(await gw.clientConfig(['nobody']));
  assert.is((await error(c3.connect())).code, '28000');
});

test.run();
