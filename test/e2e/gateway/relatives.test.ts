// One fact, several names (spec/language.md §5.7b): a statement on a partitioned or inheritance
// parent reads and changes its descendants' rows, a statement on a child rows its ancestors
// hold, and a fact on a wildcard (schema_to_xml's `select public.*`) every relation it stands
// for. A deny on any of those names holds for the statement; their allows are not needed.

import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startGateway, type GatewayFixture } from '../../support/gateway.ts';
import { expectError } from './shop.ts';

const test = suite<{ gw: GatewayFixture; c: pg.Client }>('gateway: partitions, inheritance and wildcards share rows');

const SETUP = `
  CREATE TABLE events (id int, v text) PARTITION BY LIST (id);
  CREATE TABLE events_public PARTITION OF events FOR VALUES IN (0);
  CREATE TABLE events_secret PARTITION OF events FOR VALUES IN (1);
  INSERT INTO events VALUES (0, 'public-row'), (1, 'partition-secret');
  CREATE TABLE base (id int, v text);
  CREATE TABLE base_secret () INHERITS (base);
  INSERT INTO base_secret VALUES (7, 'child-secret');
  CREATE TABLE audit_log (id int, v text) PARTITION BY RANGE (id);
  CREATE TABLE audit_log_low PARTITION OF audit_log FOR VALUES FROM (0) TO (100);
  INSERT INTO audit_log VALUES (1, 'logged');
  CREATE TABLE metrics (id int, v text) PARTITION BY RANGE (id);
  CREATE TABLE metrics_1 PARTITION OF metrics FOR VALUES FROM (0) TO (10);
  CREATE TABLE metrics_2 PARTITION OF metrics FOR VALUES FROM (10) TO (20);
  INSERT INTO metrics VALUES (1, 'm1'), (11, 'm2');
  CREATE TABLE secrets (v text);
  INSERT INTO secrets VALUES ('top-secret-value');
  CREATE TABLE logs (id int, v text) PARTITION BY LIST (id);
  CREATE TABLE logs_a PARTITION OF logs FOR VALUES IN (1);
  INSERT INTO logs VALUES (1, 'a');`;

const RULES = `
group "r" {
  on db {
    allow read, insert, update, delete, truncate on public.*, catalog
    allow call on pg_catalog.schema_to_xml, pg_catalog.table_to_xml
    deny read, insert, update, delete, truncate on public.events_secret, public.base_secret, public.secrets
    deny read on public.audit_log
  }
}
group "builder" {
  on db {
    allow read, insert, create, alter on public.logs, public.logs_a, public.logs_private
    deny read on public.logs_private
  }
}
group "metrics" {
  on db {
    allow read on public.metrics
  }
}`;

test.before(async (ctx) => {
  ctx.gw = await startGateway({ setup: SETUP, rules: RULES });
  ctx.c = new pg.Client(await ctx.gw.clientConfig(['r']));
  await ctx.c.connect();
});
test.after(async (ctx) => {
  await ctx.c.end();
  await ctx.gw.close();
});

test('a denied partition or inheritance child is not read through its parent', async ({ c }) => {
  const partition = await expectError(c.query('SELECT v FROM events'));
  assert.is(partition.code, '42501');
  assert.match(partition.message, /^pamc: permission denied: select on public\.events_secret: the statement reads them as public\.events: the rows of public\.events_secret are rows of public\.events too \(partitions and inheritance\) \(rule policy\.pam:\d+:\d+ `deny read, insert, update, delete, truncate on public\.events_secret, public\.base_secret, public\.secrets`\)$/);
  assert.is((await expectError(c.query('SELECT v FROM base'))).code, '42501');
  assert.is((await expectError(c.query('SELECT count(*) FROM public.base b JOIN events e USING (id)'))).code, '42501');
  // the session goes on, and the partition the policy allows is read by its own name
  assert.equal((await c.query('SELECT v FROM events_public')).rows, [{ v: 'public-row' }]);
});

test('nor changed or copied out through it: INSERT routed into it, UPDATE, DELETE, TRUNCATE and COPY TO of the parent are refused and the rows stay', async ({ gw, c }) => {
  for (const sql of [
    "INSERT INTO events VALUES (1, 'routed')",
    "UPDATE events SET v = 'changed'",
    'DELETE FROM events WHERE id = 1',
    'TRUNCATE events',
    'COPY events TO STDOUT',
    "UPDATE base SET v = 'changed'",
    'SELECT v FROM ONLY events', // refused too: ONLY is not taken into account (spec/language.md §5.7b)
  ]) {
    const e = await expectError(c.query(sql));
    assert.is(e.code, '42501', sql);
    assert.match(e.message, /public\.(events_secret|base_secret)/, sql);
  }
  assert.is(await gw.direct("SELECT string_agg(v, ',' ORDER BY v) FROM events_secret"), 'partition-secret');
  assert.is((await expectError(c.query('DELETE FROM base'))).code, '42501');
  assert.is(await gw.direct('SELECT (SELECT count(*) FROM events_secret) || \',\' || (SELECT count(*) FROM base_secret)'), '1,1');
});

test("a denied parent's rows are not read through one of its partitions", async ({ c }) => {
  const e = await expectError(c.query('SELECT v FROM audit_log_low'));
  assert.is(e.code, '42501');
  assert.match(e.message, /select on public\.audit_log: the statement reads them as public\.audit_log_low/);
});

test('a schema-wide read is refused when a relation of the schema is denied', async ({ c }) => {
  const e = await expectError(c.query("SELECT schema_to_xml('public', true, false, '')"));
  assert.is(e.code, '42501');
  assert.match(e.message, /select on public\.(events_secret|base_secret|secrets|audit_log): the statement reads them as public\.\*: public\.\w+ is one of public\.\*/);
});

test('a partition created through the gateway is a relative as soon as its DDL is done, whoever created it', async ({ gw }) => {
  const b = new pg.Client(await gw.clientConfig(['builder']));
  await b.connect();
  try {
    assert.equal((await b.query('SELECT v FROM logs')).rows, [{ v: 'a' }]);
    await b.query('CREATE TABLE logs_private PARTITION OF logs FOR VALUES IN (2)');
    await b.query("INSERT INTO logs VALUES (2, 'private')");
    let last: unknown = null;
    for (let i = 0; i < 100; i++) {
      last = await b.query('SELECT v FROM logs ORDER BY id').then((r) => r.rows, (e: { code?: string }) => e.code);
      if (last === '42501') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.is(last, '42501', JSON.stringify(last));
  } finally {
    await b.end();
  }
});

test('partitions need no rules of their own: the parent allowed is enough', async ({ gw }) => {
  const m = new pg.Client(await gw.clientConfig(['metrics']));
  await m.connect();
  try {
    assert.equal((await m.query('SELECT v FROM metrics ORDER BY id')).rows, [{ v: 'm1' }, { v: 'm2' }]);
    assert.is((await expectError(m.query('SELECT v FROM metrics_1'))).code, '42501');
  } finally {
    await m.end();
  }
});

test.run();
