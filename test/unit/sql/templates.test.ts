// Templates (runtime/sql/templates.ts): a text not seen before may take the classification of an
// earlier text with the same normalized form. Whatever the constants, the answer must be the one
// a full classification of the text gives: checked over the whole corpus with its constants
// replaced by others of every kind, in both orders, and on the constants that decide something.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadModule, normalizeSync } from 'libpg-query';
import { cacheStats, classify, classifyCached, configureCache } from '../../../runtime/sql/classify.ts';
import type { Classification, ClassifyContext } from '../../../runtime/sql/facts.ts';
import { contextCases, corpus } from './corpus.ts';

await loadModule();

function fresh(): void {
  configureCache(4096, 16 * 1024 * 1024);
}

/** What a user of the classification sees, statement by statement. */
function seen(c: Classification): unknown {
  return c.statements.map((s) => ({ text: s.text, location: s.location, length: s.length, nodeType: s.nodeType, facts: s.facts, limited: s.limited, effects: s.effects }));
}

/** The text with every placeholder of its normalized form replaced by `constant`; null if that does not give a text of the same key. */
function variant(sql: string, constant: string): string | null {
  let normalized: string;
  try {
    normalized = normalizeSync(sql);
  } catch {
    return null;
  }
  if (!/\$\d/.test(normalized)) return null;
  const v = normalized.replace(/\$\d+/g, () => constant);
  try {
    return normalizeSync(v) === normalized ? v : null;
  } catch {
    return null;
  }
}

const CONSTANTS = ['42', '-7', '1.5e3', "'other'", "'SELECT * FROM secrets'", "'search_path'", 'NULL', 'TRUE', 'FALSE', "E'\\\\x''; DROP TABLE t; --'", '$q$ $$ $q$', "B'101'", "'public.secrets'", '0'];

let lexicalPairs = 0;

/**
 * Classifies `first`, then `second` through the caches, and asserts that `second` gets what a
 * full classification gives. Returns which template served `second`, if one did.
 */
function check(first: string, second: string, ctx?: ClassifyContext): 'lexical' | 'normalized' | null {
  fresh();
  classifyCached(first, ctx);
  const before = cacheStats();
  const got = classifyCached(second, ctx);
  const served = cacheStats().lexicalHits > before.lexicalHits ? 'lexical' : cacheStats().templateHits > before.templateHits ? 'normalized' : null;
  if (served === 'lexical') lexicalPairs++;
  assert.equal(seen(got), seen(classify(second, ctx)), `${JSON.stringify(second)} after ${JSON.stringify(first)}${served ? ` (from the ${served} template)` : ''}`);
  return served;
}

test('over the corpus, a text whose constants differ gets the answer of a full classification, in either order', () => {
  let pairs = 0;
  let shared = 0;
  const cases: { sql: string; ctx?: ClassifyContext }[] = [...corpus.map((c) => ({ sql: c.sql, ctx: c.path ? { searchPath: c.path } : undefined })), ...contextCases.map((c) => ({ sql: c.sql, ctx: c.ctx }))];
  for (const c of cases) {
    for (const k of CONSTANTS) {
      const v = variant(c.sql, k);
      if (v === null || v === c.sql) continue;
      pairs += 2;
      if (check(c.sql, v, c.ctx)) shared++;
      if (check(v, c.sql, c.ctx)) shared++;
    }
  }
  assert.ok(pairs > 500, `${pairs} pairs`);
  assert.ok(shared > 100, `${shared} of ${pairs} pairs took a template: the test would not see a wrong one`);
  assert.ok(lexicalPairs > 50 && shared - lexicalPairs > 50, `${lexicalPairs} of ${shared} through a lexical key: each kind of key must be seen often`);
});

/** A string constant with the characters that end, escape or comment text: a text either lexes as the same key or not at all. */
function awkwardConstant(seed: number): string {
  const pieces = ["''", '\\', '$$', '$q$', '--', '/*', '*/', ';', '\n', 'é', '😀', '"', 'DROP TABLE a', ' ', 'x'];
  let x = seed;
  let body = '';
  for (let i = 0; i < 1 + (seed % 6); i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    body += pieces[x % pieces.length];
  }
  const kind = seed % 3;
  return kind === 0 ? `'${body}'` : kind === 1 ? `E'${body.replace(/\\/g, '\\\\')}'` : `$z$${body.replace(/\$z\$/g, '')}$z$`;
}

test('over the corpus, awkward string constants (quotes, backslashes, dollar quotes, comment marks) never make a text take a wrong answer', () => {
  let pairs = 0;
  for (const [n, c] of corpus.entries()) {
    for (let k = 0; k < 6; k++) {
      const v = variant(c.sql, awkwardConstant(n * 7 + k));
      if (v === null || v === c.sql) continue;
      pairs++;
      check(c.sql, v, c.path ? { searchPath: c.path } : undefined);
    }
  }
  assert.ok(pairs > 200, `${pairs} pairs`);
});

test('constants that decide something make no template', () => {
  const pairs: [string, string][] = [
    ['SELECT * FROM a LIMIT 5', 'SELECT * FROM a LIMIT ALL'],
    ['SELECT * FROM a LIMIT 5', 'SELECT * FROM a LIMIT NULL'],
    ["SELECT set_config('application_name', 'x', false)", "SELECT set_config('search_path', 'evil, pg_catalog', false)"],
    ["SELECT set_config('search_path', 'public', false)", "SELECT set_config('search_path', 'evil', false)"],
    ["SELECT query_to_xml('SELECT 1', true, true, '')", "SELECT query_to_xml('SELECT * FROM secrets', true, true, '')"],
    ["SELECT table_to_xml('a', true, true, '')", "SELECT table_to_xml('secrets', true, true, '')"],
    ["SELECT pg_notify('a', 'x')", "SELECT pg_notify('b', 'x')"],
    ["SELECT current_setting('a')", "SELECT current_setting('b')"],
    ['DELETE FROM a WHERE 1 = 2', 'DELETE FROM a WHERE 1 = 1'],
    ['UPDATE a SET x = 1 WHERE true', 'UPDATE a SET x = 1 WHERE false'],
  ];
  for (const [a, b] of pairs) {
    assert.is(normalizeSync(a), normalizeSync(b), `${a} and ${b} share a key`);
    assert.not.ok(check(a, b), `${b} took the template of ${a}`);
    assert.not.ok(check(b, a), `${a} took the template of ${b}`);
  }
});

test('texts that differ only in harmless constants share one classification', () => {
  fresh();
  classifyCached('SELECT abalance FROM pgbench_accounts WHERE aid = 1;');
  const before = cacheStats().templateHits;
  for (let i = 2; i < 100; i++) {
    const sql = `SELECT abalance FROM pgbench_accounts WHERE aid = ${i * 7919};`;
    assert.equal(seen(classifyCached(sql)), seen(classify(sql)));
  }
  for (const s of ["'a'", "'it''s'", "E'\\\\'", '$$x$$', "'; DROP TABLE pgbench_accounts; --'"]) {
    const sql = `SELECT abalance FROM pgbench_accounts WHERE aid = ${s};`;
    assert.equal(seen(classifyCached(sql)), seen(classify(sql)));
  }
  // all but E'\\' (the lexical key does not read it: its normalized key makes a template, which
  // $$x$$ then takes)
  assert.is(cacheStats().templateHits - before, 101);
  fresh();
});

test('a lexical key stands only for texts whose constants are all constants of the tree', () => {
  // the grammar reads these numbers (a type's precision, an array bound), or folds a sign it
  // cannot see as the constant's into it: texts of the key are classified another way, correctly
  for (const [a, b] of [
    ['SELECT CAST(x AS float(10)) FROM a WHERE id = 1', 'SELECT CAST(x AS float(53)) FROM a WHERE id = 2'],
    ['SELECT CAST(x AS int[3]) FROM a WHERE id = 1', 'SELECT CAST(x AS int[4]) FROM a WHERE id = 2'],
    ['SELECT x FROM a WHERE id = -(1)', 'SELECT x FROM a WHERE id = -(2)'],
  ]) {
    assert.not.equal(check(a, b), 'lexical', `${b} went through the lexical key of ${a}`);
  }
  const nulls = check("INSERT INTO a (x, y, z) VALUES (1, NULL, 'a')", "INSERT INTO a (x, y, z) VALUES (2, NULL, 'it''s')");
  assert.is(nulls, 'lexical', 'NULL, TRUE and FALSE are constants of the tree, and kept in the key');
  // a negative number is one constant node starting at its sign; a subtraction is not
  for (const [a, b] of [
    ['UPDATE a SET x = x + -1 WHERE id = -2', 'UPDATE a SET x = x + -3 WHERE id = -4'],
    ['SELECT x -1 FROM a', 'SELECT x -2 FROM a'],
    ['SELECT x - - 1 FROM a', 'SELECT x - - 2 FROM a'],
  ]) {
    assert.is(check(a, b), 'lexical', `${b} after ${a}`);
  }
  fresh();
});

test('a template is kept per search path', () => {
  fresh();
  classifyCached('SELECT * FROM orders WHERE id = 1', { searchPath: ['public'] });
  const other = classifyCached('SELECT * FROM orders WHERE id = 2', { searchPath: ['app'] });
  assert.equal(other.statements[0]!.facts, [{ action: 'select', resource: 'app.orders' }]);
  fresh();
});

test('texts a template does not cover: several statements, other statement kinds, effects', () => {
  for (const [a, b] of [
    ['SELECT 1; SELECT 2', 'SELECT 3; SELECT 4'],
    ["SET search_path = 'a'", "SET search_path = 'evil'"],
    ['EXPLAIN SELECT * FROM a WHERE id = 1', 'EXPLAIN SELECT * FROM a WHERE id = 2'],
    ["DO 'BEGIN END'", "DO 'BEGIN DROP TABLE a; END'"],
    ["CREATE ROLE r PASSWORD 'a'", "CREATE ROLE r PASSWORD 'b'"],
    ["NOTIFY ch, 'a'", "NOTIFY ch, 'b'"],
  ]) {
    assert.not.ok(check(a, b), `${b} took the template of ${a}`);
  }
  fresh();
});

test.run();
