// Attacks on the gateway's picture of what the server will answer. The gateway pairs every
// reply with the message it answers; if a client can make the server skip, swallow or answer a
// message other than the gateway expects, one statement's rows go out with another statement's
// masks, and a statement the server skipped changes what the gateway believes a name holds.
// Each sequence below did that once (found by a hunt for bypasses): the gateway now either
// expects exactly what the server does, or ends the session where it cannot know.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startGateway, type GatewayFixture } from '../../support/gateway.ts';
import { drain, login, render, text, w } from './wire.ts';

const SETUP = `
  CREATE TABLE people (id int PRIMARY KEY, ssn text);
  INSERT INTO people VALUES (1, 'SECRET-SSN-0001');
  CREATE TABLE scratch (n int);
  CREATE TABLE held (id int PRIMARY KEY, v int);
  INSERT INTO held VALUES (1, 0);`;

const RULES = `
group "masked" {
  on db {
    allow read on public.people, catalog
    allow read, insert, copy_in on public.scratch
    approve update on public.held by "dba" within 30s
    mask public.people.ssn with redact
  }
}
group "dba" {}`;

const test = suite<{ gw: GatewayFixture }>('attacks: desynchronising the gateway from the server');

test.before(async (ctx) => {
  ctx.gw = await startGateway({ setup: SETUP, rules: RULES, admin: true, blocks: 'approvals {\n  dir "grants"\n}' });
});
test.after(async (ctx) => {
  await ctx.gw.close();
});

test('messages sent after an extended-protocol error and before Sync are skipped by the server: the gateway skips them too', async ({ gw }) => {
  const s = await login(gw, ['masked']);
  s.send(w.parse('', 'SELECT 1/0 FROM people'), w.bind('', '', [], [], []), w.execute('', 0), w.flush());
  assert.ok(render(await s.until('ErrorResponse')).some((l) => l.startsWith('ErrorResponse ERROR 22012')));
  s.send(w.query('SELECT 1 AS one'), w.query('SELECT 2 AS two'), w.sync(), w.query('SELECT upper(ssn) AS u FROM people'), w.terminate());
  // the two queries get no answer, as from the server; the Sync ends the skipping
  assert.equal(render(await drain(s, 3000)), ['ReadyForQuery I', 'RowDescription u', 'DataRow ***', 'CommandComplete SELECT 1', 'ReadyForQuery I']);
});

test('a PREPARE the server skipped after an error does not replace the statement it holds: its EXECUTE still needs approval', async ({ gw }) => {
  const s = await login(gw, ['masked']);
  s.send(w.parse('y', 'UPDATE held SET v = 666 WHERE id = 1'), w.sync());
  assert.equal(render(await s.until('ReadyForQuery')), ['ParseComplete', 'ReadyForQuery I']);
  s.send(w.parse('', 'SELECT 1/0'), w.bind('', '', [], [], []), w.execute('', 0), w.flush());
  await s.until('ErrorResponse');
  s.send(w.query('SELECT 1'), w.query('PREPARE y AS SELECT 1'), w.sync(), w.query('SELECT 2'));
  assert.equal(render(await s.until('ReadyForQuery')), ['ReadyForQuery I']);
  assert.equal(render(await s.until('ReadyForQuery')), ['RowDescription ?column?', 'DataRow 2', 'CommandComplete SELECT 1', 'ReadyForQuery I']);
  s.send(w.query('EXECUTE y'));
  assert.match(render(await s.until('NoticeResponse')).join('\n'), /^NoticeResponse NOTICE 01000 pamc: approval required: request apr_\S+ waits for 1 approver from "dba"/);
  s.close();
  await new Promise((r) => setTimeout(r, 300));
  assert.is(await gw.direct('SELECT v FROM held WHERE id = 1'), '0');
});

test('a Sync inside COPY data ends the session: the server answers it or not depending on whether the COPY failed first', async ({ gw }) => {
  for (const start of ['simple', 'extended', 'second copy of a query'] as const) {
    const s = await login(gw, ['masked']);
    if (start === 'simple') {
      s.send(w.query('COPY scratch FROM STDIN'));
      await s.until('CopyInResponse');
      s.send(w.copyData(text('not-a-number\n')), w.sync(), w.copyDone(), w.query('SELECT upper(ssn) AS u FROM people'), w.query("SELECT 'x' AS u"));
    } else if (start === 'extended') {
      s.send(w.parse('', 'COPY scratch FROM STDIN'), w.bind('', '', [], [], []), w.execute('', 0), w.flush());
      await s.until('CopyInResponse');
      s.send(w.copyData(text('not-a-number\n')), w.sync(), w.copyDone(), w.sync(), w.query('SELECT upper(ssn) AS u FROM people'), w.query("SELECT 'x' AS u"));
    } else {
      s.send(w.query('COPY scratch FROM STDIN; COPY scratch FROM STDIN'));
      await s.until('CopyInResponse');
      s.send(w.copyData(text('1\n')), w.copyDone());
      await s.until('CopyInResponse');
      s.send(w.sync(), w.copyData(text('2\n')), w.copyDone(), w.query('SELECT upper(ssn) AS u FROM people'));
    }
    assert.equal(render(await drain(s, 3000)), ['ErrorResponse FATAL 08P01 pamc: a Sync inside COPY data is refused: end the COPY with CopyDone or CopyFail first'], start);
  }
});

test('a statement closed and parsed again under its name: a Describe of the new one does not give its shape to the portal of the old one', async ({ gw }) => {
  const s = await login(gw, ['masked']);
  s.send(w.query('BEGIN'), w.parse('y', 'SELECT id, ssn FROM people'), w.bind('p', 'y', [], [], []), w.sync());
  await s.until('ReadyForQuery');
  await s.until('ReadyForQuery');
  s.send(w.close('S', 'y'), w.parse('y', 'SELECT 1::int AS a'), w.describe('S', 'y'), w.flush());
  await s.until('RowDescription');
  s.send(w.execute('p', 0), w.sync(), w.terminate());
  assert.equal(render(await drain(s, 3000)), ['DataRow 1|***', 'CommandComplete SELECT 1', 'ReadyForQuery T']);
});

test('a Sync before the first CopyData of an extended-protocol COPY (what libpq sends) is swallowed by the server, as the gateway expects', async ({ gw }) => {
  const s = await login(gw, ['masked']);
  s.send(w.parse('', 'COPY scratch FROM STDIN'), w.bind('', '', [], [], []), w.execute('', 0), w.sync());
  await s.until('CopyInResponse');
  s.send(w.copyData(text('7\n')), w.copyDone(), w.sync(), w.query('SELECT upper(ssn) AS u FROM people'), w.terminate());
  assert.equal(render(await drain(s, 3000)), ['CommandComplete COPY 1', 'ReadyForQuery I', 'RowDescription u', 'DataRow ***', 'CommandComplete SELECT 1', 'ReadyForQuery I']);
});

test.run();
