// SQL attacks through the wire: every dangerous statement of the classifier's corpus is
// denied (simple and extended protocol) and leaves the server as it was; SQL PREPARE feeding a
// protocol Bind; the pinned text settings (and a server-side change of them ending the
// session); the FunctionCall message; the gateway's reserved names; DEALLOCATE ALL / DISCARD
// ALL and the reuse of a name.

import { existsSync } from 'node:fs';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startGateway, type GatewayFixture } from '../../support/gateway.ts';
import { corpus } from '../../unit/sql/corpus.ts';
import { expectError } from './shop.ts';
import { drain, login, render, text, w } from './wire.ts';

const test = suite<{ gw: GatewayFixture }>('attacks: SQL through the wire');

const SETUP = `
  CREATE TABLE a (id int PRIMARY KEY, x int, y int, owner text, path text, flag bool, body text, q text, chan text, name text, enc text, v text);
  INSERT INTO a SELECT g, g, g, 'o', '/etc/hostname', true, 'body', 'SELECT 1', 'jobs', 'application_name', 'UTF8', 'v' FROM generate_series(1, 5) g;
  CREATE TABLE b (id int, x int, flag bool);
  INSERT INTO b SELECT g, g, true FROM generate_series(1, 5) g;
  CREATE TABLE c (id int);
  INSERT INTO c VALUES (1);
  CREATE TABLE archive (LIKE a);
  CREATE TABLE orders (id int PRIMARY KEY, status text);
  INSERT INTO orders VALUES (1, 'new');
  CREATE TABLE secrets (v text);
  INSERT INTO secrets VALUES ('top');
  CREATE TABLE t (id int);
  CREATE FUNCTION flip_scs() RETURNS text LANGUAGE sql AS $$ SELECT set_config('standard_conforming_strings', 'off', false) $$;
  CREATE FUNCTION flip_encoding() RETURNS text LANGUAGE sql AS $$ SELECT set_config('client_encoding', 'SJIS', false) $$;`;

const RULES = `
group "readers" {
  on db {
    allow read on public.a, public.b, public.orders, catalog
  }
}
group "writers" {
  on db {
    allow read, insert, update, delete on public.a, public.b
    allow read on catalog
  }
}
group "tricky" {
  on db {
    allow read on public.a
    allow call on public.flip_scs, public.flip_encoding
  }
}
on db {
  deny drop, truncate, dcl, admin
  deny call on dangerous_functions
}`;

test.before(async (ctx) => {
  ctx.gw = await startGateway({ setup: SETUP, rules: RULES });
});
test.after(async (ctx) => {
  await ctx.gw.close();
});

/** Everything an attack could have changed: relations, rows, roles, functions, settings, large objects. */
const STATE = `SELECT
  (SELECT string_agg(n.nspname || '.' || c.relname || ':' || c.relkind::text, ',' ORDER BY 1) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')),
  (SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM a t),
  (SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM b t),
  (SELECT count(*) FROM c), (SELECT count(*) FROM archive), (SELECT string_agg(v, ',') FROM secrets), (SELECT string_agg(status, ',') FROM orders), (SELECT count(*) FROM t),
  (SELECT string_agg(rolname || ':' || rolsuper, ',' ORDER BY 1) FROM pg_roles),
  (SELECT string_agg(proname, ',' ORDER BY 1) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'),
  (SELECT count(*) FROM pg_db_role_setting), (SELECT count(*) FROM pg_largeobject_metadata), (SELECT count(*) FROM pg_prepared_xacts),
  (SELECT count(*) FROM pg_namespace), (SELECT count(*) FROM pg_extension), (SELECT count(*) FROM pg_publication)`;

const DANGEROUS = new Set(['insert', 'update', 'delete', 'merge', 'truncate', 'copy_in', 'lock', 'create', 'alter', 'drop', 'grant', 'revoke', 'role', 'call', 'do', 'alter_system', 'load', 'checkpoint', 'copy_file', 'copy_program', 'two_phase', 'forbidden', 'listen', 'notify', 'refresh', 'maintain']);

function dangerousCases(): string[] {
  const out: string[] = [];
  for (const c of corpus) {
    if (c.path) continue;
    const facts = c.facts ?? c.each?.flat() ?? [];
    if (facts.some((f) => DANGEROUS.has(f.split(' ')[0]))) out.push(c.sql);
  }
  return out;
}

async function reader(gw: GatewayFixture, groups = ['readers']): Promise<pg.Client> {
  const c = new pg.Client(await gw.clientConfig(groups));
  c.on('error', () => {});
  await c.connect();
  return c;
}

/** Runs `fn` with `rules` as the policy, then restores the file's own rules. */
async function withRules(gw: GatewayFixture, rules: string, fn: () => Promise<void>): Promise<void> {
  await gw.reload(rules);
  try {
    await fn();
  } finally {
    await gw.reload(RULES);
  }
}

/** A group that may read public.a and call the two built-ins that run or read what an argument names. */
const EXPORTERS = `
group "exporters" {
  on db {
    allow read on public.a
    allow call on pg_catalog.query_to_xml, pg_catalog.table_to_xml
  }
}`;

test('the dangerous statements of the corpus: each denied (simple and extended), none leaves a trace', async ({ gw }) => {
  const cases = dangerousCases();
  assert.ok(cases.length >= 40, `only ${cases.length} dangerous cases`);
  const before = await gw.direct(STATE);
  const c = await reader(gw);
  const notDenied: string[] = [];
  for (const sql of cases) {
    if (sql.includes('\u0000')) {
      // a NUL ends the message's string: the rest is a malformed message, and the connection ends
      const other = await reader(gw);
      const e = await expectError(other.query(sql));
      assert.is(e.code, '08P01');
      assert.is(e.severity, 'FATAL');
      continue;
    }
    for (const mode of ['simple', 'extended'] as const) {
      const e = await expectError(mode === 'simple' ? c.query(sql) : c.query({ name: `s${Math.random().toString(36).slice(2)}`, text: sql }));
      if (e.code !== '42501' || !e.message.startsWith('pamc: ')) notDenied.push(`${mode}: ${sql} → ${e.code} ${e.message}`);
    }
  }
  assert.equal(notDenied, []);
  assert.equal((await c.query('SELECT count(*)::int AS n FROM a')).rows, [{ n: 5 }], 'the session still works');
  await c.end();
  assert.is(await gw.direct(STATE), before);
  assert.not.ok(existsSync('/tmp/out.csv'));
  console.log(`    (${cases.length} dangerous corpus statements, each in both protocols)`);
});

test('SQL PREPARE of a denied statement, then a protocol Bind of its name: both refused', async ({ gw }) => {
  const s = await login(gw, ['readers']);
  s.send(w.query('PREPARE p AS DELETE FROM a'), w.bind('', 'p', [], [], []), w.execute('', 0), w.sync());
  const m = render(await s.until('ReadyForQuery').then(async (first) => [...first, ...(await s.until('ReadyForQuery'))]));
  assert.match(m[0], /ErrorResponse ERROR 42501 pamc: permission denied: no rule allows delete on public\.a/);
  assert.match(m[2], /ErrorResponse ERROR 42501 pamc: prepared statement "p" is not one the gateway saw prepared/);
  s.close();
  assert.is((await gw.direct('SELECT count(*) FROM a')).trim(), '5');
});

test('a statement prepared while allowed is decided again at Bind and Execute: a reload that denies it wins', async ({ gw }) => {
  const s = await login(gw, ['writers']);
  s.send(w.query('PREPARE del (int) AS DELETE FROM a WHERE id = $1'));
  assert.ok(render(await s.until('ReadyForQuery')).includes('CommandComplete PREPARE'));
  s.send(w.parse('upd', 'UPDATE a SET x = 99 WHERE id = $1'), w.sync());
  await s.until('ReadyForQuery');
  await gw.reload(RULES.replace('allow read, insert, update, delete on public.a, public.b', 'allow read on public.a, public.b'));
  try {
    s.send(w.bind('', 'del', [0], [text('1')], []), w.execute('', 0), w.sync());
    assert.match(render(await s.until('ReadyForQuery'))[0], /42501 pamc: permission denied: no rule allows delete on public\.a/);
    s.send(w.query('EXECUTE del(2)'));
    assert.match(render(await s.until('ReadyForQuery'))[0], /42501 pamc: permission denied: no rule allows delete on public\.a/);
    s.send(w.bind('', 'upd', [0], [text('3')], []), w.execute('', 0), w.sync());
    assert.match(render(await s.until('ReadyForQuery'))[0], /42501 pamc: permission denied: no rule allows update on public\.a/);
  } finally {
    await gw.reload(RULES);
  }
  s.close();
  assert.is((await gw.direct('SELECT count(*) || \':\' || max(x) FROM a')).trim(), '5:5');
});

test('a Bind pipelined behind a Parse of the same name is decided for every statement the name may hold', async ({ gw }) => {
  const s = await login(gw, ['writers']);
  s.send(w.parse('upd', 'UPDATE a SET x = 99 WHERE id = $1'), w.sync());
  await s.until('ReadyForQuery');
  await gw.reload(RULES.replace('allow read, insert, update, delete on public.a, public.b', 'allow read on public.a, public.b'));
  try {
    // Parsing "upd" again as a read is allowed, but the server refuses it (42P05: the name
    // exists) and keeps the UPDATE; the Bind behind the Sync binds that UPDATE. When the gateway
    // reads the Bind, the server has not answered the Parse: either statement may be bound.
    s.send(w.parse('upd', 'SELECT x FROM a WHERE id = $1'), w.sync(), w.bind('', 'upd', [0], [text('1')], []), w.execute('', 0), w.sync());
    assert.match(render(await s.until('ReadyForQuery'))[0], /ErrorResponse ERROR 42P05/);
    assert.match(render(await s.until('ReadyForQuery'))[0], /42501 pamc: permission denied: no rule allows update on public\.a/);
  } finally {
    await gw.reload(RULES);
  }
  s.close();
  assert.is((await gw.direct("SELECT count(*) || ':' || max(x) FROM a")).trim(), '5:5');
});

test('a DO block is decided as the SQL it runs: a DELETE hidden in one is denied, an allowed one runs, EXECUTE keeps it opaque', async ({ gw }) => {
  const s = await login(gw, ['readers']);
  s.send(w.query('DO $$ BEGIN IF (SELECT count(*) FROM a) > 0 THEN DELETE FROM b; END IF; END $$'));
  assert.match(render(await s.until('ReadyForQuery'))[0], /42501 pamc: permission denied: no rule allows delete on public\.b/);
  s.send(w.query("DO $$ DECLARE n int; BEGIN SELECT count(*) INTO n FROM a; RAISE NOTICE 'rows: %', n; END $$"));
  assert.equal(render(await s.until('ReadyForQuery')), ['NoticeResponse NOTICE 00000 rows: 5', 'CommandComplete DO', 'ReadyForQuery I']);
  s.send(w.query("DO $$ BEGIN EXECUTE 'SELECT 1'; END $$"));
  assert.equal(render(await s.until('ReadyForQuery')), ['ErrorResponse ERROR 42501 pamc: permission denied: no rule allows do on plpgsql', 'ReadyForQuery I']);
  s.close();
  assert.is((await gw.direct('SELECT count(*) FROM b')).trim(), '5');
});

test('DEALLOCATE ALL and DISCARD ALL forget every name; reusing a name starts afresh', async ({ gw }) => {
  const s = await login(gw, ['readers']);
  const rfq = async () => render(await s.until('ReadyForQuery'));
  s.send(w.query('PREPARE p AS SELECT count(*) FROM a'));
  await rfq();
  s.send(w.bind('', 'p', [], [], []), w.execute('', 0), w.sync());
  assert.ok((await rfq()).includes('DataRow 5'));
  s.send(w.query('DEALLOCATE ALL'));
  await rfq();
  s.send(w.bind('', 'p', [], [], []), w.execute('', 0), w.sync());
  assert.match((await rfq())[0], /42501 pamc: prepared statement "p" is not one the gateway saw prepared/);
  s.send(w.query('PREPARE p AS SELECT 41 + 1'));
  await rfq();
  s.send(w.query('EXECUTE p'));
  assert.ok((await rfq()).includes('DataRow 42'));
  s.send(w.parse('q', 'SELECT id FROM a WHERE id = 2'), w.sync());
  await rfq();
  s.send(w.query('DISCARD ALL'));
  await rfq();
  s.send(w.query('EXECUTE p'));
  assert.match((await rfq())[0], /42501 pamc: refused: .*unknown prepared statement/);
  s.send(w.bind('', 'q', [], [], []), w.execute('', 0), w.sync());
  assert.match((await rfq())[0], /42501 pamc: prepared statement "q" is not one the gateway saw prepared/);
  s.send(w.parse('q', 'SELECT id FROM a WHERE id = 3'), w.bind('', 'q', [], [], []), w.execute('', 0), w.sync());
  assert.ok((await rfq()).includes('DataRow 3'));
  s.close();
});

test('the pinned text settings cannot be changed by SET, RESET to a value, or set_config', async ({ gw }) => {
  const c = await reader(gw);
  for (const sql of [
    'SET standard_conforming_strings = off',
    "SET client_encoding = 'SJIS'",
    "SET NAMES 'GBK'",
    'SET backslash_quote = on',
    "SELECT set_config('standard_conforming_strings', 'off', false)",
    "SELECT set_config('client_encoding', 'BIG5', true)",
    "UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'",
    "ALTER ROLE CURRENT_USER SET client_encoding = 'SJIS'",
  ]) {
    const e = await expectError(c.query(sql));
    assert.is(e.code, '42501', sql);
    assert.match(e.message, /^pamc: /, sql);
  }
  assert.equal((await c.query("SELECT current_setting('standard_conforming_strings') AS s, current_setting('client_encoding') AS e")).rows, [{ s: 'on', e: 'UTF8' }]);
  await c.end();
});

test('a server-side change of a pinned setting (through an allowed function) ends the session', async ({ gw }) => {
  for (const fn of ['flip_scs', 'flip_encoding']) {
    const s = await login(gw, ['tricky']);
    s.send(w.query(`SELECT ${fn}()`));
    const m = render(await drain(s));
    const fatal = m.find((x) => x.startsWith('ErrorResponse FATAL'));
    assert.match(fatal ?? '', /42501 pamc: the session changed (standard_conforming_strings|client_encoding), which the gateway pins; the session is closed/, fn);
  }
});

test('text pipelined behind such a call is held to what reads the same either way', async ({ gw }) => {
  const s = await login(gw, ['tricky']);
  // with standard_conforming_strings off the server would end the literal at \\' and run the rest
  s.send(w.query('SELECT flip_scs()'), w.query("SELECT 'x\\\\'; DELETE FROM a; --'"));
  const m = render(await drain(s));
  assert.ok(m.some((x) => /42501 pamc: refused: statement text with backslashes or non-ASCII characters cannot be pipelined/.test(x)) || m.some((x) => /FATAL 42501/.test(x)), m.join('\\n'));
  assert.is((await gw.direct('SELECT count(*) FROM a')).trim(), '5');
  // not pipelined, plain text after a call is fine
  const c = await reader(gw, ['tricky']);
  assert.equal((await c.query("SELECT 'plain' AS v")).rows, [{ v: 'plain' }]);
  await c.end();
});

test('pg_settings and pg_show_all_settings() are SHOW ALL: the secret settings SHOW refuses are rows of them', async ({ gw }) => {
  const s = await login(gw, ['readers']);
  for (const sql of ["SELECT setting FROM pg_settings WHERE name = 'ssl_key_file'", "SELECT setting FROM pg_show_all_settings() WHERE name = 'archive_command'", 'SHOW ssl_key_file']) {
    s.send(w.query(sql));
    const m = render(await s.until('ReadyForQuery'));
    assert.is(m.length, 2, sql);
    assert.match(m[0], /^ErrorResponse ERROR 42501 pamc: permission denied: no rule allows show on (all|ssl_key_file)$/, `${sql}: ${m[0]}`);
  }
  s.close();
});

test('the FunctionCall message is refused; the session goes on', async ({ gw }) => {
  const s = await login(gw, ['readers']);
  // lo_open (oid 952) with two int4 arguments, as libpq's large-object calls send it
  s.send(w.functionCall(952, [1], [[0, 0, 0, 1], [0, 2, 0, 0]], 1));
  const m = render(await s.until('ReadyForQuery'));
  assert.equal(m, ['ErrorResponse ERROR 42501 pamc: the FunctionCall protocol message is refused', 'ReadyForQuery I']);
  s.send(w.query('SELECT 1'));
  assert.ok(render(await s.until('ReadyForQuery')).includes('DataRow 1'));
  s.close();
});

test("the gateway's reserved names are refused in the protocol and in SQL", async ({ gw }) => {
  const s = await login(gw, ['readers']);
  const rfq = async () => render(await s.until('ReadyForQuery'));
  s.send(w.parse('__pamc_denial', 'SELECT 1'), w.sync());
  assert.match((await rfq())[0], /42501 pamc: statement names starting with "__pamc" are reserved/);
  s.send(w.parse('', 'SELECT 1'), w.bind('__pamc_denial', '', [], [], []), w.sync());
  assert.match((await rfq()).join(' '), /42501 pamc: names starting with "__pamc" are reserved/);
  s.send(w.close('S', '__pamc_denial'), w.sync());
  assert.match((await rfq())[0], /42501 pamc: names starting with "__pamc" are reserved/);
  for (const sql of ['PREPARE __pamc_denial AS SELECT 1', 'BEGIN; DECLARE __pamc_denial CURSOR FOR SELECT 1; COMMIT', 'EXECUTE __pamc_denial', 'DEALLOCATE __pamc_x']) {
    s.send(w.query(sql));
    assert.match((await rfq())[0], sql.startsWith('EXECUTE') ? /42501 pamc: refused: / : /42501 pamc: refused: names starting with "__pamc" are reserved/, sql);
  }
  s.send(w.query('SELECT 2'));
  assert.ok((await rfq()).includes('DataRow 2'));
  s.close();
});

test('a denied COPY FROM STDIN whose data was sent blindly behind it changes nothing', async ({ gw }) => {
  const s = await login(gw, ['readers']);
  s.send(w.query('COPY a (id) FROM STDIN'), w.copyData(text('77\n')), w.copyDone(), w.query('SELECT count(*) FROM a'));
  const m = render(await s.until('ReadyForQuery'));
  assert.match(m[0], /42501 pamc: permission denied: no rule allows copy_in on public\.a/);
  assert.ok(render(await s.until('ReadyForQuery')).includes('DataRow 5'));
  s.close();
  assert.is((await gw.direct('SELECT count(*) FROM a')).trim(), '5');
});

test('an allowed query_to_xml or table_to_xml cannot be handed a query or relation the gateway cannot read: a parameter, a column, an expression', async ({ gw }) => {
  await withRules(gw, EXPORTERS, async () => {
    const c = await reader(gw, ['exporters']);
    const ok = await c.query("SELECT query_to_xml('SELECT id FROM a WHERE id = 1', true, false, '') AS x");
    assert.match(String(ok.rows[0].x), /<id>1<\/id>/, 'a literal query the policy allows runs');
    const denied: [string, string[]][] = [
      ["SELECT query_to_xml($1, true, false, '') AS x", ['SELECT * FROM secrets']],
      ["SELECT query_to_xml('SELECT * FROM ' || 'secrets', true, false, '') AS x", []],
      ["SELECT query_to_xml(q, true, false, '') AS x FROM a", []],
      ["SELECT table_to_xml($1::regclass, true, false, '') AS x", ['secrets']],
      ["SELECT table_to_xml('secrets', true, false, '') AS x", []],
    ];
    for (const [sql, params] of denied) {
      const e = await expectError(c.query(sql, params));
      assert.is(e.code, '42501', `${sql}: ${e.message}`);
      assert.not.match(e.message, /top/);
    }
    await c.end();
  });
});

test('texts of one shape with other constants share a decision only when no constant decides it', async ({ gw }) => {
  // the gateway classifies a new text by the template of its shape (spec/gateway.md §5): a
  // constant that names what runs must make each text be read on its own, in either order
  await withRules(gw, EXPORTERS, async () => {
    const c = await reader(gw, ['exporters']);
    const pairs: [string, string][] = [
      ["SELECT query_to_xml('SELECT id FROM a WHERE id = 2', true, false, '') AS x", "SELECT query_to_xml('SELECT v FROM secrets', true, false, '') AS x"],
      ["SELECT table_to_xml('a', true, false, '') AS x", "SELECT table_to_xml('secrets', true, false, '') AS x"],
      ["SELECT query_to_xml(E'SELECT id FROM a WHERE id = 3', true, false, '') AS x", "SELECT query_to_xml(E'SELECT v FROM secrets', true, false, '') AS x"],
    ];
    for (const [allowed, denied] of pairs) {
      for (const order of [[allowed, denied, allowed], [denied, allowed, denied]]) {
        for (const sql of order) {
          if (sql === allowed) assert.not.match(JSON.stringify((await c.query(sql)).rows), /top/);
          else {
            const e = await expectError(c.query(sql));
            assert.is(e.code, '42501', `${sql}: ${e.message}`);
          }
        }
      }
    }
    // and the shape whose constants decide nothing is shared: every one of them reads a
    for (let id = 1; id <= 5; id++) assert.equal((await c.query(`SELECT x FROM a WHERE id = ${id}`)).rows, [{ x: id }]);
    await c.end();
  });
});

test('`when limited` is not met by a LIMIT the gateway cannot read: a parameter bound to NULL reads every row', async ({ gw }) => {
  const rules = `
group "browsers" {
  on db {
    allow read on public.a when limited
  }
}`;
  await withRules(gw, rules, async () => {
    const c = await reader(gw, ['browsers']);
    assert.is((await c.query('SELECT * FROM a ORDER BY id LIMIT 2')).rowCount, 2);
    for (const [sql, params] of [
      ['SELECT * FROM a LIMIT $1', [null]],
      ['SELECT * FROM a LIMIT $1', [2]],
      ['SELECT * FROM a LIMIT ALL', []],
      ['SELECT * FROM a LIMIT (SELECT NULL::int)', []],
    ] as const) {
      const e = await expectError(c.query(sql, [...params]));
      assert.is(e.code, '42501', `${sql}: ${e.message}`);
    }
    await c.end();
  });
});

test('a statement pipelined behind SET search_path is classified with the new path: the server resolves it there', async ({ gw }) => {
  await gw.direct("CREATE SCHEMA IF NOT EXISTS evil; CREATE TABLE IF NOT EXISTS evil.a (v text); INSERT INTO evil.a VALUES ('evil-secret')");
  const rules = `
group "pathers" {
  on db {
    allow read on public.a
    allow set on search_path
  }
}`;
  try {
    await withRules(gw, rules, async () => {
      const s = await login(gw, ['pathers']);
      const rfq = async () => render(await s.until('ReadyForQuery'));
      // the SET and the read in one write: the read reaches the server before the SET completes
      s.send(w.query('SET search_path = evil, public'), w.parse('', 'SELECT v FROM a'), w.bind('', '', [], [], []), w.execute('', 0), w.sync());
      assert.equal(await rfq(), ['CommandComplete SET', 'ReadyForQuery I']);
      const read = await rfq();
      assert.match(read[0], /42501 pamc: permission denied: no rule allows select on evil\.a/);
      assert.not.ok(read.some((m) => m.includes('evil-secret')));
      s.send(w.query('SET search_path = public'), w.query('SELECT v FROM a'));
      await rfq();
      assert.match((await rfq())[0], /42501 pamc: permission denied: no rule allows select on evil\.a/, 'the path stays widened');
      // a shape another session made a template of under the target's path is read again here
      const other = await reader(gw, ['pathers']);
      assert.equal((await other.query('SELECT v FROM a WHERE id = 1')).rows, [{ v: 'v' }]);
      await other.end();
      s.send(w.query('SELECT v FROM a WHERE id = 2'));
      assert.match((await rfq())[0], /42501 pamc: permission denied: no rule allows select on evil\.a/, 'the template of another search path');
      s.close();
    });
  } finally {
    await gw.direct('DROP SCHEMA evil CASCADE');
  }
});

test.run();
