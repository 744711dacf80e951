// Reading pg_dump output: a real `pg_dump --schema-only` of PostgreSQL 15 (pg15-dump.sql, with
// its `\restrict` meta-commands), and hand-written DDL with the shapes pg_dump produces.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseSchemaDump, SchemaError } from '../../../compiler/schema/dump.ts';

const cols = (s: Set<string> | null | undefined) => (s ? [...s].sort() : s);

test('a real pg_dump: schemas, relations with columns, functions', async () => {
  const s = await parseSchemaDump(readFileSync(join(import.meta.dirname, 'pg15-dump.sql'), 'utf8'), 'pg15-dump.sql');
  assert.equal([...s.schemas].sort(), ['Mixed', 'analytics', 'public']);
  assert.equal(cols(s.relations.get('public.customers')?.columns), ['Phone', 'email', 'id', 'ssn']);
  assert.equal(cols(s.relations.get('"Mixed"."Case"')?.columns), ['X']);
  // views and materialized views: the names of their output columns
  assert.equal(cols(s.relations.get('analytics.revenue')?.columns), ['count', 'email', 'total']);
  assert.equal(s.relations.get('analytics.revenue')?.kind, 'view');
  assert.equal(cols(s.relations.get('analytics.daily')?.columns), ['at', 'one']);
  // inheritance children have their parents' columns; typed tables their type's
  assert.equal(cols(s.relations.get('public.child')?.columns), ['customer_id', 'extra', 'id', 'total']);
  assert.equal(cols(s.relations.get('public.typed')?.columns), ['city', 'street']);
  assert.equal(cols(s.relations.get('public.events_2026')?.columns), ['at', 'id']);
  // sequences are relations whose columns are not checked
  assert.is(s.relations.get('public.ticket_seq')?.columns, null);
  assert.equal([...s.functions].sort(), ['analytics.refresh', 'public.add_one']);
});

test('hand-written DDL: unqualified names are in public; foreign tables, aggregates, views with aliases', async () => {
  const s = await parseSchemaDump(
    `CREATE TABLE t (a int, "B" text);
     CREATE SCHEMA ext;
     CREATE FOREIGN TABLE ext.remote (x int) SERVER srv;
     CREATE AGGREGATE ext.mysum (int) (SFUNC = int4pl, STYPE = int);
     CREATE VIEW v (c1, c2) AS SELECT a, "B" FROM t;
     CREATE VIEW w AS SELECT a + 1 FROM t;
     CREATE TABLE p (LIKE t);
     COMMENT ON SCHEMA reporting IS 'made elsewhere';`,
    'ddl.sql',
  );
  assert.equal(cols(s.relations.get('public.t')?.columns), ['B', 'a']);
  assert.equal(s.relations.get('ext.remote')?.kind, 'foreign table');
  assert.ok(s.functions.has('ext.mysum'));
  assert.equal(cols(s.relations.get('public.v')?.columns), ['c1', 'c2']);
  // an expression without a name: the view's columns are not known, so none is reported missing
  assert.is(s.relations.get('public.w')?.columns, null);
  assert.is(s.relations.get('public.p')?.columns, null);
  assert.ok(s.schemas.has('reporting'));
});

test('a file PostgreSQL cannot read is a SchemaError with the line', async () => {
  try {
    await parseSchemaDump('CREATE TABLE a (x int);\n\nCREATE TABLE (;\n', 'bad.sql');
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, SchemaError);
    assert.match((e as Error).message, /`bad\.sql` is not a schema dump PostgreSQL can read at line 3/);
  }
});

test.run();
