// Approvals across a policy reload, and the approvals API's handling of malformed ids (found by
// a hunt). A reload that changes what a statement's approval asks for binds the statements that
// run after it: a held statement approved under the old rule fails, a retry grant given under it
// is not used (spec/approvals.md §2, §3).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mintToken, startGateway, type GatewayFixture } from '../../support/gateway.ts';
import * as w from '../../support/pgwire-builder.ts';
import { render, text } from '../gateway/wire.ts';
import { agent, api, waitFor, wireAgent } from './helpers.ts';

const test = suite<{ gw: GatewayFixture }>('approvals across a policy reload');

const RULES = (approve: string) => `
group "ops" {
  on db {
    allow read, insert on public.*, catalog
    ${approve}
  }
}
group "dba" {}
group "security" {}`;

test.before.each(async (ctx) => {
  ctx.gw = await startGateway({
    admin: true,
    setup: `CREATE TABLE held (id int PRIMARY KEY, v int); INSERT INTO held VALUES (1, 0);
            CREATE TABLE retried (id int PRIMARY KEY, v int); INSERT INTO retried VALUES (1, 0);`,
    rules: RULES(`approve update on public.held by "dba" within 30s
    approve update on public.retried by "dba" within 60s mode retry uses 2`),
  });
});
test.after.each(async (ctx) => {
  await ctx.gw.close();
});

const settle = (p: Promise<unknown>) =>
  p.then(
    () => ({ ran: true, code: null as string | null }),
    (e: { code?: string }) => ({ ran: false, code: e.code ?? null }),
  );

test('hold: a reload that moves approval from "dba" to "security" withdraws the request; a dba vote cast after it finds none, and the statement does not run', async ({ gw }) => {
  const { c, requests } = await agent(gw);
  const q = settle(c.query('UPDATE held SET v = 1 WHERE id = 1'));
  const id = await waitFor(() => requests[0], 'the notice');
  await gw.reload(RULES(`approve update on public.held by "security" within 30s`));
  const vote = await api(gw, 'POST', `/approvals/${id}/approve`, await mintToken(['dba'], {}, { sub: 'alice' }), {});
  const outcome = await q;
  const v = (await gw.direct('SELECT v FROM held WHERE id = 1')).trim();
  await c.end();
  assert.is(v, '0', `the statement ran on a "dba" approval (vote answered ${vote.status}) although the policy in force requires "security"`);
  assert.equal(outcome, { ran: false, code: '57014' }); // withdrawn: the policy changed
  assert.is(vote.status, 409, 'the request is no longer pending');
});

test('hold: a reload that keeps the rule keeps the request: approved after it, the statement runs', async ({ gw }) => {
  const { c, requests } = await agent(gw);
  const q = settle(c.query('UPDATE held SET v = 3 WHERE id = 1'));
  const id = await waitFor(() => requests[0], 'the notice');
  await gw.reload(RULES(`approve update on public.held by "dba" within 30s
    approve update on public.retried by "dba" within 60s mode retry uses 2
    allow read on public.held`));
  assert.is((await api(gw, 'POST', `/approvals/${id}/approve`, await mintToken(['dba'], {}, { sub: 'alice' }), {})).status, 200);
  assert.equal(await q, { ran: true, code: null });
  assert.is(await gw.direct('SELECT v FROM held WHERE id = 1'), '3');
  await c.end();
});

test('retry: a grant given by "dba" is not used after a reload that requires "security" quorum 2', async ({ gw }) => {
  const { c } = await agent(gw);
  const first = await c.query('UPDATE retried SET v = 5 WHERE id = 1').catch((e: Error) => e);
  const id = /request (apr_[A-Za-z0-9_-]+)/.exec((first as Error).message)![1];
  assert.is((await api(gw, 'POST', `/approvals/${id}/approve`, await mintToken(['dba'], {}, { sub: 'alice' }), {})).status, 200);
  await gw.reload(RULES(`approve update on public.retried by "security" quorum 2 within 60s mode retry uses 2`));
  const outcome = await settle(c.query('UPDATE retried SET v = 5 WHERE id = 1'));
  const v = (await gw.direct('SELECT v FROM retried WHERE id = 1')).trim();
  await c.end();
  assert.is(v, '0', 'the statement ran on a grant of one "dba" although the policy in force requires two "security" approvers');
  assert.equal(outcome, { ran: false, code: '42501' });
});

test('retry: a FETCH of a portal bound before a reload made its reads need approval is refused, not approved blind; bound again, it asks', async ({ gw }) => {
  await gw.direct('CREATE SCHEMA vault; CREATE TABLE vault.ledger (id int PRIMARY KEY, amount int); INSERT INTO vault.ledger VALUES (1, 100), (2, 999999)');
  await gw.reload(RULES('allow read on vault.ledger'));
  const s = await wireAgent(gw, 'agent-reload');
  const step = async (...m: Buffer[]) => {
    s.send(...m);
    return render(await s.until('ReadyForQuery'));
  };
  await step(w.parse('s', 'SELECT amount FROM vault.ledger WHERE id = $1'), w.sync());
  await step(w.query('BEGIN'));
  // bound while reading needs no approval: its value is not kept (no session records here)
  assert.equal(await step(w.bind('p', 's', [0], [text('2')], []), w.sync()), ['BindComplete', 'ReadyForQuery T']);
  await gw.reload(RULES('approve read on vault.ledger by "dba" within 60s mode retry uses 5'));
  const blind = await step(w.query('FETCH ALL FROM p'));
  assert.match(blind[0], /^ErrorResponse ERROR 42501 pamc: approval required, but a portal the statement reads was bound under an earlier policy/);
  assert.not.ok(blind.includes('DataRow 999999'));
  const dba = await mintToken(['dba'], {}, { sub: 'alice' });
  assert.equal((await api(gw, 'GET', '/approvals', dba)).json.requests, [], 'no request an approver would approve without seeing the value');
  await step(w.query('ROLLBACK'));
  await step(w.query('BEGIN'));
  await step(w.bind('p', 's', [0], [text('2')], []), w.sync());
  const asked = await step(w.query('FETCH ALL FROM p'));
  assert.match(asked[0], /^ErrorResponse ERROR 42501 pamc: approval required: request apr_\S+ needs/);
  const id = /request (apr_\S+)/.exec(asked[0])![1];
  assert.match((await api(gw, 'GET', `/approvals/${id}`, dba)).json.sql, /-- bound with parameters: \["2"\]/);
  await step(w.query('ROLLBACK'));
  // a portal bound with no parameters before the reload has nothing unseen: it asks
  await gw.reload(RULES('allow read on vault.ledger'));
  await step(w.parse('all', 'SELECT amount FROM vault.ledger ORDER BY id'), w.sync());
  await step(w.query('BEGIN'));
  await step(w.bind('q', 'all', [], [], []), w.sync());
  await gw.reload(RULES('approve read on vault.ledger by "dba" within 60s mode retry uses 5'));
  const none = await step(w.query('FETCH ALL FROM q'));
  assert.match(none[0], /^ErrorResponse ERROR 42501 pamc: approval required: request apr_\S+ needs/);
  s.close();
});

test('API: an id with malformed percent-encoding is an unknown id (404), not a 500 internal error', async ({ gw }) => {
  const t = await mintToken(['dba'], {}, { sub: 'alice' });
  const get = await api(gw, 'GET', '/approvals/%E0%A4%A', t);
  const post = await api(gw, 'POST', '/approvals/%/approve', t, {});
  const errors = gw.log.lines.filter((l) => l.level === 'error');
  assert.equal([get.status, post.status], [404, 404], `answered ${get.status} ${JSON.stringify(get.json)} / ${post.status} ${JSON.stringify(post.json)}`);
  assert.equal(errors, []);
});

test.run();
