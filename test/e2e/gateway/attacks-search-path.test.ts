// search_path and the names the server resolves (found by a hunt for bypasses): a path set
// earlier in a text may be rolled back, LOCAL or never run, so the statements after it are
// decided for the old and the new schemas; a prepared statement is resolved again by the server
// when the path changed, so the gateway classifies it again; and masking traces a read behind a
// SET search_path of the same text under the widened path.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startGateway, type GatewayFixture } from '../../support/gateway.ts';
import { login, query, render, w } from '../gateway/wire.ts';

const test = suite<{ gw: GatewayFixture }>('attacks: search_path and prepared statements');

process.env.PAMC_SEARCH_PATH_KEY = 'search-path-key-0123456789abcdef';

const SETUP = `
  CREATE TABLE a (id int, v text); INSERT INTO a VALUES (1, 'public-a');
  CREATE TABLE secrets (v text); INSERT INTO secrets VALUES ('top-secret');
  CREATE SCHEMA scratch; CREATE TABLE scratch.a (id int, v text); INSERT INTO scratch.a VALUES (1, 'scratch-a');
  CREATE SCHEMA evil; CREATE TABLE evil.a (id int, v text); INSERT INTO evil.a VALUES (1, 'evil-secret');
  CREATE SCHEMA hr;
  CREATE TABLE customers (id int, ssn text); INSERT INTO customers VALUES (1, '078-05-1120');
  CREATE TABLE notes (t text); INSERT INTO notes VALUES ('clean');
  CREATE VIEW hr.notes AS SELECT ssn AS t FROM public.customers;`;

const RULES = `
group "pathers" {
  on db {
    allow read on public.a, scratch.*
    allow set on search_path
  }
}
group "configs" {
  on db {
    allow read on public.a, scratch.*
    allow set on search_path
    allow call on pg_catalog.set_config
  }
}
group "masked" {
  on db {
    allow read on public.*, hr.*
    allow set on search_path
    mask public.customers.ssn with redact
  }
}`;

test.before(async (ctx) => {
  ctx.gw = await startGateway({ setup: SETUP, rules: RULES, targetSettings: 'masking { hash_key env "PAMC_SEARCH_PATH_KEY" }' });
});
test.after(async (ctx) => {
  await ctx.gw.close();
});

test('SET search_path rolled back in the same query: the SELECT after it must be decided with the path the server uses', async ({ gw }) => {
  const s = await login(gw, ['pathers']);
  assert.match((await query(s, 'SELECT * FROM secrets'))[0], /42501 pamc: permission denied: no rule allows select on public\.secrets/);
  for (const sql of [
    'BEGIN; SET search_path = scratch; ROLLBACK; SELECT * FROM secrets',
    'BEGIN; SET LOCAL search_path = scratch; COMMIT; SELECT * FROM secrets',
    'BEGIN; SAVEPOINT x; SET search_path = scratch; ROLLBACK TO x; SELECT * FROM secrets; COMMIT',
  ]) {
    const out = await query(s, sql);
    assert.not.ok(out.some((m) => m.includes('top-secret')), `${sql}\n${out.join('\n')}`);
    assert.ok(out.some((m) => m.includes('42501')), `${sql}: not denied\n${out.join('\n')}`);
  }
  s.close();
});

test('set_config(search_path) that never runs (WHERE false) changes the classifier path but not the server path', async ({ gw }) => {
  const s = await login(gw, ['configs']);
  const out = await query(s, "SELECT set_config('search_path', 'scratch', false) WHERE false; SELECT * FROM secrets");
  assert.not.ok(out.some((m) => m.includes('top-secret')), out.join('\n'));
  assert.ok(out.some((m) => m.includes('42501')), `not denied\n${out.join('\n')}`);
  s.close();
});

test('a SQL PREPAREd statement re-resolves its names under a later SET search_path: EXECUTE must be decided with that path', async ({ gw }) => {
  const s = await login(gw, ['pathers']);
  assert.ok((await query(s, 'PREPARE p AS SELECT v FROM a')).includes('CommandComplete PREPARE'));
  assert.ok((await query(s, 'EXECUTE p')).includes('DataRow public-a'));
  assert.equal(await query(s, 'SET search_path = evil'), ['CommandComplete SET', 'ReadyForQuery I']);
  assert.match((await query(s, 'SELECT v FROM a'))[0], /42501 .*select on evil\.a/, 'the gateway knows the path widened');
  const out = await query(s, 'EXECUTE p');
  assert.not.ok(out.includes('DataRow evil-secret'), `EXECUTE p read evil.a:\n${out.join('\n')}`);
  assert.match(out[0], /42501/);
  s.close();
});

test('a protocol-prepared statement re-resolves its names under a later SET search_path: Bind/Execute must be decided with that path', async ({ gw }) => {
  const s = await login(gw, ['pathers']);
  s.send(w.parse('ps', 'SELECT v FROM a', []), w.sync());
  assert.equal(render(await s.until('ReadyForQuery')), ['ParseComplete', 'ReadyForQuery I']);
  assert.equal(await query(s, 'SET search_path = evil'), ['CommandComplete SET', 'ReadyForQuery I']);
  s.send(w.bind('', 'ps', [], [], []), w.execute('', 0), w.sync());
  const out = render(await s.until('ReadyForQuery'));
  assert.not.ok(out.includes('DataRow evil-secret'), `Execute of ps read evil.a:\n${out.join('\n')}`);
  assert.match(out[0], /^ErrorResponse ERROR 42501 .*select on evil\.a/);
  s.close();
});

test('masking: SET search_path and a read in one simple query: the read is traced under the new path', async ({ gw }) => {
  const s = await login(gw, ['masked']);
  // separately, the gateway masks it (the path is widened and `notes` is ambiguous)
  const sql = 'SET search_path = hr, public; SELECT upper(t) FROM notes';
  const out = await query(s, sql);
  assert.not.ok(out.some((m) => m.includes('078-05-1120')), `masked ssn reached the client:\n${out.join('\n')}`);
  s.close();
});

test.run();
