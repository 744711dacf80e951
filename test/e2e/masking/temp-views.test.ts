// A view over a temporary table is created temporary by PostgreSQL (in pg_temp, which is
// searched first) although the statement does not say TEMP: it shadows the relation of the same
// name in the catalog, and masking must trace reads of that name to the view (found by a hunt).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startGateway, type GatewayFixture } from '../../support/gateway.ts';
import { login, query } from '../gateway/wire.ts';

const test = suite<{ gw: GatewayFixture }>('masking: a view made temporary by the server');

process.env.PAMC_TEMP_VIEWS_KEY = 'temp-views-key-0123456789abcdef';

const SETUP = `
  CREATE TABLE customers (id int, ssn text); INSERT INTO customers VALUES (1, '078-05-1120');
  CREATE TABLE pub (id int, t text); INSERT INTO pub VALUES (1, 'clean');`;

const RULES = `
group "masked" {
  on db {
    allow read on public.*
    allow create on public.*, pg_temp.*
    mask public.customers.ssn with redact
  }
}`;

test.before(async (ctx) => {
  ctx.gw = await startGateway({ setup: SETUP, rules: RULES, targetSettings: 'masking { hash_key env "PAMC_TEMP_VIEWS_KEY" }' });
});
test.after(async (ctx) => {
  await ctx.gw.close();
});

test('CREATE VIEW over a temp table (implicitly temporary) shadowing public.pub: reads through it stay masked', async ({ gw }) => {
  const s = await login(gw, ['masked']);
  assert.ok((await query(s, 'CREATE TEMP TABLE tt (x int)')).includes('CommandComplete CREATE TABLE'));
  // no TEMP keyword: the facts say `create public.pub`, the server creates pg_temp.pub
  assert.ok((await query(s, 'CREATE VIEW pub AS SELECT c.id, c.ssn AS t FROM customers c LEFT JOIN tt ON true')).includes('CommandComplete CREATE VIEW'));
  const where = await gw.direct("SELECT string_agg(n.nspname, ',') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'pub'");
  assert.match(where, /pg_temp_\d+/, `the view is temporary: ${where}`);
  await new Promise((r) => setTimeout(r, 1500)); // let the catalog snapshot the DDL triggered come in
  const out = await query(s, 'SELECT upper(t) FROM pub');
  assert.not.ok(out.some((m) => m.includes('078-05-1120')), `masked ssn reached the client:\n${out.join('\n')}`);
  s.close();
});

test.run();
