// The Python drivers through the gateway, each a real program run with /usr/bin/python3
// (test/e2e/clients/*.py): psycopg2 (literals interpolated client-side, implicit BEGIN,
// executemany, large objects through the FunctionCall message), psycopg 3 (unnamed extended
// protocol with binary parameters, named statements after 5 runs and with prepare=True,
// binary results, pipeline mode), SQLAlchemy on psycopg2 (reflection reads the catalog),
// asyncpg (named statements it prepares and caches, binary everything, its own startup
// parameters: `client_encoding` `'utf-8'`, quotes included) and SQLAlchemy's asyncio engine on
// asyncpg.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startGateway, type GatewayFixture } from '../../support/gateway.ts';
import { CLIENTS, libpqEnv, PYTHON, runSteps, SHOP_RULES, SHOP_SETUP } from './shop.ts';

const test = suite<{ gw: GatewayFixture }>('clients: psycopg2, psycopg 3, SQLAlchemy, asyncpg');

test.before(async (ctx) => {
  ctx.gw = await startGateway({ setup: SHOP_SETUP, rules: SHOP_RULES });
});
test.after(async (ctx) => {
  await ctx.gw.close();
});

test('psycopg2: implicit transaction, denial, executemany, large objects refused', async ({ gw }) => {
  const s = await runSteps(PYTHON, [`${CLIENTS}psycopg2_client.py`], await libpqEnv(gw, ['clerks']));
  assert.equal(s.select.rows, [[1, 'new']]);
  assert.is(s.select.status, 2, 'psycopg2 opened a transaction (INTRANS)');
  assert.equal(s.denied.error, { code: '42501', message: 'pamc: permission denied: no rule allows select on public.secrets' });
  assert.is(s.denied.status, 3, 'the denial failed the transaction (INERROR), as any error would');
  assert.is((s['after-denial'].error as { code: string }).code, '25P02');
  assert.is(s.executemany.count, 3);
  assert.match((s.lobject.error as { message: string }).message, /pamc: the FunctionCall protocol message is refused/);
  assert.is(s['still-working'].count, 103);
});

test('psycopg 3: binary parameters and results, prepared statements, pipelines', async ({ gw }) => {
  const s = await runSteps(PYTHON, [`${CLIENTS}psycopg3_client.py`], await libpqEnv(gw, ['clerks']));
  assert.equal(s.params.rows, [[2, 'new']]);
  assert.equal(s['auto-prepared'].rows, Array(8).fill('new'));
  assert.is(s['prepare-true'].count, 3);
  assert.equal(s.binary.rows, [[4, '6.00', 'new']]);
  assert.equal(s.denied.error, { code: '42501', message: 'pamc: permission denied: no rule allows select on public.secrets' });
  assert.is(s['after-denial'].value, 42);
  assert.equal(s.pipeline.results, { c1: 1, c2: 2 });
  assert.equal(s.pipeline.error, { code: '42501', message: 'pamc: permission denied: no rule allows select on public.secrets' });
  assert.equal(s['pipeline-ok'].rows, [1, 2, 3, 4, 5]);
  assert.is(s['still-working'].value, 'still here');
  assert.is((s['tx-denied'].error as { code: string }).code, '42501');
  assert.is(s['tx-denied'].status, '3', 'INERROR');
  assert.is(s['tx-rolled-back'].value, 'new');
});

test('SQLAlchemy: reflection through the catalog set, queries, a denial', async ({ gw }) => {
  const s = await runSteps(PYTHON, [`${CLIENTS}sqlalchemy_client.py`], await libpqEnv(gw, ['analysts']));
  assert.equal(s.tables.tables, ['order_items', 'orders', 'secrets']);
  assert.equal(s.columns.columns, [
    ['id', 'INTEGER', false],
    ['status', 'TEXT', false],
    ['amount', 'NUMERIC(10, 2)', true],
    ['note', 'TEXT', true],
  ]);
  assert.equal(s.pk.pk, ['id']);
  assert.equal(s.query.rows, [
    [1, 'new'],
    [2, 'new'],
  ]);
  assert.is((s.denied.error as { code: string }).code, '42501');
  assert.match((s.denied.error as { message: string }).message, /no rule allows delete on public\.orders/);
  assert.is(s['after-denial'].value, 100);
});

test('asyncpg: named statements it caches, binary parameters and results, executemany, a cursor, binary COPY, denials', async ({ gw }) => {
  const s = await runSteps(PYTHON, [`${CLIENTS}asyncpg_client.py`], await libpqEnv(gw, ['clerks']));
  assert.equal(s.params.rows, [[2, 'new', '3.00']]);
  assert.equal(s.cached.rows, Array(5).fill('new'));
  assert.is((s.denied.error as { code: string }).code, '42501');
  assert.match((s.denied.error as { message: string }).message, /^pamc: permission denied: no rule allows select on public\.secrets/);
  assert.is(s['after-denial'].value, 42);
  assert.match((s['multi-denied'].error as { message: string }).message, /no rule allows delete on public\.secrets\nDETAIL:  statement 2 of 2; none of them ran/);
  assert.is(s['multi-none-ran'].note, null, 'the UPDATE before the denied statement did not run');
  assert.is(s.executemany.count, 3);
  assert.equal(s.cursor.rows, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(s.prepared.counts, [5, 7]);
  assert.equal([s['copy-in'].result, s['copy-in'].count], ['COPY 2', 2]);
  assert.is((s['tx-denied'].error as { code: string }).code, '42501');
  assert.is(s['tx-rolled-back'].note, null, 'the transaction the denial failed was rolled back');
  assert.is(s['still-working'].value, 'still here');
  assert.equal(s.pool.counts, [1, 2, 3], "the pool's reset of a connection given back passes (a DO block decided as what it runs)");
});

test("SQLAlchemy's asyncio engine on asyncpg: its connect-time queries, reflection, a denial, pooled connections", async ({ gw }) => {
  const s = await runSteps(PYTHON, [`${CLIENTS}sqlalchemy_asyncpg_client.py`], await libpqEnv(gw, ['analysts']));
  assert.equal(s.tables.tables, ['order_items', 'orders', 'secrets']);
  assert.equal(s.query.rows, [
    [1, 'new', '1.50'],
    [2, 'new', '3.00'],
  ]);
  assert.is((s.denied.error as { code: string }).code, '42501');
  assert.match((s.denied.error as { message: string }).message, /pamc: permission denied: no rule allows delete on public\.orders/);
  assert.is(s['after-denial'].value, 100);
  assert.equal([s['pooled-0'].value, s['pooled-1'].value, s['pooled-2'].value], [0, 1, 2]);
});

test.run();
