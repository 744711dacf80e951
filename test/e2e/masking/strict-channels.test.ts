// `masking { predicates deny  derived deny }` promises that a masked column's value cannot be
// inferred through conditions (predicates deny) nor through whether an expression over it fails
// (derived deny) — spec/masking.md §3 and §9. A hunt found statements that did both: row counts
// made by set-returning functions given the value, and a failing expression in a column the
// outer query drops. Each is refused now, for the spec's reason.

import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startGateway, type GatewayFixture } from '../../support/gateway.ts';

const test = suite<{ gw: GatewayFixture; c: pg.Client }>('masking: the inference channels the strict settings close');

const SETUP = `
CREATE TABLE customers (id int PRIMARY KEY, name text, ssn text);
INSERT INTO customers VALUES (1, 'Ann', '078-05-1120'), (2, 'Bob', '219-09-9999');`;

const RULES = `
group "m" {
  on db {
    allow read on public.*, catalog
    mask public.customers.ssn with redact
  }
}`;

test.before(async (ctx) => {
  ctx.gw = await startGateway({ setup: SETUP, rules: RULES, targetSettings: 'masking { predicates deny  derived deny }' });
  ctx.c = new pg.Client(await ctx.gw.clientConfig(['m']));
  ctx.c.on('error', () => {});
  await ctx.c.connect();
});
test.after(async (ctx) => {
  await ctx.c?.end();
  await ctx.gw?.close();
});

const PREDICATE = /masked column public\.customers\.ssn is used in a condition, join, grouping or ordering/;

/** Runs sql; returns the rows, or the error's SQLSTATE and message. */
async function outcome(c: pg.Client, sql: string): Promise<{ rows?: unknown[]; code?: string; message?: string }> {
  try {
    return { rows: (await c.query(sql)).rows };
  } catch (e) {
    const er = e as { code?: string; message: string };
    return { code: er.code, message: er.message };
  }
}

test('the control: a WHERE on the masked column is refused under predicates deny', async ({ c }) => {
  const o = await outcome(c, "SELECT id FROM customers WHERE ssn LIKE '0%'");
  assert.is(o.code, '42501');
});

test('predicates deny: a set-returning function in FROM whose argument is the masked column filters rows like a WHERE', async ({ c }) => {
  // the number of rows generate_series makes is ascii() of the ssn's first character: count(*) says 48 ('0')
  const sql = 'SELECT count(*)::int AS n FROM customers c, generate_series(1, ascii(substr(c.ssn, 1, 1))) g WHERE c.id = 1';
  const o = await outcome(c, sql);
  assert.not.equal(o.rows, [{ n: 48 }], `the first character of the masked ssn came back as a row count: ${JSON.stringify(o)}`);
  assert.is(o.code, '42501', `expected a refusal: ${JSON.stringify(o)}`);
  assert.match(o.message ?? '', PREDICATE);
});

test('predicates deny: LATERAL unnest(CASE WHEN ssn LIKE …) is a WHERE in disguise', async ({ c }) => {
  const sql = "SELECT c.id FROM customers c CROSS JOIN LATERAL unnest(CASE WHEN c.ssn LIKE '0%' THEN ARRAY[1] ELSE ARRAY[]::int[] END) x";
  const o = await outcome(c, sql);
  assert.is(o.code, '42501', `expected a refusal, got ${JSON.stringify(o)}`);
  assert.match(o.message ?? '', PREDICATE);
});

test('predicates deny: a set-returning function in a subquery target list that the outer query does not select filters rows', async ({ c }) => {
  const sql = "SELECT id FROM (SELECT id, generate_series(1, (ssn LIKE '0%')::int) AS g FROM customers) s";
  const o = await outcome(c, sql);
  assert.is(o.code, '42501', `expected a refusal, got ${JSON.stringify(o)}`);
  assert.match(o.message ?? '', PREDICATE);
});

test('derived deny: an expression over the masked column in a column the outer query drops still fails by the value', async ({ c }) => {
  // division by zero exactly when the first character is '0' (ascii 48): one bit per statement
  const zero = await outcome(c, 'SELECT id FROM (SELECT id, 1 / (ascii(ssn) - 48) + random() * 0 AS z FROM customers OFFSET 0) s WHERE id = 1');
  const other = await outcome(c, 'SELECT id FROM (SELECT id, 1 / (ascii(ssn) - 50) + random() * 0 AS z FROM customers OFFSET 0) s WHERE id = 1');
  assert.is(zero.code, '42501', `expected a refusal (derived deny), got ${JSON.stringify(zero)}`);
  assert.is(other.code, '42501', `expected a refusal (derived deny), got ${JSON.stringify(other)}`);
  assert.match(zero.message ?? '', /masked column public\.customers\.ssn is computed on in the statement/);
});

test('what the strict settings still answer: masked columns passed through, computing on other columns, set-returning functions of other values', async ({ c }) => {
  assert.equal((await outcome(c, 'SELECT id, ssn FROM customers ORDER BY id')).rows, [{ id: 1, ssn: '***' }, { id: 2, ssn: '***' }]);
  assert.equal((await outcome(c, 'SELECT s.id, s.n FROM (SELECT id, ssn, upper(name) AS n FROM customers) s ORDER BY 1')).rows, [{ id: 1, n: 'ANN' }, { id: 2, n: 'BOB' }]);
  assert.equal((await outcome(c, 'SELECT count(*)::int AS n FROM customers c, generate_series(1, c.id) g')).rows, [{ n: 3 }]);
});

test.run();
