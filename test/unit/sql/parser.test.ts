// The parser's limits: what must not reach it is forbidden before it does, and the parser stays
// usable after every failure (including a failure inside the WASM module).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { classify } from '../../../runtime/sql/classify.ts';
import {
  MAX_NESTING,
  MAX_SQL_BYTES,
  parseSql,
  parseSqlUnguardedForTests,
  parserReady,
  retiredInstances,
} from '../../../runtime/sql/parser.ts';
import { estimateNesting } from '../../../runtime/sql/nesting.ts';

const works = (): void => {
  const r = classify('SELECT abalance FROM pgbench_accounts WHERE aid = 1');
  assert.equal(r.statements[0]!.facts, [{ action: 'select', resource: 'public.pgbench_accounts' }]);
};

const forbiddenWith = (sql: string, detail: string): void => {
  const r = classify(sql);
  assert.ok(r.error !== undefined, 'an error is reported');
  const f = r.statements[0]!.facts[0]!;
  assert.is(f.action, 'forbidden');
  assert.ok(f.detail!.includes(detail), `${f.detail} should mention ${detail}`);
};

test('20,000 nested parentheses are forbidden; the parser still works', () => {
  forbiddenWith(`SELECT ${'('.repeat(20_000)}1${')'.repeat(20_000)}`, 'nests deeper');
  works();
});

test('nesting the estimate lets through reaches the parser, which answers "memory exhausted"', () => {
  const sql = `SELECT ${'('.repeat(20_000)}1${')'.repeat(20_000)}`;
  const r = parseSqlUnguardedForTests(sql);
  assert.ok(r.error !== undefined && /memory exhausted/.test(r.error.message), r.error?.message);
  works();
});

test('a 2 MiB statement is forbidden without being parsed', () => {
  const sql = `SELECT '${'x'.repeat(2 * 1024 * 1024)}'`;
  const t0 = performance.now();
  forbiddenWith(sql, 'exceeds');
  assert.ok(performance.now() - t0 < 50, 'refused quickly');
  works();
});

test('the size cap counts bytes, not characters', () => {
  const sql = `SELECT '${'é'.repeat(MAX_SQL_BYTES / 2 + 10)}'`;
  assert.ok(sql.length < MAX_SQL_BYTES);
  forbiddenWith(sql, 'exceeds');
});

test('long chains the stack cannot take are forbidden before parsing', () => {
  for (const sql of [
    `SELECT 1${'+1'.repeat(20_000)}`,
    `SELECT ${'NOT '.repeat(20_000)}true`,
    `SELECT x${'::text'.repeat(20_000)} FROM a`,
    `SELECT 1${' UNION SELECT 1'.repeat(20_000)}`,
    `SELECT 1 FROM a${' JOIN a ON true'.repeat(20_000)}`,
    `SELECT ${'CASE WHEN true THEN '.repeat(5_000)}1${' END'.repeat(5_000)}`,
    `SELECT ${'(SELECT '.repeat(3_000)}1${')'.repeat(3_000)}`,
    `SELECT ${'ARRAY['.repeat(5_000)}1${']'.repeat(5_000)}`,
  ])
    forbiddenWith(sql, 'nests deeper');
  works();
});

test('large flat statements are not mistaken for deep ones', () => {
  const values = Array.from({ length: 20_000 }, (_, i) => `(${i}, 'x${i}', -${i})`).join(', ');
  const r = classify(`INSERT INTO a VALUES ${values}`);
  assert.equal(r.statements[0]!.facts, [{ action: 'insert', resource: 'public.a' }]);
  const list = Array.from({ length: 50_000 }, (_, i) => i).join(',');
  assert.equal(classify(`SELECT * FROM a WHERE id IN (${list})`).statements[0]!.facts, [{ action: 'select', resource: 'public.a' }]);
  const ors = Array.from({ length: 5_000 }, (_, i) => `id = ${i}`).join(' OR ');
  assert.equal(classify(`DELETE FROM a WHERE ${ors}`).statements[0]!.facts, [{ action: 'delete', resource: 'public.a' }]);
  const cases = Array.from({ length: 3_000 }, (_, i) => `WHEN x = ${i} THEN ${i}`).join(' ');
  assert.equal(classify(`SELECT CASE ${cases} END FROM a`).statements[0]!.facts, [{ action: 'select', resource: 'public.a' }]);
});

test('the nesting estimate ignores what is inside strings, identifiers and comments', () => {
  const noise = '('.repeat(5_000);
  for (const sql of [
    `SELECT '${noise}'`,
    `SELECT E'\\'${noise}'`,
    `SELECT $q$${noise}$q$`,
    `SELECT 1 AS "${noise}"`,
    `SELECT 1 -- ${noise}\n`,
    `SELECT 1 /* ${noise} /* nested */ ${noise} */`,
  ])
    assert.ok(estimateNesting(sql, MAX_NESTING) < 10, sql.slice(0, 30));
});

test('a NUL character or broken UTF-16 is forbidden', () => {
  forbiddenWith('SELECT 1\u0000; DROP TABLE a', 'NUL');
  forbiddenWith('SELECT \ud800', 'well-formed');
});

test('a failure inside the WASM module retires the instance; the parser stays usable', async () => {
  await parserReady();
  const before = retiredInstances();
  // an unreplaced instance answered "memory access out of bounds" to everything after ~30 of these
  for (let i = 0; i < 35; i++) {
    const r = parseSqlUnguardedForTests(`SELECT 1${'+1'.repeat(15_000)}`);
    assert.ok(r.error !== undefined, 'the overflow is an error');
    works();
    await parserReady();
  }
  assert.ok(retiredInstances() > before, 'instances were retired');
  works();
  assert.ok(parseSql('SELECT 1').tree !== undefined);
});

test.run();
