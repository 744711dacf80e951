// Column lineage: which source columns each output derives from, what predicates and writes
// read, and what cannot be traced — on the queries a leak corpus throws at masking.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lineageCatalog, snapshotFromRows } from '../../../runtime/postgres/masking/catalog.ts';
import { alignOutputs, statementLineage, COLUMN_SEPARATOR, UNKNOWN_RELATION } from '../../../runtime/postgres/masking/lineage.ts';
import { loadParser, parseSql } from '../../../runtime/sql/parser.ts';

await loadParser();

const rows: (string | null)[][] = [
  ['r', '100', 'public', 'customers', 'r', null],
  ['r', '101', 'public', 'orders', 'r', null],
  ['r', '102', 'public', 'v_customers', 'v', ' SELECT customers.id, customers.email, upper(customers.name) AS uname FROM customers;'],
  ['r', '103', 'public', 'mv_emails', 'm', ' SELECT lower(customers.email) AS e FROM customers;'],
  ['r', '104', 'public', 'v_nested', 'v', ' SELECT v_customers.email AS mail FROM v_customers;'],
  ['a', '100', '1', 'id', null, null],
  ['a', '100', '2', 'name', null, null],
  ['a', '100', '3', 'email', null, null],
  ['a', '100', '4', 'ssn', null, null],
  ['a', '101', '1', 'id', null, null],
  ['a', '101', '2', 'customer_id', null, null],
  ['a', '101', '3', 'total', null, null],
  ['a', '102', '1', 'id', null, null],
  ['a', '102', '2', 'email', null, null],
  ['a', '102', '3', 'uname', null, null],
  ['a', '103', '1', 'e', null, null],
  ['a', '104', '1', 'mail', null, null],
];
const snapshot = snapshotFromRows(rows, ['public']);
const cat = lineageCatalog(snapshot, ['public']);

const c = (col: string, rel = 'customers') => `public.${rel}${COLUMN_SEPARATOR}${col}`;
const show = (set: Iterable<string>) => [...set].map((s) => s.replace(COLUMN_SEPARATOR, '.').replace('public.', '')).sort();

function lineage(sql: string) {
  const parsed = parseSql(sql);
  if (!parsed.tree) throw new Error(parsed.error.message);
  return statementLineage(parsed.tree.stmts![0].stmt, cat);
}

function outputs(sql: string): { name: string; sources: string[]; direct: boolean; opaque: boolean }[] {
  const l = lineage(sql);
  if (!Array.isArray(l.outputs)) throw new Error(`no outputs: ${l.outputs}`);
  return l.outputs.map((o) => ({ name: o.name, sources: show(o.sources), direct: o.direct !== null, opaque: o.opaque }));
}

test('plain columns, aliases and * are direct', () => {
  assert.equal(outputs('SELECT email AS e, c.ssn FROM customers c'), [
    { name: 'e', sources: ['customers.email'], direct: true, opaque: false },
    { name: 'ssn', sources: ['customers.ssn'], direct: true, opaque: false },
  ]);
  assert.equal(outputs('SELECT * FROM orders').map((o) => o.sources), [['orders.id'], ['orders.customer_id'], ['orders.total']]);
  assert.equal(outputs('SELECT o.*, c.email FROM orders o JOIN customers c ON c.id = o.customer_id').length, 4);
});

test('expressions, casts, concatenation, aggregates derive from their inputs', () => {
  const o = outputs("SELECT lower(email), ssn::int, name || ssn, count(email), max(ssn), 1 + id FROM customers GROUP BY id, email, ssn, name");
  assert.equal(o.map((x) => x.sources), [['customers.email'], ['customers.ssn'], ['customers.name', 'customers.ssn'], ['customers.email'], ['customers.ssn'], ['customers.id']]);
  assert.ok(o.every((x) => !x.direct));
});

test('whole-row references and row constructors carry every column', () => {
  for (const sql of ['SELECT c FROM customers c', 'SELECT row_to_json(c) FROM customers c', 'SELECT ROW(c.*) FROM customers c', 'SELECT to_jsonb(customers) FROM customers', "SELECT json_build_object('e', email) FROM customers"]) {
    const o = outputs(sql);
    assert.ok(o[0].sources.includes('customers.email'), sql);
  }
  assert.equal(outputs('SELECT c FROM customers c')[0].sources, ['customers.email', 'customers.id', 'customers.name', 'customers.ssn']);
});

test('subqueries, CTEs and set operations are followed', () => {
  assert.equal(outputs('SELECT x.e FROM (SELECT email AS e FROM customers) x')[0], { name: 'e', sources: ['customers.email'], direct: true, opaque: false });
  assert.equal(outputs('WITH w AS (SELECT ssn AS s FROM customers) SELECT s FROM w')[0].sources, ['customers.ssn']);
  assert.equal(outputs('SELECT (SELECT max(ssn) FROM customers) AS m')[0].sources, ['customers.ssn']);
  assert.equal(outputs('SELECT name FROM customers UNION SELECT ssn FROM customers')[0].sources, ['customers.name', 'customers.ssn']);
  assert.equal(outputs('SELECT id FROM orders WHERE EXISTS (SELECT 1 FROM customers WHERE ssn = $1)')[0].sources, ['orders.id']);
  assert.equal(outputs('WITH RECURSIVE r(x) AS (SELECT email FROM customers UNION SELECT x || name FROM r, customers) SELECT x FROM r')[0].sources.sort(), ['customers.email', 'customers.name']);
});

test('views and materialized views resolve to their base columns, and are sources themselves', () => {
  assert.equal(outputs('SELECT email, uname FROM v_customers').map((o) => o.sources), [
    ['customers.email', 'v_customers.email'],
    ['customers.name', 'v_customers.uname'],
  ]);
  assert.equal(outputs('SELECT e FROM mv_emails')[0].sources, ['customers.email', 'mv_emails.e']);
  assert.equal(outputs('SELECT mail FROM v_nested')[0].sources, ['customers.email', 'v_customers.email', 'v_nested.mail']);
  // a view column passed through stays a pass-through of its base column
  assert.equal(outputs('SELECT mail FROM v_nested')[0].direct, true);
});

test('predicates are collected from every clause', () => {
  const l = lineage("SELECT id FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.ssn LIKE '1%' GROUP BY c.id, c.name HAVING max(c.email) > 'a' ORDER BY c.name");
  assert.equal(show(l.predicates), ['customers.email', 'customers.id', 'customers.name', 'customers.ssn', 'orders.customer_id']);
});

test('writes from masked sources are seen in every form', () => {
  assert.equal(show(lineage('INSERT INTO orders (total) SELECT length(ssn) FROM customers').writesFrom), ['customers.ssn']);
  assert.equal(show(lineage('UPDATE orders SET total = (SELECT length(ssn) FROM customers LIMIT 1)').writesFrom), ['customers.ssn']);
  assert.equal(show(lineage('CREATE TABLE copy AS SELECT email FROM customers').writesFrom), ['customers.email']);
  assert.equal(show(lineage('SELECT email INTO copy2 FROM customers').writesFrom), ['customers.email']);
  assert.equal(show(lineage('UPDATE customers SET name = email').writesFrom), ['customers.email']);
});

test('RETURNING outputs trace to the target relation', () => {
  assert.equal(outputs("UPDATE customers SET name = 'x' WHERE id = 1 RETURNING ssn, id")[0].sources, ['customers.ssn']);
  assert.equal(outputs('DELETE FROM customers WHERE id = 1 RETURNING *').length, 4);
});

test('what cannot be traced is opaque', () => {
  assert.ok(outputs('SELECT my_function(email) FROM customers')[0].opaque);
  assert.ok(outputs('SELECT * FROM unknown_table')[0].opaque);
  assert.ok(outputs("SELECT query_to_xml('select ssn from customers', true, true, '')")[0].opaque);
  assert.ok(lineage('SELECT * FROM some_srf()').opaque);
  assert.ok(outputs('SELECT * FROM some_srf()')[0].opaque);
  assert.is(lineage('CALL proc()').outputs, 'opaque');
  assert.is(lineage('SHOW search_path').outputs, 'clean');
});

test('COPY: a relation or a query', () => {
  assert.equal(outputs('COPY customers TO STDOUT').map((o) => o.sources[0]), ['customers.id', 'customers.name', 'customers.email', 'customers.ssn']);
  assert.equal(outputs('COPY customers (ssn) TO STDOUT')[0].sources, ['customers.ssn']);
  assert.equal(outputs('COPY (SELECT upper(email) FROM customers) TO STDOUT')[0].sources, ['customers.email']);
});

test('deep nesting stays bounded', () => {
  let q = 'SELECT email FROM customers';
  for (let i = 0; i < 300; i++) q = `SELECT * FROM (${q}) s${i}`;
  const l = lineage(q);
  assert.ok(l.opaque || (Array.isArray(l.outputs) && l.outputs.length === 1));
});

test('JOIN USING and NATURAL merge their columns once, first, as `*` expands them', () => {
  const o = outputs('SELECT * FROM customers JOIN orders USING (id)');
  assert.equal(
    o.map((x) => x.name),
    ['id', 'name', 'email', 'ssn', 'customer_id', 'total'],
  );
  assert.equal(o[0].sources, ['customers.id', 'orders.id']);
  assert.equal(o[3].sources, ['customers.ssn']);
  assert.equal(outputs('SELECT * FROM customers NATURAL JOIN orders').length, 6);
  // a USING column is a join condition
  assert.equal(show(lineage('SELECT 1 FROM customers a JOIN customers b USING (ssn)').predicates), ['customers.ssn']);
});

test('a function in FROM stands for an unknown number of columns (a span), aligned around it', () => {
  const o = lineage("SELECT * FROM jsonb_each_text('{}') j, (SELECT upper(ssn) AS u FROM customers) s, orders").outputs as { span?: boolean; name: string }[];
  assert.equal(
    o.map((x) => (x.span ? '…' : x.name)),
    ['…', 'u', 'id', 'customer_id', 'total'],
  );
  // the plan aligns a 6-field result: key, value | u | id, customer_id, total
  const aligned = alignOutputs(o as never, 6)!;
  assert.equal(aligned.map((x) => show(x.sources)), [[], [], ['customers.ssn'], ['orders.id'], ['orders.customer_id'], ['orders.total']]);
  assert.is(alignOutputs(o as never, 3), null);
  // a name not found among known columns may be one of the function's
  assert.equal(outputs('SELECT value FROM customers c, jsonb_each(to_jsonb(c))')[0].sources, ['customers.email', 'customers.id', 'customers.name', 'customers.ssn']);
  // and a correlated name is not hidden by an inner function's unknown columns
  assert.equal(outputs('SELECT (SELECT ssn FROM generate_series(1, 1)) FROM customers')[0].sources, ['customers.ssn']);
  // a column definition list gives every column
  assert.equal(
    outputs('SELECT * FROM jsonb_to_record(NULL) AS x(a text, b int)').map((x) => x.name),
    ['a', 'b'],
  );
});

test('recursive CTEs: forward references and rotations reach the fixed point', () => {
  assert.equal(outputs("WITH RECURSIVE a AS (SELECT t FROM orders_t), orders_t AS (SELECT upper(ssn) AS t FROM customers) SELECT t FROM a")[0].sources, ['customers.ssn']);
  const rot = outputs("WITH RECURSIVE r(n, a, b, c, d, e) AS (SELECT 1, ssn, 'b', 'c', 'd', 'e' FROM customers UNION ALL SELECT n + 1, e, a, b, c, d FROM r WHERE n < 9) SELECT a, b, c, d, e FROM r");
  assert.ok(rot.every((x) => x.sources.includes('customers.ssn')));
});

test('ORDER BY and GROUP BY by position or output name, FILTER and OVER are predicates', () => {
  assert.equal(show(lineage('SELECT id, ssn FROM customers ORDER BY 2').predicates), ['customers.ssn']);
  assert.equal(show(lineage('SELECT id, ssn AS s FROM customers ORDER BY s').predicates), ['customers.ssn']);
  assert.equal(show(lineage('SELECT email, count(*) FROM customers GROUP BY 1').predicates), ['customers.email']);
  assert.equal(show(lineage("SELECT count(*) FILTER (WHERE ssn > '1') FROM customers").predicates), ['customers.ssn']);
  assert.equal(show(lineage('SELECT row_number() OVER (PARTITION BY email ORDER BY ssn) FROM customers').predicates), ['customers.email', 'customers.ssn']);
});

test('values passed to functions that may keep them are written', () => {
  assert.equal(show(lineage("SELECT set_config('application_name', ssn, false) FROM customers").writesFrom), ['customers.ssn']);
  assert.equal(show(lineage("SELECT pg_notify('c', email) FROM customers").writesFrom), ['customers.email']);
  assert.equal(show(lineage('SELECT my_function(ssn) FROM customers').writesFrom), ['customers.ssn']);
  assert.equal(show(lineage('SELECT upper(ssn), count(email) FROM customers').writesFrom), []);
  assert.equal(show(lineage('SELECT mode() WITHIN GROUP (ORDER BY ssn) FROM customers').writesFrom), []);
  assert.ok(lineage('INSERT INTO orders (total) SELECT x FROM unknown_table').writesOpaque);
});

test('EXPLAIN: the statement is analysed as if it ran; EXECUTE is left to the session', () => {
  const l = lineage('EXPLAIN ANALYZE SELECT ssn::int FROM customers');
  assert.is(l.outputs, 'clean');
  assert.equal(show(l.reads), ['customers.ssn']);
  assert.equal(show(lineage('EXPLAIN ANALYZE CREATE TABLE t AS SELECT ssn FROM customers').writesFrom), ['customers.ssn']);
  assert.is(lineage('EXPLAIN SELECT my_function()').outputs, 'opaque');
  assert.equal(lineage('EXPLAIN ANALYZE EXECUTE p').executes, { name: 'p', as: 'explain' });
  assert.equal(lineage('CREATE TABLE t AS EXECUTE p').executes, { name: 'p', as: 'write' });
  assert.equal(lineage('EXECUTE p (1)').executes, { name: 'p', as: 'rows' });
});

test('renames, moves and detaches are reported', () => {
  assert.equal(show(lineage('ALTER TABLE customers RENAME COLUMN ssn TO x').unmasks), ['customers.*', 'customers.ssn']);
  assert.ok(show(lineage('ALTER TABLE customers RENAME TO c2').unmasks).includes('customers.*'));
  assert.ok(show(lineage('ALTER TABLE customers SET SCHEMA other').unmasks).includes('customers.*'));
  assert.equal([...lineage('ALTER TABLE nowhere RENAME TO x').unmasks], [UNKNOWN_RELATION]);
  assert.equal(show(lineage('ALTER TABLE orders RENAME COLUMN total TO t').unmasks), ['orders.*', 'orders.total']);
});

test('statements that return no rows are clean', () => {
  for (const sql of ['CREATE TABLE x (a int)', 'DEALLOCATE ALL', 'LISTEN c', 'CLOSE ALL', 'DROP TABLE x', 'VACUUM customers']) assert.is(lineage(sql).outputs, 'clean', sql);
});

test('partitions and value-holding catalog relations', () => {
  const snap = snapshotFromRows(
    [
      ...rows,
      ['r', '200', 'public', 'parts', 'p', null],
      ['r', '201', 'public', 'parts_a', 'r', null],
      ['r', '202', 'pg_catalog', 'pg_stats', 'v', ' SELECT 1 AS most_common_vals;'],
      ['a', '200', '1', 'ssn', null, null],
      ['a', '201', '1', 'ssn', null, null],
      ['a', '202', '1', 'most_common_vals', null, null],
      ['i', '201', '200', null, null, null],
    ],
    ['public'],
  );
  const pc = lineageCatalog(snap, ['public']);
  const l = (sql: string) => statementLineage(parseSql(sql).tree!.stmts![0].stmt, pc);
  const outs = (sql: string) => (l(sql).outputs as { sources: Set<string>; opaque: boolean }[]).map((o) => ({ sources: show(o.sources), opaque: o.opaque }));
  assert.equal(outs('SELECT ssn FROM parts_a'), [{ sources: ['parts.ssn', 'parts_a.ssn'], opaque: false }]);
  assert.equal(outs('SELECT ssn FROM parts'), [{ sources: ['parts.ssn', 'parts_a.ssn'], opaque: false }]);
  assert.equal(outs('SELECT most_common_vals FROM pg_stats'), [{ sources: [], opaque: true }]);
});

test('a session that set its search path, or created temporary relations: ambiguous names are unknown', () => {
  const snap = snapshotFromRows([...rows, ['r', '300', 'hr', 'customers', 'r', null], ['a', '300', '1', 'x', null, null]], ['public']);
  const widened = lineageCatalog(snap, ['public', 'hr'], { exactPath: false, temporary: new Set() });
  assert.is(widened.resolveRelation('customers'), null);
  assert.is(widened.resolveRelation('orders')?.key, 'public.orders');
  const exact = lineageCatalog(snap, ['public', 'hr'], { exactPath: true, temporary: new Set() });
  assert.is(exact.resolveRelation('customers')?.key, 'public.customers');
  const temp = lineageCatalog(snap, ['public'], { exactPath: true, temporary: new Set(['orders']) });
  assert.is(temp.resolveRelation('orders'), null);
  assert.is(temp.relation('pg_temp', 'orders'), null);
});

void c;
test('what DDL stores from expressions is written: generated columns, USING, defaults; CHECK is a condition', () => {
  const writes = (sql: string) => {
    const l = lineage(sql);
    return { from: show(l.writesFrom), opaque: l.writesOpaque };
  };
  assert.equal(writes('ALTER TABLE customers ADD COLUMN copy text GENERATED ALWAYS AS (ssn) STORED'), { from: ['customers.ssn'], opaque: false });
  assert.equal(writes("ALTER TABLE customers ADD COLUMN tail text GENERATED ALWAYS AS (right(email, 4) || name) STORED"), { from: ['customers.email', 'customers.name'], opaque: false });
  assert.equal(writes('ALTER TABLE customers ALTER COLUMN name TYPE text USING ssn'), { from: ['customers.ssn'], opaque: false });
  // the values stay in their own column
  assert.equal(writes('ALTER TABLE customers ALTER COLUMN ssn TYPE varchar(20) USING ssn::varchar(20)'), { from: [], opaque: false });
  assert.equal(writes('ALTER TABLE customers ALTER COLUMN name SET DEFAULT some_function()'), { from: [], opaque: true });
  assert.equal(writes('CREATE TABLE t (v text DEFAULT some_function(), w int GENERATED ALWAYS AS (1) STORED)'), { from: [], opaque: true });
  assert.equal(writes('CREATE TABLE t (a int, b int GENERATED ALWAYS AS (a * 2) STORED)'), { from: [], opaque: false });
  assert.equal(writes('ALTER TABLE customers ADD COLUMN n int DEFAULT 0, ALTER COLUMN name SET STATISTICS 100'), { from: [], opaque: false });
  assert.equal(show(lineage("ALTER TABLE customers ADD CONSTRAINT c CHECK (ssn LIKE '0%')").predicates), ['customers.ssn']);
  // a row security policy is a condition on the rows it lets through: a count then answers it
  assert.equal(show(lineage("CREATE POLICY p ON orders USING ((SELECT ssn FROM customers WHERE id = customer_id) LIKE '0%')").predicates), ['customers.id', 'customers.ssn', 'orders.customer_id']);
  assert.equal(show(lineage("ALTER POLICY p ON customers WITH CHECK (email <> '')").predicates), ['customers.email']);
  // on a relation the catalog does not know: nothing can be said of what it stores
  assert.equal(writes('ALTER TABLE unknown_t ADD COLUMN g text GENERATED ALWAYS AS (x) STORED'), { from: [], opaque: true });
});

test('rules and triggers run their actions inside other statements: untraceable writes', () => {
  for (const sql of ['CREATE RULE r AS ON INSERT TO orders DO INSTEAD SELECT ssn FROM customers', 'CREATE RULE r AS ON UPDATE TO customers DO ALSO NOTHING', 'CREATE TRIGGER t AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION f()']) {
    const l = lineage(sql);
    assert.ok(l.writesOpaque && l.opaque, sql);
  }
});

test('a write without RETURNING has no columns: rows it returns anyway (a rule) cannot be aligned with them', () => {
  for (const sql of ['INSERT INTO orders VALUES (1, 1, 1)', 'UPDATE orders SET total = 0', 'DELETE FROM orders']) {
    const l = lineage(sql);
    assert.equal(l.outputs, [], sql);
    assert.is(alignOutputs([], 2), null);
  }
});

test.run();
