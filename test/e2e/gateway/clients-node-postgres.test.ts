// node-postgres (`pg`) through the gateway: simple queries, parameters (unnamed extended
// protocol, always with Describe), named statements, a transaction, notifications while idle,
// and denials in the same session.

import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startGateway, type GatewayFixture } from '../../support/gateway.ts';
import { expectError, SHOP_RULES, SHOP_SETUP } from './shop.ts';

const test = suite<{ gw: GatewayFixture }>('clients: node-postgres');

test.before(async (ctx) => {
  ctx.gw = await startGateway({ setup: SHOP_SETUP, rules: SHOP_RULES });
});
test.after(async (ctx) => {
  await ctx.gw.close();
});

async function client(gw: GatewayFixture, groups: string[]): Promise<pg.Client> {
  const c = new pg.Client(await gw.clientConfig(groups));
  c.on('error', () => {});
  await c.connect();
  return c;
}

test('parameters, named statements, a denial between them', async ({ gw }) => {
  const c = await client(gw, ['clerks']);
  assert.equal((await c.query('SELECT id, status FROM orders WHERE id = $1', [7])).rows, [{ id: 7, status: 'new' }]);
  for (let i = 1; i <= 3; i++) {
    const r = await c.query({ name: 'amount-of', text: 'SELECT amount FROM orders WHERE id = $1', values: [i] });
    assert.equal(r.rows, [{ amount: (i * 1.5).toFixed(2) }]);
  }
  const e = await expectError(c.query({ name: 'steal', text: 'SELECT v FROM secrets WHERE v <> $1', values: ['x'] }));
  assert.is(e.code, '42501');
  assert.match(e.message, /no rule allows select on public\.secrets/);
  assert.equal((await c.query({ name: 'amount-of', text: 'SELECT amount FROM orders WHERE id = $1', values: [4] })).rows, [{ amount: '6.00' }]);
  // the denied name was never prepared: using it again is refused again
  assert.is((await expectError(c.query({ name: 'steal', text: 'SELECT v FROM secrets WHERE v <> $1', values: ['y'] }))).code, '42501');
  await c.end();
});

test('a transaction: committed work stays, a denial inside fails it like any error', async ({ gw }) => {
  const c = await client(gw, ['clerks']);
  await c.query('BEGIN');
  await c.query('UPDATE orders SET note = $1 WHERE id = $2', ['kept', 10]);
  await c.query('COMMIT');
  await c.query('BEGIN');
  await c.query('UPDATE orders SET note = $1 WHERE id = $2', ['lost', 11]);
  const e = await expectError(c.query('TRUNCATE orders'));
  assert.is(e.code, '42501');
  assert.is((await expectError(c.query('SELECT 1'))).code, '25P02');
  await c.query('ROLLBACK');
  assert.equal((await c.query('SELECT id, note FROM orders WHERE id IN (10, 11) ORDER BY id')).rows, [
    { id: 10, note: 'kept' },
    { id: 11, note: null },
  ]);
  await c.end();
});

test('a notification sent by another session reaches an idle listener', async ({ gw }) => {
  const listener = await client(gw, ['clerks']);
  const got = new Promise<pg.Notification>((resolve) => listener.on('notification', resolve));
  await listener.query('LISTEN jobs');
  const sender = await client(gw, ['clerks']);
  await sender.query("NOTIFY jobs, 'job-42'");
  const n = await got;
  assert.is(n.channel, 'jobs');
  assert.is(n.payload, 'job-42');
  assert.is((await expectError(sender.query("NOTIFY other, 'x'"))).code, '42501');
  await listener.end();
  await sender.end();
});

test('notices from the server reach the client', async ({ gw }) => {
  const c = await client(gw, ['clerks']);
  const notices: string[] = [];
  c.on('notice', (n) => notices.push(n.message ?? ''));
  await c.query("SET client_min_messages = 'notice'");
  await c.query('BEGIN');
  await c.query('BEGIN').catch(() => {});
  await c.query('COMMIT');
  assert.ok(notices.some((m) => /already a transaction in progress/.test(m)), JSON.stringify(notices));
  await c.end();
});

test.run();
