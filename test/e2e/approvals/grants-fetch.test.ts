// A retry-mode grant covers exactly what the approvers saw (spec/approvals.md §3): for a FETCH
// of a protocol portal that is the portal's statement and the parameters it was bound with.
// Bound again with another value, or its statement declared with other parameter types, the same
// FETCH text is another statement (found by a hunt).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mintToken, startGateway, type GatewayFixture } from '../../support/gateway.ts';
import * as w from '../../support/pgwire-builder.ts';
import { render, text } from '../gateway/wire.ts';
import { api, wireAgent } from './helpers.ts';

const test = suite<{ gw: GatewayFixture }>('approvals: a retry grant for FETCH of a bound portal');

test.before(async (ctx) => {
  ctx.gw = await startGateway({
    admin: true,
    blocks: `
approvals {
}`,
    setup: `
      CREATE TABLE ledger (id int PRIMARY KEY, amount int);
      INSERT INTO ledger VALUES (1, 100), (2, 999999);`,
    rules: `
group "ops" {
  on db {
    allow read on catalog
    approve read on public.ledger by "dba" within 60s mode retry uses 5
  }
}
group "dba" {}`,
  });
});

test.after(async (ctx) => {
  await ctx.gw.close();
});

test('retry grant of FETCH from a bound portal: the portal bound with other parameters is another statement', async ({ gw }) => {
  const s = await wireAgent(gw, 'agent-9');
  s.send(w.parse('s', 'SELECT amount FROM ledger WHERE id = $1'), w.sync());
  await s.until('ReadyForQuery');
  // the portal p is bound for id = 1; the FETCH reading it needs approval (retry mode)
  s.send(w.query('BEGIN'));
  await s.until('ReadyForQuery');
  s.send(w.bind('p', 's', [0], [text('1')], []), w.sync());
  assert.equal(render(await s.until('ReadyForQuery')), ['BindComplete', 'ReadyForQuery T']);
  s.send(w.query('FETCH ALL FROM p'));
  const first = await s.until('ReadyForQuery');
  const err = first.find((m) => m.kind === 'ErrorResponse') as { fields: { code: string; message: string } };
  assert.is(err?.fields.code, '42501', JSON.stringify(render(first)));
  const id = /request (apr_\S+)/.exec(err.fields.message)![1];
  s.send(w.query('ROLLBACK'));
  await s.until('ReadyForQuery');
  const dba = await mintToken(['dba'], {}, { sub: 'dba-alice' });
  const shown = await api(gw, 'GET', `/approvals/${id}`, dba);
  // the approver sees what runs, and with which value
  assert.is(shown.json.sql, 'FETCH ALL FROM p\n-- which runs: SELECT amount FROM ledger WHERE id = $1\n-- bound with parameters: ["1"]');
  assert.is((await api(gw, 'POST', `/approvals/${id}/approve`, dba, { reason: 'id 1 only' })).status, 200);

  const fetchBound = async (value: string): Promise<string[]> => {
    s.send(w.query('BEGIN'));
    await s.until('ReadyForQuery');
    s.send(w.bind('p', 's', [0], [text(value)], []), w.sync());
    await s.until('ReadyForQuery');
    s.send(w.query('FETCH ALL FROM p'));
    const out = render(await s.until('ReadyForQuery'));
    s.send(w.query('ROLLBACK'));
    await s.until('ReadyForQuery');
    return out;
  };
  // the same FETCH text, the same portal name and statement, bound for id = 2: a new request
  const other = await fetchBound('2');
  assert.not.ok(other.includes('DataRow 999999'), other.join('\n'));
  assert.match(other[0], /^ErrorResponse ERROR 42501 pamc: approval required: request apr_\S+ needs/);
  assert.not.ok(other[0].includes(id), 'a request of its own');
  // bound for id = 1 again: the grant is used
  assert.equal(await fetchBound('1'), ['RowDescription amount', 'DataRow 100', 'CommandComplete FETCH 1', 'ReadyForQuery T']);
  s.close();
});

test('retry grant of FETCH from a bound portal: its statement declared with other parameter types is another statement', async ({ gw }) => {
  const s = await wireAgent(gw, 'agent-9');
  const sql = 'SELECT amount, length($1) AS n FROM ledger WHERE id = 1';
  const fetchFrom = async (types: number[]): Promise<string[]> => {
    s.send(w.parse('t', sql, types), w.sync());
    await s.until('ReadyForQuery');
    s.send(w.query('BEGIN'));
    await s.until('ReadyForQuery');
    s.send(w.bind('p', 't', [0], [text('\\x41')], []), w.sync());
    await s.until('ReadyForQuery');
    s.send(w.query('FETCH ALL FROM p'));
    const out = render(await s.until('ReadyForQuery'));
    s.send(w.query('ROLLBACK'));
    await s.until('ReadyForQuery');
    s.send(w.query('DEALLOCATE t'));
    await s.until('ReadyForQuery');
    return out;
  };
  const first = await fetchFrom([25]);
  const id = /request (apr_\S+)/.exec(first[0])?.[1];
  assert.ok(id, first.join('\n'));
  const dba = await mintToken(['dba'], {}, { sub: 'dba-alice' });
  const shown = await api(gw, 'GET', `/approvals/${id}`, dba);
  assert.is(shown.json.sql, `FETCH ALL FROM p\n-- which runs: ${sql}\n-- bound with parameters: ["\\\\x41"]\n-- parameter types (OIDs) of the statement of portal "p": 25`);
  assert.is((await api(gw, 'POST', `/approvals/${id}/approve`, dba, { reason: 'as text' })).status, 200);
  // the same texts and value, $1 declared bytea: length counts 1 byte, and the grant is not for it
  const retyped = await fetchFrom([17]);
  assert.match(retyped[0], /^ErrorResponse ERROR 42501 pamc: approval required: request apr_\S+ needs/);
  assert.not.ok(retyped[0].includes(id!), 'a request of its own');
  assert.equal(await fetchFrom([25]), ['RowDescription amount,n', 'DataRow 100|4', 'CommandComplete FETCH 1', 'ReadyForQuery T'], 'declared text again: the grant is used');
  s.close();
});

test('retry grant of FETCH from a cursor declared by an Execute: declared with another parameter value, it is another statement', async ({ gw }) => {
  const s = await wireAgent(gw, 'agent-9');
  const declare = 'DECLARE c CURSOR FOR SELECT amount FROM ledger WHERE id = $1';
  const dba = await mintToken(['dba'], {}, { sub: 'dba-alice' });
  const requestOf = (out: string[]): string => {
    const id = /^ErrorResponse ERROR 42501 pamc: approval required: request (apr_\S+)/.exec(out[0])?.[1];
    assert.ok(id, out.join('\n'));
    return id!;
  };
  /** In a transaction: the cursor declared through Parse, Bind and Execute with $1 = `value`, then FETCH ALL from it. */
  const declareAndFetch = async (value: string): Promise<{ declared: string[]; fetched: string[] | null }> => {
    s.send(w.query('BEGIN'));
    await s.until('ReadyForQuery');
    s.send(w.parse('', declare, [23]), w.bind('', '', [0], [text(value)], []), w.execute('', 0), w.sync());
    const declared = render(await s.until('ReadyForQuery'));
    let fetched: string[] | null = null;
    if (declared.includes('CommandComplete DECLARE CURSOR')) {
      s.send(w.query('FETCH ALL FROM c'));
      fetched = render(await s.until('ReadyForQuery'));
    }
    s.send(w.query('ROLLBACK'));
    await s.until('ReadyForQuery');
    return { declared, fetched };
  };
  const approve = async (id: string) => assert.is((await api(gw, 'POST', `/approvals/${id}/approve`, dba, { reason: 'ok' })).status, 200);
  // the DECLARE for id 1 is approved, then the FETCH reading it
  await approve(requestOf((await declareAndFetch('1')).declared.slice(2)));
  const fetchOne = requestOf((await declareAndFetch('1')).fetched!);
  const shown = await api(gw, 'GET', `/approvals/${fetchOne}`, dba);
  // the approver sees the value the cursor reads
  assert.is(shown.json.sql, `FETCH ALL FROM c\n-- which runs: ${declare}\n-- bound with parameters: ["1"]\n-- parameter types (OIDs) of the DECLARE of cursor "c": 23`);
  await approve(fetchOne);
  assert.equal((await declareAndFetch('1')).fetched, ['RowDescription amount', 'DataRow 100', 'CommandComplete FETCH 1', 'ReadyForQuery T']);
  // the DECLARE for id 2 gets its own approval; the FETCH reading it is not the FETCH approved for id 1
  await approve(requestOf((await declareAndFetch('2')).declared.slice(2)));
  const other = await declareAndFetch('2');
  assert.equal(other.declared.slice(-2), ['CommandComplete DECLARE CURSOR', 'ReadyForQuery T']);
  assert.not.ok(other.fetched!.includes('DataRow 999999'), other.fetched!.join('\n'));
  assert.not.ok(other.fetched![0].includes(fetchOne), 'a request of its own');
  requestOf(other.fetched!);
  s.close();
});

test.run();
