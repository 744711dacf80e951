// Every statement that reaches the server, or is refused on its way, leaves a statement record
// (spec/audit.md §1), whatever path it took: refused at its Parse or Bind, cut at the row limit
// while the server still ran it, forwarded but unanswered when the client vanished or the
// gateway stopped (outcome `unknown`: it may have run). Found by a hunt for gaps.
//
// Whether a statement queued behind a cancelled one runs is the server's race, not the
// gateway's: the gateway's CancelRequest cancels whatever the server runs when it arrives, which
// on a busy machine can be the queued statement itself. These tests therefore assert the
// records, and not the counter the queued UPDATE bumps: an earlier version did, and failed one
// run in six with two busy loops beside it (the UPDATE had not run; the cancel landing on it is
// the likely reason, not verified).

import { join } from 'node:path';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { auditedOptions, startGateway, type GatewayFixture, type GatewayFixtureOptions } from '../../support/gateway.ts';
import { allRecords } from '../../unit/audit/helpers.ts';
import { login, w } from '../gateway/wire.ts';

type Rec = Record<string, any>;
const test = suite<{ gw: GatewayFixture }>('session records: every outcome');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function options(): GatewayFixtureOptions {
  const { files, blocks } = auditedOptions();
  return {
    files,
    blocks,
    setup: `
      CREATE TABLE big (id int);
      INSERT INTO big SELECT g FROM generate_series(1, 1000000) g;
      CREATE TABLE counter (id int PRIMARY KEY, v int);
      INSERT INTO counter VALUES (1, 0);
      CREATE TABLE secrets (s text);`,
    rules: `
group "agents" {
  on db {
    allow read, update on public.big, public.counter, catalog
    allow call on pg_catalog.pg_sleep
  }
}
group "limited" {
  on db {
    allow read on public.big, catalog
    limit rows 5
  }
}`,
  };
}

test.before(async (ctx) => {
  ctx.gw = await startGateway(options());
});
test.after(async (ctx) => {
  await ctx.gw.close();
});

async function statements(gw: GatewayFixture, marker: string): Promise<Rec[]> {
  await gw.gateway.recorder?.flush();
  return (allRecords(join(gw.dir, 'audit')) as Rec[]).filter((r) => r.kind === 'statement' && String(r.text).includes(marker));
}

test('refused in the extended protocol: at Parse by the policy, at Bind of a statement and at Execute of a portal the gateway never saw, a Close of a reserved name, a FunctionCall', async ({ gw }) => {
  const s = await login(gw, ['agents']);
  s.send(w.parse('', 'DROP TABLE secrets /* at-parse */'), w.bind('', '', [], [], []), w.execute('', 0), w.sync());
  await s.until('ReadyForQuery');
  s.send(w.bind('', 'never-parsed', [], [], []), w.execute('', 0), w.sync());
  await s.until('ReadyForQuery');
  s.send(w.execute('never-bound', 0), w.sync());
  await s.until('ReadyForQuery');
  s.send(w.close('S', '__pamc_probe'), w.sync());
  await s.until('ReadyForQuery');
  // lo_export (oid 765) by the fast path: refused, and the record names the function and its arguments
  s.send(w.functionCall(765, [0], [[...Buffer.from('1')]], 0));
  await s.until('ReadyForQuery');
  s.close();
  await sleep(200);
  const [parse] = await statements(gw, 'at-parse');
  assert.equal([parse?.protocol, parse?.decision, parse?.outcome, parse?.error?.code], ['extended', 'deny', 'denied', '42501']);
  assert.equal(parse.facts, [{ action: 'drop', resource: 'public.secrets' }]);
  const [bind] = await statements(gw, 'never-parsed');
  assert.equal([bind?.outcome, bind?.error?.message], ['refused', 'pamc: prepared statement "never-parsed" is not one the gateway saw prepared']);
  const [execute] = await statements(gw, 'never-bound');
  assert.equal([execute?.text, execute?.outcome, execute?.error?.message], ['(Execute of portal "never-bound")', 'refused', 'pamc: portal "never-bound" is not one the gateway saw bound']);
  const [close] = await statements(gw, '__pamc_probe');
  assert.equal([close?.text, close?.outcome], ['(Close of statement "__pamc_probe")', 'refused']);
  const [call] = await statements(gw, 'function OID 765');
  assert.equal([call?.text, call?.outcome, call?.params], ['(FunctionCall message: function OID 765)', 'refused', ['1']]);
});

test('a SELECT cut at the row limit, the server query cancelled by the gateway: ok, 5 rows returned, the limit reached', async ({ gw }) => {
  const c = new pg.Client(await gw.clientConfig(['limited']));
  await c.connect();
  assert.is((await c.query('SELECT id FROM big /* cut-at-limit */')).rows.length, 5);
  await c.end();
  await sleep(200);
  const recs = await statements(gw, 'cut-at-limit');
  assert.is(recs.length, 1);
  assert.equal([recs[0].outcome, recs[0].rows, recs[0].limit?.reached], ['ok', { command: 'SELECT', returned: 5 }, true]);
});

test('a client that vanishes with statements in flight: each is recorded, outcome unknown', async ({ gw }) => {
  const s = await login(gw, ['agents']);
  s.send(w.query('SELECT pg_sleep(0.5) FROM counter /* vanished-1 */'), w.query('UPDATE counter SET v = v + 1 WHERE id = 1 /* vanished-2 */'));
  await sleep(150);
  s.socket.destroy();
  // the session's end (the gateway seeing the socket close) writes them: up to 3 s on a busy machine
  for (let waited = 0; waited < 3000 && (await statements(gw, 'vanished-')).length < 2; waited += 100) await sleep(100);
  assert.equal((await statements(gw, 'vanished-')).map((r) => [r.text.slice(-15), r.outcome]), [['/* vanished-1 */'.slice(-15), 'unknown'], ['/* vanished-2 */'.slice(-15), 'unknown']]);
});

test('the gateway stopping with statements in flight records them too', async () => {
  const gw = await startGateway(options());
  try {
    const s = await login(gw, ['agents']);
    s.send(w.query('SELECT pg_sleep(3) FROM counter /* stopping-1 */'), w.query('UPDATE counter SET v = v + 10 WHERE id = 1 /* stopping-2 */'));
    await sleep(200);
    await gw.gateway.close(300); // the grace period ends while the first statement runs
    s.close();
    const recs = (allRecords(join(gw.dir, 'audit')) as Rec[]).filter((r) => r.kind === 'statement');
    assert.equal(recs.map((r) => r.outcome), ['unknown', 'unknown']);
  } finally {
    await gw.close();
  }
});

test.run();
