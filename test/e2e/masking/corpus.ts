// The leak corpus: statements that try to read masked values (test/e2e/masking/leaks.test.ts
// runs each through the real gateway with real clients and searches every byte the clients
// received for the raw secrets of fixture.ts).
//
// Each case says what spec/masking.md promises for it:
//   masked  — the statement runs and every masked value arrives masked
//   refused — 42501 before anything runs, for the reason `reason` matches (spec §3)
//   error   — the server's error, with `code`, its text withheld (spec §6)
// `steps` run in one session, in order (psql: one -c each). `$C` is replaced by the client's
// name, for objects a case creates. `fixture` picks the target's masking options:
//   default — copy deny, derived mask, predicates allow
//   copy    — copy mask
//   strict  — predicates deny, derived deny, copy mask

export type Fixture = 'default' | 'copy' | 'strict';
export type CorpusClient = 'psql' | 'pg' | 'pg-binary' | 'postgres.js';

export interface LeakCase {
  id: string;
  category: string;
  steps: string[];
  expect: 'masked' | 'refused' | 'error';
  reason?: RegExp;
  code?: string | RegExp;
  fixture?: Fixture;
  /** the clients that run it (default: all of the corpus clients) */
  clients?: CorpusClient[];
  /** strings the psql output must contain (evidence the masked values arrived as the spec says) */
  shows?: string[];
  /** SQL run directly on the server (another session, not the agent's) while the case runs */
  background?: string;
  /** single-statement SELECTs that psycopg 3 (binary) and pgjdbc (binary after 5 runs) run too */
  drivers?: boolean;
}

const WRITES = /copies masked column|writes values the gateway cannot trace/;
const SQL_FN = /functions that run SQL from strings/;
const COPY = /COPY of masked columns is refused/;
const PREDICATE = /is used in a condition, join, grouping or ordering/;
const DERIVED = /is derived from|returns values the gateway cannot trace/;
const RENAME = /would stop masking|renames or moves/;

export const CORPUS: LeakCase[] = [
  // ---------------------------------------------------------------- aliases
  { id: 'alias-plain', category: 'alias', steps: ['SELECT ssn AS x, email AS y, phone AS z, salary AS s, balance AS b, credit AS c FROM customers ORDER BY id'], expect: 'masked', shows: ['***|q***@corp-example.net|***********0142|0|'], drivers: true },
  { id: 'alias-quoted', category: 'alias', steps: ['SELECT c.ssn "SSN", c.salary AS pay FROM customers c'], expect: 'masked', drivers: true },
  { id: 'alias-column-list', category: 'alias', steps: ['SELECT s, e FROM (SELECT ssn, email FROM customers) AS x(s, e)'], expect: 'masked' },
  { id: 'alias-qualified', category: 'alias', steps: ['SELECT public.customers.ssn, customers.email FROM public.customers'], expect: 'masked' },
  { id: 'alias-table', category: 'alias', steps: ['TABLE customers'], expect: 'masked', drivers: true },
  { id: 'alias-results-differ', category: 'alias', steps: ['SELECT name, ssn, id FROM customers ORDER BY id; SELECT ssn, email, name FROM customers ORDER BY id; SELECT id, phone FROM customers'], expect: 'masked' },
  { id: 'alias-only-star', category: 'alias', steps: ['SELECT * FROM ONLY customers'], expect: 'masked' },
  { id: 'alias-relation-star', category: 'alias', steps: ['SELECT v.*, v.* FROM vault v'], expect: 'masked' },

  // ---------------------------------------------------------------- casts
  { id: 'cast-widening', category: 'cast', steps: ['SELECT ssn::varchar(40), salary::text, balance::numeric, credit::text, phone::bpchar FROM customers'], expect: 'masked', drivers: true },
  { id: 'cast-bytea-float', category: 'cast', steps: ['SELECT CAST(ssn AS bytea), salary::float8, email::varchar, balance::float4, credit::int8 FROM customers'], expect: 'masked', drivers: true },
  { id: 'cast-int-error', category: 'error', steps: ['SELECT ssn::int FROM customers'], expect: 'error', code: '22P02' },
  { id: 'cast-date-error', category: 'error', steps: ['SELECT ssn::date FROM customers'], expect: 'error', code: /^22/ },
  { id: 'cast-json-error', category: 'error', steps: ['SELECT email::json FROM customers'], expect: 'error', code: '22P02' },
  { id: 'cast-uuid-error', category: 'error', steps: ['SELECT ssn::uuid FROM customers'], expect: 'error', code: '22P02' },
  { id: 'cast-regclass-error', category: 'error', steps: ['SELECT ssn::regclass FROM customers'], expect: 'error', code: '42P01' },
  { id: 'cast-inet-error', category: 'error', steps: ['SELECT email::inet FROM customers'], expect: 'error', code: '22P02' },
  { id: 'cast-text-int-error', category: 'error', steps: ["SELECT (salary::text || 'x')::int FROM customers"], expect: 'error', code: '22P02' },
  { id: 'error-in-predicate', category: 'error', steps: ['SELECT id FROM customers WHERE ssn::numeric > 0'], expect: 'error', code: '22P02' },
  { id: 'error-make-date', category: 'error', steps: ['SELECT make_date(salary, 1, 1) FROM customers'], expect: 'error', code: /^22/ },
  { id: 'error-xmlparse', category: 'error', steps: ['SELECT xmlparse(document ssn) FROM customers'], expect: 'error', code: /^2200/ },
  { id: 'error-view-cast', category: 'error', steps: ['SELECT s::int FROM v_nested'], expect: 'error', code: '22P02' },
  { id: 'error-opaque-function', category: 'error', steps: ['SELECT leak_fn()::int'], expect: 'error', code: '22P02' },
  { id: 'notice-from-function', category: 'error', steps: ['SELECT leak_notice()'], expect: 'masked' },
  // a DO block is decided as the SQL it runs, but what it does with the values is opaque
  { id: 'do-raise-notice', category: 'error', steps: ["DO $$ BEGIN RAISE NOTICE '%', (SELECT ssn FROM customers WHERE id = 1); END $$"], expect: 'refused', reason: /DO block is opaque/ },
  { id: 'do-copy-into-table', category: 'insert-select', steps: ['DO $$ DECLARE v text; BEGIN SELECT ssn INTO v FROM customers WHERE id = 1; INSERT INTO scratch (t) VALUES (v); END $$', 'SELECT t FROM scratch'], expect: 'refused', reason: /DO block is opaque/ },
  { id: 'do-unrelated', category: 'insert-select', steps: ["DO $$ BEGIN INSERT INTO scratch (t) VALUES ('x'); END $$"], expect: 'refused', reason: /DO block is opaque/ },
  { id: 'error-explain-analyze', category: 'error', steps: ['EXPLAIN ANALYZE SELECT ssn::int FROM customers'], expect: 'error', code: '22P02' },

  // ---------------------------------------------------------------- expressions
  { id: 'expr-case-functions', category: 'expression', steps: ['SELECT upper(ssn), lower(email), reverse(phone) FROM customers'], expect: 'masked', shows: ['***|***|***'], drivers: true },
  { id: 'expr-reverse-partial', category: 'expression', steps: ["SELECT reverse(email), reverse(phone), overlay(phone placing '' from 1 for 11), email || '@x' FROM customers"], expect: 'masked', shows: ['***|***|***|***'] },
  { id: 'expr-substrings', category: 'expression', steps: ["SELECT replace(ssn, '-', ''), substr(ssn, 2), left(email, 20), right(phone, 12), split_part(email, '@', 1) FROM customers"], expect: 'masked', drivers: true },
  { id: 'expr-conditionals', category: 'expression', steps: ["SELECT coalesce(ssn, 'none'), nullif(ssn, 'x'), CASE WHEN id > 0 THEN ssn END, greatest(ssn, ''), CASE WHEN id > 0 THEN salary END FROM customers"], expect: 'masked', drivers: true },
  { id: 'expr-arithmetic', category: 'expression', steps: ['SELECT salary + 0, salary * 1, -salary, abs(balance), credit / 1, credit + 0.5 FROM customers'], expect: 'masked', drivers: true },
  { id: 'expr-encodings', category: 'expression', steps: ["SELECT format('%s|%s', ssn, salary), encode(convert_to(ssn, 'UTF8'), 'base64'), encode(ssn::bytea, 'hex'), md5(ssn), to_hex(salary) FROM customers"], expect: 'masked', drivers: true },
  { id: 'expr-lengths', category: 'expression', steps: ["SELECT length(ssn), position('-' in ssn), ascii(ssn), octet_length(email) FROM customers"], expect: 'masked' },
  { id: 'expr-translate', category: 'expression', steps: ["SELECT translate(ssn, '0123456789', 'abcdefghij'), regexp_replace(email, '@.*', ''), quote_literal(phone), salary::text::bytea FROM customers"], expect: 'masked' },

  // ---------------------------------------------------------------- concatenation
  { id: 'concat-operator', category: 'concatenation', steps: ["SELECT name || ssn, name || ':' || salary, ssn || email FROM customers"], expect: 'masked', drivers: true },
  { id: 'concat-functions', category: 'concatenation', steps: ["SELECT concat(name, ssn), concat_ws(',', ssn, email, phone, balance) FROM customers"], expect: 'masked' },
  { id: 'concat-subquery', category: 'concatenation', steps: ['SELECT name || (SELECT max(ssn) FROM customers) FROM customers'], expect: 'masked' },

  // ---------------------------------------------------------------- aggregates
  { id: 'agg-minmax', category: 'aggregate', steps: ['SELECT max(ssn), min(email), max(salary), sum(salary), avg(balance), max(credit) FROM customers'], expect: 'masked', drivers: true },
  { id: 'agg-string-agg', category: 'aggregate', steps: ["SELECT string_agg(ssn, ','), string_agg(email, ';' ORDER BY id), string_agg(v, '') FROM customers, vault"], expect: 'masked', drivers: true },
  { id: 'agg-array-agg', category: 'aggregate', steps: ['SELECT array_agg(ssn), array_agg(salary), array_agg(balance ORDER BY id) FROM customers'], expect: 'masked', drivers: true },
  { id: 'agg-json-agg', category: 'aggregate', steps: ['SELECT json_agg(ssn), jsonb_object_agg(name, ssn), json_object_agg(id, salary) FILTER (WHERE salary IS NOT NULL) FROM customers'], expect: 'masked' },
  { id: 'agg-ordered-set', category: 'aggregate', steps: ['SELECT mode() WITHIN GROUP (ORDER BY ssn), percentile_disc(0.5) WITHIN GROUP (ORDER BY salary) FROM customers'], expect: 'masked' },
  { id: 'agg-grouped', category: 'aggregate', steps: ['SELECT name, max(ssn), min(phone) FROM customers GROUP BY name ORDER BY name'], expect: 'masked' },
  { id: 'agg-bool', category: 'aggregate', steps: ["SELECT count(DISTINCT ssn), bool_or(ssn LIKE '0%'), every(salary > 0) FROM customers"], expect: 'masked' },

  // ---------------------------------------------------------------- JSON, XML, array and row constructors
  { id: 'ctor-row-to-json', category: 'constructor', steps: ['SELECT row_to_json(c) FROM customers c'], expect: 'masked', drivers: true },
  { id: 'ctor-to-jsonb', category: 'constructor', steps: ['SELECT to_jsonb(c), to_json(c.*) FROM customers c'], expect: 'masked', drivers: true },
  { id: 'ctor-build-object', category: 'constructor', steps: ["SELECT json_build_object('s', ssn, 'p', salary), jsonb_build_array(email, balance) FROM customers"], expect: 'masked', drivers: true },
  { id: 'ctor-json-agg-rows', category: 'constructor', steps: ['SELECT json_agg(c), jsonb_agg(v) FROM customers c, vault v'], expect: 'masked' },
  { id: 'ctor-xmlelement', category: 'constructor', steps: ['SELECT xmlelement(name s, ssn), xmlforest(email, salary) FROM customers'], expect: 'masked', drivers: true },
  { id: 'ctor-xmlagg', category: 'constructor', steps: ['SELECT xmlagg(xmlelement(name s, ssn)) FROM customers'], expect: 'masked' },
  { id: 'ctor-array', category: 'constructor', steps: ['SELECT ARRAY[ssn, email], ARRAY(SELECT salary FROM customers), (ARRAY[phone])[1] FROM customers'], expect: 'masked', drivers: true },
  { id: 'ctor-row', category: 'constructor', steps: ['SELECT ROW(ssn, salary)::text, (ssn, email) FROM customers'], expect: 'masked' },
  { id: 'ctor-json-path', category: 'constructor', steps: ["SELECT to_jsonb(customers) ->> 'ssn', to_jsonb(customers) -> 'salary', row_to_json(customers)::jsonb #>> '{email}' FROM customers"], expect: 'masked', drivers: true },

  // ---------------------------------------------------------------- subqueries
  { id: 'subq-scalar', category: 'subquery', steps: ['SELECT (SELECT ssn FROM customers WHERE id = 1), (SELECT max(salary) FROM customers)'], expect: 'masked', drivers: true },
  { id: 'subq-from', category: 'subquery', steps: ['SELECT * FROM (SELECT ssn, email, balance FROM customers) s'], expect: 'masked', drivers: true },
  { id: 'subq-from-derived', category: 'subquery', steps: ['SELECT x.u, x.u || x.u FROM (SELECT upper(ssn) AS u FROM customers) x'], expect: 'masked' },
  { id: 'subq-correlated', category: 'subquery', steps: ['SELECT (SELECT c2.ssn FROM customers c2 WHERE c2.id = c.id), (SELECT v FROM vault LIMIT 1) FROM customers c'], expect: 'masked' },
  { id: 'subq-in-predicate', category: 'subquery', steps: ['SELECT name FROM customers WHERE ssn IN (SELECT ssn FROM customers)'], expect: 'masked' },
  { id: 'subq-values', category: 'subquery', steps: ['VALUES ((SELECT max(ssn) FROM customers), (SELECT min(salary) FROM customers))'], expect: 'masked' },

  // ---------------------------------------------------------------- CTEs
  { id: 'cte-plain', category: 'cte', steps: ['WITH x AS (SELECT ssn, salary FROM customers) SELECT * FROM x'], expect: 'masked', drivers: true },
  { id: 'cte-chain', category: 'cte', steps: ["WITH x AS (SELECT upper(ssn) AS u FROM customers), y AS (SELECT u || '' AS w FROM x) SELECT w FROM y"], expect: 'masked' },
  { id: 'cte-recursive', category: 'cte', steps: ['WITH RECURSIVE r(n, s) AS (SELECT 1, ssn FROM customers UNION ALL SELECT n + 1, s FROM r WHERE n < 3) SELECT n, s, upper(s) FROM r'], expect: 'masked' },
  {
    id: 'cte-recursive-rotation',
    category: 'cte',
    steps: ["WITH RECURSIVE r(n, a, b, c, d, e) AS (SELECT 1, ssn, 'b', 'c', 'd', 'e' FROM customers WHERE id = 1 UNION ALL SELECT n + 1, e, a, b, c, d FROM r WHERE n < 6) SELECT n, upper(a), upper(b), upper(c), upper(d), upper(e) FROM r"],
    expect: 'masked',
  },
  { id: 'cte-recursive-forward', category: 'cte', steps: ["WITH RECURSIVE a AS (SELECT t FROM scratch), scratch AS (SELECT upper(ssn) AS t FROM customers) SELECT t || '' FROM a"], expect: 'masked' },
  { id: 'cte-shadowing', category: 'cte', steps: ['WITH customers AS (SELECT * FROM public.customers) SELECT ssn, upper(email) FROM customers'], expect: 'masked' },
  { id: 'cte-whole-row', category: 'cte', steps: ['WITH x AS MATERIALIZED (SELECT c FROM customers c) SELECT (x.c).ssn, x FROM x'], expect: 'masked' },

  // ---------------------------------------------------------------- views and materialized views
  { id: 'view-plain', category: 'view', steps: ['SELECT * FROM v_customers'], expect: 'masked', shows: ['***'], drivers: true },
  { id: 'view-nested', category: 'view', steps: ['SELECT s, upper(s) FROM v_nested'], expect: 'masked', drivers: true },
  { id: 'view-expressions', category: 'view', steps: ['SELECT * FROM v_expr'], expect: 'masked', drivers: true },
  { id: 'view-other-schema', category: 'view', steps: ['SELECT national_id, lower(contact) FROM hr.people'], expect: 'masked' },
  { id: 'view-column-mask', category: 'view', steps: ['SELECT memo, upper(memo), v FROM v_memo v'], expect: 'masked', shows: ['***|***|'] },
  { id: 'view-whole-row', category: 'view', steps: ['SELECT v FROM v_customers v'], expect: 'masked' },
  { id: 'matview-plain', category: 'materialized view', steps: ['SELECT * FROM mv_customers'], expect: 'masked', drivers: true },
  { id: 'matview-derived', category: 'materialized view', steps: ['SELECT upper(ssn), salary + 1 FROM mv_customers'], expect: 'masked' },
  { id: 'matview-nested', category: 'materialized view', steps: ['SELECT *, s || s FROM mv_nested'], expect: 'masked' },

  // ---------------------------------------------------------------- whole-row references
  { id: 'row-alias', category: 'whole row', steps: ['SELECT c FROM customers c'], expect: 'masked', drivers: true },
  { id: 'row-text', category: 'whole row', steps: ['SELECT customers::text FROM customers'], expect: 'masked', drivers: true },
  { id: 'row-star-indirection', category: 'whole row', steps: ['SELECT (c).* FROM customers c'], expect: 'masked' },
  { id: 'row-constructor', category: 'whole row', steps: ['SELECT ROW(c.*) FROM customers c'], expect: 'masked' },
  { id: 'row-scalar', category: 'whole row', steps: ['SELECT (SELECT c FROM customers c WHERE id = 1)::text'], expect: 'masked' },
  { id: 'row-subquery', category: 'whole row', steps: ['SELECT x FROM (SELECT ssn, salary FROM customers) x'], expect: 'masked' },

  // ---------------------------------------------------------------- set operations
  { id: 'setop-union', category: 'set operation', steps: ['SELECT name FROM customers UNION SELECT ssn FROM customers'], expect: 'masked', drivers: true },
  { id: 'setop-union-all-left-clean', category: 'set operation', steps: ["SELECT 'a' AS k UNION ALL SELECT email FROM customers"], expect: 'masked', drivers: true },
  { id: 'setop-intersect', category: 'set operation', steps: ['SELECT ssn FROM customers INTERSECT SELECT ssn FROM customers'], expect: 'masked' },
  { id: 'setop-except', category: 'set operation', steps: ["SELECT upper(ssn) FROM customers EXCEPT SELECT 'nothing'"], expect: 'masked' },
  { id: 'setop-ordered', category: 'set operation', steps: ['SELECT salary FROM customers UNION SELECT 1 ORDER BY 1'], expect: 'masked' },
  { id: 'setop-parenthesized', category: 'set operation', steps: ['(SELECT k FROM vault) UNION ALL (SELECT v FROM vault)'], expect: 'masked' },

  // ---------------------------------------------------------------- cursors
  { id: 'cursor-fetch', category: 'cursor', steps: ['BEGIN', 'DECLARE c CURSOR FOR SELECT ssn, upper(email), salary FROM customers', 'FETCH 2 FROM c', 'FETCH ALL FROM c', 'COMMIT'], expect: 'masked' },
  { id: 'cursor-binary', category: 'cursor', steps: ['BEGIN', 'DECLARE b BINARY CURSOR FOR SELECT ssn, salary, balance, credit, upper(ssn) FROM customers', 'FETCH ALL FROM b', 'COMMIT'], expect: 'masked' },
  { id: 'cursor-move', category: 'cursor', steps: ['BEGIN', "DECLARE c SCROLL CURSOR FOR SELECT id, ssn || '' FROM customers", 'MOVE 1 IN c', 'FETCH NEXT FROM c', 'FETCH PRIOR FROM c', 'FETCH ABSOLUTE 2 FROM c', 'COMMIT'], expect: 'masked' },
  { id: 'cursor-with-hold', category: 'cursor', steps: ['DECLARE h CURSOR WITH HOLD FOR SELECT c FROM customers c', 'FETCH ALL FROM h', 'CLOSE h'], expect: 'masked' },
  { id: 'cursor-to-xml', category: 'cursor', steps: ['BEGIN', 'DECLARE x CURSOR FOR SELECT ssn FROM customers', "SELECT cursor_to_xml('x', 10, false, false, '')", 'COMMIT'], expect: 'refused', reason: SQL_FN },

  // ---------------------------------------------------------------- COPY
  { id: 'copy-table-denied', category: 'copy', steps: ['COPY customers TO STDOUT'], expect: 'refused', reason: COPY, clients: ['psql', 'postgres.js'] },
  { id: 'copy-query-denied', category: 'copy', steps: ['COPY (SELECT upper(ssn) FROM customers) TO STDOUT'], expect: 'refused', reason: COPY, clients: ['psql', 'postgres.js'] },
  { id: 'copy-clean-columns', category: 'copy', steps: ['COPY customers (id, name, note) TO STDOUT'], expect: 'masked', shows: ['1\tAnn\tfirst'], clients: ['psql', 'postgres.js'] },
  { id: 'copy-text', category: 'copy', fixture: 'copy', steps: ['COPY customers TO STDOUT'], expect: 'masked', shows: ['1\tAnn\tq***@corp-example.net\t***\t***********0142\t0\t'], clients: ['psql', 'postgres.js'] },
  { id: 'copy-csv', category: 'copy', fixture: 'copy', steps: ['COPY customers TO STDOUT WITH (FORMAT csv, HEADER)'], expect: 'masked', shows: ['1,Ann,q***@corp-example.net,***,***********0142,0,'], clients: ['psql', 'postgres.js'] },
  { id: 'copy-binary', category: 'copy', fixture: 'copy', steps: ['COPY customers TO STDOUT WITH (FORMAT binary)'], expect: 'masked', clients: ['psql', 'postgres.js'] },
  { id: 'copy-query-csv', category: 'copy', fixture: 'copy', steps: ['COPY (SELECT c.*, upper(ssn) FROM customers c) TO STDOUT WITH (FORMAT csv)'], expect: 'masked', clients: ['psql', 'postgres.js'] },
  { id: 'copy-view-query', category: 'copy', fixture: 'copy', steps: ["COPY (SELECT * FROM hr.people) TO STDOUT WITH (DELIMITER ',')"], expect: 'masked', clients: ['psql', 'postgres.js'] },
  {
    id: 'copy-csv-escape-quote',
    category: 'copy',
    fixture: 'copy',
    steps: ['BEGIN', `UPDATE customers SET note = 'a"b'`, `COPY customers TO STDOUT WITH (FORMAT csv, ESCAPE '\\')`, 'ROLLBACK'],
    expect: 'masked',
    clients: ['psql', 'postgres.js'],
  },
  {
    id: 'copy-csv-newline-in-field',
    category: 'copy',
    fixture: 'copy',
    steps: ['BEGIN', `UPDATE customers SET name = E'x\\ny,"z'''`, `COPY customers TO STDOUT WITH (FORMAT csv, QUOTE '''', ESCAPE '"')`, 'ROLLBACK'],
    expect: 'masked',
    clients: ['psql', 'postgres.js'],
  },
  { id: 'copy-encoding', category: 'copy', fixture: 'copy', steps: ["COPY customers TO STDOUT WITH (FORMAT csv, ENCODING 'LATIN1')"], expect: 'refused', reason: /encoding/, clients: ['psql', 'postgres.js'] },

  // ---------------------------------------------------------------- RETURNING
  { id: 'returning-update', category: 'returning', steps: ['BEGIN', 'UPDATE customers SET name = name WHERE id = 1 RETURNING ssn, upper(email), salary', 'ROLLBACK'], expect: 'masked' },
  { id: 'returning-delete', category: 'returning', steps: ['BEGIN', 'DELETE FROM customers WHERE id = 2 RETURNING *', 'ROLLBACK'], expect: 'masked' },
  { id: 'returning-insert-subquery', category: 'returning', steps: ['BEGIN', "INSERT INTO customers (id, name) VALUES (9, 'Z') RETURNING (SELECT max(ssn) FROM customers), (SELECT v FROM vault LIMIT 1)", 'ROLLBACK'], expect: 'masked' },
  { id: 'returning-cte', category: 'returning', steps: ['BEGIN', 'WITH u AS (UPDATE customers SET name = name WHERE id = 1 RETURNING ssn) SELECT upper(ssn) FROM u', 'ROLLBACK'], expect: 'masked' },

  // ---------------------------------------------------------------- masked values copied into other data
  { id: 'write-insert-select', category: 'insert-select', steps: ['INSERT INTO scratch (t) SELECT ssn FROM customers'], expect: 'refused', reason: WRITES },
  { id: 'write-insert-values', category: 'insert-select', steps: ['INSERT INTO scratch (t) VALUES ((SELECT max(email) FROM customers))'], expect: 'refused', reason: WRITES },
  { id: 'write-update-from', category: 'insert-select', steps: ['UPDATE scratch SET t = c.ssn FROM customers c WHERE c.id = 1'], expect: 'refused', reason: WRITES },
  { id: 'write-cte', category: 'insert-select', steps: ['WITH w AS (INSERT INTO scratch (t) SELECT phone FROM customers RETURNING 1) SELECT count(*) FROM w'], expect: 'refused', reason: WRITES },
  { id: 'write-merge', category: 'insert-select', steps: ['MERGE INTO scratch s USING customers c ON false WHEN NOT MATCHED THEN INSERT (t) VALUES (c.ssn)'], expect: 'refused', reason: WRITES },
  { id: 'write-same-table', category: 'insert-select', steps: ['UPDATE customers SET note = ssn WHERE id = 1'], expect: 'refused', reason: WRITES },
  { id: 'write-number', category: 'insert-select', steps: ['INSERT INTO scratch (n) SELECT salary FROM customers'], expect: 'refused', reason: WRITES },
  { id: 'write-star-mask', category: 'insert-select', steps: ['INSERT INTO scratch (t) SELECT v FROM vault'], expect: 'refused', reason: WRITES },
  { id: 'write-on-conflict', category: 'insert-select', steps: ['INSERT INTO customers (id, name) VALUES (1, \'x\') ON CONFLICT (id) DO UPDATE SET note = excluded.note || customers.ssn'], expect: 'refused', reason: WRITES },
  { id: 'ctas-table', category: 'create table as', steps: ['CREATE TABLE leak_ctas_$C AS SELECT ssn FROM customers'], expect: 'refused', reason: WRITES },
  { id: 'ctas-select-into', category: 'create table as', steps: ['SELECT ssn, salary INTO leak_into_$C FROM customers'], expect: 'refused', reason: WRITES },
  { id: 'ctas-matview', category: 'create table as', steps: ['CREATE MATERIALIZED VIEW leak_mv_$C AS SELECT upper(email) FROM customers'], expect: 'refused', reason: WRITES },
  { id: 'ctas-temp', category: 'create table as', steps: ['CREATE TEMP TABLE leak_tmp AS SELECT ssn FROM customers'], expect: 'refused', reason: WRITES },
  { id: 'ctas-execute', category: 'create table as', steps: ['PREPARE lp AS SELECT ssn FROM customers', 'CREATE TABLE leak_exec_$C AS EXECUTE lp'], expect: 'refused', reason: WRITES },
  { id: 'ctas-explain', category: 'create table as', steps: ['EXPLAIN ANALYZE CREATE TABLE leak_explain_$C AS SELECT ssn FROM customers'], expect: 'refused', reason: WRITES },
  { id: 'view-created-then-read', category: 'create table as', steps: ["CREATE VIEW leak_view_$C AS SELECT upper(ssn) AS u, salary AS s FROM customers", "SELECT u, u || '', s FROM leak_view_$C"], expect: 'masked' },

  // ---------------------------------------------------------------- prepared statements
  { id: 'prepared-sql', category: 'prepared', steps: ['PREPARE p1 AS SELECT upper(ssn), salary FROM customers', 'EXECUTE p1'], expect: 'masked' },
  { id: 'prepared-sql-params', category: 'prepared', steps: ['PREPARE p2(int) AS SELECT ssn || $1::text, v FROM customers, vault', 'EXECUTE p2(1)'], expect: 'masked' },
  { id: 'prepared-sql-passthrough', category: 'prepared', steps: ['PREPARE p6 AS SELECT id, email, phone, balance, ssn FROM customers', 'EXECUTE p6'], expect: 'masked' },
  { id: 'prepared-sql-reprepared', category: 'prepared', steps: ['PREPARE p7 AS SELECT id FROM customers', 'DEALLOCATE p7', 'PREPARE p7 AS SELECT ssn, email FROM customers', 'EXECUTE p7'], expect: 'masked' },
  { id: 'prepared-sql-error', category: 'prepared', steps: ['PREPARE p4 AS SELECT ssn::int FROM customers', 'EXECUTE p4'], expect: 'error', code: '22P02' },
  { id: 'prepared-explain-execute-error', category: 'prepared', steps: ['PREPARE p5 AS SELECT ssn::int FROM customers', 'EXPLAIN ANALYZE EXECUTE p5'], expect: 'error', code: '22P02' },

  // ---------------------------------------------------------------- SQL-running functions
  { id: 'sqlfn-query-to-xml', category: 'sql function', steps: ["SELECT query_to_xml('SELECT ssn FROM customers', false, false, '')"], expect: 'refused', reason: SQL_FN },
  { id: 'sqlfn-table-to-xml', category: 'sql function', steps: ["SELECT table_to_xml('customers', false, false, '')"], expect: 'refused', reason: SQL_FN },
  { id: 'sqlfn-ts-stat', category: 'sql function', steps: ["SELECT * FROM ts_stat('SELECT to_tsvector(ssn) FROM customers')"], expect: 'refused', reason: SQL_FN },
  { id: 'sqlfn-query-to-xmlschema', category: 'sql function', steps: ["SELECT query_to_xml_and_xmlschema('SELECT ssn FROM customers', false, false, '')"], expect: 'refused', reason: SQL_FN },
  { id: 'sqlfn-schema-to-xml', category: 'sql function', steps: ["SELECT schema_to_xml('public', false, false, '')"], expect: 'refused', reason: SQL_FN },

  // ---------------------------------------------------------------- probing predicates: answered (predicates allow) and refused (predicates deny)
  { id: 'probe-like-allowed', category: 'predicate', steps: ["SELECT id FROM customers WHERE ssn LIKE '0%'"], expect: 'masked' },
  { id: 'probe-order-allowed', category: 'predicate', steps: ['SELECT id, ssn FROM customers ORDER BY ssn'], expect: 'masked' },
  { id: 'probe-like', category: 'predicate', fixture: 'strict', steps: ["SELECT id FROM customers WHERE ssn LIKE '0%'"], expect: 'refused', reason: PREDICATE },
  { id: 'probe-order', category: 'predicate', fixture: 'strict', steps: ['SELECT id FROM customers ORDER BY ssn'], expect: 'refused', reason: PREDICATE },
  { id: 'probe-order-position', category: 'predicate', fixture: 'strict', steps: ['SELECT id, ssn FROM customers ORDER BY 2'], expect: 'refused', reason: PREDICATE },
  { id: 'probe-order-alias', category: 'predicate', fixture: 'strict', steps: ['SELECT id, ssn AS s FROM customers ORDER BY s'], expect: 'refused', reason: PREDICATE },
  { id: 'probe-group', category: 'predicate', fixture: 'strict', steps: ['SELECT count(*) FROM customers GROUP BY salary'], expect: 'refused', reason: PREDICATE },
  { id: 'probe-group-position', category: 'predicate', fixture: 'strict', steps: ['SELECT email, count(*) FROM customers GROUP BY 1'], expect: 'refused', reason: PREDICATE },
  { id: 'probe-having', category: 'predicate', fixture: 'strict', steps: ["SELECT name FROM customers GROUP BY name HAVING max(ssn) > '1'"], expect: 'refused', reason: PREDICATE },
  { id: 'probe-join', category: 'predicate', fixture: 'strict', steps: ['SELECT c.id FROM customers c JOIN customers d ON c.ssn = d.email'], expect: 'refused', reason: PREDICATE },
  { id: 'probe-window-in-subquery', category: 'predicate', fixture: 'strict', steps: ['SELECT id FROM (SELECT id, row_number() OVER (ORDER BY ssn) AS rn FROM customers) x WHERE rn = 1'], expect: 'refused', reason: PREDICATE },
  { id: 'probe-distinct-on', category: 'predicate', fixture: 'strict', steps: ['SELECT DISTINCT ON (ssn) id FROM customers'], expect: 'refused', reason: PREDICATE },
  { id: 'probe-exists', category: 'predicate', fixture: 'strict', steps: ["SELECT id FROM customers WHERE EXISTS (SELECT 1 FROM vault WHERE v > 'a')"], expect: 'refused', reason: PREDICATE },
  { id: 'probe-filter', category: 'predicate', fixture: 'strict', steps: ["SELECT count(*) FILTER (WHERE ssn LIKE '0%') FROM customers"], expect: 'refused', reason: PREDICATE },
  { id: 'probe-limit', category: 'predicate', fixture: 'strict', steps: ['SELECT id FROM customers LIMIT (SELECT length(max(ssn)) FROM customers)'], expect: 'refused', reason: PREDICATE },
  { id: 'probe-cast-error', category: 'predicate', fixture: 'strict', steps: ['SELECT id FROM customers WHERE ssn::int > 0'], expect: 'refused', reason: PREDICATE },
  { id: 'probe-in-view', category: 'predicate', fixture: 'strict', steps: ["SELECT id FROM v_nested WHERE s LIKE '0%'"], expect: 'refused', reason: PREDICATE },
  { id: 'strict-derived', category: 'derived', fixture: 'strict', steps: ['SELECT upper(ssn) FROM customers'], expect: 'refused', reason: DERIVED },
  { id: 'strict-derived-view', category: 'derived', fixture: 'strict', steps: ['SELECT * FROM v_expr'], expect: 'refused', reason: DERIVED },
  { id: 'strict-derived-whole-row', category: 'derived', fixture: 'strict', steps: ['SELECT c FROM customers c'], expect: 'refused', reason: DERIVED },
  { id: 'strict-derived-window', category: 'derived', fixture: 'strict', steps: ['SELECT id, first_value(ssn) OVER (ORDER BY id) FROM customers'], expect: 'refused', reason: DERIVED },
  { id: 'strict-passthrough', category: 'derived', fixture: 'strict', steps: ['SELECT id, ssn, email AS e, phone FROM customers'], expect: 'masked', shows: ['***|q***@corp-example.net'] },
  { id: 'strict-passthrough-view', category: 'derived', fixture: 'strict', steps: ['SELECT * FROM v_customers'], expect: 'masked' },
  { id: 'strict-copy', category: 'copy', fixture: 'strict', steps: ['COPY customers TO STDOUT'], expect: 'masked', clients: ['psql', 'postgres.js'] },
  { id: 'strict-row-less-statements', category: 'derived', fixture: 'strict', steps: ['CREATE TABLE clean_$C (x int)', 'DEALLOCATE ALL', 'LISTEN chan_$C', 'UNLISTEN *', 'CLOSE ALL'], expect: 'masked' },

  // ---------------------------------------------------------------- functions in FROM, LATERAL, jsonb_each
  { id: 'from-function-scalar', category: 'function in FROM', steps: ['SELECT * FROM upper((SELECT ssn FROM customers WHERE id = 1)) AS u'], expect: 'masked' },
  { id: 'from-function-unnest', category: 'function in FROM', steps: ['SELECT * FROM unnest(ARRAY(SELECT ssn FROM customers)) AS x'], expect: 'masked', drivers: true },
  { id: 'from-function-record', category: 'function in FROM', steps: ['SELECT * FROM jsonb_to_record((SELECT to_jsonb(c) FROM customers c WHERE id = 1)) AS x(ssn text, salary int)'], expect: 'masked' },
  { id: 'from-function-split', category: 'function in FROM', steps: ["SELECT * FROM regexp_split_to_table((SELECT string_agg(ssn, ',') FROM customers), ',')"], expect: 'masked' },
  { id: 'from-rows-from', category: 'function in FROM', steps: ['SELECT * FROM ROWS FROM (unnest(ARRAY(SELECT email FROM customers)), generate_series(1, 3)) AS r(a, b)'], expect: 'masked' },
  { id: 'from-unnest-two', category: 'function in FROM', steps: ['SELECT * FROM ROWS FROM (unnest(ARRAY(SELECT ssn FROM customers)), unnest(ARRAY(SELECT phone FROM customers)))'], expect: 'masked' },
  { id: 'from-opaque-function', category: 'function in FROM', steps: ['SELECT * FROM leak_fn() AS l(s)'], expect: 'masked' },
  { id: 'from-opaque-scalar', category: 'function in FROM', steps: ['SELECT leak_fn(), upper(leak_fn())'], expect: 'masked' },
  { id: 'lateral-subquery', category: 'lateral', steps: ['SELECT x.* FROM customers c, LATERAL (SELECT c.ssn AS s, upper(c.email) AS e) x'], expect: 'masked', drivers: true },
  { id: 'lateral-function', category: 'lateral', steps: ['SELECT x FROM customers c CROSS JOIN LATERAL upper(c.ssn) AS x'], expect: 'masked' },
  { id: 'lateral-left-join', category: 'lateral', steps: ['SELECT l.* FROM customers c LEFT JOIN LATERAL (SELECT v FROM vault LIMIT 1) l ON true'], expect: 'masked' },
  { id: 'jsonb-each', category: 'jsonb_each', steps: ['SELECT key, value FROM customers c, jsonb_each(to_jsonb(c))'], expect: 'masked', drivers: true },
  { id: 'jsonb-each-star', category: 'jsonb_each', steps: ['SELECT j.* FROM customers c, jsonb_each_text(to_jsonb(c)) j'], expect: 'masked', drivers: true },
  { id: 'jsonb-each-all', category: 'jsonb_each', steps: ['SELECT * FROM customers c, jsonb_each_text(to_jsonb(c))'], expect: 'masked' },
  { id: 'json-each-filtered', category: 'jsonb_each', steps: ["SELECT value FROM customers c, json_each_text(row_to_json(c)) WHERE key = 'ssn'"], expect: 'masked' },
  {
    id: 'align-using',
    category: 'join',
    steps: [`SELECT * FROM jsonb_each_text('{"x":"1"}') j, (SELECT upper(ssn) AS u FROM customers) s, (SELECT 1 AS k) a JOIN (SELECT 1 AS k) b USING (k)`],
    expect: 'masked',
  },
  { id: 'align-natural', category: 'join', steps: [`SELECT * FROM (SELECT 1 AS id) a NATURAL JOIN (SELECT 1 AS id) b, (SELECT upper(ssn) AS u FROM customers) s, jsonb_each_text('{"x":"1"}') j`], expect: 'masked' },
  { id: 'join-using-masked', category: 'join', steps: ['SELECT * FROM customers JOIN v_customers USING (id, ssn)'], expect: 'masked' },

  // ---------------------------------------------------------------- window functions
  { id: 'window-values', category: 'window', steps: ['SELECT id, first_value(ssn) OVER (ORDER BY id), lag(salary) OVER (ORDER BY id) FROM customers'], expect: 'masked', drivers: true },
  { id: 'window-ordering', category: 'window', steps: ['SELECT id, row_number() OVER (ORDER BY ssn), rank() OVER (PARTITION BY email ORDER BY phone) FROM customers'], expect: 'masked' },
  { id: 'window-named', category: 'window', steps: ['SELECT id, nth_value(email, 1) OVER w, max(balance) OVER w FROM customers WINDOW w AS (ORDER BY id)'], expect: 'masked' },

  // ---------------------------------------------------------------- EXPLAIN
  { id: 'explain-analyze', category: 'explain', steps: ['EXPLAIN ANALYZE SELECT * FROM customers'], expect: 'masked' },
  { id: 'explain-verbose-json', category: 'explain', steps: ["EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON) SELECT upper(ssn), salary FROM customers WHERE ssn > ''"], expect: 'masked' },
  { id: 'explain-initplan', category: 'explain', steps: ['EXPLAIN (ANALYZE, VERBOSE) SELECT * FROM customers WHERE ssn = (SELECT max(ssn) FROM customers)'], expect: 'masked' },
  { id: 'explain-folded-function', category: 'explain', steps: ['EXPLAIN VERBOSE SELECT leak_fn_const()'], expect: 'masked' },

  // ---------------------------------------------------------------- side channels
  { id: 'side-pg-stats', category: 'side channel', steps: ["SELECT attname, most_common_vals::text, histogram_bounds::text FROM pg_stats WHERE tablename = 'customers'"], expect: 'masked' },
  {
    id: 'side-pg-stat-activity',
    category: 'side channel',
    steps: ['SELECT pg_sleep(0.3)', "SELECT query FROM pg_stat_activity WHERE query LIKE '%pg_sleep(3)%'"],
    background: `SELECT pg_sleep(3), '${'078-05-1120'}' AS admin_literal`,
    expect: 'masked',
    clients: ['psql'],
  },
  { id: 'side-set-config', category: 'side channel', steps: ["SELECT set_config('application_name', ssn, false) FROM customers WHERE id = 1", 'SHOW application_name'], expect: 'refused', reason: WRITES },
  { id: 'side-notify', category: 'side channel', steps: ['LISTEN ch_$C', "SELECT pg_notify('ch_$C', ssn) FROM customers WHERE id = 1", 'SELECT 1'], expect: 'refused', reason: WRITES },
  { id: 'side-setval', category: 'side channel', steps: ['SELECT setval(\'seq1\', salary) FROM customers WHERE id = 1', 'SELECT last_value FROM seq1'], expect: 'refused', reason: WRITES },
  { id: 'side-advisory-lock', category: 'side channel', steps: ['SELECT pg_advisory_lock(balance) FROM customers WHERE id = 1', "SELECT objid, classid FROM pg_locks WHERE locktype = 'advisory'"], expect: 'refused', reason: WRITES },
  { id: 'side-search-path', category: 'side channel', steps: ['SET search_path = hr, public', 'SELECT upper(t), n FROM scratch'], expect: 'masked' },
  { id: 'side-temp-view-shadow', category: 'side channel', steps: ['CREATE TEMP VIEW scratch AS SELECT ssn AS t, 2::bigint AS n FROM customers', 'SELECT upper(t), n FROM scratch'], expect: 'masked' },
  { id: 'side-partition', category: 'side channel', steps: ['SELECT * FROM parts_low', 'SELECT upper(ssn) FROM parts'], expect: 'masked' },
  { id: 'side-rename-column', category: 'side channel', steps: ['ALTER TABLE rn_$C RENAME COLUMN secret TO plain'], expect: 'refused', reason: RENAME },
  { id: 'side-rename-table', category: 'side channel', steps: ['ALTER TABLE rn_$C RENAME TO rn2_$C'], expect: 'refused', reason: RENAME },
  {
    id: 'side-stale-catalog',
    category: 'side channel',
    steps: ['CREATE TABLE stale_$C (t text)', 'SELECT pg_sleep(0.4)', 'ALTER TABLE stale_$C RENAME TO stale_old_$C; CREATE VIEW stale_$C AS SELECT ssn AS t FROM customers; SELECT upper(t) FROM stale_$C'],
    expect: 'masked',
  },
];

/** `$C` in a case's SQL: the client's name as an identifier. */
export const clientIdent = (c: string) => c.replace(/\W/g, '_');
